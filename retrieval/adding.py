"""`bot.py add FILE`: a Word file, PDF, saved web page, Markdown or text file becomes a document.

prepare() reads and converts the file, proposes its metadata (retrieval/proposal.py; values given
by the admin win) and segments the result exactly as a build would, writing nothing. write() puts
the original in knowledge/originals/, the text and its sidecar in knowledge/documents/, each file
created whole (written aside, then linked into place, never over an existing file), then runs the
same validation as `bot.py check`; if that fails every new file is removed again.
"""

import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from . import formats
from .datafiles import inside, open_regular, read_toml
from .formats.limits import Limits
from .errors import AddRefusedError, DataFileError, DocumentExistsError, EmptyDocumentError, MetadataError, NotAddedError
from .ingest import Cleaning, document_from, knowledge_files, metadata_problem
from .proposal import ProposalRules, parse_date, propose, region_of
from .regions import Regions
from .segment import segment
from .visible import visible

FIELDS = ("title", "issuer", "region", "kind", "published", "effective")  # proposed; each has a flag
SIDECAR_KEYS = ("id", "title", "issuer", "region", "published", "effective", "kind", "status", "source_file")
ORIGINALS = "originals"
QUESTIONS = "questions"  # knowledge/questions/ID.toml: the question index of an added document
ADDED_MARK = "# Added with `bot.py add` from "  # the first line of every sidecar add writes
NAME_MAX_CHARS = 80
ID_MAX_CHARS = 40
_NOT_IN_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


@dataclass(frozen=True)
class Draft:
    source: Path  # the file given
    raw: bytes
    converted: object  # formats.Converted
    proposal: object  # proposal.Proposal
    given: dict  # the values the admin gave (flags, answers to prompts)
    metadata: dict  # the sidecar, SIDECAR_KEYS in order
    origins: dict  # field -> where its value came from ("given" or a proposal origin)
    name: str  # file name stem in knowledge/documents/
    suffix: str  # .md or .txt
    text: str
    passages: tuple
    problem: tuple  # (field, message) of an invalid field, else None
    cleaned: tuple = ()  # fields whose invisible characters (retrieval/visible.py) were removed

    @property
    def invisible(self):
        """How many invisible or control characters were removed from the file's text."""
        return self.converted.hints.get("invisible", 0)

    @property
    def source_name(self):
        """The given file's name as it may be shown (no invisible or control characters)."""
        return visible(self.source.name)

    @property
    def text_name(self):
        return self.name + self.suffix

    @property
    def ocr(self):
        """The text was read by OCR from page images (check it against the original)."""
        return bool(self.converted.hints.get("ocr"))

    @property
    def original_name(self):
        return self.name + self.source.suffix.lower()


@dataclass(frozen=True)
class Added:
    draft: Draft
    paths: tuple  # the files written: original, text, sidecar


def prepare(path, settings, given=None):
    """The Draft of adding the file at `path`; named errors (DocumentError, DataFileError) for a
    file that cannot become a document. Nothing is written."""
    path = Path(path)
    knowledge = Path(settings.knowledge_dir)
    formats.format_of(path)  # an unsupported suffix is refused before the file is read
    raw = open_regular(path, max_bytes=settings.add_max_bytes)  # a link, a FIFO, a device: refused
    converted = formats.read(path, raw, formats.FormatRules.load(knowledge / "formats.toml"), Limits.of(settings))
    regions = Regions.load(Path(settings.faq_dir) / "regions.toml")
    proposal = propose(converted, ProposalRules.load(knowledge / "proposal.toml"), regions)
    return _draft(path, raw, converted, proposal, dict(given or {}), settings, regions)


def revise(draft, given, settings):
    """The same draft with more values given (answers to the review prompts)."""
    regions = Regions.load(Path(settings.faq_dir) / "regions.toml")
    return _draft(draft.source, draft.raw, draft.converted, draft.proposal, {**draft.given, **given}, settings, regions)


def _draft(path, raw, converted, proposal, given, settings, regions):
    knowledge = Path(settings.knowledge_dir)
    given = {k: v.strip() for k, v in given.items() if isinstance(v, str) and v.strip()}
    metadata, origins = {}, {}
    for field in FIELDS:
        found = getattr(proposal, field)
        value = given.get(field, found.value)
        if field in ("published", "effective") and field in given:
            value = parse_date(value) or value  # 2024年5月1日 on the command line is fine too
        metadata[field], origins[field] = value, "given" if field in given else found.origin
    cleaned = tuple(f for f in ("title", "issuer") if visible(metadata[f]) != metadata[f])
    for field in cleaned:
        metadata[field] = visible(metadata[field]).strip()
    if "published" in given and "effective" not in given and origins["effective"] in ("published", "none"):
        metadata["effective"], origins["effective"] = metadata["published"], "published"
    if ("issuer" in given or "title" in given) and "region" not in given:  # the region follows a given issuer
        region = region_of(metadata["issuer"], metadata["title"], regions, ProposalRules.load(knowledge / "proposal.toml"))
        metadata["region"], origins["region"] = region.value, region.origin
    taken = _taken_ids(knowledge)
    metadata["id"] = given.get("id") or _new_id(metadata["title"], metadata["published"] or metadata["effective"], taken)
    origins["id"] = "given" if "id" in given else "title"
    metadata["status"] = "in_force"
    source_name = visible(path.name)
    metadata["source_file"] = source_name
    metadata = {key: metadata[key] for key in SIDECAR_KEYS}
    name = _file_name(metadata["title"] or Path(source_name).stem, metadata["published"])
    suffix = ".txt" if converted.format == "text" else ".md"
    text = formats.as_document(converted, metadata["title"], metadata["kind"], source_name, proposal.skip)
    problem = metadata_problem(metadata, regions.names)
    if problem is None and metadata["id"] in taken:
        problem = ("id", f"id {metadata['id']!r} is already used by {taken[metadata['id']]}")
    passages = ()
    if problem is None:
        text_path = knowledge / "documents" / (name + suffix)
        try:
            document = document_from(metadata, text.encode("utf-8"), text_path, sidecar(metadata, origins, source_name, converted.hints.get("ocr")).encode("utf-8"), Cleaning.load(knowledge / "cleaning.toml"))
        except DataFileError as exc:
            if exc.path == str(text_path):  # "no text left after cleaning"
                raise EmptyDocumentError(path, "no text left after cleaning") from exc
            raise
        passages = tuple(segment(document))
    return Draft(path, raw, converted, proposal, given, metadata, origins, name, suffix, text, passages, problem, cleaned)


def write(draft, settings, questions=None):
    """Write the draft's three files (and, given `questions` {passage id: [how citizens ask]}, its
    question index knowledge/questions/ID.toml) and validate the knowledge base; Added, or a named
    error with every new file removed again (MetadataError, DocumentExistsError, AddRefusedError)."""
    from .reload import validate  # the validation `bot.py check` runs

    ensure_complete(draft)
    knowledge = Path(settings.knowledge_dir)
    documents = inside(knowledge / "documents", knowledge)
    originals = inside(knowledge / ORIGINALS, knowledge)
    targets = [
        (originals / draft.original_name, draft.raw),
        (documents / draft.text_name, draft.text.encode("utf-8")),
        (documents / (draft.name + ".toml"), sidecar(draft.metadata, draft.origins, draft.source_name, draft.ocr).encode("utf-8")),
    ]
    asked = {pid: qs for pid, qs in (questions or {}).items() if qs}
    if asked:
        folder = inside(knowledge / QUESTIONS, knowledge)
        folder.mkdir(exist_ok=True)
        targets.append((folder / (draft.metadata["id"] + ".toml"), question_index(draft, asked).encode("utf-8")))
    for path, _ in targets:
        if path.exists() or path.is_symlink():
            raise DocumentExistsError(path, "already exists; remove the old document first or give another --title")
    made_folder = not originals.exists()
    originals.mkdir(exist_ok=True)
    written = []
    try:
        for path, data in targets:
            _create(path, data)
            written.append(path)
        errors = validate(settings)
    except FileExistsError as exc:
        _remove(written, originals if made_folder else None)
        raise DocumentExistsError(exc.filename or draft.name, "already exists") from exc
    except BaseException:
        _remove(written, originals if made_folder else None)
        raise
    if errors:
        _remove(written, originals if made_folder else None)
        raise AddRefusedError(draft.source, errors)
    return Added(draft, tuple(written))


def ensure_complete(draft):
    """MetadataError naming the first field that is missing or invalid."""
    if draft.problem:
        field, message = draft.problem
        raise MetadataError(draft.source, field, draft.metadata.get(field, ""), message)


def sidecar(metadata, origins, source_name, ocr=False):
    """The metadata file, in the format of the other sidecars (a TOML basic string per field)."""
    proposed = [k for k in FIELDS if origins.get(k) not in ("given", "none")]
    given = [k for k in FIELDS if origins.get(k) == "given"]
    lines = [f"{ADDED_MARK}{source_name} (the original is in knowledge/{ORIGINALS}/)."]
    if ocr:
        lines.append("# The text was read by OCR (tesseract chi_sim) from page images: check it against the original.")
    if proposed:
        lines.append("# Proposed from the text: " + ", ".join(f"{k} ({origins[k]})" for k in proposed) + ".")
    if given:
        lines.append("# Given by the admin: " + ", ".join(given) + ".")
    lines += [f"{key} = {json.dumps(metadata[key], ensure_ascii=False)}" for key in SIDECAR_KEYS]
    return "\n".join(lines) + "\n"


def question_index(draft, asked):
    """knowledge/questions/ID.toml for the draft's passages: how citizens ask what each answers."""
    lines = [f"# How citizens ask what {draft.metadata['title']} answers (written when it was added)."]
    for p in draft.passages:
        if asked.get(p.id):
            lines += ["", "[[passage]]", f"id = {json.dumps(p.id, ensure_ascii=False)}", f"questions = {json.dumps(list(asked[p.id]), ensure_ascii=False)}"]
    return "\n".join(lines) + "\n"


def _create(path, data):
    """A new file with exactly `data`, or FileExistsError: written aside, then hard-linked into place."""
    aside = path.with_name(f".{path.name}.{os.getpid()}.adding")
    try:
        with open(aside, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.link(aside, path)
    finally:
        if aside.exists():
            aside.unlink()


def _remove(paths, folder):
    for path in reversed(paths):
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    if folder is not None:
        try:
            folder.rmdir()
        except OSError:
            pass


def _taken_ids(knowledge):
    taken = {}
    for path in knowledge_files(knowledge, "documents", ".toml"):
        try:
            doc_id = read_toml(path).get("id")
        except DataFileError:
            continue  # check reports it
        if isinstance(doc_id, str):
            taken[doc_id] = path.name
    return taken


def _new_id(title, date, taken):
    """Initials of the title's pinyin and the year: 杭州市最低生活保障办法 (2024) -> hzszdshbzbf-2024."""
    from pypinyin import Style, lazy_pinyin

    letters = "".join(lazy_pinyin(title, style=Style.FIRST_LETTER, errors=lambda chars: [c for c in chars if c.isascii()]))
    stem = re.sub(r"[^a-z0-9]+", "", letters.lower())[:ID_MAX_CHARS] or "document"
    base = f"{stem}-{date[:4]}" if date else stem
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _file_name(title, published):
    """The file name stem, as the texts there are named: 婚姻登记条例(2025-04-06)."""
    name = _NOT_IN_NAMES.sub("", visible(unicodedata.normalize("NFC", title))).strip(" .")[:NAME_MAX_CHARS] or "document"
    return f"{name}({published})" if published else name


# -- seeing and undoing additions ----------------------------------------------------------------
@dataclass(frozen=True)
class Addition:
    """A document `add` wrote that is still in knowledge/: its files (text, sidecar, original, question index)."""

    id: str
    title: str
    source_name: str  # the file the admin gave
    paths: tuple  # text, sidecar, original (the original only when it is still there)
    added_at: float  # the sidecar's modification time (epoch seconds)


def additions(settings):
    """The documents in knowledge/documents/ that `add` wrote (its sidecar's first line), newest first."""
    knowledge = Path(settings.knowledge_dir)
    found = []
    for meta_path in knowledge_files(knowledge, "documents", ".toml"):
        try:
            first = meta_path.read_text(encoding="utf-8").split("\n", 1)[0]
            meta = read_toml(meta_path)
        except (OSError, UnicodeDecodeError, DataFileError):
            continue  # check names it
        if not first.startswith(ADDED_MARK) or not isinstance(meta.get("id"), str):
            continue
        source_name = first[len(ADDED_MARK) :].split(" (the original", 1)[0]
        texts = [meta_path.with_suffix(s) for s in (".md", ".txt") if meta_path.with_suffix(s).is_file()]
        original = knowledge / ORIGINALS / (meta_path.stem + Path(source_name).suffix.lower())
        asked = knowledge / QUESTIONS / (meta["id"] + ".toml")  # its question index goes with it
        paths = tuple(texts) + (meta_path,) + tuple(p for p in (original, asked) if p.is_file())
        found.append(Addition(meta["id"], str(meta.get("title", "")), source_name, paths, meta_path.stat().st_mtime))
    return sorted(found, key=lambda a: (-a.added_at, a.id))


def undo(settings, doc_id):
    """Remove the files `add` wrote for `doc_id`; ((path, bytes), ...) of what was removed, for
    restore(). NotAddedError when no added document has this id."""
    addition = next((a for a in additions(settings) if a.id == doc_id), None)
    if addition is None:
        raise NotAddedError(doc_id)
    removed = tuple((path, path.read_bytes()) for path in addition.paths)
    _remove([path for path, _ in removed], None)
    return removed


def restore(removed):
    """Put back files undo() removed (a reload after the undo was refused)."""
    for path, data in removed:
        if not path.exists():
            _create(path, data)
