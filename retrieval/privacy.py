"""Mask personal data in a question before it is logged: ID, phone, bank-card and other numbers,
e-mail, addresses, names.

Every pattern, cue word, surname and numeral is data in faq/privacy.toml; this module applies
them. Each rule runs on the text as typed and on a probe of the same length (NFKC per
character, digit-by-digit Chinese numerals as digits), so "１３８…", "138 1234 5678" and
"一三八…" are all found; names come from cue words (我叫, 我老公, 申请人:...), a name before
男/女 at the start, Latin-script names after a cue, and jieba's part-of-speech tagger
(retrieval/names.py). Overlapping finds are masked as one; what is not masked stays exactly as
the user typed it.
"""

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .datafiles import read_toml, table_lines
from .errors import DataFileError
from .names import NameTagger

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_SEPARATOR = re.compile(r"[ \-‐‑–—_.·]")


def _id_card_ok(text):
    """An 18- or 15-digit ID number whose birth date is a date."""
    digits = _SEPARATOR.sub("", text)
    if len(digits) == 18:
        year, month, day = digits[6:10], digits[10:12], digits[12:14]
        if year[:2] not in ("18", "19", "20"):
            return False
    elif len(digits) == 15:
        month, day = digits[8:10], digits[10:12]
    else:
        return False
    return "01" <= month <= "12" and "01" <= day <= "31"


CHECKS = {"id_card": _id_card_ok}


@dataclass(frozen=True)
class _Rule:
    name: str
    regex: re.Pattern
    replacement: str
    value_group: bool  # replace only the group named `value`
    check: object = None  # callable(match text) -> bool; None: always


class Masker:
    """Applies the masking rules of one privacy.toml."""

    def __init__(self, rules, names=None, numerals=None, numeral_run=6):
        self._rules = tuple(rules)
        self._names = names  # _Names or None
        self._numerals = str.maketrans(numerals or {})
        chars = "".join(re.escape(c) for c in (numerals or {}))
        self._numeral_run = re.compile(rf"[{chars}](?:{_SEPARATOR.pattern}?[{chars}]){{{numeral_run - 1},}}") if chars else None

    @classmethod
    def load(cls, path):
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
        return cls(rules, _Names.load(path, names) if names is not None else None, numerals, int(probe.get("numeral_run", 6)))

    def probe(self, text):
        """The text as the rules also see it: same length, NFKC per character, numeral runs as digits."""
        chars = []
        for ch in text:
            folded = unicodedata.normalize("NFKC", ch)
            chars.append(folded if len(folded) == 1 else ch)
        probe = "".join(chars)
        if self._numeral_run is not None:
            probe = self._numeral_run.sub(lambda m: m.group(0).translate(self._numerals), probe)
        return probe

    def warm(self):
        """Load the name tagger now rather than on the first question."""
        if self._names is not None:
            self._names.tagger.warm()

    def mask(self, text):
        """The text with every match replaced; None and "" pass through."""
        if not text:
            return text
        probe = self.probe(text)
        spans = []  # (start, end, priority, replacement)
        sources = (probe,) if probe == text else (probe, text)
        for priority, rule in enumerate(self._rules):
            for source in sources:
                for match in rule.regex.finditer(source):
                    group = "value" if rule.value_group and match.group("value") is not None else 0
                    start, end = match.span(group)
                    if start < end and (rule.check is None or rule.check(match.group(group))):
                        spans.append((start, end, priority, rule.replacement))
        if self._names is not None:
            priority = len(self._rules)
            for start, end in self._names.find(text, probe):
                spans.append((start, end, priority, self._names.replacement))
        return _replace(text, spans)


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


class _Names:
    """The [names] section: cue words, kinship words, surnames, the part-of-speech tagger."""

    def __init__(self, replacement, rules, after_cues, tagger, surname, plausible, compound):
        self.replacement = replacement
        self.rules = rules  # (regex, check) whose group `value` is a name
        self.after_cues = after_cues  # (regex of cue words, strong) for the word-after-the-cue check
        self.tagger = tagger
        self.surname = surname  # compiled: starts with a surname
        self.plausible = plausible
        self.compound = compound  # compiled: starts with a compound surname
        self.pos_not_before = ""  # a tagged word right before one of these is a verb phrase, not a name
        self.pos_not_after = ""  # ...or right after a demonstrative (那段时间)

    @classmethod
    def load(cls, path, names):
        line = _section_line(path, "names")
        try:
            replacement = names["replacement"]
            strong, weak = _words(names["strong"]), _words(names["weak"])
            kinship, calls = _words(names.get("kinship", [])), _words(names.get("calls", []))
            latin = _words(names.get("latin", []))
            surnames = [c for c in names["surnames"] if not c.isspace()] + list(names.get("compound_surnames", []))
            ends = _words(names["ends_before"])
            never = "".join(names.get("never_in_names", ""))
            not_names = tuple(names.get("not_names", []))
            bad_endings = "".join(names.get("not_name_endings", ""))
            pos_tags = tuple(names.get("pos_tags", []))
            userdict = names.get("userdict")
            gender = bool(names.get("gender_after_name", False))
        except (KeyError, TypeError) as exc:
            raise DataFileError(path, line, f"[names] needs replacement, strong, weak, surnames and ends_before: {exc!r}") from exc
        name_char = rf"(?![{re.escape(never)}])[{_CJK}]" if never else rf"[{_CJK}]"
        end = rf"(?:{_alternatives(ends)}|$|[^{_CJK}0-9A-Za-z])"
        surname = _alternatives(surnames)
        strong_cues = strong + [k + c for k in kinship for c in calls if c != "是"] + [k + "是" for k in kinship]
        weak_cues = weak + kinship

        def plausible(name):
            return bool(name) and not name.startswith(not_names) and name[-1] not in bad_endings and not any(c in never for c in name)

        rules = []
        if strong_cues:
            regex = rf"(?:{_alternatives(strong_cues)})\s*(?P<value>{name_char}{{2,4}}?)(?={end})"
            rules.append((re.compile(regex), plausible))
        if weak_cues:
            regex = rf"(?:{_alternatives(weak_cues)})\s*(?P<value>(?:{surname}){name_char}{{1,2}}?)(?={end})"
            rules.append((re.compile(regex), plausible))
        latin_name = r"[A-Za-z][A-Za-z'\-]*(?:(?:[ ·.][A-Z][A-Za-z'\-]*){1,2}|[ ·][a-z]+(?=\s*(?:[^\sA-Za-z]|$)))?"
        cues = [re.escape(w) for w in sorted(set(latin), key=len, reverse=True)]
        if cues:
            rules.append((re.compile(rf"(?i:\b(?:{'|'.join(cues)}))\s*[:：]?\s*(?P<value>(?-i:{latin_name}))"), None))
        if strong:
            rules.append((re.compile(rf"(?:{_alternatives(strong)})\s*[:：]?\s*(?P<value>{latin_name})"), None))
        if gender:
            regex = rf"^\s*(?P<value>{name_char}{{2,4}}?)\s*[,，、;；]?\s*(?:性别\s*[:：]?\s*)?[男女](?![人士孩生童方性子])"
            rules.append((re.compile(regex), plausible))
        after_cues = [(re.compile(_alternatives(strong_cues)), True), (re.compile(_alternatives(weak_cues)), False)]
        tagger = None
        if pos_tags:
            tagger = NameTagger(Path(path).parent / userdict if userdict else None, pos_tags)
        compound = re.compile("^(?:" + _alternatives(names.get("compound_surnames", [])) + ")") if names.get("compound_surnames") else re.compile("(?!)")
        found = cls(replacement, rules, after_cues, tagger, re.compile(rf"^(?:{surname})"), plausible, compound)
        found.pos_not_before = "".join(names.get("pos_not_before", ""))
        found.pos_not_after = "".join(names.get("pos_not_after", ""))
        return found

    def find(self, text, probe):
        """(start, end) of every name in the text."""
        found = []
        for source in (text,) if probe == text else (text, probe):
            for regex, check in self.rules:
                for match in regex.finditer(source):
                    value = match.group("value")
                    if value and (check is None or check(value)):
                        found.append(match.span("value"))
        if self.tagger is not None:
            found = [(s, e) for s, e in found if not self._common(text[s:e])]
            found.extend(self._tagged(probe))
        return found

    def _common(self, word):
        """An everyday word (申请, 电话), not a name; 欧阳 is a word too, but starts 欧阳娜娜."""
        if self.compound.match(word):
            return self.tagger.common_word(word, prefix=False)
        return self.tagger.common_word(word)

    def _tagged(self, text):
        """Names by part of speech, and the word right after a cue word."""
        words = self.tagger.words(text)
        found = []
        for start, end, word, tag in words:
            if tag.startswith(self.tagger.tags) and 2 <= len(word) <= 4 and _all_cjk(word) and self.surname.match(word) and self.plausible(word) and not self._common(word):
                if (end == len(text) or text[end] not in self.pos_not_before) and (start == 0 or text[start - 1] not in self.pos_not_after):
                    found.append((start, end))
        starts = {start: n for n, (start, *_rest) in enumerate(words)}
        for regex, strong in self.after_cues:
            for match in regex.finditer(text):
                at = match.end()
                while at < len(text) and text[at] in " :：":
                    at += 1
                n = starts.get(at)
                if n is None:
                    continue
                start, end, word, _ = words[n]
                while len(word) < 3 and n + 1 < len(words) and len(words[n + 1][2]) == 1 and len(word) == 1 and _all_cjk(words[n + 1][2]):
                    n += 1
                    word += words[n][2]
                    end = words[n][1]
                if not (2 <= len(word) <= 4 and _all_cjk(word) and self.plausible(word)) or self._common(word):
                    continue
                if strong or self.surname.match(word):
                    found.append((start, end))
        return found


def _all_cjk(word):
    return all("\u3400" <= c <= "\u9fff" for c in word)


def _words(value):
    if isinstance(value, str) or not all(isinstance(w, str) and w for w in value):
        raise TypeError("expected a list of non-empty strings")
    return list(value)


def _alternatives(words):
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def _section_line(path, section):
    pattern = re.compile(rf"^\s*\[\s*{re.escape(section)}\s*\]")
    for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if pattern.match(text):
            return n
    return None
