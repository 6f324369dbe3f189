"""Split a cleaned document into passages: what a person would cite, with its section path.

Regulations: one passage per article (第X条 with all its 款/项), under 第X章 / 第X节.
Plans and summaries: one passage per item (一、/(一)/1./一是), including items packed inline in one
long line; unnumbered paragraphs sit under the nearest heading. Flattened tables (专栏 with 序号)
become one readable row per indicator; footnotes [N] are appended to the passages citing them.
Over-long plan items are split at sentence ends, never mid-sentence.
"""

import hashlib
import math
import re
from dataclasses import dataclass

MAX_PASSAGE_CHARS = 320
SECTION_SEPARATOR = " › "

_NUM = "一二三四五六七八九十"
_ARTICLE = re.compile(r"^第[零〇一二三四五六七八九十百千]+条")
_CHAPTER = re.compile(r"^##\s+(.+)$")
_SUBSECTION = re.compile(r"^###\s+(.+)$")
_INLINE_BREAK = re.compile(
    rf"(?:(?<=\s)|(?<=[。;；]))(?=[{_NUM}]{{1,3}}、|[(（][{_NUM}]{{1,3}}[)）]|\d{{1,2}}[.．](?!\d)|专栏\s*\d|[{_NUM}]{{1,2}}是)"
)
_MARKERS = (
    (0, re.compile(r"^\d{1,4}[:：](?=\S)")),
    (1, re.compile(r"^注释$")),
    (1, re.compile(rf"^[{_NUM}]{{1,3}}、")),
    (2, re.compile(rf"^[(（][{_NUM}]{{1,3}}[)）]")),
    (3, re.compile(r"^专栏\s*\d+")),
    (4, re.compile(r"^\d{1,2}[.．、](?!\d)")),
    (6, re.compile(rf"^[{_NUM}]{{1,2}}是")),
)
_TITLE_LEVEL = 5
_HEADING_ONLY = (0, 3)
_FOOTNOTE = re.compile(r"^\[(\d+)\]")
_FOOTNOTE_REF = re.compile(r"\[(\d+)\]")
_SENTENCE_END = re.compile(r"(?<=[。;；!！?？])")
_OPEN, _CLOSE = "“《(（「", "”》)）」"
_LABEL_STOP = "。,，;；:：!！?？"


@dataclass(frozen=True)
class Passage:
    id: str
    doc_id: str
    seq: int
    section: tuple
    text: str
    line: int
    kind: str  # article, item, paragraph, table_row, footnote

    @property
    def section_path(self):
        return SECTION_SEPARATOR.join(self.section)


def segment(doc):
    """The passages of one document, in reading order, with stable ids."""
    if doc.kind == "regulation":
        units = _articles(doc.lines)
    else:
        units = _attach_footnotes(_split_long(_plan_units(doc.lines)))
    return _with_ids(doc.id, units)


# -- regulations -----------------------------------------------------------------------------

def _articles(lines):
    units = []
    path = []
    current = None
    for lineno, line in lines:
        chapter = _CHAPTER.match(line)
        subsection = _SUBSECTION.match(line)
        if chapter or subsection:
            current = None
            label = _squeeze((chapter or subsection).group(1))
            path = [label] if chapter else path[:1] + [label]
            continue
        article = _ARTICLE.match(line)
        if article:
            current = [tuple(path) + (article.group(0),), [line], lineno, "article"]
            units.append(current)
        elif current is not None:
            current[1].append(line)
        else:
            units.append([tuple(path), [line], lineno, "paragraph"])
    return [(section, "\n".join(texts), lineno, kind) for section, texts, lineno, kind in units]


# -- plans and summaries ---------------------------------------------------------------------

def _pieces(lines):
    """Lines exploded at inline item markers (一、 (一) 1. 一是 专栏), each with its line number."""
    out = []
    for lineno, line in lines:
        if _FOOTNOTE.match(line):  # a footnote's own 一是/二是 stay inside it
            out.append((lineno, line))
            continue
        for piece in _INLINE_BREAK.split(line):
            piece = piece.strip()
            if piece:
                out.append((lineno, piece))
    return out


def _level(piece):
    for level, pattern in _MARKERS:
        if pattern.match(piece):
            if level == 0 and len(piece) > 20:
                return None
            return level
    return None


def _is_title(piece, following):
    """A short unnumbered line introducing the next paragraph (e.g. 完善设施布局)."""
    return (
        following is not None
        and len(piece) <= 40
        and piece[-1] not in "。;；,，!！?？…:："
        and re.search(r"[\u4e00-\u9fff]", piece) is not None
        and not _FOOTNOTE.match(piece)
        and not re.search(r"\d+年\d+月\d+日$", piece)
        and len(following) > len(piece)
    )


def _plan_units(lines):
    pieces = _pieces(lines)
    units = []
    stack = []  # (level, label)
    previous_was_title = False
    i = 0
    while i < len(pieces):
        lineno, piece = pieces[i]
        following = pieces[i + 1][1] if i + 1 < len(pieces) else None
        level = _level(piece)
        if level == 3 and following == "序号":
            _push(stack, 3, _squeeze(piece)[:40])
            rows, i = _table(pieces, i + 1)
            units.extend((_path(stack) + group, text, row_line, "table_row") for group, text, row_line in rows)
            stack.pop()  # the text after a table belongs to the section around it
            previous_was_title = False
            continue
        if level is None and _FOOTNOTE.match(piece):
            units.append((_path(stack), piece, lineno, "footnote"))
        elif level is not None:
            body_starts = len(_label(piece))
            _push(stack, level, _label(piece) if level not in _HEADING_ONLY else _squeeze(piece)[:40])
            if level not in _HEADING_ONLY and piece[body_starts:].strip(" 。,，:："):
                units.append((_path(stack), piece, lineno, "item"))
        elif _is_title(piece, following):
            if previous_was_title:
                merged = stack.pop()[1] + " " + piece
                stack.append((_TITLE_LEVEL, merged))
            else:
                _push(stack, _TITLE_LEVEL, piece)
            previous_was_title = True
            i += 1
            continue
        else:
            units.append((_path(stack), piece, lineno, "paragraph"))
        previous_was_title = False
        i += 1
    return units


def _push(stack, level, label):
    while stack and stack[-1][0] >= level:
        stack.pop()
    stack.append((level, label))


def _path(stack):
    return tuple(label for _, label in stack)


def _label(piece):
    """The heading part of an item: up to the first clause break outside quotes."""
    marker_end = 0
    for _, pattern in _MARKERS:
        match = pattern.match(piece)
        if match:
            marker_end = match.end()
            break
    depth = 0
    for pos in range(marker_end, len(piece)):
        ch = piece[pos]
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0 and (ch in _LABEL_STOP or ch.isspace()) and pos > marker_end:
            return piece[:pos][:60]
    return piece[:60]


def _table(pieces, start):
    """Rows of a flattened table whose cells are one per line, starting at its 序号 cell.

    Returns ([(group labels, row text, line)], index after the table).
    """
    headers = []
    j = start
    while j < len(pieces) and pieces[j][1] != "1":
        cell = pieces[j][1]
        next_cell = pieces[j + 1][1] if j + 1 < len(pieces) else None
        if next_cell == "1" and len(headers) >= 3 and not re.search(r"[\d(（%]", cell):
            break  # a group label such as 精准保障 right before the first row
        headers.append(re.sub(r"\s+", "", cell))
        j += 1
    ncols = len(headers)
    value_headers = [re.sub(r"值$", "", h) for h in headers[2:]]
    rows = []
    group = ()
    expected = 1
    while j < len(pieces):
        cell = pieces[j][1]
        next_cell = pieces[j + 1][1] if j + 1 < len(pieces) else None
        if cell == str(expected) and j + ncols <= len(pieces):
            name = pieces[j + 1][1]
            values = [p for _, p in pieces[j + 2 : j + ncols]]
            parts = [f"{h} {v}" for h, v in zip(value_headers, values) if v.strip("-—– ")]
            rows.append((group, f"{name}: " + ", ".join(parts), pieces[j][0]))
            j += ncols
            expected += 1
        elif next_cell == str(expected) and len(cell) <= 10 and not re.search(r"\d", cell):
            group = (cell,)
            j += 1
        else:
            break
    return rows, j


# -- post-processing -------------------------------------------------------------------------

def _split_long(units):
    out = []
    for section, text, lineno, kind in units:
        if len(text) <= MAX_PASSAGE_CHARS or kind != "item" and kind != "paragraph":
            out.append((section, text, lineno, kind))
            continue
        sentences = [s for s in _SENTENCE_END.split(text) if s]
        chunks = math.ceil(len(text) / MAX_PASSAGE_CHARS)
        target = len(text) / chunks
        current = ""
        for sentence in sentences:
            if current and len(current) + len(sentence) > target * 1.15:
                out.append((section, current, lineno, kind))
                current = ""
            current += sentence
        if current:
            out.append((section, current, lineno, kind))
    return out


def _attach_footnotes(units):
    notes = {}
    for _, text, _, kind in units:
        if kind == "footnote":
            notes[_FOOTNOTE.match(text).group(1)] = text
    out = []
    for section, text, lineno, kind in units:
        if kind != "footnote":
            refs = dict.fromkeys(_FOOTNOTE_REF.findall(text))
            extra = [notes[n] for n in refs if n in notes]
            if extra:
                text = text + "\n注:" + "\n".join(extra)
        out.append((section, text, lineno, kind))
    return out


def _with_ids(doc_id, units):
    passages = []
    used = {}
    for seq, (section, text, lineno, kind) in enumerate(units):
        if kind == "article":
            base = f"{doc_id}:{section[-1]}"
        else:
            digest = hashlib.sha1(SECTION_SEPARATOR.join(section).encode("utf-8")).hexdigest()[:8]
            base = f"{doc_id}:{digest}"
        used[base] = used.get(base, 0) + 1
        pid = base if used[base] == 1 else f"{base}-{used[base]}"
        passages.append(Passage(pid, doc_id, seq, section, text, lineno, kind))
    return passages


def _squeeze(text):
    return re.sub(r"\s+", " ", text).strip()
