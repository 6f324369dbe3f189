"""Word .docx: headings by style, automatic numbering written out (第%1条, %1、), tables as rows."""

import io
import re
import zipfile

from ..errors import CorruptDocumentError
from . import Block, Converted, squeeze
from .unpack import check_zip
from .numerals import number_text
from .tables import row_lines

_OLE = b"\xd0\xcf\x11\xe0"  # an old binary .doc (or an encrypted .docx) renamed to .docx


def read(path, raw, rules, limits):
    import docx  # python-docx: loaded for this format only

    if raw.startswith(_OLE):
        raise CorruptDocumentError(path, "not a .docx: an old Word .doc or a password-protected file", cause="old_doc")
    check_zip(path, raw, limits)  # before python-docx unpacks anything
    deadline = limits.deadline(path)
    try:
        document = docx.Document(io.BytesIO(raw))
        blocks = _blocks(document, deadline)
    except zipfile.BadZipFile as exc:
        raise CorruptDocumentError(path, f"not a readable .docx ({type(exc).__name__}: {exc})", cause="not_zip") from exc
    except (KeyError, ValueError, AttributeError, docx.opc.exceptions.PackageNotFoundError) as exc:
        # parts missing or of the wrong type: a zip, but not a Word document
        raise CorruptDocumentError(path, f"not a readable .docx ({type(exc).__name__}: {exc})", cause="not_docx") from exc
    except SyntaxError as exc:  # lxml's XMLSyntaxError: a damaged part inside the zip
        raise CorruptDocumentError(path, f"not a readable .docx ({exc})", cause="bad_xml") from exc
    return Converted("docx", tuple(blocks))


def _blocks(document, deadline):
    from docx.table import Table

    numbering = _Numbering(document)
    blocks = []
    for item in document.iter_inner_content():
        deadline.check()
        if isinstance(item, Table):
            blocks.extend(Block("row", line) for line in row_lines(_rows(item)))
            continue
        level = _heading_level(item)
        label = numbering.label(item)
        for n, text in enumerate(t for t in (squeeze(part) for part in item.text.split("\n")) if t):
            if n == 0 and label:
                text = label + ("" if label[-1] in "、.．)）" else " ") + text  # Word draws a tab after 第一条
            blocks.append(Block("heading", text, level) if level else Block("paragraph", text))
    return blocks


def _heading_level(paragraph):
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if name == "Title":
        return 1
    match = re.match(r"^(?:Heading|标题)\s*(\d)$", name)
    if match:
        return int(match.group(1)) + 1
    return 0


def _rows(table):
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is repeated across the columns it spans
                continue
            seen.add(id(cell._tc))
            cells.append("\n".join(p.text for p in cell.paragraphs))
        rows.append(cells)
    return rows


class _Numbering:
    """The labels Word draws for numbered paragraphs (the text itself does not hold them)."""

    def __init__(self, document):
        from docx.oxml.ns import qn

        self._qn = qn
        self.levels = {}  # numId -> {ilvl: (numFmt, lvlText, start)}
        self.counters = {}
        try:
            root = document.part.numbering_part.element
        except NotImplementedError:  # python-docx's "no numbering part": an optional part, left out by some programs
            return
        abstract = {}
        for node in root.findall(qn("w:abstractNum")):
            abstract[node.get(qn("w:abstractNumId"))] = self._lvls(node)
        for num in root.findall(qn("w:num")):
            ref = num.find(qn("w:abstractNumId"))
            levels = dict(abstract.get(ref.get(qn("w:val")) if ref is not None else None, {}))
            for override in num.findall(qn("w:lvlOverride")):
                start = override.find(qn("w:startOverride"))
                ilvl = int(override.get(qn("w:ilvl"), "0"))
                if start is not None and ilvl in levels:
                    fmt, text, _ = levels[ilvl]
                    levels[ilvl] = (fmt, text, int(start.get(qn("w:val"))))
            self.levels[num.get(qn("w:numId"))] = levels

    def _lvls(self, node):
        qn = self._qn
        out = {}
        for lvl in node.findall(qn("w:lvl")):
            value = lambda tag, default: (lvl.find(qn(tag)).get(qn("w:val")) if lvl.find(qn(tag)) is not None else default)
            out[int(lvl.get(qn("w:ilvl"), "0"))] = (value("w:numFmt", "decimal"), value("w:lvlText", ""), int(value("w:start", "1")))
        return out

    def label(self, paragraph):
        """The number label of this paragraph ("第三条", "（二）", "1."), counting it; else ""."""
        num_id, ilvl = self._num_pr(paragraph)
        if num_id is None or num_id not in self.levels or ilvl not in self.levels[num_id]:
            return ""
        levels = self.levels[num_id]
        counters = self.counters.setdefault(num_id, {})
        fmt, text, start = levels[ilvl]
        counters[ilvl] = counters[ilvl] + 1 if ilvl in counters else start
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        if fmt in ("bullet", "none"):
            return ""

        def value(match):
            at = int(match.group(1)) - 1
            at_fmt, _, at_start = levels.get(at, ("decimal", "", 1))
            return number_text(counters.get(at, at_start), at_fmt)

        return re.sub(r"%(\d)", value, text).strip()

    def _num_pr(self, paragraph):
        qn = self._qn
        for holder in (paragraph._p, paragraph.style.element if paragraph.style is not None else None):
            ppr = holder.find(qn("w:pPr")) if holder is not None else None
            numpr = ppr.find(qn("w:numPr")) if ppr is not None else None
            if numpr is not None:
                num_id = numpr.find(qn("w:numId"))
                ilvl = numpr.find(qn("w:ilvl"))
                if num_id is None or num_id.get(qn("w:val")) == "0":
                    return None, 0
                return num_id.get(qn("w:val")), int(ilvl.get(qn("w:val"))) if ilvl is not None else 0
        return None, 0
