"""A question's path through the core, in the order a reader follows it:

    Query (query.py, computed once) -> candidates and rerank (Snapshot.search) -> FAQ match
    -> Decision (decide below: answer | suggest | decline, with quotes and Citation records)
    -> Composer (compose.py, the only jinja2 user) -> Answer (what channels and `ask` get)

Order of the decision: out of scope -> a matter, a later year or a focus term the sources never mention ->
a confident FAQ entry -> nothing relevant -> the calibrated confidence (answer, suggest or
decline) -> a fact asked for that the passages do not give -> answer with quotes.
"""

import datetime
import functools
import math
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import checks as guided
from .asof import clock, load_rules as load_as_of_rules
from .compose import Composer
from .datafiles import read_section, read_toml
from .privacy import Masker
from .redact import QuestionRedactor
from .decision import (
    ANSWER,
    FACT_MISSING,
    NOT_COVERED,
    NOT_FOUND,
    OUT_OF_SCOPE,
    SUGGEST,
    Citation,
    Decision,
    Quote,
)
from .articles import ArticleNames, chinese_number
from .commands import Commands
from .followup import FollowupRules
from .intent import Intents
from .errors import DataFileError, EmptyQuestionError, QuestionTooLongError
from .library import Hit, SearchResult
from .rerank import Candidate
from .rerank import features as rerank_features
from .query import QueryParser, load_question_types

__all__ = ["ANSWER", "FACT_MISSING", "NOT_FOUND", "OUT_OF_SCOPE", "SUGGEST", "Answer", "Answerer", "Quote", "Thresholds", "valid_unicode"]

UNASKED_SECTION = "decision_unasked"
# What Answerer.features computes: the names the fitted model in faq/calibration.toml may use.
FEATURES = (
    "coverage",  # idf share of the question's words the top passage covers (text, index questions, lexicon)
    "focus_coverage",  # the same for its focus terms, a focus term no passage contains counting as the rarest
    "log_question_score",  # ln(1 + raw BM25 of the top passage's index questions)
    "top_score",  # the reranker's share of the pool for the top passage
    "unknown_share",  # share of the focus terms that neither a passage nor an index question contains
    "index_bigrams",  # character-bigram Dice with the top passage's closest index question
    "missed_idf",  # idf of the rarest focus term the top passage (text and index questions) lacks, over ln(N + 1)
    "type_asked",  # the question names a kind of content (faq/question_types.toml)
    "type_content",  # the top passage has the content of that kind
    "names_topic",  # the question (or, for a follow-up, the one before) names a topic of faq/topics.toml
    "names_place",  # the question (or, for a follow-up, the one before) names a place of faq/regions.toml
    "unasked",  # the top passage's document has no index questions yet (as a newly added one)
)

_SENTENCE = re.compile(r"[^。;；!！?？\n]+[。;；!！?？]?")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_YEAR = re.compile(r"((?:19|20)\d{2})年")
# A year a question names, also as people say it ("滨湖21年做了多少户": 2021), never a length of
# time ("缴费满15年", "近10年", "20年前", "80年代"); not a passage's.
_ASKED_YEAR = re.compile(r"(?<![\d满第近过去续龄费已超])((?:19|20)\d{2}|\d{2})年(?!代|以上|以下|以内|内|前|后|左右|多|间|了)")


def _years_named(text, year):
    """The years a question names; a two-digit one only up to this year (30年 is no year)."""
    named = []
    for digits in _ASKED_YEAR.findall(text):
        if len(digits) == 4:
            named.append(int(digits))
        elif 2000 + int(digits) <= year:
            named.append(2000 + int(digits))
    return named


def _only_before(sentence, year):
    """Whether every year the sentence names is before `year` (and it names one)."""
    years = [int(y) for y in _YEAR.findall(sentence)]
    return bool(years) and max(years) < year


_ITEM = re.compile(r"\s*(?:[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十\d]+[、.．])")  # an enumerated item

# JSON `kind` of each Decision kind (the `ask --json` contract): a matter the sources never
# mention is reported as not_found, as before.
_JSON_KIND = {NOT_COVERED: NOT_FOUND}



@dataclass(frozen=True)
class Thresholds:
    """Answering settings (faq/calibration.toml [answering])."""

    related_ratio: float = 0.6
    max_sources: int = 3
    quote_chars: int = 160
    whole_article_chars: int = 220
    evidence_ratio: float = 0.5
    evidence_pool: int = 3
    faq_extra_sources: int = 2
    faq_lead_share: float = 0.5
    fact_ratio: float = 0.1
    answer_share: float = 0.0
    first_article_chars: int = 220
    rare_term_passages: int = 0  # see _rare_term_elsewhere; 0: off
    rare_term_types: tuple = ()

    @classmethod
    def load(cls, path):
        return read_section(path, "answering", cls)


@dataclass(frozen=True)
class Calibration:
    """The fitted answer/suggest/decline model (faq/calibration.toml [decision], `make calibrate`).

    p = sigmoid(bias + sum(weight_i x feature_i)); answer at or above `answer_at`, suggest
    related passages at or above `suggest_at` (civil-affairs questions only), else decline.
    """

    features: tuple = ()
    weights: tuple = ()
    bias: float = 0.0
    answer_at: float = 0.5
    suggest_at: float = 0.3
    # [decision_unasked]: the model for a top passage whose document has no index questions yet
    # (a newly added one), fitted on the knowledge base without its question index; None: this one.
    unasked: object = None

    @classmethod
    def load(cls, path, section="decision"):
        """The fitted model; refused (DataFileError) when missing, or when it names a feature
        the core does not compute or its weights do not match: it never fails open."""
        c = read_section(path, section, cls)
        c = replace(c, features=tuple(c.features), weights=tuple(c.weights), unasked=None)
        line = next((n for n, text in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1) if text.strip() == f"[{section}]"), None)
        if not c.features:
            raise DataFileError(path, line, f"[{section}] has no fitted model: run `make calibrate`")
        unknown = [f for f in c.features if f not in FEATURES]
        if unknown:
            raise DataFileError(path, line, f"[{section}] names unknown features {unknown}; known: {list(FEATURES)}")
        if len(c.weights) != len(c.features):
            raise DataFileError(path, line, f"[{section}] has {len(c.weights)} weights for {len(c.features)} features")
        if not 0 < c.suggest_at <= c.answer_at < 1:
            raise DataFileError(path, line, f"[{section}] needs 0 < suggest_at <= answer_at < 1")
        if section == "decision" and UNASKED_SECTION in read_toml(path):
            c = replace(c, unasked=cls.load(path, UNASKED_SECTION))
        return c

    def model_for(self, values):
        """The model that decides for these features: the unasked one when the top passage's
        document has no index questions and such a model was fitted."""
        return self.unasked if values.get("unasked") and self.unasked is not None else self

    def probability(self, values):
        z = self.bias + sum(w * values[f] for f, w in zip(self.features, self.weights))
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    kind: str
    region: str = None
    topic: str = None
    faq_id: str = None
    sources: tuple = ()
    quotes: tuple = ()
    suggestions: tuple = ()  # FAQ questions offered as "您是不是想问" (channels make them buttons)
    confidence: dict = field(default_factory=dict)
    decision: object = None  # the Decision it was composed from

    @property
    def declined(self):
        return self.kind != ANSWER

    def as_json(self):
        d = self.decision
        out = {
            "question": self.question,
            "answer": self.text,
            "declined": self.declined,
            "kind": self.kind,
            "region": self.region,
            "topic": self.topic,
            "faq_id": self.faq_id,
            "sources": [hit.as_source() for hit in self.sources],
            "suggestions": list(self.suggestions),
        }
        if d is not None and d.query is not None:
            q = d.query
            out["understood"] = {
                "text": q.text,
                "repairs": [list(r) for r in q.repairs],
                "question_type": q.qtype.name if q.qtype else None,
                "focus": list(q.focus),
                "unknown": list(q.unknown),
                "expansions": q.expansions,
                "followup": _reading_json(q.followup),
            }
        return out


class Answerer:
    """The answering core used by every channel: `ask(question) -> Answer`."""

    def __init__(self, library, settings, today=None, masker=None):
        self.library = library
        self.settings = settings
        if masker is not None:
            self.__dict__["masker"] = masker  # given: the cached property below is not computed
        self.today = today or clock(settings)  # () -> YYYY-MM-DD: what "today" answers are as of
        self.composer = Composer(settings.templates_dir)
        self._intents = None
        self._types = None
        self._followup = None
        self._as_of = None
        self._thresholds = None
        self._calibration = None
        self._parser = (None, None)  # (snapshot, its QueryParser)
        self._checks = (None, None)  # (snapshot, (checks.CheckSet, cite)) of faq/checks/
        self._articles = (None, None)  # (snapshot, articles.ArticleNames) of faq/document_names.toml

    # -- configuration read from faq/ once ------------------------------------------------------
    @property
    def intents(self):
        if self._intents is None:
            self._intents = Intents.load(self.settings.faq_dir, self.library.analyzer.normalize)
        return self._intents

    @property
    def question_types(self):
        if self._types is None:
            self._types = load_question_types(Path(self.settings.faq_dir) / "question_types.toml", self.library.analyzer.normalize)
        return self._types

    @property
    def followup_rules(self):
        if self._followup is None:
            self._followup = FollowupRules.load(Path(self.settings.faq_dir))
        return self._followup

    @property
    def as_of_rules(self):
        if self._as_of is None:
            self._as_of = load_as_of_rules(Path(self.settings.faq_dir) / "as_of.toml")
        return self._as_of

    @functools.cached_property
    def commands(self):
        """Requests that are not questions (faq/commands.toml: "删除我的记录")."""
        return Commands.load(Path(self.settings.faq_dir))

    @property
    def thresholds(self):
        if self._thresholds is None:
            self._thresholds = Thresholds.load(Path(self.settings.faq_dir) / "calibration.toml")
        return self._thresholds

    @property
    def calibration(self):
        if self._calibration is None:
            self._calibration = Calibration.load(Path(self.settings.faq_dir) / "calibration.toml")
        return self._calibration

    @property
    def checks(self):
        """(checks.CheckSet, cite(number, passage id) -> Citation) of the served build: the
        guided checks of faq/checks/, their cited passages resolved against it."""
        snapshot = self.library.snapshot
        cached_snapshot, value = self._checks
        if cached_snapshot is not snapshot:
            loaded = guided.load(self.settings.faq_dir, snapshot.by_id, snapshot.analyzer.normalize)
            value = (loaded, lambda number, passage_id: guided.citation(snapshot, number, passage_id))
            self._checks = (snapshot, value)
        return value

    @functools.cached_property
    def masker(self):
        """This build's one Masker (faq/privacy.toml), which tells names from the words of this
        build's knowledge base: the query log stores what it masks, the redactor reads it."""
        known = None
        if self.library is not None:
            snapshot = self.library.snapshot

            def known(word):
                return snapshot.kb_df(word) > 0

        return Masker.load(Path(self.settings.faq_dir) / "privacy.toml", known)

    def article_names(self, snapshot):
        """Documents by name and their articles, for questions that cite one (faq/document_names.toml)."""
        cached_snapshot, names = self._articles
        if cached_snapshot is not snapshot:
            path = Path(self.settings.faq_dir) / "document_names.toml"
            names = ArticleNames.load(path, snapshot.documents, snapshot.by_id, snapshot.analyzer.normalize)
            self._articles = (snapshot, names)
        return names

    @functools.cached_property
    def redactor(self):
        """What takes the asker's personal data out of a question (faq/privacy.toml)."""
        return QuestionRedactor.load(Path(self.settings.faq_dir) / "privacy.toml", lambda: self.masker)

    def parser(self, snapshot):
        cached_snapshot, parser = self._parser  # one read: another thread may swap it meanwhile
        if cached_snapshot is not snapshot:
            parser = QueryParser(
                snapshot.analyzer,
                snapshot.regions,
                self.intents,
                self.question_types,
                snapshot.homophones,
                snapshot.mentions,
                snapshot.kb_df,
                self.settings.max_question_chars,
                self.followup_rules,
                self.as_of_rules,
                self.redactor.redact,
                snapshot.on_record,
                snapshot.asked_about,
            )
            self._parser = (snapshot, parser)
        return parser

    # -- the path of a question -------------------------------------------------------------
    def parse(self, question, snapshot=None, context=None):
        """The Query of a question (a follow-up of `context` when it is one); raises
        EmptyQuestionError / QuestionTooLongError."""
        return self.parser(snapshot or self.library.snapshot).parse(valid_unicode(question or ""), context, self.today())

    def search(self, question, k=None, region=None):
        """Ranked passages for free text (staff lookup, `bot.py search`)."""
        snapshot = self.library.snapshot
        try:
            query = self.parse(question, snapshot)
        except (EmptyQuestionError, QuestionTooLongError):
            return SearchResult(question or "", region, (), (), ())
        return snapshot.search(query, k or self.settings.top_k, region)

    def ask(self, question, context=None):
        """Answer one question, read in the light of the previous one (`context`, a
        followup.Context) when it follows on; EmptyQuestionError / QuestionTooLongError."""
        snapshot = self.library.snapshot
        query = self.parse(question, snapshot, context)
        decision = self.decide(snapshot, query)
        return self.compose(decision)

    def compose(self, decision):
        q = decision.query
        return Answer(
            question=q.question,
            text=self.composer.text(decision),
            kind=_JSON_KIND.get(decision.kind, decision.kind),
            region=q.region,
            topic=q.topic,
            faq_id=decision.faq.id if decision.faq is not None and decision.kind in (ANSWER, FACT_MISSING) else None,
            sources=decision.hits,
            quotes=decision.quotes,
            suggestions=decision.suggestions,
            confidence=decision.confidence,
            decision=decision,
        )

    def render(self, name, **context):
        """Render one reply template (also used by channels for their own fixed replies)."""
        return self.composer.render(name, **context)

    # -- the decision -------------------------------------------------------------------------
    def decide(self, snapshot, query):
        decision = self._decide(snapshot, query)
        if query.needs and decision.kind in (NOT_FOUND, NOT_COVERED, OUT_OF_SCOPE):
            # A basic need in an emergency (faq/hardship.toml) is never turned away: the 临时救助
            # and 救助站 passages its terms reach are offered as related at least (under the
            # crisis wording for words of suicide or self-harm, templates/crisis.txt.j2).
            hits = self._related(self.candidates(snapshot, query).hits)
            if hits:
                return self._cited(snapshot, query, hits, SUGGEST, decision.suggestions, decision.confidence)
        return decision

    def _decide(self, snapshot, query):
        if query.out_of_scope is not None:
            return Decision(OUT_OF_SCOPE, query, matter=query.out_of_scope.name, channel=query.out_of_scope.channel)
        cited = self._cited_article(snapshot, query)
        if cited is not None:
            return cited
        result = self.candidates(snapshot, query)
        matches = self._faq_matches(snapshot, query, result)
        chosen = self._faq_choice(snapshot, query, matches, result)
        suggestions = self._suggestions(snapshot, matches)
        uncovered = self._not_covered(snapshot, query, chosen)
        if uncovered is not None:
            return Decision(NOT_COVERED, query, suggestions=suggestions, matter=uncovered.name, channel=uncovered.channel)
        if query.beyond:  # "2027年新出台的低保办法", "民政部2026年第5号公告": not what the sources hold
            return Decision(NOT_COVERED, query, suggestions=suggestions, missing=query.beyond)
        answered = self._faq_answer(snapshot, query, chosen, result) if chosen is not None else None
        if answered is not None:
            return answered
        if query.followup is None and (not any(_CJK.search(w) for w in query.words) or snapshot.analyzer.is_acknowledgement(query.text, normalized=True)):
            # "123", "2020", "好的": nothing but digits, Latin letters or chat filler
            # (faq/query_fillers.txt), so whatever ranks first shares a digit with it, not a
            # subject. Asked to say what they want instead (fifth attack: these were answered).
            return Decision(NOT_FOUND, query, vague=True)  # FAQ questions sharing a character are no help
        features = self.features(snapshot, query, result, matches)
        model = self.calibration.model_for(features)
        p = model.probability(features)  # compared unrounded; shown rounded
        confidence = dict(features, p=round(p, 3))
        if not result.hits:
            return self._decline(query, suggestions, confidence)
        if p < model.answer_at or not self._names_known_word(snapshot, query):
            # A question none of whose words (nor the lexicon's official terms for them) any
            # passage contains matched only index questions: it is never answered from them.
            if p >= model.suggest_at and query.civil:
                hits = self._related(result.hits)
                return self._cited(snapshot, query, hits, SUGGEST, suggestions, confidence)
            if query.asked and query.civil:
                # "滨湖区民政局电话多少": say which fact the sources lack; passages this far from
                # the question are not shown as related. But a fact the passages the reranker
                # would bet on do state is not lacking ("女生几岁能领证" and the age article):
                # they are offered as related instead of a false "the sources do not say".
                hits = self._related(result.hits)
                stating = tuple(h for h in hits if h.score >= hits[0].score * self.thresholds.fact_ratio)
                terms = self._subject_terms(snapshot, query) or self._query_terms(snapshot, query)
                if hits[0].score >= self.thresholds.answer_share and all(self._has_evidence(stating, terms, f, query.text) for f in query.asked):
                    return self._cited(snapshot, query, hits, SUGGEST, suggestions, confidence)
                return Decision(FACT_MISSING, query, suggestions=suggestions, missing=tuple(f.label for f in query.asked), confidence=confidence)
            return self._decline(query, suggestions, confidence)
        hits = self._with_stated_fact(snapshot, query, self._related(result.hits), result.hits)
        # Answerable, but no passage the reranker would bet on (a share of the pool below
        # answer_share): offered as related, not as the answer.
        kind = ANSWER if max(h.score for h in hits) >= self.thresholds.answer_share else SUGGEST
        if kind == ANSWER and self._rare_term_elsewhere(snapshot, query, hits):
            kind = SUGGEST
        return self._cited(snapshot, query, hits, kind, suggestions, confidence)

    @staticmethod
    def _names_known_word(snapshot, query):
        """Whether a word of the question, or an official term the lexicon reads in it, is one
        some passage contains, of two characters or more ("我家老头子血压老是高" has none: 老头子 is
        only in index questions, and a lone 高 says nothing)."""
        df = snapshot.words.document_frequency
        return any(len(w) > 1 and df(w) > 0 for w in query.words + query.expansion_words)  # not a lone 高

    def _rare_term_elsewhere(self, snapshot, query, hits):
        """For a question of `rare_term_types` ("养老院能不能给老人助浴": may X be done), a focus
        word at most `rare_term_passages` passages hold (助浴: 1) that none of the cited ones
        holds, in its text or its index questions: the passage that speaks of X ranked below,
        so the cited ones say something about 养老院, not whether X is done. Offered as related
        (suggest), never as the answer ([answering] in faq/calibration.toml)."""
        limit = self.thresholds.rare_term_passages
        if not limit or query.qtype is None or query.qtype.name not in self.thresholds.rare_term_types:
            return False
        words = snapshot.words
        rows = [snapshot.by_id[h.passage["id"]] for h in hits]
        for term in query.focus:
            df = words.document_frequency(term)
            if 0 < df <= limit and not any(term in snapshot.read_text(r) for r in rows):
                return True
        return False

    def _cited_article(self, snapshot, query):
        """A question naming an article of a document ("民法典第一千零七十六条") is answered with
        that article; one the document does not have ("《社会救助暂行办法》第七十一条"), or a
        government order no document is ("民政部第88号令"), is told so. None otherwise."""
        names = self.article_names(snapshot)
        ref = names.article(query.text)
        if ref is not None:
            row = snapshot.by_id.get(ref.passage_id)
            if row is None:
                matter = f"《{ref.title}》{ref.article}(资料中的《{ref.title}》共{chinese_number(ref.articles)}条)"
                return Decision(NOT_COVERED, query, matter=matter, channel="当地民政部门")
            passage = snapshot.passages[row]
            matched = tuple(snapshot.words.matched_terms(list(query.words), row))
            valid = snapshot.validity(passage["doc_id"], query.as_of, query.today)
            hit = Hit(passage, snapshot.documents[passage["doc_id"]], 1.0, matched, validity=valid)
            return self._cited(snapshot, query, (hit,), ANSWER, (), {"article": ref.passage_id})
        order = names.order(query.text)
        if order is not None and not order.known:
            return Decision(NOT_COVERED, query, matter=order.text, channel="发文机关或当地民政部门")
        return None

    def candidates(self, snapshot, query):
        """Ranked passages; an asked age (a `promote` fact) moves passages stating one ahead."""
        promoted = tuple(f for f in query.asked if f.promote)
        if self._asks_about_plans(snapshot, query):
            # "萧山今年要建几家老年食堂" asks what the place plans: its own plans answer, ahead of
            # the rules that apply there too.
            result = snapshot.search(query, k=self.settings.top_k * self.thresholds.evidence_pool)
            own = tuple(h for h in result.hits if h.document["region"] == query.region)
            rest = tuple(h for h in result.hits if h.document["region"] != query.region)
            return replace(result, hits=(own + rest)[: self.settings.top_k])
        if not promoted:
            return snapshot.search(query, k=self.settings.top_k)
        result = snapshot.search(query, k=self.settings.top_k * self.thresholds.evidence_pool)
        hits = self._prefer_evidence(result.hits, self._query_terms(snapshot, query), promoted)
        return replace(result, hits=hits[: self.settings.top_k])

    def _decline(self, query, suggestions, confidence):
        if not query.words:  # only a place, or only chat filler: nothing to decline as out of scope
            return Decision(NOT_FOUND, query, suggestions=suggestions, confidence=confidence)
        if not query.civil and not suggestions:
            return Decision(OUT_OF_SCOPE, query, confidence=confidence)
        if query.unknown:  # name what the sources never mention ("保健品")
            return Decision(NOT_COVERED, query, suggestions=suggestions, missing=query.unknown, confidence=confidence)
        return Decision(NOT_FOUND, query, suggestions=suggestions, confidence=confidence)

    def _cited(self, snapshot, query, hits, kind, suggestions, confidence, faq=None, quoted=None):
        """An answer (or suggestion) quoting `hits`, or a fact-missing decline."""
        if faq is None:  # a table row's figure, stated in a sentence of the same document: the sentence first
            hits = _sentence_before_row(tuple(hits))
        terms = self._query_terms(snapshot, query)
        given = faq.gives if faq is not None else ()
        # The asked fact must come from a passage likely to answer, not from further reading: an
        # FAQ entry's own passages, or those at least `fact_ratio` as likely as the top one.
        stating = hits if faq is not None else tuple(h for h in hits if h.score >= hits[0].score * self.thresholds.fact_ratio)
        subject = self._subject_terms(snapshot, query)
        missing = [f for f in query.asked if f.name not in given and not self._has_evidence(stating, subject or terms, f, query.text)]
        now = self._year_asked_now(query)
        stale = ()
        if now is not None:  # about now: a fact stated only for past years is not stated for now
            stale = tuple(f for f in query.asked if f.dated and f not in missing and f.name not in given and not self._has_evidence(stating, subject or terms, f, query.text, now))
        # An FAQ entry's own answer explains; its passages are quoted by their best sentence.
        quotes = self._quotes(hits[:quoted] if quoted else hits, terms, query, whole=faq is None)
        citations = tuple(Citation.of(n, h) for n, h in enumerate(hits, 1))
        if missing or stale:  # answer or suggest: say plainly which fact the sources do not give
            kind = FACT_MISSING
        labels = tuple(f.label for f in missing) + tuple(f.dated for f in stale)
        return Decision(kind, query, tuple(hits), quotes, citations, suggestions, faq, labels, confidence=confidence)

    # -- calibrated confidence ------------------------------------------------------------------
    def features(self, snapshot, query, result, matches):
        """What the calibrated model reads (names as in faq/calibration.toml [decision]).

        Absolute signals, not shares of the best passage: how much of the question and its
        focus the top passage covers (its text, its index questions, the lexicon's terms), the
        raw BM25 of its index questions, how many focus words no passage contains at all,
        whether the question names a topic of ours and a place; and what the reranker read of
        it: its share of the pool, the closest index question, the rarest focus term it misses,
        whether it has the content the question's type asks for. (`matches`, the FAQ matches,
        are not read: an FAQ entry that answers was chosen before the gate.)
        """
        index = snapshot.words
        top = result.hits[0] if result.hits else None
        focus = [t for t in query.focus if index.document_frequency(t) > 0]
        idf = {t: index.plain_idf(t) for t in focus}
        own = [t for t in dict.fromkeys(query.words) if index.document_frequency(t) > 0]
        own_total = sum(index.plain_idf(t) for t in own)
        coverage = focus_coverage = q_score = 0.0
        unasked = 0.0
        read = {}
        if top is not None:
            row = snapshot.by_id[top.passage["id"]]
            text = snapshot.read_text(row)
            expanded = set(index.matched_terms(list(result.words), row))
            analyzer = snapshot.analyzer

            def found(t):
                return t in expanded or snapshot.says(row, t, query.text)

            covered = sum(index.plain_idf(t) for t in own if found(t))
            # A lexicon phrase none of whose words any passage has ("乱埋坟": 乱, 埋, 坟) is read
            # through its official terms (私埋乱葬; 墓地 公墓 安葬): one more word of the question,
            # weighing as its rarest official term, covered when the passage (its text or its
            # index questions) has any of them.
            phrase_total = 0.0
            phrases = analyzer.phrases_in(query.text)
            for phrase, terms in phrases:
                if any(t in phrase for t in own) or any(phrase != other and phrase in other for other, _ in phrases):
                    continue
                known = [t for t in terms if index.document_frequency(t) > 0]
                if not known:
                    continue
                weight = max(index.plain_idf(t) for t in known)
                phrase_total += weight
                if any(t in text for t in known):
                    covered += weight
            total = own_total + phrase_total
            coverage = min(1.0, covered / total) if total else 0.0
            missed = [idf[t] for t in focus if not found(t)]
            covered_focus = sum(idf.values()) - sum(missed)
            # A focus word no passage contains weighs as the rarest word there is: the passage
            # certainly does not cover it ("民政局卖的保健品" is not about 民政局).
            rarest = math.log(index.n_docs + 1)
            total_focus = sum(idf.values()) + rarest * len(query.unknown)
            focus_coverage = covered_focus / total_focus if total_focus else 0.0
            q_score = snapshot.q_words.score_of(result.words, row)
            unasked = 0.0 if top.passage["doc_id"] in snapshot.asked_documents else 1.0
            # What the reranker computed for it (once more only when the reranker is off).
            read = top.features or rerank_features(snapshot, query, [Candidate(row, top.score, dict(top.fields))], result.region)[0]
        n_focus = len(query.focus) or 1
        return {
            "coverage": round(coverage, 4),
            "focus_coverage": round(focus_coverage, 4),
            "log_question_score": round(math.log1p(q_score), 4),
            "top_score": round(top.score if top else 0.0, 4),
            "unknown_share": round(len(query.unknown) / n_focus, 4),
            "index_bigrams": round(read.get("index_bigrams", 0.0), 4),
            "missed_idf": round(read.get("missed_idf", 0.0), 4),
            "type_asked": 1.0 if query.qtype is not None else 0.0,
            "type_content": read.get("type_first", 0.0),
            "names_topic": 1.0 if query.topic is not None else 0.0,
            "names_place": 1.0 if query.region is not None else 0.0,
            "unasked": unasked,
        }

    def _with_stated_fact(self, snapshot, query, hits, pool):
        """`hits`, with the first further candidate of `pool` that states an asked fact the cited
        ones do not cited second ("结婚登记收费多少": 第六条's 不得收取费用 ranked fourth). The fact
        still comes only from a passage at least `fact_ratio` as likely as the top one."""
        if not query.asked or not hits:
            return hits
        terms = self._subject_terms(snapshot, query) or self._query_terms(snapshot, query)
        floor = hits[0].score * self.thresholds.fact_ratio
        stating = tuple(h for h in hits if h.score >= floor)
        lacking = tuple(f for f in query.asked if not self._has_evidence(stating, terms, f, query.text))
        if not lacking:
            return hits
        cited = {h.passage["id"] for h in hits}
        for hit in pool:
            if hit.passage["id"] not in cited and hit.score >= floor and self._states(hit, terms, lacking, query.text):
                return ((hits[0], hit) + hits[1:])[: self.thresholds.max_sources]
        return hits

    def _related(self, hits):
        """The top hit and those close enough to it to be cited too (scores are the reranker's
        shares: a passage at least `related_ratio` as likely as the top one to be the answer)."""
        best = hits[0].score
        return tuple(h for h in hits[: self.thresholds.max_sources] if h.score >= best * self.thresholds.related_ratio)

    # -- FAQ -------------------------------------------------------------------------------
    def _faq_matches(self, snapshot, query, result):
        faq = snapshot.faq
        ranking = faq.ranking
        regions = snapshot.regions
        region = query.region

        def region_ok(entry_region):
            if region is None:
                return entry_region in ranking.unplaced_regions
            return regions.affinity(region, entry_region) > 0

        # The FAQ's passage bonus was calibrated on the fused order (faq/calibration.toml [faq]).
        ranks = {hit.passage["id"]: hit.fused_rank or n for n, hit in enumerate(result.hits, 1)}
        # An entry's validity is judged on the date the question is about (today, or the past time asked).
        return faq.match(query, query.as_of or self.today(), region_ok, ranks, region, limit=ranking.max_suggestions + 1)

    def _faq_choice(self, snapshot, query, matches, result):
        """The entry that answers, or None: too weak, two entries too close to tell apart, its
        key concept absent from the question, or a local plan's passage should answer."""
        ranking = snapshot.faq.ranking
        if not matches or matches[0].score < ranking.answer_threshold:
            return None
        if len(matches) > 1 and matches[0].score - matches[1].score < ranking.ambiguity_margin:
            return None
        entry = matches[0].entry
        if not snapshot.faq.has_key_concept(matches[0], query):
            return None
        if self._about_local_plan(snapshot, query, result) and entry.region in ranking.unplaced_regions:
            return None
        if self._newer_than_the_faq(snapshot, entry, result):
            return None
        return matches[0]

    @staticmethod
    def _newer_than_the_faq(snapshot, entry, result):
        """The search ranks first a passage of a document added since the FAQ was written (it has
        no index questions yet) that the entry does not cite: the new text answers, so that a new
        local rule is not hidden behind an older curated answer until the FAQ is reviewed."""
        if not result.hits:
            return False
        top = result.hits[0].passage
        return top["doc_id"] not in snapshot.asked_documents and top["id"] not in snapshot.faq.sources[entry.id]

    def _not_covered(self, snapshot, query, chosen):
        """The matter of faq/not_covered.toml the question asks about (婚检, 公开募捐...), or None.
        A matter of one topic (养老机构的押金) is not one of a question naming only others (结婚登记).

        A keyword that some passage contains no longer counts: the sources cover it now. Nor
        does one that the FAQ entry about to answer (`chosen`) itself uses in a question or its
        answer: a curated entry about the matter answers it.
        """
        text = query.text
        named = self.intents.topics_in(text)
        for matter in self.intents.not_covered:
            asked = [k for k in matter.keywords if k in text]
            if not asked or not matter.fits(named) or any(snapshot.mentions(k) for k in asked):
                continue
            if chosen is not None:
                written = snapshot.faq.written(chosen.entry.id)
                if any(k in written for k in asked):
                    continue
            return matter
        return None

    def _asks_about_plans(self, snapshot, query):
        ranking = snapshot.faq.ranking
        region = query.region
        return region is not None and region not in ranking.unplaced_regions and any(cue in query.text for cue in ranking.plan_cues)

    def _about_local_plan(self, snapshot, query, result):
        """A question about what a place plans or has done ("萧山会开多少家老年食堂"), where
        the place's own document is the best passage: general FAQ entries do not answer it."""
        ranking = snapshot.faq.ranking
        region = query.region
        if region is None or region in ranking.unplaced_regions or not result.hits:
            return False
        if result.hits[0].document["region"] != region:
            return False
        return any(cue in query.text for cue in ranking.plan_cues)

    def _suggestions(self, snapshot, matches):
        ranking = snapshot.faq.ranking
        # Each entry's first question: its plain wording, not the typo or variant that matched.
        return tuple(m.entry.questions[0] for m in matches[: ranking.max_suggestions] if m.score >= ranking.suggest_threshold)

    def _faq_answer(self, snapshot, query, match, result):
        """The entry's answer over its sources: those among the search's top_k first, in the
        search's order (the one that answers this wording of the question first), then the rest
        in the entry's own order."""
        entry = match.entry
        ranks = {hit.passage["id"]: (n, hit.score) for n, hit in enumerate(result.hits)}
        words = list(result.words)
        hits = []
        for order, passage_id in enumerate(snapshot.faq.sources[entry.id]):
            row = snapshot.by_id[passage_id]
            passage = snapshot.passages[row]
            rank, score = ranks.get(passage_id, (len(ranks), 0.0))
            matched = tuple(snapshot.words.matched_terms(words, row))
            ranked = rank < self.settings.top_k
            sure = ranked and score >= self.thresholds.faq_lead_share
            valid = snapshot.validity(passage["doc_id"], query.as_of, query.today)
            if not snapshot.cited_on(passage["doc_id"], query.as_of, query.today):
                continue  # a source repealed by the date asked about (or not yet the rule then) no longer backs the entry
            hits.append(((not sure, not ranked, rank if sure else order), Hit(passage, snapshot.documents[passage["doc_id"]], score, matched, validity=valid)))
        if not hits:
            return None
        if query.past and not any(hit.validity.in_force for _, hit in hits):
            return None  # about a past date on which none of its sources was in force yet: the search answers
        hits = tuple(hit for _, hit in sorted(hits, key=lambda pair: pair[0]))
        terms = self._query_terms(snapshot, query)
        promoted = tuple(f for f in query.asked if f.promote)
        if promoted:  # the entry's sources are all about it: any that states the asked age goes first
            hits = self._prefer_evidence(hits, terms, promoted, floor=0.0)
        # The passages the search ranks above every one of the entry's own are cited too, first:
        # an entry written for a neighbouring question ("临时救助怎么申请" for "临时救助谁审批")
        # must not push down the article that answers this wording.
        own = {h.passage["id"] for h in hits}
        best_own = min((ranks[p][0] for p in own if p in ranks), default=len(result.hits))
        extra = tuple(h for h in result.hits[: min(best_own, self.thresholds.faq_extra_sources)] if h.passage["id"] not in own)
        # Quoted and numbered first: the extras and the entry's first max_sources passages, in the
        # search's order (an asked age's passage first); the entry's further sources follow.
        first = self.thresholds.max_sources
        quoted = min(len(hits), first) + len(extra)
        hits = hits[:first] + extra + hits[first:]
        confidence = {"faq_score": match.score, "faq_question": match.question}
        return self._cited(snapshot, query, hits, ANSWER, (), confidence, faq=entry, quoted=quoted)

    # -- quoting ---------------------------------------------------------------------------
    def _query_terms(self, snapshot, query):
        index = snapshot.words
        words = list(query.words) + list(query.expansion_words)
        return {t: index.plain_idf(t) for t in dict.fromkeys(words) if index.document_frequency(t) > 0}

    def _sentences(self, text):
        return [s.strip() for s in _SENTENCE.findall(text) if _CJK.search(s)]

    def _sentence_score(self, sentence, terms):
        return sum(weight for term, weight in terms.items() if term in sentence)

    def _states(self, hit, terms, facts, question="", year=None):
        """Whether a sentence of the hit that shares a question word states every fact: its
        evidence is in the sentence, or in the passage's section path (a plan's "2024年工作计划"
        dates what it lists). An enumerated item ("（五）年满三十周岁") shares the words of the
        sentence that introduces the list (the article's first), and a clause after "；" those
        of the clauses before it in its sentence."""
        sentences = self._sentences(hit.passage["text"])
        lead = self._sentence_score(sentences[0], terms) > 0 if sentences else False
        section = " ".join(hit.passage.get("section") or ())
        before = ""  # the clause before, when it shares a question word and goes on in this one
        for s in sentences:
            shares = self._sentence_score(s, terms) > 0
            item = _ITEM.match(s) is not None
            carried = bool(before) and not item  # an enumerated item is read through `lead` instead
            if (
                (shares or carried or (lead and item))
                and all(f.stated_in(s, question) or f.stated_in(section, question) for f in facts)
                and not (year is not None and _only_before((before if carried else "") + s, year))
            ):
                return True
            # A clause ending in "；" goes on in the next one only: "在公墓内提供超规定标准墓位…的，
            # 由…责令限期改正…；没有违法所得…处10万元以上100万元以下的罚款" fines what the first names.
            before = s if shares and s.endswith((";", "；")) else ""
        return False

    def _has_evidence(self, hits, terms, fact, question="", year=None):
        return any(self._states(hit, terms, (fact,), question, year) for hit in hits)

    def _year_asked_now(self, query):
        """The year a question asks about when it asks about now ("现在低保标准是多少", "2026年低保
        标准", and "杭州低保标准每月多少钱": a figure asked with no time named is asked for now),
        else None (a past date or year asked, or no dated fact and no word of now)."""
        if query.past or not query.today:
            return None
        year = int(query.today[:4])
        named = _years_named(query.text, year)
        if any(c in query.text for c in self.intents.now_cues) or any(y >= year for y in named):
            return year
        if not named and any(f.dated for f in query.asked):
            return year
        return None

    def _subject_terms(self, snapshot, query):
        """What the question is about, for finding the sentence that states an asked fact: its
        focus words, and the official terms the lexicon puts for them (低保 -> 最低生活保障),
        without the words that ask for the fact ("哪个网站" is not what it is about) nor the
        lexicon's words for the asking ("要多久" -> 工作日, which any time limit contains).
        Empty when the question names nothing else ("电话多少"): then any question word counts."""
        asking = [a for f in query.asked for a in f.asks if a in query.text]
        own = [w for w in query.focus if not any(w in a for a in asking)]
        analyzer = snapshot.analyzer
        official = [o for w in own for o in analyzer.stand_ins(w, query.text)]
        # the official terms' own tokens, as the Query cut them (no second tokenizing)
        pieces = [t for t in query.expansion_words if any(t in o for o in official)]
        words = dict.fromkeys(own + official + pieces)
        index = snapshot.words
        return {t: index.plain_idf(t) for t in words if index.document_frequency(t) > 0}

    def _prefer_evidence(self, hits, terms, asked, floor=None):
        """`hits` with those that state an asked fact (an age for "女的多少岁能结婚") first.

        Only for facts marked `promote` in faq/fact_types.toml, whose evidence is rare in the
        knowledge base (an age: "二十周岁"); amounts and time limits are everywhere, and moving
        any passage that names one ahead would answer questions the sources do not.
        """
        if not hits:
            return hits
        if floor is None:
            floor = hits[0].score * self.thresholds.evidence_ratio
        first = [h.score >= floor and self._states(h, terms, asked) for h in hits]
        return tuple(h for h, f in zip(hits, first) if f) + tuple(h for h, f in zip(hits, first) if not f)

    def _quotes(self, hits, terms, query, whole=True):
        """What the answer shows of each passage: a short passage whole (an article with its items), else the
        sentences that answer (question words, the asked fact, the question type's content)."""
        quotes = []
        limits = self.thresholds
        for number, hit in enumerate(hits, 1):
            text = hit.passage["text"].strip()
            longest = limits.first_article_chars if number == 1 else limits.whole_article_chars
            if whole and len(text) <= longest:
                quotes.append(Quote(number, text))
                continue
            sentences = self._sentences(text)
            if not sentences:
                continue

            def score(s):
                bonus = sum(1 for f in query.asked if f.evidence.search(s))
                if query.qtype is not None and query.qtype.evidence.search(s):
                    bonus += 0.5
                return (self._sentence_score(s, terms) + bonus, -sentences.index(s))

            at = sentences.index(max(sentences, key=score))
            best = sentences[at]
            # A lead-in ("应当出具下列证件和书面材料：") says nothing alone: quote what it introduces.
            if best.endswith(("：", ":")):
                while at + 1 < len(sentences) and len(best) < limits.quote_chars:
                    at += 1
                    best += sentences[at]
                    if not best.endswith(("；", ";")):
                        break
            quotes.append(Quote(number, _shorten(best, limits.quote_chars)))
        budget = self.settings.answer_max_chars
        kept, used = [], 0
        for q in quotes:
            if used + len(q.text) > budget and kept:
                break
            kept.append(q)
            used += len(q.text)
        return tuple(kept)


def _reading_json(reading):
    """How a follow-up was read, for `ask --json` (None for a question on its own)."""
    if reading is None:
        return None
    return {"previous": reading.previous, "subject": list(reading.subject), "cue": list(reading.cue), "region": reading.region}


def valid_unicode(text):
    """`text` with lone surrogates (from broken input encodings) replaced by U+FFFD, so it can
    be stored, logged and encoded as UTF-8 anywhere downstream, and without invisible format
    characters (zero-width spaces and joiners, bidi marks, soft hyphens: Unicode category Cf),
    which mean nothing in a question and would hide a word or a phone number from the search
    and the masking ("低\u200b保", "138\u200b1234\u200b5678"), nor control characters but tab and
    line breaks (NUL, ESC, BEL: a Telegram message's NUL was stored in the log and printed by
    `report`, fifth attack L5)."""
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if not text.isascii():
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    if not text.isprintable():
        text = "".join(ch for ch in text if ch in "\t\n\r" or unicodedata.category(ch) != "Cc")
    return text


def _shorten(sentence, limit):
    sentence = sentence.strip()
    if len(sentence) <= limit:
        return sentence
    return sentence[: limit - 1] + "…"


_FIGURE = re.compile(r"(?<![0-9.])(?!(?:19|20)[0-9]{2}(?![0-9]))[0-9]+(?:\.[0-9]+)?")


def _sentence_before_row(hits):
    """A table row first, and a passage of the same document among the next two that states one
    of its figures in a sentence: the sentence first, the row after it."""
    if len(hits) < 2 or hits[0].passage.get("kind") != "table_row":
        return hits
    figures = set(_FIGURE.findall(hits[0].passage["text"].split(":", 1)[-1]))
    for n, hit in enumerate(hits[1:3], 1):
        if hit.passage.get("kind") != "table_row" and hit.passage["doc_id"] == hits[0].passage["doc_id"] and figures & set(_FIGURE.findall(hit.passage["text"])):
            return (hit,) + hits[:n] + hits[n + 1 :]
    return hits
