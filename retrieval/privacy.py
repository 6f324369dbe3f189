"""Mask personal data in a question before it is logged: ID, phone, bank-card and other numbers,
e-mail, addresses, names.

Every pattern, cue word, surname and numeral is data in faq/privacy.toml; this module applies
them. Each rule runs on the text as typed and on a probe of the same length (NFKC per
character, traditional characters as simplified, digit-by-digit Chinese numerals as digits), so
"１３８…", "138 1234 5678", "陳美玲" and "一三八…" are all found; names come from cue, kinship
and role words (我叫, 我老公, 申请人:, 来电人...), person words after a name (老人, 阿姨, (男)),
names listed beside a found one, a name before 男/女 at the start, Latin-script and pinyin
names, and jieba's part-of-speech tagger (retrieval/names.py). Overlapping finds are masked as one; what is not masked stays exactly as
the user typed it.
"""

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .datafiles import read_lines, read_toml, table_lines
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

    def __init__(self, rules, names=None, numerals=None, numeral_run=6, t2s=None):
        self._rules = tuple(rules)
        self._names = names  # _Names or None
        self._numerals = str.maketrans(numerals or {})
        self._t2s = t2s  # traditional -> simplified, one character at a time (OpenCC), or None
        self._simplified = {}
        # a run of numerals (一三九 三零零三…), or of numerals and digits written together
        # (147五六二三0570), is read digit by digit; 王五 13605718888 keeps its 五
        chars = "".join(re.escape(c) for c in (numerals or {}))
        spaced = rf"[{chars}](?:{_SEPARATOR.pattern}?[{chars}]){{{numeral_run - 1},}}"
        mixed = rf"(?=[0-9]*[{chars}])[{chars}0-9]{{{numeral_run},}}"
        self._numeral_run = re.compile(f"{spaced}|{mixed}") if numerals else None

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
        t2s = probe.get("t2s")
        if t2s not in (None, "opencc"):
            raise DataFileError(path, _section_line(path, "probe"), "[probe] t2s is \"opencc\" or absent")
        return cls(rules, _Names.load(path, names) if names is not None else None, numerals, int(probe.get("numeral_run", 6)), t2s)

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

    def probe(self, text):
        """The text as the rules also see it: same length, NFKC per character, simplified characters,
        numeral runs as digits."""
        chars = []
        for ch in text:
            folded = unicodedata.normalize("NFKC", ch)
            chars.append(folded if len(folded) == 1 else ch)
        probe = "".join(self._simplify(ch) for ch in chars) if self._t2s else "".join(chars)
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
    """The [names] section: cue, kinship and role words, words after a name, surnames, the tagger.

    A name is a surname (or, after a calling word such as 我叫 / 我妈叫, any character) and a
    given name of one or two characters: two unless the character after the first one starts
    an `ends_before` word or is not a name character (so 张伟在外地 is 张伟, 陈浩然白血病 is 陈浩然).
    """

    def __init__(self, replacement, rules, cues, after, tagger, surname, plausible, compound, ends, name_char, places):
        self.replacement = replacement
        self.rules = rules  # (regex, check) whose group `value` is a name
        self.cues = cues  # (regex of cue words, kind): kind "called" (any name, even a word), "strong", "weak"
        self.after = after  # compiled: words right after a name that mark a person (老人, 阿姨, (男)...)
        self.tagger = tagger
        self.surname = surname  # compiled: a surname at a position
        self.plausible = plausible
        self.compound = compound  # compiled: starts with a compound surname
        self.ends = ends  # compiled: a word that ends a name at a position
        self.name_char = name_char  # compiled: one character that can be part of a name
        self.places = places  # compiled: a place word after a "name" makes it a place (金城路, 方正大厦)
        self.pos_not_before = ""  # a tagged word right before one of these is a verb phrase, not a name
        self.pos_not_after = ""  # ...or right after a demonstrative (那段时间)

    @classmethod
    def load(cls, path, names):
        line = _section_line(path, "names")
        try:
            replacement = names["replacement"]
            strong, weak = _words(names["strong"]), _words(names["weak"])
            kinship, calls = _words(names.get("kinship", [])), _words(names.get("calls", []))
            roles = _words(names.get("roles", []))
            after = _words(names.get("after_name", []))
            latin = _words(names.get("latin", []))
            latin_surnames = _words(names.get("latin_surnames", []))
            surnames = [c for c in names["surnames"] if not c.isspace()] + list(names.get("compound_surnames", []))
            ends = _words(names["ends_before"])
            never = "".join(names.get("never_in_names", ""))
            not_names = tuple(names.get("not_names", []))
            not_names_exact = frozenset(names.get("not_names_exact", []))
            bad_endings = "".join(names.get("not_name_endings", ""))
            places = _words(names.get("places_after", []))
            pos_tags = tuple(names.get("pos_tags", []))
            userdict = names.get("userdict")
            gender = bool(names.get("gender_after_name", False))
        except (KeyError, TypeError) as exc:
            raise DataFileError(path, line, f"[names] needs replacement, strong, weak, surnames and ends_before: {exc!r}") from exc
        name_char = rf"(?![{re.escape(never)}])[{_CJK}]" if never else rf"[{_CJK}]"
        places_re = re.compile(_alternatives(places)) if places else re.compile("(?!)")

        def plausible(name, after=""):
            if not name or name in not_names_exact or name.startswith(not_names) or name[-1] in bad_endings:
                return False
            if any(c in never for c in name):
                return False
            return not (after and places_re.match(after))

        called = [k + c for k in kinship + ["他", "她", "老人", "孩子"] for c in calls if c != "是"] + [w for w in strong if "叫" in w or "名字" in w]
        strong_cues = [w for w in strong if w not in called] + [k + "是" for k in kinship] + [r + c for r in roles for c in (":", "：")]
        weak_cues = weak + kinship + roles
        rules = []
        latin_name = r"[A-Za-z][A-Za-z'\-]*(?:(?:[ ·.][A-Z][A-Za-z'\-]*){1,2}|[ ·][a-z]+(?=\s*(?:[^\sA-Za-z]|$)))?"
        cues = [re.escape(w) for w in sorted(set(latin), key=len, reverse=True)]
        if cues:
            rules.append((re.compile(rf"(?i:\b(?:{'|'.join(cues)}))\s*[:：]?\s*(?P<value>(?-i:{latin_name}))"), None))
        if strong or weak:
            rules.append((re.compile(rf"(?:{_alternatives(strong + weak)})\s*[:：]?\s*(?P<value>[A-Z][A-Za-z'\-]*(?:[ ·.][A-Z][A-Za-z'\-]*){{1,2}})"), None))
        if latin_surnames:
            # a pinyin surname and a capitalised given name: Zhang Wei, WANG Xiuying, Li Na here
            given = r"[A-Z][a-z]{1,9}(?:-?[A-Za-z][a-z]{1,9}|[ ][A-Z][a-z]{1,9}(?![A-Za-z]))?"
            rules.append((re.compile(rf"(?<![A-Za-z])(?P<value>(?i:{'|'.join(re.escape(w) for w in latin_surnames)})[ ·]{given})(?![A-Za-z])"), None))
        if gender:
            regex = rf"^\s*(?P<value>{name_char}{{2,4}}?)\s*[,，、;；]?\s*(?:性别\s*[:：]?\s*)?[男女](?![人士孩生童方性子])"
            rules.append((re.compile(regex), lambda name: plausible(name)))
        kinds = [("called", called), ("strong", strong_cues), ("weak", weak_cues)]
        cue_res = [(re.compile(_alternatives(words)), kind) for kind, words in kinds if words]
        tagger = None
        if pos_tags:
            tagger = NameTagger(Path(path).parent / userdict if userdict else None, pos_tags)
        compound = re.compile("^(?:" + _alternatives(names.get("compound_surnames", [])) + ")") if names.get("compound_surnames") else re.compile("(?!)")
        found = cls(
            replacement,
            rules,
            cue_res,
            re.compile(_alternatives(after)) if after else re.compile("(?!)"),
            tagger,
            re.compile(rf"(?:{_alternatives(surnames)})"),
            plausible,
            compound,
            re.compile(rf"(?:{_alternatives(ends)}|[^{_CJK}]|$)"),
            re.compile(name_char),
            places_re,
        )
        found.pos_not_before = "".join(names.get("pos_not_before", ""))
        found.pos_not_after = "".join(names.get("pos_not_after", ""))
        return found

    def candidate(self, text, at, any_first=False):
        """(start, end) of the name that would start at `at`, or None."""
        match = self.surname.match(text, at)
        if match is not None:
            given = match.end()
        elif any_first and self.name_char.match(text, at):
            given = at + 1
        else:
            return None
        if not self.name_char.match(text, given):
            return None
        end = given + 1
        if end < len(text) and self.name_char.match(text, end) and not self.ends.match(text, end):
            end += 1
        return (at, end)

    def find(self, text, probe):
        """(start, end) of every name in the text."""
        found, trusted = [], set()
        for source in (text,) if probe == text else (text, probe):
            for regex, check in self.rules:
                for match in regex.finditer(source):
                    value = match.group("value")
                    if value and (check is None or check(value)):
                        found.append(match.span("value"))
                        trusted.add(match.span("value"))
            for regex, kind in self.cues:
                for match in regex.finditer(source):
                    at = match.end()
                    while at < len(source) and source[at] in " :：\t":
                        at += 1
                    span = self.candidate(source, at, any_first=kind != "weak")
                    if span is None:
                        continue
                    name = source[span[0]:span[1]]
                    if not self.plausible(name, source[span[0] + 2:]) or not self.plausible(name, source[span[1]:]):
                        continue
                    found.append(span)
                    if kind == "called":
                        trusted.add(span)
            for match in self.surname.finditer(source):
                # a name right before 老人 / 阿姨 / (男) / 来电...: try the short and the long given name
                at = match.end()
                for end in (at + 1, at + 2):
                    if end <= len(source) and all(self.name_char.match(source, i) for i in range(at, end)) and self.after.match(source, end):
                        if self.plausible(source[match.start():end], source[end:]):
                            found.append((match.start(), end))
                        break
        if self.tagger is not None:
            found = [(s, e) for s, e in found if (s, e) in trusted or not self._common(probe[s:e])]
            found.extend(self._tagged(probe))
        found.extend(self._listed(probe, found))
        return found

    def _listed(self, text, found):
        """Names listed beside a found one: 王秀英、王秀兰 / 许伟和钟鹏."""
        more = []
        for start, end in found:
            if end < len(text) and text[end] in "、和及":
                span = self.candidate(text, end + 1)
                if span is not None and self.plausible(text[span[0]:span[1]], text[span[1]:]):
                    more.append(span)
            if start >= 2 and text[start - 1] in "、和及":
                for length in (3, 2):
                    s = start - 1 - length
                    if s >= 0 and self.candidate(text, s) == (s, start - 1) and self.plausible(text[s:start - 1]):
                        more.append((s, start - 1))
                        break
        return more

    def _common(self, word):
        """An everyday word (申请, 电话), not a name; 欧阳 is a word too, but starts 欧阳娜娜."""
        if self.compound.match(word):
            return self.tagger.common_word(word, prefix=False)
        return self.tagger.common_word(word)

    def _tagged(self, text):
        """Names by part of speech."""
        found = []
        for start, end, word, tag in self.tagger.words(text):
            if tag.startswith(self.tagger.tags) and 2 <= len(word) <= 4 and _all_cjk(word) and self.surname.match(word) and self.plausible(word, text[end:]) and not self._common(word):
                if (end == len(text) or text[end] not in self.pos_not_before) and (start == 0 or text[start - 1] not in self.pos_not_after):
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
