"""Short follow-up questions read in the light of the previous one (faq/followup.toml).

"那要带什么材料?" after "低保怎么申请" is searched with the previous question's subject terms
(低保, 申请) beside its own words; "那萧山呢" keeps the previous subject and what it asked and
changes the place; "那离婚呢" after a marriage question replaces the subject with a sibling of
the same topic. Nothing is spliced into the citizen's sentence: the previous question lends
terms, a region, a question type and asked facts (a `Reading`), and the Query records it.

`Context` is what a conversation keeps between two questions: only terms that survive the
query log's masking, the previous question masked, and the numbered suggestions it offered.
"""

import re
import unicodedata
from dataclasses import dataclass

from .datafiles import read_toml
from .errors import DataFileError

_PUNCTUATION = re.compile(r"[\s\W_]+")
_WORD_CHAR = re.compile(r"[^\W\d_]")  # a letter or a CJK character: digits alone ("1") are no question
_DIGITS = {c: n for n, c in enumerate("一二三四五六七八九", 1)} | {c: n for n, c in enumerate("①②③④⑤⑥⑦⑧⑨", 1)}


@dataclass(frozen=True)
class Context:
    """What the next question of a conversation may borrow from this one."""

    question: str  # the question as typed, masked (shown in "结合您上一个问题…")
    subject: tuple  # its subject terms (focus words the masking left alone)
    cue: tuple  # its words that ask rather than name (材料, 带...)
    region: str = None
    topic: str = None
    qtype: object = None  # query.QuestionType
    asked: tuple = ()  # intent.FactType
    suggestions: tuple = ()  # the numbered "您是不是想问" offered with its answer
    civil: bool = False  # it was about civil affairs (so is a follow-up without a subject word)

    @classmethod
    def of(cls, query, masked, suggestions=(), evidence="", normalize=None, answered=False):
        """The context a Query leaves. `masked`: the question as the query log masks it (kept
        for "结合您上一个问题…"); a term not in it once normalised like the Query (`normalize`)
        is dropped, such as a name. `evidence`: the text
        of what answered it; of a long question only the terms the answer covers are kept, so
        chat words ("签好了", "当天") do not dilute the next question's search. `answered`: the
        sources answered it or offered related passages, so the conversation is about civil
        affairs even when no word of it says so ("e起享老是什么东西", then "它什么时候能用上")."""
        if query is None or masked is None:
            return None
        # Masking mostly leaves a question as it was: then the Query's normalised text is it.
        if masked == query.question and normalize is not None:
            shown, masked = masked, query.normalized
        else:
            shown, masked = masked, normalize(masked) if normalize is not None else masked
        borrowed = query.followup.subject if query.followup is not None else ()
        kept = tuple(w for w in query.focus if w in masked or w in borrowed)
        covered = tuple(w for w in kept if w in evidence)
        subject = _outermost(covered or kept)
        asks = (query.qtype.asks if query.qtype is not None else ()) + tuple(a for f in query.asked for a in f.asks)
        cue = tuple(w for w in dict.fromkeys(query.words) if w not in kept and w in masked and any(w in a for a in asks))
        if not cue and query.followup is not None:
            cue = query.followup.cue  # "那萧山呢" asked what the question before it asked
        return cls(shown, subject, cue, query.region, query.topic, query.qtype, query.asked, tuple(suggestions), query.civil or answered)


@dataclass(frozen=True)
class Reading:
    """How a follow-up is read: the terms it borrows and what it inherits."""

    previous: str  # the previous question, masked
    subject: tuple  # the subject the question is now about (borrowed + its own)
    cue: tuple  # borrowed asking words (only when it asks nothing of its own)
    region: str
    topic: str
    qtype: object
    asked: tuple
    civil: bool = False

    @property
    def terms(self):
        return self.subject + self.cue


@dataclass(frozen=True)
class FollowupRules:
    max_chars: int  # longer questions without an opener or marker stand alone
    max_marked_chars: int  # longer questions stand alone even with an opener or marker
    openers: tuple  # normalised, longest first
    markers: tuple  # words that point back (这个, 也...), normalised
    standalone: frozenset
    new_question: tuple  # openers that start another matter ("另外问一下")
    picks: tuple  # compiled patterns; group "n" is the number of the suggestion picked
    asking: tuple = ()  # compiled patterns of a question that asks its own thing (yes/no)

    @classmethod
    def load(cls, faq_dir):
        """Read faq/followup.toml."""
        path = faq_dir / "followup.toml"
        section = read_toml(path).get("followup")
        if not isinstance(section, dict):
            raise DataFileError(path, None, "missing [followup] table")
        for key, kind in (
            ("max_chars", int),
            ("max_marked_chars", int),
            ("openers", list),
            ("markers", list),
            ("standalone", list),
            ("new_question", list),
            ("picks", list),
            ("asking", list),
        ):
            if not isinstance(section.get(key), kind):
                raise DataFileError(path, None, f"[followup] needs {key!r} ({kind.__name__})")
        picks = []
        for pattern in section["picks"]:
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise DataFileError(path, None, f"bad pick pattern {pattern!r}: {exc}") from exc
            if "n" not in compiled.groupindex:
                raise DataFileError(path, None, f"pick pattern {pattern!r} needs a group named n")
            picks.append(compiled)
        asking = []
        for pattern in section["asking"]:
            try:
                asking.append(re.compile(pattern))
            except re.error as exc:
                raise DataFileError(path, None, f"bad asking pattern {pattern!r}: {exc}") from exc
        return cls(
            max_chars=section["max_chars"],
            max_marked_chars=section["max_marked_chars"],
            openers=_longest_first(section["openers"]),
            markers=_longest_first(section["markers"]),
            standalone=frozenset(_plain(w) for w in section["standalone"]),
            new_question=_longest_first(section["new_question"]),
            picks=tuple(picks),
            asking=tuple(asking),
        )

    def opener(self, normalized):
        return next((o for o in self.openers if normalized.startswith(o)), None)

    def asks_own(self, text):
        """Whether a message asks a question of its own (a yes/no question), not only narrows."""
        plain = _plain(text)
        return any(p.search(plain) for p in self.asking)

    def pick(self, text):
        """The suggestion number a message picks ("1", "第一个", "2号"), or None."""
        plain = _plain(text)
        for pattern in self.picks:
            found = pattern.fullmatch(plain)
            if found:
                digit = found.group("n")
                return int(digit) if digit.isdigit() else _DIGITS.get(digit)
        return None


def without_opener(normalized, rules):
    """The question's own words: a leading opener ("那", "还有,") removed."""
    opener = rules.opener(normalized)
    return normalized[len(opener) :].lstrip(" ,，、") if opener else normalized


def read(query, context, rules):
    """A Reading when `query` follows on from `context`, else None (it stands on its own)."""
    if context is None or query.out_of_scope is not None:
        return None
    normalized = query.normalized
    if any(normalized.startswith(w) for w in rules.new_question):
        return None  # "另外问一下,…": another matter
    plain = _plain(normalized)
    if not plain or plain in rules.standalone:
        return None
    opener = rules.opener(normalized)
    own = without_opener(normalized, rules)
    if not _WORD_CHAR.search(own):
        return None  # only an opener ("那") or a number ("1"): nothing to read
    marked = opener is not None or any(m in own for m in rules.markers)
    if len(plain) > (rules.max_marked_chars if marked else rules.max_chars):
        return None
    subject = _outermost(tuple(w for w in query.focus if w in own))  # not "那要" of "那要什么材料"
    if subject and not marked and query.topic is not None:
        return None  # a short question naming a service of its own ("养老院怎么收费")
    asks = query.qtype is not None or bool(query.asked) or rules.asks_own(own)
    if subject and query.topic is not None and context.topic is not None and query.topic != context.topic and asks:
        return None  # a question of its own about another topic's subject ("然后 结婚前一方有重病要不要告诉对方" after a burial question)
    if subject and query.topic is not None and query.topic == context.topic:
        borrowed = ()  # a sibling of the previous subject replaces it ("那离婚呢" after 结婚登记)
    else:
        borrowed = context.subject
    cue = () if asks else context.cue
    if not borrowed and not cue and (query.region is None or query.region == context.region):
        return None  # nothing the previous question adds
    return Reading(
        previous=context.question,
        subject=_outermost(borrowed + subject),
        cue=cue,
        region=query.region or context.region,
        topic=query.topic or context.topic,
        qtype=query.qtype or (None if asks else context.qtype),
        asked=query.asked or (() if asks else context.asked),
        civil=query.civil or context.civil,
    )


def _outermost(terms):
    """Terms not contained in a longer one (结婚, 登记, 结婚登记 -> 结婚登记), in order."""
    terms = tuple(dict.fromkeys(terms))
    return tuple(t for t in terms if not any(t != o and t in o for o in terms))


def _normalize(text):
    return unicodedata.normalize("NFKC", text).lower()


def _plain(text):
    return _PUNCTUATION.sub("", _normalize(text))


def _longest_first(words):
    return tuple(sorted(dict.fromkeys(_normalize(w) for w in words if w), key=len, reverse=True))
