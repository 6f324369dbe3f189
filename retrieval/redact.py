"""The question the core reads, without the citizen's own personal data.

A phone number, ID number, address or name in a question is about the person asking, not what
they ask: read as words it became a "phone number asked for" (fact_missing) or words no passage
contains (not_found), and the real question went unanswered. The masker of the query log
(retrieval/privacy.py, faq/privacy.toml) finds the items; each is removed with the label word
right before it (faq/privacy.toml [question] labels). `Query.question` keeps what was typed.
"""

import re
import threading

from .datafiles import read_toml

_SEPARATOR = "，"  # what a removed item leaves: the words on either side stay apart


class QuestionRedactor:
    """Takes the asker's items out of a question. The masker is loaded only for a question
    worth masking (its patterns and name tagger take a good part of a cold `ask`)."""

    def __init__(self, masker, labels=(), min_digits=5):
        self._masker = masker  # a privacy.Masker, or a callable returning one (loaded on first need)
        self.labels = tuple(labels)
        self.min_digits = min_digits
        self._item = None
        self._lock = threading.Lock()  # one load however many threads ask at once
        self._numeral_run = re.compile(rf"[〇零一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖0-9０-９][〇零一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖0-9０-９ ,，\-]{{{min_digits},}}")

    @classmethod
    def load(cls, path, masker):
        section = read_toml(path).get("question", {})
        return cls(masker, sorted(section.get("labels", ()), key=len, reverse=True), int(section.get("min_digits", 5)))

    def _ready(self):
        """The masker, and the pattern of what it writes with its label (once)."""
        if self._item is not None:
            return self._masker
        with self._lock:
            if self._item is not None:
                return self._masker
            if callable(self._masker) and not hasattr(self._masker, "mask"):
                self._masker = self._masker()
            placeholders = sorted(set(re.findall(r"\[[^\[\]]{1,8}\]", "\n".join(self._masker.replacements()))), key=len, reverse=True)
            labels = "|".join(map(re.escape, self.labels))
            label = rf"(?:(?:{labels})\s*(?:是|为|[:：])?\s*)?" if labels else ""
            self._item = re.compile(rf"{label}(?:{'|'.join(map(re.escape, placeholders))})") if placeholders else False
        return self._masker

    @property
    def masker(self):
        """The Masker this redactor reads questions with (loaded now if it was not yet)."""
        return self._ready()

    def _worth_masking(self, question):
        """A question with `min_digits` digits in all (an address's 123号5幢2单元301室 too), a
        long run of numerals, or an @: only these pay for the masker (its name tagger loads in
        about a second)."""
        return sum(c.isdigit() for c in question) >= self.min_digits or "@" in question or self._numeral_run.search(question) is not None

    def redact(self, question):
        """The question with each personal item (and its label) removed; unchanged when it has
        no long number or e-mail address, or nothing was masked."""
        if not self._worth_masking(question):
            return question
        masked = self._ready().mask(question)
        if masked == question or not self._item:
            return question
        return self._item.sub(_SEPARATOR, masked)
