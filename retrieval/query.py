"""One Query per question: everything the search, the FAQ and the decision read, computed once.

normalise (NFKC, OpenCC t2s, lower case) -> repair same-sounding typos against the knowledge
base's words -> region (places, towns and streets) -> topic, question type, asked facts, out of
scope -> the searched text (chat filler and place names removed) -> jieba words and character
bigrams -> the lexicon's official terms for colloquial phrases -> focus terms (the words a
passage must cover to answer).
"""

import re
from dataclasses import dataclass, replace

from . import followup
from .asof import as_of as as_of_date
from .datafiles import read_toml, table_lines
from .errors import DataFileError, EmptyQuestionError, QuestionTooLongError

_WORD_CHAR = re.compile(r"\w")
# A count or measure ("一万个", "几十年", "七十多岁", "好几项"): it names no subject.
_QUANTITY = re.compile(r"^[0-9几一二两三四五六七八九十百千万多好半每]+[个年岁项条家天户张次位名座场届级样号周月日]?$")
# jieba's dictionary count at or above which a word is among the ~1,000 commonest of general
# Chinese ("这样", "开始", "看看"): too general to be what the sources lack.
COMMON_WORD_COUNT = 5000
_CJK = re.compile(r"[\u4e00-\u9fff]")
_YEAR = re.compile(r"(?<![0-9])(20[0-9]{2})\s*年")
# A document's number as citizens quote it: 2026年第5号公告, 国务院令第649号, 浙民发〔2024〕12号.
_DOCUMENT_NUMBER = re.compile(
    r"(?:(?:20[0-9]{2}年)?第[0-9]+号(?:公告|令|文件|通知|决定|意见)?"
    r"|[\u4e00-\u9fff]{0,3}令第[0-9]+号"
    r"|[\u4e00-\u9fff]{1,6}[〔\[［(（]20[0-9]{2}[〕\]］)）][0-9]+号)"
)


@dataclass(frozen=True)
class QuestionType:
    name: str
    label: str
    asks: tuple
    evidence: re.Pattern


def load_question_types(path, normalize):
    """faq/question_types.toml, in file order (the first type whose phrase matches wins)."""
    lines = table_lines(path, "type")
    out = []
    for n, entry in enumerate(read_toml(path).get("type", [])):
        line = lines[n] if n < len(lines) else None
        for key in ("name", "label", "asks", "evidence"):
            if key not in entry:
                raise DataFileError(path, line, f"type {n + 1} lacks {key!r}")
        try:
            evidence = re.compile(entry["evidence"])
        except re.error as exc:
            raise DataFileError(path, line, f"bad evidence pattern: {exc}") from exc
        out.append(QuestionType(entry["name"], entry["label"], tuple(normalize(a) for a in entry["asks"]), evidence))
    return tuple(out)


@dataclass(frozen=True)
class Query:
    question: str  # as asked, stripped
    normalized: str  # NFKC, simplified, lower case
    text: str  # normalized, with same-sounding typos repaired
    repairs: tuple  # ((typed, repaired), ...)
    region: str  # the most specific place named, or None
    topic: str
    qtype: QuestionType  # or None
    asked: tuple  # FactType: amounts, phone numbers... the question asks for
    out_of_scope: object  # intent.OutOfScope or None
    civil: bool  # a civil-affairs word is present
    searched: str  # text without chat filler and place names
    words: tuple  # jieba words of `searched`
    bigrams: tuple
    expansion_words: tuple  # official terms the lexicon adds, not among `words`
    expansion_bigrams: tuple
    expansions: str  # the official terms as text
    focus: tuple  # words a passage must cover (no filler, no question-kind cue, no place)
    unknown: tuple  # focus words no passage contains, even through the lexicon
    qtypes: tuple = ()  # every type whose phrases the question contains, in file order (qtype first)
    followup: object = None  # followup.Reading: what it borrowed from the previous question
    as_of: str = ""  # YYYY-MM-DD the answer is as of: today, or the past time the question asks about
    past: bool = False  # the question names that past time ("2025年5月以前...")
    today: str = ""  # YYYY-MM-DD the question was asked (the clock passed down)
    beyond: tuple = ()  # what the sources cannot hold: a later year, a document number no source has
    needs: tuple = ()  # intent.Need: basic needs in an emergency the question names (faq/hardship.toml)

    @property
    def crisis(self):
        """Words of suicide or self-harm: the reply is never a decline."""
        return any(n.crisis for n in self.needs)

    def field_tokens(self, field, weight):
        """(tokens, weights) for a BM25 field: own tokens at 1, the lexicon's at `weight`."""
        own, extra = (self.words, self.expansion_words) if field == "words" else (self.bigrams, self.expansion_bigrams)
        return list(own) + list(extra), [1.0] * len(own) + [weight] * len(extra)


class QueryParser:
    """Builds the Query of a question against one build of the knowledge base."""

    def __init__(self, analyzer, regions, intents, types, homophones, kb_has, kb_df, max_chars, followup_rules=None, as_of_rules=(), redact=None, on_record=None, asked_about=None):
        self.analyzer = analyzer
        self.redact = redact  # question -> the question without the asker's personal data (retrieval/redact.py), or None
        self.regions = regions
        self.intents = intents
        self.types = types
        self.homophones = homophones
        self.kb_has = kb_has  # text -> whether some passage contains it
        self.on_record = on_record or kb_has  # text -> whether a passage, title or document number has it
        self.kb_df = kb_df  # word -> document frequency in the words field
        self.asked_about = asked_about or (lambda text: False)  # text -> whether an index question has it
        self.max_chars = max_chars
        self.followup_rules = followup_rules
        self.as_of_rules = as_of_rules  # faq/as_of.toml
        self.domain = frozenset(analyzer.domain_terms())  # official terms: their presence is civil affairs
        self.cues = frozenset(a for t in types for a in t.asks)  # phrases about the kind of question

    def parse(self, question, context=None, today=""):
        """The Query of `question` asked on `today` (YYYY-MM-DD), read as a follow-up of
        `context` (followup.Context) when it is one; EmptyQuestionError / QuestionTooLongError
        for bad input."""
        query = self._parse(question)
        day, past = as_of_date(query.text, today, self.as_of_rules) if today else ("", False)
        query = replace(query, as_of=day, past=past, today=today, beyond=self._beyond(query.normalized, today))
        if context is None or self.followup_rules is None:
            return query
        reading = followup.read(query, context, self.followup_rules)
        if reading is None:
            return query
        # The borrowed terms are searched beside the question's own words (not spliced into
        # its sentence); place, question type and asked facts come from the reading.
        own = followup.without_opener(query.normalized, self.followup_rules)
        merged = self._parse(" ".join(reading.terms) + " " + own)
        return replace(
            merged,
            question=query.question,
            normalized=query.normalized,
            region=reading.region,
            topic=reading.topic,
            qtype=reading.qtype,
            qtypes=merged.qtypes or ((reading.qtype,) if reading.qtype is not None else ()),
            asked=reading.asked,
            out_of_scope=None,  # the question itself was not out of scope
            civil=merged.civil or reading.civil,
            followup=reading,
            as_of=day,
            past=past,
            today=today,
            beyond=query.beyond,
        )

    def _beyond(self, text, today):
        """What `text` names that the sources cannot hold: years after the year of `today` that
        no passage mentions (what a rule or plan of that year says is not in them yet; a plan
        that sets a target for that year mentions it), and document numbers ("民政部2026年第5号
        公告") that neither a passage nor a document's own number (国务院令第649号) has."""
        later = [f"{y}年" for y in _YEAR.findall(text) if today and int(y) > int(today[:4]) and not self.kb_has(y)]
        numbers = [n for n in _DOCUMENT_NUMBER.findall(text) if not self.on_record(n)]
        return tuple(dict.fromkeys(later + numbers))

    def _parse(self, question):
        question = (question or "").strip()
        if len(question) > self.max_chars:
            raise QuestionTooLongError(len(question), self.max_chars)
        analyzer = self.analyzer
        # The asker's own phone number, address or name is not part of what is asked (a message
        # that is nothing else is read as typed, as before).
        redacted = self.redact(question) if self.redact is not None else question
        normalized = analyzer.normalize(redacted)
        if redacted != question and not (_WORD_CHAR.search(normalized) and normalized.strip("，, ")):
            normalized = analyzer.normalize(question)
        if len(normalized) > self.max_chars:  # NFKC can expand a character ("㍿" -> "株式会社")
            raise QuestionTooLongError(len(normalized), self.max_chars)
        if not _WORD_CHAR.search(normalized):
            raise EmptyQuestionError("the question has no words")
        text, repairs = normalized, ()
        if self.homophones is not None:
            text, repairs = self.homophones.repair(normalized, analyzer.cut(normalized), self._needs_no_repair, self._function_word)
        intents = self.intents
        region = self.regions.detect(text)
        qtypes = tuple(t for t in self.types if any(a in text for a in t.asks))
        qtype = qtypes[0] if qtypes else None
        searched = self.regions.strip(analyzer.without_fillers(text))
        # `searched` is normalised text with pieces replaced by spaces: not normalised again.
        words = tuple(analyzer.words(searched, normalized=True))
        bigrams = tuple(analyzer.bigrams(searched, normalized=True))
        needs = intents.needs_in(text)
        expansions = analyzer.expansions(text)
        if needs:  # the official terms of a basic need, after the lexicon's
            expansions = " ".join(dict.fromkeys(expansions.split() + [t for n in needs for t in n.terms]))
        lexicon_words, lexicon_bigrams = analyzer.expansion_tokens(expansions)
        seen_w, seen_b = set(words), set(bigrams)
        expansion_words = tuple(dict.fromkeys(t for t in lexicon_words if t not in seen_w))
        expansion_bigrams = tuple(dict.fromkeys(t for t in lexicon_bigrams if t not in seen_b))
        focus = self._focus(words, qtype)
        covered_by_lexicon = set(lexicon_words)
        # A word no passage contains, not even through the lexicon, and no index question
        # uses for what a passage says (房子, 爸妈 are in them; 宠物 is not); jieba's guesses at
        # unknown runs ("处会" of "登记处会") are not words and do not count.
        unknown = tuple(
            w
            for w in focus
            if not self.kb_has(w)
            and not self.asked_about(w)
            and not analyzer.stand_ins(w, text)  # a lexicon phrase containing it stands in
            and not any(w in cue and cue in text for n in needs for cue in n.cues)  # so does a need's cue
            and w not in covered_by_lexicon
            and (analyzer.is_dictionary_word(w) or len(w) >= 3)
            and analyzer.dictionary_frequency(w) < COMMON_WORD_COUNT
            and not _QUANTITY.match(w)
        )
        return Query(
            question=question,
            normalized=normalized,
            text=text,
            repairs=repairs,
            region=region,
            topic=intents.topic(text),
            qtype=qtype,
            asked=intents.asked_facts(text),
            # A basic need in an emergency is ours, whatever else it names (交不起房租 is not 住建's).
            out_of_scope=None if needs else intents.out_of_scope(text),
            civil=bool(needs) or intents.is_civil_affairs(text) or any(w in self.domain for w in words + expansion_words),
            searched=searched,
            words=words,
            bigrams=bigrams,
            expansion_words=expansion_words,
            expansion_bigrams=expansion_bigrams,
            expansions=expansions,
            focus=focus,
            unknown=unknown,
            qtypes=qtypes,
            needs=needs,
        )

    def _function_word(self, token):
        return self.analyzer.is_stopword(token, normalized=True)

    def _needs_no_repair(self, piece):
        return self.kb_df(piece) > 0 or self.analyzer.is_dictionary_word(piece)

    def _focus(self, words, qtype):
        """Content words: two characters or more, not a stopword, not a question-kind cue."""
        cues = self.cues
        out = []
        for w in dict.fromkeys(words):
            if len(w) < 2 or not _CJK.search(w) or w in cues or self.analyzer.is_stopword(w, normalized=True) or self.analyzer.is_generic(w):
                continue
            if any(w in a for a in cues) and self.kb_df(w) == 0:
                continue  # part of a cue phrase ("多长" of "多长时间")
            out.append(w)
        return tuple(out)
