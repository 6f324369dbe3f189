"""Read a Word file, a PDF, a saved web page, Markdown or plain text into blocks of text.

Each reader returns a `Converted`: the blocks (headings, paragraphs, table rows) in reading order,
and the metadata the file itself states (a web page's meta tags). `bot.py add` writes them as a
document text, which then goes through cleaning.toml and the segmenter like any other. Rules that
are data (page-number shapes, article selectors, 版记 lines) are in knowledge/formats.toml.
"""

import logging
import re
from dataclasses import dataclass, field

from ..datafiles import read_toml
from ..errors import DataFileError, DocumentError, EmptyDocumentError, UnreadableDocumentError, UnsupportedFormatError
from ..visible import visible

log = logging.getLogger(__name__)

FORMATS = {".docx": "docx", ".pdf": "pdf", ".html": "html", ".htm": "html", ".md": "markdown", ".txt": "text"}


@dataclass(frozen=True)
class Block:
    kind: str  # heading, paragraph, row (a table row made readable)
    text: str
    level: int = 0  # headings: 1 the largest


@dataclass(frozen=True)
class Converted:
    format: str  # a value of FORMATS
    blocks: tuple
    hints: dict = field(default_factory=dict)  # title / published / issuer the file's own metadata states
    verbatim: str = None  # Markdown and plain text are kept as written


@dataclass(frozen=True)
class FormatRules:
    pdf_band: float
    pdf_page_number: tuple
    pdf_repeated_share: float
    html_article: tuple
    html_min_chars: int
    html_drop: tuple
    html_title: tuple
    html_published: tuple
    html_issuer: tuple
    drop_lines: tuple

    @classmethod
    def load(cls, path):
        data = read_toml(path)
        pdf, html, text = data.get("pdf", {}), data.get("html", {}), data.get("text", {})
        try:
            return cls(
                pdf_band=float(pdf.get("margin_band", 0.1)),
                pdf_page_number=tuple(re.compile(p) for p in pdf.get("page_number", [])),
                pdf_repeated_share=float(pdf.get("repeated_share", 0.5)),
                html_article=tuple(html.get("article", [])),
                html_min_chars=int(html.get("min_chars", 60)),
                html_drop=tuple(html.get("drop", [])),
                html_title=tuple(html.get("title", [])),
                html_published=tuple(html.get("published", [])),
                html_issuer=tuple(html.get("issuer", [])),
                drop_lines=tuple(re.compile(p) for p in text.get("drop_lines", [])),
            )
        except re.error as exc:
            raise DataFileError(path, None, f"bad regular expression: {exc}") from exc


def format_of(path):
    """The format a file name says (FORMATS), or UnsupportedFormatError."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UnsupportedFormatError(path, f"{suffix or 'no suffix'}: expected one of {', '.join(sorted(FORMATS))}")
    return FORMATS[suffix]


def read(path, raw, rules, limits):
    """The Converted text of `raw`, the bytes of the file at `path`, within `limits`
    (formats.limits.Limits); a DocumentError for every file that cannot be read, never another
    exception: a reader's unforeseen failure is logged with its traceback and refused as
    UnreadableDocumentError."""
    kind = format_of(path)
    if kind == "docx":
        from . import word as reader
    elif kind == "pdf":
        from . import pdf as reader
    elif kind == "html":
        from . import web as reader
    else:
        from . import plain as reader
    try:
        converted = reader.read(path, raw, rules, limits)
    except DocumentError:
        raise
    except Exception as exc:  # a parser bug, RecursionError, MemoryError: refused, never a traceback on the page
        log.exception("add: the %s reader failed on %s", kind, path.name)
        raise UnreadableDocumentError(path, f"{type(exc).__name__}: {exc}") from exc
    converted = _visible(converted)
    if converted.verbatim is None:
        blocks = tuple(b for b in converted.blocks if not any(p.search(b.text) for p in rules.drop_lines))
        converted = Converted(converted.format, blocks, converted.hints)
    if not converted.blocks:
        raise EmptyDocumentError(path, "no text found")
    return converted


def _visible(converted):
    """The text without invisible and control characters (retrieval/visible.py: a bidi override
    would show a passage or title reversed); hints["invisible"] counts those removed from the blocks."""
    blocks = tuple(Block(b.kind, visible(b.text, keep="\n\t"), b.level) for b in converted.blocks)
    removed = sum(len(b.text) for b in converted.blocks) - sum(len(b.text) for b in blocks)
    hints = {k: visible(v, keep="\n\t") if isinstance(v, str) else v for k, v in converted.hints.items()}
    verbatim = visible(converted.verbatim, keep="\n\t") if converted.verbatim is not None else None
    if removed:
        hints["invisible"] = removed
    return Converted(converted.format, tuple(b for b in blocks if b.text.strip()), hints, verbatim)


# A line starting like this opens a paragraph of its own (an article, an item, an attachment).
NEW_PARAGRAPH = re.compile(
    r"^(第[零〇一二三四五六七八九十百千]+[编章节条]|[一二三四五六七八九十]{1,3}、|[(（][一二三四五六七八九十]{1,3}[)）]"
    r"|\d{1,2}[.．、](?!\d)|[(（]\d{1,2}[)）]|[一二三四五六七八九十]{1,2}是|附件|附表)"
)
SENTENCE_END = "。；;：:！!？?…”’」』)）"

_SPACES = re.compile(r"[ \t\u00a0\u2002\u2003\u3000]+")
_CJK = "\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
_WRAP = re.compile(rf"(?<=[{_CJK}])[ \t]*\n\s*(?=[{_CJK}])")


def squeeze(text):
    """One line of text: a line break between Chinese characters vanishes (it was only a source
    wrap), any other run of spaces becomes one space."""
    text = _WRAP.sub("", text.replace("\r", ""))
    return _SPACES.sub(" ", re.sub(r"\s*\n\s*", " ", text)).strip()


_NUMBER = "零〇一二三四五六七八九十百千"
_CHAPTER = re.compile(rf"^第[{_NUMBER}]+[编章](?:\s|$)")
_SECTION = re.compile(rf"^第[{_NUMBER}]+节(?:\s|$)")
_ARTICLE = re.compile(rf"^第[{_NUMBER}]+条")
HEADING_MAX_CHARS = 40


def as_document(converted, title, kind, source_name, skip=frozenset()):
    """The document text written to knowledge/documents/ (Markdown, in the shape of the texts there):
    the title line, a provenance comment, then one paragraph per block. A regulation's chapters
    become `## 第X章`, its sections `### 第X节`, and what precedes the first chapter or article (the
    promulgation notes, a covering letter) is its header."""
    if converted.verbatim is not None:
        return converted.verbatim
    how = "read by OCR (tesseract chi_sim): check it against the scan" if converted.hints.get("ocr") else f"converted from {converted.format}"
    lines = [f"# {title}", "", f"<!-- SOURCE: {source_name} ({how} by bot.py add) -->", ""]
    body = [b.text for i, b in enumerate(converted.blocks) if i not in skip]
    if kind == "regulation":
        first = next((i for i, t in enumerate(body) if _CHAPTER.match(t) or _ARTICLE.match(t)), None)
        for i, text in enumerate(body):
            if i == first:
                lines += ["<!-- LEGAL_HEADER_END -->", ""]
            if len(text) <= HEADING_MAX_CHARS and _CHAPTER.match(text):
                text = "## " + text
            elif len(text) <= HEADING_MAX_CHARS and _SECTION.match(text):
                text = "### " + text
            lines += [text, ""]
    else:
        for text in body:
            lines += [text.lstrip("#").strip() if text.startswith("#") else text, ""]
    return "\n".join(lines)
