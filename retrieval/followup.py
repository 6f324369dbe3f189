"""Short follow-up questions read in the light of the previous one (faq/followup.toml).

"那要带什么材料?" after "在杭州怎么办理结婚登记" is asked as "在杭州结婚登记要带什么材料?".
Channels keep the previous question per chat; `resolve` is a pure function of the two
questions and the rules, so every channel gets the same behaviour.
"""

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .datafiles import read_lines, read_toml
from .errors import DataFileError

_PUNCTUATION = re.compile(r"[\s\W_]+")


@dataclass(frozen=True)
class FollowupRules:
    max_chars: int
    openers: tuple  # longest first
    question_words: tuple  # longest first
    standalone: frozenset
    topic_words: tuple  # a question containing one of these has a subject of its own

    @classmethod
    def load(cls, faq_dir):
        """Read faq/followup.toml, and the topic words from topics, domain terms and out-of-scope."""
        faq_dir = Path(faq_dir)
        path = faq_dir / "followup.toml"
        section = read_toml(path).get("followup")
        if not isinstance(section, dict):
            raise DataFileError(path, None, "missing [followup] table")
        for key, kind in (("max_chars", int), ("openers", list), ("question_words", list), ("standalone", list)):
            if not isinstance(section.get(key), kind):
                raise DataFileError(path, None, f"[followup] needs {key!r} ({kind.__name__})")
        words = [w for _, w in read_lines(faq_dir / "domain_terms.txt")]
        for name in ("topics.toml", "out_of_scope.toml"):
            for entry in read_toml(faq_dir / name).get("topic", []):
                words.extend(entry.get("keywords", []))
        return cls(
            max_chars=section["max_chars"],
            openers=_longest_first(section["openers"]),
            question_words=_longest_first(section["question_words"]),
            standalone=frozenset(_plain(w) for w in section["standalone"]),
            topic_words=_longest_first(words),
        )


def resolve(previous, question, rules):
    """The question to answer: `question` itself, or the previous subject plus it for a follow-up."""
    question = (question or "").strip()
    if not previous or not question:
        return question
    normalized = _normalize(question)
    if _plain(question) in rules.standalone or any(w in normalized for w in rules.topic_words):
        return question
    opener = next((o for o in rules.openers if normalized.startswith(_normalize(o))), None)
    if opener is None and len(_plain(question)) > rules.max_chars:
        return question
    subject = _normalize(previous)
    for word in rules.question_words:
        subject = subject.replace(_normalize(word), "")
    subject = subject.strip()
    if not subject:
        return question
    rest = question[len(opener):].lstrip(" ,，、") if opener else question
    return subject + rest if rest else question


def _normalize(text):
    return unicodedata.normalize("NFKC", text).lower()


def _plain(text):
    return _PUNCTUATION.sub("", _normalize(text))


def _longest_first(words):
    return tuple(sorted(dict.fromkeys(_normalize(w) for w in words if w), key=len, reverse=True))
