"""PDF with a text layer: page numbers and running headers/footers removed, visual lines joined
back into paragraphs (also across page breaks), a new paragraph at each 第X条 / 一、 / (一).
A scanned PDF (page images only) is read by OCR where tesseract with chi_sim is installed, else
refused (ScannedPdfError)."""

import io
import itertools
import re
import subprocess
from collections import Counter
from dataclasses import dataclass

from ..errors import CorruptDocumentError, DocumentError, EmptyDocumentError, EncryptedPdfError, ScannedPdfError, TooManyPagesError
from . import NEW_PARAGRAPH, Block, Converted, ocr
from .unpack import check_pdf

HEADING_SIZE = 1.15  # a line set this many times larger than the body text is a heading
INDENT_CHARS = 1.5  # a line starting this many characters right of the margin opens a paragraph
SHORT_CHARS = 1.5  # a line ending this many characters short of the margin closes its paragraph


@dataclass
class _Line:
    page: int
    text: str
    x0: float
    x1: float
    top: float
    size: float


def read(path, raw, rules, limits):
    import pdfplumber  # loaded for this format only
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    check_pdf(path, raw, limits)  # before pdfminer inflates a stream whole
    deadline = limits.deadline(path)
    try:
        with pdfplumber.open(io.BytesIO(raw)) as pdf:
            _count_pages(path, pdf, limits.pages)
            pages, images = _pages(pdf, deadline)
    except DocumentError:
        raise
    except Exception as exc:  # pdfminer raises a zoo of types on damaged files; each one is a refusal
        cause = exc.__context__ or (exc.args[0] if exc.args else None)
        if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)) or isinstance(exc, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise EncryptedPdfError(path, "the PDF is protected by a password") from exc
        raise CorruptDocumentError(path, f"not a readable PDF ({exc})", cause="not_pdf") from exc
    if not any(lines for lines, _, _ in pages):
        if not images:
            raise EmptyDocumentError(path, "the PDF has no text")
        program = ocr.available()
        if program is None:
            raise ScannedPdfError(path, len(pages))
        try:
            blocks = ocr.read_pages(program, raw)
        except (OSError, subprocess.SubprocessError) as exc:
            raise CorruptDocumentError(path, f"OCR failed ({exc})", cause="ocr_failed") from exc
        return Converted("pdf", tuple(blocks), {"ocr": True})
    return Converted("pdf", tuple(_paragraphs(_body(pages, rules))))


def _count_pages(path, pdf, limit):
    """TooManyPagesError for more than `limit` pages, counted from the page tree without reading a page."""
    from pdfminer.pdfpage import PDFPage

    count = sum(1 for _ in itertools.islice(PDFPage.create_pages(pdf.doc), limit + 1))
    if count > limit:
        raise TooManyPagesError(path, count, limit)


def _pages(pdf, deadline):
    pages, images = [], 0
    for number, page in enumerate(pdf.pages):
        deadline.check()
        images += len(page.images)
        lines = []
        for line in page.extract_text_lines(strip=True, return_chars=True):
            text = line["text"].strip()
            if text:
                sizes = Counter(round(c["size"], 1) for c in line["chars"] if c["text"].strip())
                size = sizes.most_common(1)[0][0] if sizes else 0.0
                lines.append(_Line(number, text, line["x0"], line["x1"], line["top"], size))
        pages.append((lines, float(page.height), float(page.width)))
    return pages, images


def _body(pages, rules):
    """The lines of all pages in order, without page numbers and running headers or footers."""
    def in_band(line, height):
        band = rules.pdf_band * height
        return line.top < band or line.top > height - band

    repeated = Counter()
    for lines, height, _ in pages:
        repeated.update({re.sub(r"\d+", "#", l.text) for l in lines if in_band(l, height)})
    needed = max(2, rules.pdf_repeated_share * len(pages))
    body = []
    for lines, height, _ in pages:
        for line in lines:
            if in_band(line, height) and (
                any(p.match(line.text) for p in rules.pdf_page_number) or repeated[re.sub(r"\d+", "#", line.text)] >= needed
            ):
                continue
            body.append(line)
    return body


def _paragraphs(lines):
    if not lines:
        return []
    weights = Counter()
    for line in lines:
        weights[line.size] += len(line.text)
    body_size = weights.most_common(1)[0][0] or 10.0
    body = [l for l in lines if abs(l.size - body_size) < 0.5]
    left = _percentile([l.x0 for l in body], 0.1)
    right = _percentile([l.x1 for l in body], 0.9)
    heading_sizes = sorted({l.size for l in lines if l.size >= body_size * HEADING_SIZE}, reverse=True)
    blocks, current, previous = [], None, None
    for line in lines:
        heading = line.size >= body_size * HEADING_SIZE
        if current is not None and heading and current["heading"] and line.size == previous.size and line.page == previous.page:
            current["text"] = _join(current["text"], line.text)  # a title set on two lines
        elif (
            current is None
            or heading
            or current["heading"]
            or NEW_PARAGRAPH.match(line.text)
            or line.x0 > left + INDENT_CHARS * body_size
            or previous.x1 < right - SHORT_CHARS * body_size
        ):
            current = {"text": line.text, "heading": heading, "level": heading_sizes.index(line.size) + 1 if heading else 0}
            blocks.append(current)
        else:
            current["text"] = _join(current["text"], line.text)
        previous = line
    return [Block("heading", b["text"], b["level"]) if b["heading"] else Block("paragraph", b["text"]) for b in blocks]


def _join(text, more):
    """Lines of one paragraph: Chinese runs on; a word broken between Latin letters or digits keeps a space."""
    if re.search(r"[A-Za-z0-9,.;:]$", text) and re.match(r"[A-Za-z0-9(]", more):
        return text + " " + more
    return text + more


def _percentile(values, share):
    values = sorted(values)
    return values[min(len(values) - 1, int(share * len(values)))] if values else 0.0
