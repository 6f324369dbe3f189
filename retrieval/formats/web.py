"""A web page saved from a government site: the article without the site's navigation, header,
footer and share bars; headings, paragraphs, <br> lines and table rows in reading order."""

import re

from ..errors import CorruptDocumentError, EmptyDocumentError, NestingTooDeepError
from . import NEW_PARAGRAPH, SENTENCE_END, Block, Converted, squeeze
from .tables import row_lines

_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "li", "ul", "ol", "blockquote", "pre", "center", "dl",
    "dt", "dd", "figure", "figcaption", "hr", "address", "tbody", "thead", "body", "html", "form",
}
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.IGNORECASE)
_BREAK = "\x1e"  # a <br>: a line break that stays, unlike a line wrap in the page source
_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "utf8": "utf-8"}


def read(path, raw, rules, limits):
    from selectolax.lexbor import LexborHTMLParser as HTMLParser  # loaded for this format only

    text = decode(path, raw)
    nesting(path, text, limits.html_depth)  # the parser's work grows with depth: refuse first
    deadline = limits.deadline(path)
    tree = HTMLParser(text)
    hints = {
        "title": _title(tree, rules.html_title),
        "published": _first(tree, rules.html_published),
        "issuer": _first(tree, rules.html_issuer),
        "page_text": squeeze(tree.body.text(separator="\n")) if tree.body is not None else "",
    }
    for selector in rules.html_drop:
        for node in tree.css(selector):
            node.decompose()
    article = _article(tree, rules, deadline)
    if article is None:
        raise EmptyDocumentError(path, "no article text in the page")
    return Converted("html", tuple(_blocks(article, deadline)), {k: v for k, v in hints.items() if v})


# A comment, or a start or end tag; `[^<>]*` keeps every attempt within one tag, so one pass is linear.
_TAG = re.compile(r"<!--|<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>")
# Elements that never hold others, and those whose end tag may be left out (the parser closes
# an open <p> or <li> at the next one): neither makes the tree deeper than its neighbours.
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
_IMPLIED_END = {"html", "head", "body", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rtc", "rp"}
_RAW_TEXT = {"script", "style", "textarea", "title", "xmp"}  # their content is text, not tags


def nesting(path, text, limit):
    """NestingTooDeepError when the page's tags open more than `limit` elements inside each
    other, counted from the text alone (comments and script/style contents skipped), in one pass."""
    depth = deepest = 0
    at = 0
    while True:
        match = _TAG.search(text, at)
        if match is None:
            return deepest
        at = match.end()
        if match.group(0) == "<!--":
            end = text.find("-->", at)
            at = len(text) if end < 0 else end + 3
            continue
        closing, name, rest = match.group(1), match.group(2).lower(), match.group(3)
        if not closing and name in _RAW_TEXT:
            end = re.compile(rf"</{name}\b", re.IGNORECASE).search(text, at)
            at = len(text) if end is None else end.start()
            continue
        if name in _VOID or name in _IMPLIED_END or rest.endswith("/"):
            continue
        if closing:
            depth = max(0, depth - 1)
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                raise NestingTooDeepError(path, deepest, limit)


def decode(path, raw):
    """The page's text: the charset its meta tag names, else UTF-8, else GB18030."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    match = _CHARSET.search(raw[:8192])
    tries = [_ALIASES.get(match.group(1).decode("ascii").lower(), match.group(1).decode("ascii").lower())] if match else []
    for encoding in tries + ["utf-8", "gb18030"]:
        try:
            return raw.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    raise CorruptDocumentError(path, "the page is neither UTF-8 nor GB18030 text", cause="encoding")


def _first(tree, selectors):
    for selector in selectors:
        for node in tree.css(selector):
            value = node.attributes.get("content") if node.tag == "meta" else node.text()
            if value and value.strip():
                return squeeze(value)
    return ""


def _title(tree, selectors):
    for selector in selectors:
        value = _first(tree, [selector])
        if value:
            # <title> carries the site name: "标题_杭州市民政局", "标题 - 浙江省人民政府"
            return re.split(r"\s*(?:_|\||｜|\s-\s)\s*", value)[0] if selector == "title" else value
    return ""


def _article(tree, rules, deadline):
    for selector in rules.html_article:
        for node in tree.css(selector):
            if len(squeeze(node.text())) >= rules.html_min_chars:
                return node
    best, best_chars = None, 0
    # body too: a short page's paragraphs may sit right in it (two articles, under min_chars)
    for node in tree.css("div, td, section, article, main, body"):
        deadline.check()
        chars = sum(len(squeeze(p.text())) for p in node.css("p") if p.parent is not None and p.parent.mem_id == node.mem_id)
        if chars > best_chars:
            best, best_chars = node, chars
    if best is None and tree.body is not None and len(squeeze(tree.body.text())) >= rules.html_min_chars:
        return tree.body
    return best


def _blocks(node, deadline):
    blocks, buffer = [], []

    def flush():
        lines = []
        for part in "".join(buffer).split(_BREAK):
            text = squeeze(part)
            if not text:
                continue
            if lines and lines[-1][-1] not in SENTENCE_END and not NEW_PARAGRAPH.match(text):
                lines[-1] += text  # a <br> in mid-sentence only wrapped the line
            else:
                lines.append(text)
        blocks.extend(Block("paragraph", text) for text in lines)
        buffer.clear()

    def walk(parent):
        deadline.check()
        for child in parent.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                buffer.append(child.text(deep=False))
            elif tag == "br":
                buffer.append(_BREAK)
            elif tag == "table":
                flush()
                rows = [[cell.text(separator="\n") for cell in tr.css("td, th")] for tr in child.css("tr")]
                blocks.extend(Block("row", line) for line in row_lines(rows))
            elif tag in _HEADINGS:
                flush()
                text = squeeze(child.text(separator=" "))
                if text:
                    blocks.append(Block("heading", text, _HEADINGS[tag]))
            elif tag in _BLOCK_TAGS:
                flush()
                walk(child)
                flush()
            elif tag in ("-comment", "img", "input", "select", "option"):
                continue
            else:
                walk(child)

    walk(node)
    flush()
    return blocks
