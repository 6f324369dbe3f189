"""Every error the answering core raises; channels turn them into words for people."""


class AssistantError(Exception):
    """Base class of the core's errors."""


class DataFileError(AssistantError):
    """A knowledge, FAQ or dictionary file is malformed; names the file and line."""

    def __init__(self, path, line, message):
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class StoreError(AssistantError):
    """The SQLite store is missing, corrupt or was built by another version."""


class EmptyQuestionError(AssistantError):
    """The question has no searchable text (empty, whitespace, only symbols)."""


class QuestionTooLongError(AssistantError):
    """The question is longer than the configured limit."""

    def __init__(self, length, limit):
        self.length = length
        self.limit = limit
        super().__init__(f"question has {length} characters; the limit is {limit}")


class QualityDropError(AssistantError):
    """A reload would lower hit@3 on the quality question set by more than the allowed margin."""

    def __init__(self, before, after, margin, report=None):
        self.before = before
        self.after = after
        self.margin = margin
        self.report = report  # the ReloadReport that was refused (diff included)
        super().__init__(f"hit@3 would drop from {before} to {after} (allowed drop {margin}); use force to swap anyway")


class NoPreviousBuildError(AssistantError):
    """Rollback was asked for but no previous build is kept."""


class StoreWriteError(StoreError):
    """The store (or a file beside it) could not be written: disk full, read-only, not a file.

    Raised by a build or reload; the live store is left as it was. `reason` is the OS or SQLite
    message ("No space left on device", "database or disk is full").
    """

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot write the store {self.path}: {reason}")


class QueryLogError(AssistantError):
    """The query log could not be opened, read or written (corrupt, locked, disk full).

    `Assistant.ask` still returns the answer (without a query id) and reports this in the log.
    """

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"query log {self.path}: {reason}")


class AlreadyVotedError(AssistantError):
    """This user has already rated this answer: one vote per answer per user."""

    def __init__(self, query_id):
        self.query_id = query_id
        super().__init__(f"query {query_id} already rated by this user")


class FeedbackRateLimitedError(AssistantError):
    """Too many ratings from one user; `seconds` until the next one is accepted."""

    def __init__(self, seconds):
        self.seconds = seconds
        super().__init__(f"feedback rate limit: wait {seconds:.0f} s")


class FaqFileChangedError(AssistantError):
    """An FAQ file changed between the editor's preview and its save; nothing was written."""

    def __init__(self, shown_path):
        self.shown_path = shown_path
        super().__init__(f"{shown_path} changed since the preview")


class SettingsError(AssistantError):
    """A setting makes the service unsafe or unusable (a short password, an unknown WeChat mode).

    Raised before anything listens; `bot.py` prints the message and exits 2.
    """
