"""Read the knowledge base: each document file with its metadata sidecar, cleaned of boilerplate.

A document is `knowledge/documents/NAME.txt` (or `.md`) next to `NAME.toml` holding its provenance.
Dropping both files in the folder adds the document; no code changes.
"""

import datetime
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .datafiles import inside, open_regular, read_toml, tree_problems
from .errors import DataFileError

TEXT_SUFFIXES = (".txt", ".md")
KINDS = ("plan", "summary", "regulation", "notice")
STATUSES = ("in_force", "superseded", "expired")
REQUIRED = ("id", "title", "issuer", "region", "kind", "status", "source_file")
VALIDITY = ("effective_from", "effective_to", "superseded_by")  # optional
# Optional, shown in the citation line where the text gives them: the order number (国务院令第649号),
# the date of the revision this text is (revised), and for an undated text the year its content
# shows it was written (year).
CITED = ("order", "revised", "year")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})?$")
_YEAR = re.compile(r"^((19|20)\d{2})?$")
# Control characters (C0 but tab/LF/CR, DEL, C1) that a copied or converted file can carry: a NUL
# would reach pages, Telegram and WeChat, so a build strips them and `check` names each line.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_META_TEXT = ("title", "issuer", "order")  # metadata shown to citizens beside every quote
_DOC_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    issuer: str
    region: str
    published: str
    effective: str
    kind: str
    status: str
    source_file: str
    path: Path
    lines: tuple  # (line number in the file, cleaned text) of the kept lines
    content_hash: str
    # validity: in force from effective_from (the sidecar's, else `effective`) until effective_to
    # (empty: no end); superseded_by names the document that replaces this one
    effective_from: str = ""
    effective_to: str = ""
    superseded_by: str = ""
    order: str = ""
    revised: str = ""
    year: str = ""


@dataclass(frozen=True)
class Cleaning:
    header_end: tuple
    drop_lines: tuple

    @classmethod
    def load(cls, path):
        data = read_toml(path)
        try:
            return cls(
                header_end=tuple(re.compile(p) for p in data.get("header_end", [])),
                drop_lines=tuple(re.compile(p) for p in data.get("drop_lines", [])),
            )
        except re.error as exc:
            raise DataFileError(path, None, f"bad regular expression: {exc}") from exc


def load_documents(knowledge_dir, known_regions):
    """All documents under knowledge_dir/documents, sorted by file name; validates metadata."""
    knowledge_dir = Path(knowledge_dir)
    problems = tree_problems(knowledge_dir)  # questions/ too: a link anywhere refuses the build
    if problems:
        raise problems[0]
    cleaning = Cleaning.load(inside(knowledge_dir / "cleaning.toml", knowledge_dir))
    folder = knowledge_dir / "documents"
    docs = []
    seen = {}
    for meta_path in knowledge_files(knowledge_dir, "documents", ".toml"):
        doc = _load_one(meta_path, cleaning, known_regions)
        if doc.id in seen:
            raise DataFileError(meta_path, _key_line(meta_path, "id"), f"document id {doc.id!r} is also used by {seen[doc.id].name}")
        seen[doc.id] = meta_path
        docs.append(doc)
    for doc in docs:
        if doc.superseded_by and doc.superseded_by not in seen:
            meta_path = seen[doc.id]
            raise DataFileError(meta_path, _key_line(meta_path, "superseded_by"), f"superseded_by {doc.superseded_by!r} is not the id of a document in {folder.name}/")
    orphans = [p for p in sorted(folder.iterdir()) if p.suffix in TEXT_SUFFIXES and not p.with_suffix(".toml").exists()]
    if orphans:
        raise DataFileError(orphans[0], None, f"no metadata file {orphans[0].with_suffix('.toml').name} beside it")
    if not docs:
        raise DataFileError(folder, None, "no documents (expected NAME.txt or NAME.md with NAME.toml)")
    return docs


def knowledge_files(knowledge_dir, folder, suffix):
    """The `suffix` files of knowledge_dir/folder (documents, questions), sorted; DataFileError for
    a symbolic link, a device or FIFO, or anything leading outside knowledge_dir."""
    knowledge_dir = Path(knowledge_dir)
    where = inside(knowledge_dir / folder, knowledge_dir) if (knowledge_dir / folder).exists() or (knowledge_dir / folder).is_symlink() else None
    if where is None:
        return []
    return [inside(p, knowledge_dir) for p in sorted(where.iterdir()) if p.suffix == suffix]


def _load_one(meta_path, cleaning, known_regions):
    meta = read_toml(meta_path)
    problem = metadata_problem(meta, known_regions)
    if problem:
        key, message = problem
        raise DataFileError(meta_path, _key_line(meta_path, key), message)
    text_path = _text_file(meta_path)
    return document_from(meta, open_regular(text_path), text_path, open_regular(meta_path), cleaning)


def metadata_problem(meta, known_regions):
    """(field, message) for the first missing or invalid field of a metadata sidecar, else None."""
    for key in REQUIRED:
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            return key, f"missing or empty field {key!r}"
    checks = [
        ("id", _DOC_ID.match(meta["id"]), "must be lower-case letters, digits and hyphens"),
        ("kind", meta["kind"] in KINDS, f"must be one of {', '.join(KINDS)}"),
        ("status", meta["status"] in STATUSES, f"must be one of {', '.join(STATUSES)}"),
        ("region", meta["region"] in known_regions, f"must be one of {', '.join(sorted(known_regions))}"),
        ("published", _DATE.match(meta.get("published", "")) and _valid_date(meta.get("published", "")), "must be YYYY-MM-DD or empty"),
        ("effective", _DATE.match(meta.get("effective", "")) and _valid_date(meta.get("effective", "")), "must be YYYY-MM-DD or empty"),
    ]
    for key, ok, why in checks:
        if not ok:
            return key, f"{key} {meta.get(key)!r} {why}"
    return _validity_problem(meta) or _cited_problem(meta)


def _cited_problem(meta):
    """order / revised / year: optional strings; revised a date, year four digits."""
    for key in CITED:
        if not isinstance(meta.get(key, ""), str):
            return key, f"{key} {meta[key]!r} must be a quoted string"
    if not _DATE.match(meta.get("revised", "")) or not _valid_date(meta.get("revised", "")):
        return "revised", f"revised {meta['revised']!r} must be YYYY-MM-DD or empty"
    if not _YEAR.match(meta.get("year", "")):
        return "year", f"year {meta['year']!r} must be a year such as 2023, or empty"
    return None


def _valid_date(value):
    """A YYYY-MM-DD that is a day of the calendar (2025-02-30 is not), or empty."""
    if not value:
        return True
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _validity_problem(meta):
    """effective_from / effective_to / superseded_by: optional, but consistent when given."""
    for key in VALIDITY:
        if not isinstance(meta.get(key, ""), str):
            return key, f"{key} {meta[key]!r} must be a quoted string (\"YYYY-MM-DD\" or an id)"
    start, end, successor = meta.get("effective_from", ""), meta.get("effective_to", ""), meta.get("superseded_by", "")
    for key, value in (("effective_from", start), ("effective_to", end)):
        if not _DATE.match(value) or not _valid_date(value):
            return key, f"{key} {value!r} must be YYYY-MM-DD or empty"
    if start and meta.get("effective") and start != meta["effective"]:
        return "effective_from", f"effective_from {start!r} differs from effective {meta['effective']!r}: a document has one date of entry into force"
    if end and end < (start or meta.get("effective") or ""):
        return "effective_to", f"effective_to {end!r} is before the document takes effect ({start or meta['effective']})"
    if successor and (not _DOC_ID.match(successor) or successor == meta["id"]):
        return "superseded_by", f"superseded_by {successor!r} must be the id of another document"
    return None


def document_from(meta, raw, text_path, meta_raw, cleaning):
    """The Document of a valid sidecar `meta` and its text file's bytes `raw` (which may not be
    written yet: `bot.py add` previews the passages before writing)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError(text_path, raw[: exc.start].count(b"\n") + 1, "not valid UTF-8") from exc
    lines = clean_lines(text, cleaning, meta["title"])
    if not lines:
        raise DataFileError(text_path, None, "no text left after cleaning")
    return Document(
        id=meta["id"],
        title=CONTROL.sub("", meta["title"]).strip(),
        issuer=CONTROL.sub("", meta["issuer"]).strip(),
        region=meta["region"],
        published=meta.get("published", ""),
        effective=meta.get("effective", ""),
        kind=meta["kind"],
        status=meta["status"],
        source_file=meta["source_file"],
        path=text_path,
        lines=tuple(lines),
        content_hash=hashlib.sha256(raw + meta_raw).hexdigest(),
        effective_from=meta.get("effective_from") or meta.get("effective", ""),
        effective_to=meta.get("effective_to", ""),
        superseded_by=meta.get("superseded_by", ""),
        order=CONTROL.sub("", meta.get("order", "")).strip(),
        revised=meta.get("revised", ""),
        year=meta.get("year", ""),
    )


def _text_file(meta_path):
    for suffix in TEXT_SUFFIXES:
        candidate = meta_path.with_suffix(suffix)
        if candidate.exists() or candidate.is_symlink():
            return candidate
    raise DataFileError(meta_path, None, f"no document file {meta_path.stem}.txt or .md beside it")


def clean_lines(text, cleaning, title):
    """(line number, text) of the lines that are content: boilerplate, header and title removed."""
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = 0
    for i, line in enumerate(raw_lines):
        if any(p.search(line.strip()) for p in cleaning.header_end):
            start = i + 1
            break
    kept = []
    for lineno, line in enumerate(raw_lines[start:], start + 1):
        line = CONTROL.sub("", line)
        line = re.sub(r"[\u00a0\u3000\t]+", " ", line).strip()
        line = re.sub(r"[\u200b-\u200f\ufeff]", "", line)
        if not line or any(p.search(line) for p in cleaning.drop_lines):
            continue
        if len(line) >= 6 and line in title:  # the page's own title line repeats the metadata title
            continue
        kept.append((lineno, line))
    return kept


def control_character_problems(knowledge_dir, per_file=20):
    """A DataFileError naming file and line for each line of a document (or metadata value shown
    to citizens) holding a control character; the build strips them, the file should lose them."""
    problems = []
    for meta_path in knowledge_files(knowledge_dir, "documents", ".toml"):
        try:
            meta = read_toml(meta_path)
            text_path = _text_file(meta_path)
            text = open_regular(text_path).decode("utf-8")
        except (DataFileError, UnicodeDecodeError):
            continue  # named by the other checks
        for key in _META_TEXT:
            found = CONTROL.search(meta.get(key, "")) if isinstance(meta.get(key), str) else None
            if found:
                problems.append(DataFileError(meta_path, _key_line(meta_path, key), f"{key} holds the control character {_name(found.group())}: remove it (a build drops it)"))
        lines = [(n, found.group()) for n, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1) if (found := CONTROL.search(line))]
        for lineno, char in lines[:per_file]:
            problems.append(DataFileError(text_path, lineno, f"control character {_name(char)}: remove it (a build drops it)"))
    return problems


def _name(char):
    return f"U+{ord(char):04X}"


def _key_line(path, key):
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if pattern.match(line):
            return n
    return None
