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
