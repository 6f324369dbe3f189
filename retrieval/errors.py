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


class DatabaseError(AssistantError):
    """PostgreSQL (MINZHENG_DATABASE_URL) could not be reached, or refused a statement.

    `where` is the URL without its password; `reason` the server's or driver's message.
    """

    def __init__(self, where, reason):
        self.where = str(where)
        self.reason = reason
        super().__init__(f"PostgreSQL {self.where}: {reason}")


class SchemaTooNewError(DatabaseError):
    """The database was migrated by a newer version of the program than this one."""


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


class RetentionError(SettingsError):
    """A retention of fewer than one day: purging with it would delete the whole log (a negative
    --days put the cutoff in the future). Nothing is deleted."""

    def __init__(self, days, source):
        self.days = days
        self.source = source
        super().__init__(f"{source} must be a whole number of days, at least 1 (got {days}); nothing was deleted")


class DocumentError(AssistantError):
    """A file given to `bot.py add` cannot become a document; nothing was written.

    `reason` names why, for the channel to word it (templates/admin_add_error.txt.j2).
    """

    reason = "unreadable"

    def __init__(self, path, detail=""):
        self.path = str(path)
        self.detail = detail
        super().__init__(f"{self.path}: {detail}" if detail else self.path)


class UnsupportedFormatError(DocumentError):
    """Not one of the formats `add` reads (.docx, .pdf, .html/.htm, .md, .txt)."""

    reason = "unsupported"


class DocumentTooLargeError(DocumentError):
    """The file is larger than the configured limit (MINZHENG_ADD_MAX_MB)."""

    reason = "too_large"

    def __init__(self, path, size, limit):
        self.size = size
        self.limit = limit
        super().__init__(path, f"{size} bytes; the limit is {limit} bytes")


class CorruptDocumentError(DocumentError):
    """The file does not parse as its format (a truncated .docx, a damaged PDF, bad encoding).

    `cause` names what is wrong in words the channel chooses (templates/_add_labels.txt.j2
    `corrupt_causes`): old_doc, not_zip, not_docx, bad_xml, not_pdf, ocr_failed, encoding,
    binary; `detail` keeps the parser's own message for the log, never for the page.
    """

    reason = "corrupt"

    def __init__(self, path, detail="", cause="unreadable"):
        self.cause = cause
        super().__init__(path, detail)


class UnreadableDocumentError(DocumentError):
    """A reader failed in a way no named error describes (a parser bug or an unforeseen file);
    the traceback went to the log, the channel says only that the file could not be read."""

    reason = "unreadable"


class UnpackLimitError(DocumentError):
    """The file would unpack beyond a limit (a zip bomb, a .docx of thousands of parts, a PDF
    whose compressed streams inflate to gigabytes).

    `what`: entries (zip entries), unpacked (bytes of all entries), entry (bytes of one entry),
    ratio (unpacked/packed of one entry); `value` was found, `limit` is the setting
    (MINZHENG_ADD_MAX_ENTRIES, _UNPACKED_MB, _ENTRY_MB, _RATIO); `entry` names the zip entry.
    """

    reason = "unpack"

    def __init__(self, path, what, value, limit, entry="", kind="docx"):
        self.what = what
        self.value = value
        self.limit = limit
        self.entry = entry
        self.kind = kind  # docx: zip entries; pdf: the file's compressed streams
        super().__init__(path, f"{what} {value} over the limit {limit}" + (f" ({entry})" if entry else ""))


class TooManyPagesError(DocumentError):
    """A PDF with more pages than MINZHENG_ADD_MAX_PAGES."""

    reason = "pages"

    def __init__(self, path, pages, limit):
        self.pages = pages
        self.limit = limit
        super().__init__(path, f"more than {limit} pages" if pages > limit else f"{pages} pages")


class NestingTooDeepError(DocumentError):
    """A web page whose elements nest deeper than MINZHENG_ADD_MAX_HTML_DEPTH (refused before parsing)."""

    reason = "nesting"

    def __init__(self, path, depth, limit):
        self.depth = depth
        self.limit = limit
        super().__init__(path, f"elements nested {depth} deep; the limit is {limit}")


class ConversionTooSlowError(DocumentError):
    """Converting the file took longer than MINZHENG_ADD_MAX_SECONDS; the work was abandoned."""

    reason = "too_slow"

    def __init__(self, path, seconds):
        self.seconds = seconds
        super().__init__(path, f"conversion stopped after {seconds} s")


class EncryptedPdfError(DocumentError):
    """The PDF needs a password to be opened."""

    reason = "encrypted"


class ScannedPdfError(DocumentError):
    """The PDF has no text layer (page images only) and no OCR (tesseract with chi_sim) is installed."""

    reason = "scanned"

    def __init__(self, path, pages):
        self.pages = pages
        super().__init__(path, f"a scanned PDF: none of its {pages} pages has a text layer, and OCR (tesseract with chi_sim) is not installed")


class EmptyDocumentError(DocumentError):
    """No text is left once the page chrome, headers and footers are removed."""

    reason = "empty"


class DocumentExistsError(DocumentError):
    """A document (or its original) of that name is already in knowledge/."""

    reason = "exists"


class MetadataError(DocumentError):
    """A metadata field is missing or invalid and was not given on the command line."""

    reason = "metadata"

    def __init__(self, path, field, value, why):
        self.field = field
        self.value = value
        self.why = why
        super().__init__(path, f"{field} {value!r} {why}")


class AddRefusedError(DocumentError):
    """The knowledge base with the new document fails `check`; the new files were removed again."""

    reason = "check"

    def __init__(self, path, errors):
        self.errors = tuple(errors)
        super().__init__(path, "; ".join(str(e) for e in self.errors))


class NotAddedError(AssistantError):
    """Undo of an addition: no document with this id was written by `bot.py add` (or the admin page)."""

    def __init__(self, doc_id):
        super().__init__(f"{doc_id!r} is not a document added with bot.py add")
        self.doc_id = doc_id
