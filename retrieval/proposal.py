"""Propose a new document's metadata from its text (knowledge/proposal.toml): the title from the
first heading, the dates from 发布日期 / 施行日期 / 自…起施行, the issuer from the 落款 or the
header, the region from the issuer (faq/regions.toml). Each value says where it was found."""

import datetime
import re
from dataclasses import dataclass

from .datafiles import read_toml
from .errors import DataFileError
from .regions import NATIONWIDE

DATE = (
    r"(?P<date>\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"|[〇零○Ｏ一二三四五六七八九]{4}\s*年\s*[一二三四五六七八九十]{1,3}\s*月\s*[一二三四五六七八九十]{1,3}\s*日"
    r"|\d{4}[-./]\d{1,2}[-./]\d{1,2})"
)
_ARTICLE = re.compile(r"^第[零〇一二三四五六七八九十百千]+条")
_STRUCTURE = re.compile(r"^第[零〇一二三四五六七八九十百千]+[编章节条]")  # never a title
_DIGIT = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0, "Ｏ": 0}
TITLE_MAX_CHARS = 80
SIGNATURE_LINE_CHARS = 40


@dataclass(frozen=True)
class Found:
    value: str
    origin: str  # where it was found: heading, page, header, signature, order, text, ... (templates word it)


@dataclass(frozen=True)
class Proposal:
    title: Found
    issuer: Found
    region: Found
    kind: Found
    published: Found
    effective: Found
    skip: frozenset  # block numbers not written into the document text: before the title, the title, 落款


@dataclass(frozen=True)
class ProposalRules:
    not_title: tuple
    published: tuple
    effective: tuple
    effective_on_publication: tuple
    issuer_fields: tuple
    issuer_header: tuple
    issuer_order: tuple
    office_suffixes: tuple
    national: tuple
    regulation_articles: int
    kind_words: tuple  # (kind, words)
    default_kind: str

    @classmethod
    def load(cls, path):
        data = read_toml(path)

        def patterns(key):
            return tuple(re.compile(p.replace("{date}", DATE)) for p in data.get(key, []))

        try:
            return cls(
                not_title=patterns("not_title"),
                published=patterns("published"),
                effective=patterns("effective"),
                effective_on_publication=patterns("effective_on_publication"),
                issuer_fields=patterns("issuer_fields"),
                issuer_header=patterns("issuer_header"),
                issuer_order=patterns("issuer_order"),
                office_suffixes=tuple(data.get("office_suffixes", [])),
                national=tuple(data.get("national", [])),
                regulation_articles=int(data.get("regulation_articles", 2)),
                kind_words=tuple((k["kind"], tuple(k["words"])) for k in data.get("kind_words", [])),
                default_kind=data.get("default_kind", "plan"),
            )
        except re.error as exc:
            raise DataFileError(path, None, f"bad regular expression: {exc}") from exc


def parse_date(text):
    """YYYY-MM-DD of a date written as 2024年5月1日, 二〇二四年五月一日, 2024-5-1 or 2024.05.01; else ""."""
    text = re.sub(r"\s+", "", text or "")
    match = re.fullmatch(r"(\d{4})[年\-./](\d{1,2})[月\-./](\d{1,2})日?", text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = re.fullmatch(r"([〇零○Ｏ一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日", text)
        if not match:
            return ""
        year = int("".join(str(_DIGIT[c]) for c in match.group(1)))
        month, day = _small_number(match.group(2)), _small_number(match.group(3))
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return ""


def _small_number(text):
    """一 .. 三十一."""
    if "十" not in text:
        return _DIGIT[text]
    tens, _, ones = text.partition("十")
    return (_DIGIT[tens] if tens else 1) * 10 + (_DIGIT[ones] if ones else 0)


def propose(converted, rules, regions):
    """The Proposal for a Converted file (retrieval.formats)."""
    blocks = converted.blocks
    hints = converted.hints
    title, title_at = _title(blocks, hints, rules)
    signatures = _signatures(blocks, rules)
    skip = set(range(title_at + 1 if title_at is not None else 0))
    for at, _, _ in signatures:
        skip.update(at)
    text = "\n".join(b.text for b in blocks)
    page_text = hints.get("page_text", "")

    published = _published(text, page_text, hints, signatures, rules)
    effective = _effective(text, published, rules)
    issuer = _issuer(blocks, text, page_text, hints, signatures, rules)
    return Proposal(
        title=title,
        issuer=issuer,
        region=region_of(issuer.value, title.value, regions, rules),
        kind=_kind(blocks, title.value, rules),
        published=published,
        effective=effective,
        skip=frozenset(skip),
    )


def _title(blocks, hints, rules):
    if hints.get("title"):
        at = next((i for i, b in enumerate(blocks[:5]) if b.text == hints["title"]), None)
        return Found(hints["title"], "page"), at
    candidates = []
    for i, block in enumerate(blocks):
        if _STRUCTURE.match(block.text):
            break
        if len(block.text) <= TITLE_MAX_CHARS and not any(p.search(block.text) for p in rules.not_title):
            candidates.append((i, block))
    for i, block in candidates[:3]:
        if block.kind == "heading":
            return Found(block.text, "heading"), i
    for i, block in candidates[:1]:
        if not parse_date(block.text.strip("()（）")):
            return Found(block.text, "first_line"), i
    return Found("", "none"), None


def _signatures(blocks, rules):
    """The 落款 of the text: ([block numbers], offices, date) for each standalone date line right
    after one or two lines naming offices, and for each line that is offices then a date (the
    byline under a title, "海宁市民政局 2024年5月10日", or a one-line 落款)."""
    found = []
    for i, block in enumerate(blocks):
        byline = _byline(block.text, rules)
        if byline and i > 0:
            found.append(([i], *byline))
            continue
        date = parse_date(block.text.strip("()（） "))
        if not date or i == 0:
            continue
        offices, at = [], [i]
        for j in (i - 1, i - 2):
            if j < 0 or j in {n for f in found for n in f[0]}:
                break
            names = _offices(blocks[j].text, rules)
            if not names:
                break
            offices = names + offices
            at.insert(0, j)
        if offices:
            found.append((at, offices, date))
    return found


def _byline(line, rules):
    """(offices, date) of a line that is one or more offices and then a date, else None."""
    match = re.fullmatch(r"\s*[（(]?\s*(?P<names>\S.*?)\s+(?P<date>\S+?)\s*[)）]?\s*", line)
    if not match:
        return None
    date, names = parse_date(match.group("date")), _offices(match.group("names"), rules)
    return (names, date) if date and names else None


def _offices(line, rules):
    if len(line) > SIGNATURE_LINE_CHARS or re.search(r"[。，,；;：:]", line):
        return []
    names = [n for n in re.split(r"[\s、]+", line.strip()) if n]
    if names and all(n.endswith(rules.office_suffixes) and len(n) >= 3 for n in names):
        return names
    return []


def _first_date(patterns, *texts):
    for pattern in patterns:
        for text in texts:
            match = pattern.search(text)
            if match and parse_date(match.group("date")):
                return parse_date(match.group("date"))
    return ""


def _published(text, page_text, hints, signatures, rules):
    value = _first_date(rules.published, text)
    if value:
        return Found(value, "text")
    if signatures:
        return Found(signatures[0][2], "signature")
    date = re.search(DATE, hints.get("published", ""))
    if date and parse_date(date.group("date")):
        return Found(parse_date(date.group("date")), "page")
    value = _first_date(rules.published, page_text)
    return Found(value, "page") if value else Found("", "none")


def _effective(text, published, rules):
    value = _first_date(rules.effective, text)
    if value:
        return Found(value, "text")
    if published.value and any(p.search(text) for p in rules.effective_on_publication):
        return Found(published.value, "on_publication")
    return Found(published.value, "published") if published.value else Found("", "none")


def _issuer(blocks, text, page_text, hints, signatures, rules):
    for block in blocks[:5]:
        for pattern in rules.issuer_header:
            match = pattern.search(block.text)
            if match:
                return Found(match.group("issuer"), "header")
    if signatures:
        return Found("、".join(signatures[0][1]), "signature")
    for pattern in rules.issuer_order:
        match = pattern.search(text)
        if match:
            issuer, order = match.group("issuer"), re.sub(r"\s+", "", match.group("order"))
            return Found(f"{issuer}({issuer}{order})", "order")
    if hints.get("issuer"):
        return Found(hints["issuer"], "page")
    for pattern in rules.issuer_fields:
        for line in (text + "\n" + page_text).split("\n"):
            match = pattern.search(line.strip())
            if match:
                return Found(match.group("issuer"), "text")
    return Found("", "none")


def region_of(issuer, title, regions, rules):
    """The region of an issuer through faq/regions.toml (national offices: 全国), else of the title."""
    for text, origin in ((issuer, "issuer"), (title, "title")):
        if not text:
            continue
        place = regions.detect(text)
        if place:
            return Found(place, origin)
        if origin == "issuer" and any(word in text for word in rules.national):
            return Found(NATIONWIDE, "national")
    return Found("", "none")


def _kind(blocks, title, rules):
    if sum(1 for b in blocks if _ARTICLE.match(b.text)) >= rules.regulation_articles:
        return Found("regulation", "articles")
    for kind, words in rules.kind_words:
        if any(word in title for word in words):
            return Found(kind, "title_word")
    return Found(rules.default_kind, "default")
