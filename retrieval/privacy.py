"""Mask personal data in a question before it is logged: ID, phone and bank-card numbers, e-mail, names.

Every pattern, introducer word and surname is data in faq/privacy.toml; this module applies them.
Matching runs on a copy with full-width digits made ASCII (same length), and replacements are
cut into the original text, so everything not masked stays exactly as the user typed it.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from .datafiles import read_toml, table_lines
from .errors import DataFileError

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


@dataclass(frozen=True)
class _Rule:
    name: str
    regex: re.Pattern
    replacement: str
    value_group: bool  # replace only the group named `value`
    check: object = None  # callable(match text) -> bool; None: always


class Masker:
    """Applies the masking rules of one privacy.toml."""

    def __init__(self, rules):
        self._rules = tuple(rules)

    @classmethod
    def load(cls, path):
        path = Path(path)
        data = read_toml(path)
        lines = table_lines(path, "pattern")
        rules = []
        for n, entry in enumerate(data.get("pattern", [])):
            line = lines[n] if n < len(lines) else None
            if not isinstance(entry.get("regex"), str) or not isinstance(entry.get("replacement"), str):
                raise DataFileError(path, line, "a [[pattern]] needs regex and replacement strings")
            try:
                regex = re.compile(entry["regex"])
            except re.error as exc:
                raise DataFileError(path, line, f"bad regular expression: {exc}") from exc
            rules.append(_Rule(entry.get("name", f"pattern {n + 1}"), regex, entry["replacement"], "value" in regex.groupindex))
        names = data.get("names")
        if names is not None:
            rules.extend(_name_rules(path, names))
        return cls(rules)

    def mask(self, text):
        """The text with every match replaced; None and "" pass through."""
        if not text:
            return text
        probe = text.translate(_FULL_WIDTH_DIGITS)
        spans = []  # (start, end, replacement), non-overlapping
        for rule in self._rules:
            for match in rule.regex.finditer(probe):
                group = "value" if rule.value_group and match.group("value") is not None else 0
                start, end = match.span(group)
                if start == end or (rule.check is not None and not rule.check(match.group(group))):
                    continue
                if any(start < e and s < end for s, e, _ in spans):
                    continue
                spans.append((start, end, rule.replacement))
        out, at = [], 0
        for start, end, replacement in sorted(spans):
            out.append(text[at:start])
            out.append(replacement)
            at = end
        out.append(text[at:])
        return "".join(out)


def _name_rules(path, names):
    line = _section_line(path, "names")
    try:
        replacement = names["replacement"]
        strong, weak = _words(names["strong"]), _words(names["weak"])
        surnames = [c for c in names["surnames"] if not c.isspace()] + list(names.get("compound_surnames", []))
        ends = _words(names["ends_before"])
        never = "".join(names.get("never_in_names", ""))
        not_names = tuple(names.get("not_names", []))
        bad_endings = "".join(names.get("not_name_endings", ""))
    except (KeyError, TypeError) as exc:
        raise DataFileError(path, line, f"[names] needs replacement, strong, weak, surnames and ends_before: {exc!r}") from exc
    name_char = rf"(?![{re.escape(never)}])[{_CJK}]" if never else rf"[{_CJK}]"
    end = rf"(?:{_alternatives(ends)}|$|[^{_CJK}0-9A-Za-z])"
    surname = _alternatives(surnames)

    def plausible(name):
        return not name.startswith(not_names) and name[-1] not in bad_endings

    rules = []
    if strong:
        regex = rf"(?:{_alternatives(strong)})\s*(?P<value>{name_char}{{2,4}}?)(?={end})"
        rules.append(_Rule("name", re.compile(regex), replacement, True))
    if weak:
        regex = rf"(?:{_alternatives(weak)})\s*(?P<value>(?:{surname}){name_char}{{1,2}}?)(?={end})"
        rules.append(_Rule("name_weak", re.compile(regex), replacement, True, plausible))
    return rules


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
