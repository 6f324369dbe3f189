"""Mask personal data in a question before it is logged: ID, phone, bank-card, passport, permit and
card numbers, QQ and WeChat ids, e-mail, licence plates, birth dates, addresses, names.

Every pattern, cue word and numeral is data in faq/privacy.toml (surnames in faq/surnames.txt);
this module applies them. The number rules run on three readings of the question: as typed; a
probe of the same length (NFKC per character, traditional characters as simplified, runs of
digit-by-digit numerals as digits: "１３８…", "一三八…", "號", look-alike letters inside a digit
run as digits: "l38S7…"); and that probe with each Chinese
number before a unit in digits (康桥路一百零八号 -> 康桥路108号, 十月十五日 -> 10月15日), whose
spans map back to the question. A check confirms a match where the shape alone is not enough (an
ID number's birth date or check digit, a card's Luhn digit, a document number's digits) and
never has to pass where the shape says enough: an invalid number typed as a card is still masked.
Names come from retrieval/names.py on the letters of the probe. A find wholly inside content kept
on purpose ([[keep]]: 浙民发〔2024〕12号) is dropped; overlapping finds are masked as one; what is
not masked stays exactly as the user typed it.
"""

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .datafiles import read_toml, table_lines
from .errors import DataFileError
from .names import NameFinder

_SEPARATOR = re.compile(r"[ \-‐‑–—_.·]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_DATE_SHAPE = re.compile(r"^(?:19|20)?[0-9]{2}[-/.][0-9]{1,2}[-/.][0-9]{1,2}$|^[0-9]{1,2}[-/.][0-9]{1,2}[-/.](?:19|20)[0-9]{2}$")
_NUMERALS = {"〇": 0, "零": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_POSITIONAL = re.compile("^(?:[一二两三四五六七八九]千)?(?:零?[一二两三四五六七八九]百)?(?:零?[一二两三四五六七八九]?十)?(?:零?[一二三四五六七八九])?$")


def _id_check_digit(digits):
    """The check character of the first 17 digits of an 18-digit ID number (GB 11643, ISO 7064)."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS)) % 11]


def _id_card_ok(text):
    """An 18- or 15-digit ID number whose birth date is a date or whose check digit is right."""
    # every separator the rules allow goes, not only _SEPARATOR's: a 15-digit match with three
    # full-width commas (6217，9147，0407，2113…) is 18 characters long and int("，") raised
    digits = re.sub(r"[^0-9Xx]", "", text).upper()
    if len(digits) == 18:
        if _id_check_digit(digits) == digits[17]:
            return True
        year, month, day = digits[6:10], digits[10:12], digits[12:14]
        if year[:2] not in ("18", "19", "20"):
            return False
    elif len(digits) == 15:
        month, day = digits[8:10], digits[10:12]
    else:
        return False
    return "01" <= month <= "12" and "01" <= day <= "31"


def _luhn_ok(text):
    """A card number whose last digit is its Luhn check digit (ISO/IEC 7812)."""
    digits = [int(d) for d in re.sub(r"[^0-9]", "", text)]
    if len(digits) < 13:
        return False
    total = 0
    for n, d in enumerate(reversed(digits)):
        if n % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _document_number_ok(text):
    """A passport or card number: six or more letters and digits, at least four of them digits,
    not a date (12/03/1987 is a birth date, found by its own rule)."""
    return len(re.sub(r"[^0-9A-Za-z]", "", text)) >= 6 and len(re.sub(r"[^0-9]", "", text)) >= 4 and not _DATE_SHAPE.match(text)


CHECKS = {"id_card": _id_card_ok, "luhn": _luhn_ok, "document_number": _document_number_ok}


@dataclass(frozen=True)
class _Rule:
    name: str
    regex: re.Pattern
    replacement: str
    value_group: bool  # replace only the group named `value`
    check: object = None  # callable(match text) -> bool; None: always


class Masker:
    """Applies the masking rules of one privacy.toml."""

    def __init__(self, rules, names=None, numerals=None, numeral_run=6, t2s=None, units=None, keep=(), lookalikes=None):
        self._rules = tuple(rules)
        self._keep = tuple(keep)  # compiled: ordinary content no mask may touch (浙民发〔2024〕12号)
        self._names = names  # NameFinder or None
        self._numerals = str.maketrans(numerals or {})
        self._t2s = t2s  # traditional -> simplified, one character at a time (OpenCC), or None
        self._simplified = {}
        # a run of numerals (一三九 三零零三…, 一  三  九 with wide spaces), or of numerals and digits written together
        # (147五六二三0570), is read digit by digit; 王五 13605718888 keeps its 五
        chars = "".join(re.escape(c) for c in (numerals or {}))
        # the groups may be set apart as digits are, by commas and doubled dashes too (一九零，七二零零，…, 零二一--五五七四)
        spaced = rf"[{chars}](?:[ \t]*(?:[,，]|{_SEPARATOR.pattern}){{0,2}}[ \t]*[{chars}]){{{numeral_run - 1},}}"
        mixed = rf"(?=[0-9]*[{chars}])[{chars}0-9]{{{numeral_run},}}"
        self._numeral_run = re.compile(f"{spaced}|{mixed}") if numerals else None
        # letters typed for digits inside a digit run (l38S7l23456, 33O1O2...): a run of digits
        # and look-alikes, no other letter beside it, with `numeral_run` digits and more digits
        # than look-alikes, is read with the letters as digits
        self._lookalikes = str.maketrans(lookalikes or {})
        self._min_digits = numeral_run
        letters = "".join(re.escape(c) for c in (lookalikes or {}))
        self._lookalike_run = re.compile(rf"(?<![A-Za-z])[0-9{letters}](?:{_SEPARATOR.pattern}?[0-9{letters}]){{{numeral_run},}}(?![A-Za-z])") if lookalikes else None
        # a Chinese number right before a unit (号, 室, 月...) is read as the number it says
        self._unit_number = re.compile(rf"(?<!第)[{''.join(_NUMERALS)}十百千]+(?=\s*(?:{'|'.join(map(re.escape, units))}))") if units else None

    @classmethod
    def load(cls, path, known=None):
        """The rules of one privacy.toml; `known` (word -> bool) says which words the knowledge
        base has (the build's vocabulary: names are told from civil-affairs words with it)."""
        path = Path(path)
        data = read_toml(path)
        defines = data.get("define", {})
        if not isinstance(defines, dict) or not all(isinstance(v, str) for v in defines.values()):
            raise DataFileError(path, _section_line(path, "define"), "[define] holds NAME = 'regular expression' lines")
        lines = table_lines(path, "pattern")
        rules = []
        for n, entry in enumerate(data.get("pattern", [])):
            line = lines[n] if n < len(lines) else None
            if not isinstance(entry.get("regex"), str) or not isinstance(entry.get("replacement"), str):
                raise DataFileError(path, line, "a [[pattern]] needs regex and replacement strings")
            check = entry.get("check")
            if check is not None and check not in CHECKS:
                raise DataFileError(path, line, f"unknown check {check!r}; known: {', '.join(sorted(CHECKS))}")
            try:
                regex = re.compile(_expand(entry["regex"], defines))
            except re.error as exc:
                raise DataFileError(path, line, f"bad regular expression: {exc}") from exc
            rules.append(_Rule(entry.get("name", f"pattern {n + 1}"), regex, entry["replacement"], "value" in regex.groupindex, CHECKS.get(check)))
        names = data.get("names")
        probe = data.get("probe", {})
        numerals = probe.get("numerals", {})
        if not isinstance(numerals, dict) or not all(isinstance(k, str) and len(k) == 1 and isinstance(v, str) and len(v) == 1 for k, v in numerals.items()):
            raise DataFileError(path, _section_line(path, "probe"), "[probe] numerals maps single characters to single digits")
        t2s = probe.get("t2s")
        if t2s not in (None, "opencc"):
            raise DataFileError(path, _section_line(path, "probe"), "[probe] t2s is \"opencc\" or absent")
        lookalikes = probe.get("lookalikes", {})
        if not isinstance(lookalikes, dict) or not all(isinstance(k, str) and len(k) == 1 and k.isascii() and k.isalpha() and isinstance(v, str) and len(v) == 1 and v.isdigit() for k, v in lookalikes.items()):
            raise DataFileError(path, _section_line(path, "probe"), "[probe] lookalikes maps single Latin letters to single digits")
        units = probe.get("units", [])
        if not isinstance(units, list) or not all(isinstance(u, str) and u for u in units):
            raise DataFileError(path, _section_line(path, "probe"), "[probe] units is a list of words (号, 室, 月...)")
        keep = []
        keep_lines = table_lines(path, "keep")
        for n, entry in enumerate(data.get("keep", [])):
            line = keep_lines[n] if n < len(keep_lines) else None
            if not isinstance(entry.get("regex"), str):
                raise DataFileError(path, line, "a [[keep]] needs a regex string")
            try:
                keep.append(re.compile(_expand(entry["regex"], defines)))
            except re.error as exc:
                raise DataFileError(path, line, f"bad regular expression: {exc}") from exc
        finder = NameFinder.load(path, names, _section_line(path, "names"), known) if names is not None else None
        return cls(rules, finder, numerals, int(probe.get("numeral_run", 6)), t2s, units, keep, lookalikes)

    def _simplify(self, ch):
        """One character simplified with OpenCC (same length, so spans map back to the text)."""
        out = self._simplified.get(ch)
        if out is None:
            if not hasattr(self, "_opencc"):
                import opencc

                self._opencc = opencc.OpenCC("t2s")
            converted = self._opencc.convert(ch)
            out = self._simplified[ch] = converted if len(converted) == 1 else ch
        return out

    def letters(self, text):
        """The text NFKC-normalised per character and in simplified characters, same length."""
        chars = []
        for ch in text:
            folded = unicodedata.normalize("NFKC", ch)
            chars.append(folded if len(folded) == 1 else ch)
        return "".join(self._simplify(ch) for ch in chars) if self._t2s else "".join(chars)

    def probe(self, text, letters=None):
        """The text as the rules also see it: same length, NFKC per character, simplified characters,
        numeral runs as digits, look-alike letters inside a digit run as digits."""
        probe = self.letters(text) if letters is None else letters
        if self._numeral_run is not None:
            probe = self._numeral_run.sub(lambda m: m.group(0).translate(self._numerals), probe)
        if self._lookalike_run is not None:
            probe = self._lookalike_run.sub(self._digits_for_letters, probe)
        return probe

    def _digits_for_letters(self, match):
        run = match.group(0)
        digits = sum(c.isdigit() for c in run)
        letters = sum(c.isalpha() for c in run)
        return run.translate(self._lookalikes) if letters and digits >= self._min_digits and digits > letters else run

    def numbers(self, probe):
        """(reading, starts, ends): `probe` with each Chinese number before a unit in digits, and
        for each character of the reading the span of the probe it comes from."""
        if self._unit_number is None:
            return probe, None, None
        pieces, at = [], 0
        for match in self._unit_number.finditer(probe):
            value = _chinese_number(match.group(0))
            if value is None:
                continue
            pieces.append((probe[at:match.start()], at, None))
            pieces.append((value, match.start(), match.end()))
            at = match.end()
        if not pieces:
            return probe, None, None
        pieces.append((probe[at:], at, None))
        reading, starts, ends = [], [], []
        for piece, start, end in pieces:
            reading.append(piece)
            if end is None:  # copied: one character for one
                starts.extend(range(start, start + len(piece)))
                ends.extend(range(start + 1, start + len(piece) + 1))
            else:  # a number: every digit stands for the whole numeral
                starts.extend([start] * len(piece))
                ends.extend([end] * len(piece))
        return "".join(reading), starts, ends

    def replacements(self):
        """Every text an item may be replaced with ("[电话]", "[姓名]"...)."""
        out = [rule.replacement for rule in self._rules]
        if self._names is not None:
            out.append(self._names.replacement)
        return tuple(dict.fromkeys(out))

    def warm(self):
        """Load the name tagger now rather than on the first question."""
        if self._names is not None:
            self._names.warm()

    def mask(self, text):
        """The text with every match replaced; None and "" pass through. Invisible format
        characters (zero-width spaces and joiners, bidi marks: Unicode category Cf) are dropped
        first: they mean nothing, and inside a number they would hide it from the rules."""
        if not text:
            return text
        if not text.isascii():
            text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
        letters = self.letters(text)
        probe = self.probe(text, letters)
        reading, starts, ends = self.numbers(probe)
        sources = [(text, None, None)]
        if probe != text:
            sources.append((probe, None, None))
        if starts is not None:
            sources.append((reading, starts, ends))
        spans = []  # (start, end, priority, replacement)
        for priority, rule in enumerate(self._rules):
            for source, source_starts, source_ends in sources:
                for match in rule.regex.finditer(source):
                    group = "value" if rule.value_group and match.group("value") is not None else 0
                    start, end = match.span(group)
                    if start < end and (rule.check is None or rule.check(match.group(group))):
                        if source_starts is not None:
                            start, end = source_starts[start], source_ends[end - 1]
                        spans.append((start, end, priority, rule.replacement))
        if self._names is not None:
            priority = len(self._rules)
            for start, end in self._names.find(letters):
                spans.append((start, end, priority, self._names.replacement))
        kept = [m.span() for regex in self._keep for m in regex.finditer(probe)]
        if kept:
            spans = [span for span in spans if not any(k_start <= span[0] and span[1] <= k_end for k_start, k_end in kept)]
        return _replace(text, spans)


def _chinese_number(numeral):
    """The digits a Chinese number stands for (一百零八 -> "108", 二零二 -> "202"), or None."""
    if not any(c in "十百千" for c in numeral):
        return "".join(str(_NUMERALS[c]) for c in numeral)
    if not _POSITIONAL.match(numeral):
        return None  # 七八十 is "seventy or eighty", not a number to read
    total = current = 0
    for c in numeral:
        if c in "十百千":
            total += (current or 1) * {"十": 10, "百": 100, "千": 1000}[c]
            current = 0
        else:
            current = _NUMERALS[c]
    return str(total + current)


def _replace(text, spans):
    """`text` with each span replaced; overlapping spans become one, with the replacement of the
    earliest rule among them."""
    merged = []  # [start, end, priority, replacement]
    for start, end, priority, replacement in sorted(spans):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            if priority < last[2]:
                last[2], last[3] = priority, replacement
        else:
            merged.append([start, end, priority, replacement])
    out, at = [], 0
    for start, end, _, replacement in merged:
        out.append(text[at:start])
        out.append(replacement)
        at = end
    out.append(text[at:])
    return "".join(out)


def _expand(regex, defines):
    for name, value in defines.items():
        regex = regex.replace(f"%{name}%", value)
    return regex


def _section_line(path, section):
    pattern = re.compile(rf"^\s*\[\s*{re.escape(section)}\s*\]")
    for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if pattern.match(text):
            return n
    return None
