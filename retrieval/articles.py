"""A question that names a document and one of its articles ("民法典第一千零七十六条",
"《社会救助暂行办法》第七十一条"), or a government order by number ("国务院令第649号"): which
article of which document it means, and whether the knowledge base has it (faq/document_names.toml)."""

import re
from dataclasses import dataclass

from .datafiles import read_toml, table_lines
from .errors import DataFileError

_DIGITS = "零一二三四五六七八九"
_ARTICLE = re.compile(r"第([零〇一二两三四五六七八九十百千\d]{1,8})条")
_ORDER = re.compile(r"([\u4e00-\u9fff]{2,8}?)令?第(\d{1,5})号令?")
NEAR = 12  # characters between a document's name and the article it names


def chinese_number(n):
    """1076 -> 一千零七十六 (as article numbers are written); 10 -> 十, 15 -> 十五."""
    if n <= 0:
        return "零"
    out, zero = [], False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, value)
        if digit:
            if zero:
                out.append("零")
            out.append(_DIGITS[digit] + unit)
            zero = False
        elif out:
            zero = True
        if n == 0:
            break
    text = "".join(out)
    return text[1:] if text.startswith("一十") else text


def _number(label):
    """An article number as typed (digits, or 两 for 二) in the passages' own writing."""
    if label.isdigit():
        return chinese_number(int(label))
    return label.replace("两", "二").replace("〇", "零")


@dataclass(frozen=True)
class Reference:
    doc_id: str
    title: str
    article: str  # 第N条, written as the passages write it
    passage_id: str  # "doc:第N条"
    articles: int  # how many articles of the document the knowledge base holds


@dataclass(frozen=True)
class OrderReference:
    text: str  # as the question writes it ("民政部第88号令")
    known: bool  # some document is that order


class ArticleNames:
    def __init__(self, names, articles, orders):
        self._names = names  # ((normalised name, doc id, title), ...) longest first
        self._articles = articles  # doc id -> set of article passage ids
        self._orders = orders  # order numbers the documents carry ("649")

    @classmethod
    def load(cls, path, documents, passage_ids, normalize=lambda s: s):
        """`documents`: id -> document dict; `passage_ids`: every passage id of the build."""
        lines = table_lines(path, "document")
        names = []
        for document in documents.values():
            title = document["title"]
            names.append((normalize(title), document["id"], title))
        for n, entry in enumerate(read_toml(path).get("document", [])):
            line = lines[n] if n < len(lines) else None
            doc_id, listed = entry.get("id"), entry.get("names")
            if not isinstance(listed, list) or not all(isinstance(x, str) and x for x in listed):
                raise DataFileError(path, line, "names must be a list of non-empty strings")
            if doc_id not in documents:
                continue  # a document not in this build (removed, or not added yet)
            names.extend((normalize(x), doc_id, documents[doc_id]["title"]) for x in listed)
        names.sort(key=lambda item: -len(item[0]))
        articles = {}
        for pid in passage_ids:
            doc_id, _, rest = pid.partition(":")
            if _ARTICLE.fullmatch(rest):
                articles.setdefault(doc_id, set()).add(pid)
        orders = {found.group(2) for d in documents.values() for found in _ORDER.finditer(d.get("order", ""))}
        return cls(tuple(names), articles, frozenset(orders))

    def article(self, text):
        """The Reference a normalised question makes to an article of a document, or None."""
        for name, doc_id, title in self._names:
            at = text.find(name)
            if at < 0 or doc_id not in self._articles:
                continue
            found = _ARTICLE.search(text, at + len(name), at + len(name) + NEAR + 10)
            if found is None:
                continue
            label = f"第{_number(found.group(1))}条"
            return Reference(doc_id, title, label, f"{doc_id}:{label}", len(self._articles[doc_id]))
        return None

    def order(self, text):
        """The government order a question names by number ("民政部第88号令"), or None."""
        found = _ORDER.search(text)
        if found is None or "令" not in found.group(0):
            return None
        return OrderReference(found.group(0), found.group(2) in self._orders)
