"""The question the core reads, without the citizen's own personal data.

A phone number, ID number, address or name in a question is about the person asking, not what
they ask: read as words it became a "phone number asked for" (fact_missing) or words no passage
contains (not_found), and the real question went unanswered. The masker of the query log
(retrieval/privacy.py, faq/privacy.toml) finds the items; each is removed with the label word
right before it (faq/privacy.toml [question] labels). `Query.question` keeps what was typed.
"""

import re
from dataclasses import dataclass

from .datafiles import read_toml

_SEPARATOR = "，"  # what a removed item leaves: the words on either side stay apart


@dataclass(frozen=True)
class QuestionRedactor:
    mask: object  # text -> masked text (privacy.Masker.mask)
    placeholders: tuple  # what the masker writes in place of an item ("[电话]"...)
    labels: tuple = ()
    min_digits: int = 5

    @classmethod
    def load(cls, path, masker):
        section = read_toml(path).get("question", {})
        placeholders = tuple(sorted(set(re.findall(r"\[[^\[\]]{1,8}\]", "\n".join(masker.replacements()))), key=len, reverse=True))
        return cls(masker.mask, placeholders, tuple(sorted(section.get("labels", ()), key=len, reverse=True)), int(section.get("min_digits", 5)))

    def __post_init__(self):
        labels = "|".join(map(re.escape, self.labels))
        items = "|".join(map(re.escape, self.placeholders))
        label = rf"(?:(?:{labels})\s*(?:是|为|[:：])?\s*)?" if labels else ""
        object.__setattr__(self, "_item", re.compile(rf"{label}(?:{items})") if items else None)
        object.__setattr__(self, "_numeral_run", re.compile(rf"[〇零一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖0-9０-９][〇零一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖0-9０-９ ,，\-]{{{self.min_digits},}}"))

    def _worth_masking(self, question):
        """A question with `min_digits` digits in all (an address's 123号5幢2单元301室 too), a
        long run of numerals, or an @: only these pay for the masker (its name tagger loads in
        about a second)."""
        return sum(c.isdigit() for c in question) >= self.min_digits or "@" in question or self._numeral_run.search(question) is not None

    def redact(self, question):
        """The question with each personal item (and its label) removed; unchanged when it has
        no long number or e-mail address, or nothing was masked."""
        if self._item is None or not self._worth_masking(question):
            return question
        masked = self.mask(question)
        if masked == question:
            return question
        return self._item.sub(_SEPARATOR, masked)
