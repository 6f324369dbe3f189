"""Turn a question into a cited answer or an honest decline.

Order of decisions: empty question -> out of scope -> nothing relevant found -> the question asks
for a fact (amount, phone...) the sources do not give -> answer with quoted sentences and
numbered citations. Wording comes from templates/ through one jinja2 Environment.
"""

import datetime
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import jinja2

from .datafiles import read_section
from .errors import EmptyQuestionError, QuestionTooLongError
from .intent import Intents
from .library import Hit
from .segment import SECTION_SEPARATOR

ANSWER = "answer"
OUT_OF_SCOPE = "out_of_scope"
NOT_FOUND = "not_found"
FACT_MISSING = "fact_missing"

_SENTENCE = re.compile(r"[^。;；!！?？\n]+[。;；!！?？]?")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Thresholds:
    """Confidence thresholds (faq/calibration.toml [answering])."""

    min_coverage: float = 0.3
    min_word_score: float = 3.0
    related_ratio: float = 0.6
    max_sources: int = 3
    quote_chars: int = 160
    evidence_ratio: float = 0.5
    evidence_pool: int = 3

    @classmethod
    def load(cls, path):
        return read_section(path, "answering", cls)


@dataclass(frozen=True)
class Quote:
    number: int
    text: str


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

    @property
    def declined(self):
        return self.kind != ANSWER

    def as_json(self):
        return {
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


class Answerer:
    """The answering core used by every channel: `ask(question) -> Answer`."""

    def __init__(self, library, settings, today=None):
        self.library = library
        self.settings = settings
        self.today = today or (lambda: datetime.date.today().isoformat())
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(settings.templates_dir)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
        )
        self._intents = None
        self._thresholds = None

    @property
    def intents(self):
        if self._intents is None:
            self._intents = Intents.load(self.settings.faq_dir, self.library.analyzer.normalize)
        return self._intents

    @property
    def thresholds(self):
        if self._thresholds is None:
            self._thresholds = Thresholds.load(Path(self.settings.faq_dir) / "calibration.toml")
        return self._thresholds

    def ask(self, question):
        """Answer one question; raises EmptyQuestionError / QuestionTooLongError for bad input."""
        question = valid_unicode(question or "").strip()
        if len(question) > self.settings.max_question_chars:
            raise QuestionTooLongError(len(question), self.settings.max_question_chars)
        snapshot = self.library.snapshot
        normalized = snapshot.analyzer.normalize(question)
        if not re.search(r"[\w]", normalized):
            raise EmptyQuestionError("the question has no words")
        topic = self.intents.topic(normalized)
        region = snapshot.regions.detect(normalized)
        oos = self.intents.out_of_scope(normalized)
        if oos is not None:
            text = self.render("decline_out_of_scope.txt.j2", matter=oos.name, channel=oos.channel)
            return Answer(question, text, OUT_OF_SCOPE, region, topic)
        asked = self.intents.asked_facts(normalized)
        promoted = tuple(f for f in asked if f.promote)
        if promoted:
            result = snapshot.search(question, k=self.settings.top_k * self.thresholds.evidence_pool, region=region)
            hits = self._prefer_evidence(result.hits, self._query_terms(snapshot, result), promoted)
            result = replace(result, hits=hits[: self.settings.top_k])
        else:
            result = snapshot.search(question, k=self.settings.top_k, region=region)
        matches = self._faq_matches(snapshot, question, region, result)
        chosen = self._faq_choice(snapshot, question, matches, region, result)
        uncovered = self._not_covered(snapshot, normalized, chosen)
        if uncovered is not None:
            suggestions = self._suggestions(matches)
            text = self.render("decline_not_covered.txt.j2", matter=uncovered.name, channel=uncovered.channel, suggestions=suggestions)
            return Answer(question, text, NOT_FOUND, region, topic, suggestions=suggestions)
        if chosen is not None:
            return self._faq_answer(snapshot, question, chosen, result, asked, region, topic)
        suggestions = self._suggestions(matches)
        confidence = self._confidence(snapshot, result)
        civil = self.intents.is_civil_affairs(normalized)
        if not result.hits or confidence["coverage"] < self.thresholds.min_coverage or confidence["word_score"] < self.thresholds.min_word_score:
            if not civil and not suggestions:
                text = self.render("decline_out_of_scope.txt.j2", matter="", channel="")
                return Answer(question, text, OUT_OF_SCOPE, region, topic, confidence=confidence)
            text = self.render("decline_not_found.txt.j2", region=region, suggestions=suggestions)
            return Answer(question, text, NOT_FOUND, region, topic, suggestions=suggestions, confidence=confidence)
        hits = self._related(result.hits)
        terms = self._query_terms(snapshot, result)
        return self._cited(question, hits, terms, asked, region, topic, suggestions, confidence)

    def _cited(self, question, hits, terms, asked, region, topic, suggestions, confidence, faq=None):
        """An answer quoting `hits` (or the FAQ's answer over them), or a fact-missing decline."""
        given = faq.gives if faq is not None else ()
        missing = [f for f in asked if f.name not in given and not self._has_evidence(hits, terms, f)]
        quoted = hits[: self.thresholds.max_sources] if faq is not None else hits
        quotes = self._quotes(quoted, terms, asked)
        sources = [self._citation(h) for h in hits]
        faq_id = faq.id if faq is not None else None
        if missing:
            text = self.render(
                "decline_fact_missing.txt.j2",
                missing=[f.label for f in missing],
                quotes=quotes,
                sources=sources,
                region=region,
                suggestions=suggestions,
            )
            return Answer(question, text, FACT_MISSING, region, topic, faq_id, hits, quotes, suggestions, confidence)
        if faq is not None:
            text = self.render("faq_answer.txt.j2", answer=faq.answer, quotes=quotes, sources=sources, suggestions=suggestions)
            return Answer(question, text, ANSWER, region, topic, faq_id, hits, quotes, suggestions, confidence)
        text = self.render("answer.txt.j2", quotes=quotes, sources=sources, suggestions=suggestions)
        return Answer(question, text, ANSWER, region, topic, None, hits, quotes, suggestions, confidence)

    # -- FAQ -------------------------------------------------------------------------------
    def _faq_matches(self, snapshot, question, region, result):
        faq = snapshot.faq
        ranking = faq.ranking
        regions = snapshot.regions

        def region_ok(entry_region):
            if region is None:
                return entry_region in ranking.unplaced_regions
            return regions.affinity(region, entry_region) > 0

        ranks = {hit.passage["id"]: n for n, hit in enumerate(result.hits, 1)}
        return faq.match(question, self.today(), region_ok, ranks, region, limit=ranking.max_suggestions + 1)

    def _faq_choice(self, snapshot, question, matches, region, result):
        """The entry that answers, or None: too weak, two entries too close to tell apart, or a
        local plan's passage should answer a question about that place."""
        ranking = snapshot.faq.ranking
        if not matches or matches[0].score < ranking.answer_threshold:
            return None
        if len(matches) > 1 and matches[0].score - matches[1].score < ranking.ambiguity_margin:
            return None
        entry = matches[0].entry
        if self._about_local_plan(snapshot, question, region, result) and entry.region in ranking.unplaced_regions:
            return None
        return matches[0]

    def _not_covered(self, snapshot, normalized, chosen):
        """The matter of faq/not_covered.toml the question asks about (婚检, 公开募捐...), or None.

        A keyword that some passage contains no longer counts: the sources cover it now. Nor
        does one that the FAQ entry about to answer (`chosen`) itself uses in a question or its
        answer: a curated entry about the matter answers it.
        """
        for matter in self.intents.not_covered:
            asked = [k for k in matter.keywords if k in normalized]
            if not asked or any(snapshot.mentions(k) for k in asked):
                continue
            if chosen is not None:
                written = snapshot.analyzer.normalize("\n".join((*chosen.entry.questions, chosen.entry.answer)))
                if any(k in written for k in asked):
                    continue
            return matter
        return None

    def _about_local_plan(self, snapshot, question, region, result):
        """A question about what a place plans or has done ("萧山会开多少家老年食堂"), where
        the place's own document is the best passage: general FAQ entries do not answer it."""
        ranking = snapshot.faq.ranking
        if region is None or region in ranking.unplaced_regions or not result.hits:
            return False
        if result.hits[0].document["region"] != region:
            return False
        normalized = snapshot.analyzer.normalize(question)
        return any(cue in normalized for cue in ranking.plan_cues)

    def _suggestions(self, matches):
        ranking = self.library.snapshot.faq.ranking
        # Each entry's first question: its plain wording, not the typo or variant that matched.
        return tuple(m.entry.questions[0] for m in matches[: ranking.max_suggestions] if m.score >= ranking.suggest_threshold)

    def _faq_answer(self, snapshot, question, match, result, asked, region, topic):
        """The entry's answer over its sources, the ones most relevant to this question first."""
        entry = match.entry
        ranks = {hit.passage["id"]: (n, hit.score) for n, hit in enumerate(result.hits)}
        words = list(result.words)
        hits = []
        for order, passage_id in enumerate(snapshot.faq.sources[entry.id]):
            row = snapshot.by_id[passage_id]
            passage = snapshot.passages[row]
            rank, score = ranks.get(passage_id, (len(ranks), 0.0))
            relevance = snapshot.words.score_of(words, row)
            matched = tuple(snapshot.words.matched_terms(words, row))
            hits.append(((rank, -relevance, order), Hit(passage, snapshot.documents[passage["doc_id"]], score, matched)))
        hits = tuple(hit for _, hit in sorted(hits, key=lambda pair: pair[0]))
        terms = self._query_terms(snapshot, result)
        promoted = tuple(f for f in asked if f.promote)
        if promoted:  # the entry's sources are all about it: any that states the asked age goes first
            hits = self._prefer_evidence(hits, terms, promoted, floor=0.0)
        confidence = {"faq_score": match.score, "faq_question": match.question}
        return self._cited(question, hits, terms, asked, region, topic, (), confidence, faq=entry)

    # -- confidence ------------------------------------------------------------------------
    def _confidence(self, snapshot, result):
        """How much of the question the top passage covers, and its jieba-field BM25 score.

        coverage = idf of the query words (own and synonym-added) found in the top passage,
        over the idf of the question's own words that occur anywhere in the knowledge base;
        capped at 1. Words the knowledge base never uses cannot be matched by any passage, so
        they do not count against it.
        """
        if not result.hits:
            return {"coverage": 0.0, "word_score": 0.0}
        index = snapshot.words
        total = sum(index.plain_idf(t) for t in dict.fromkeys(result.own_words) if index.document_frequency(t) > 0)
        row = snapshot.by_id[result.hits[0].passage["id"]]
        covered = sum(index.plain_idf(t) for t in index.matched_terms(list(result.words), row))
        word_score = index.score_of(result.words, row)
        coverage = min(1.0, covered / total) if total else 0.0
        return {"coverage": round(coverage, 3), "word_score": round(word_score, 3)}

    def _related(self, hits):
        """The top hit and those close enough to it to be cited too."""
        best = hits[0].score
        return tuple(h for h in hits[: self.thresholds.max_sources] if h.score >= best * self.thresholds.related_ratio)

    # -- quoting ---------------------------------------------------------------------------
    def _query_terms(self, snapshot, result):
        index = snapshot.words
        return {t: index.plain_idf(t) for t in dict.fromkeys(result.words) if index.document_frequency(t) > 0}

    def _sentences(self, text):
        return [s.strip() for s in _SENTENCE.findall(text) if _CJK.search(s)]

    def _sentence_score(self, sentence, terms):
        return sum(weight for term, weight in terms.items() if term in sentence)

    def _states(self, hit, terms, facts):
        """Whether a sentence of the hit that shares a question word matches every fact's evidence."""
        return any(
            self._sentence_score(s, terms) > 0 and all(f.evidence.search(s) for f in facts)
            for s in self._sentences(hit.passage["text"])
        )

    def _has_evidence(self, hits, terms, fact):
        return any(self._states(hit, terms, (fact,)) for hit in hits)

    def _prefer_evidence(self, hits, terms, asked, floor=None):
        """`hits` with those that state an asked fact (an age for "女的多少岁能结婚") first.

        Only for facts marked `promote` in faq/fact_types.toml, whose evidence is rare in the
        knowledge base (an age: "二十周岁"); amounts and time limits are everywhere, and moving
        any passage that names one ahead would answer questions the sources do not. Only hits
        scoring at least evidence_ratio of the best move, and only for a sentence that shares a
        question word and matches every such fact's `evidence`.
        """
        if not hits:
            return hits
        if floor is None:
            floor = hits[0].score * self.thresholds.evidence_ratio

        first = [h.score >= floor and self._states(h, terms, asked) for h in hits]
        return tuple(h for h, f in zip(hits, first) if f) + tuple(h for h, f in zip(hits, first) if not f)

    def _quotes(self, hits, terms, asked):
        quotes = []
        for number, hit in enumerate(hits, 1):
            sentences = self._sentences(hit.passage["text"])
            if not sentences:
                continue
            def score(s):
                bonus = sum(1 for f in asked if f.evidence.search(s))
                return (self._sentence_score(s, terms) + bonus, -sentences.index(s))
            at = sentences.index(max(sentences, key=score))
            best = sentences[at]
            # A lead-in ("应当出具下列证件和书面材料：") says nothing alone: quote what it introduces.
            if best.endswith(("：", ":")):
                while at + 1 < len(sentences) and len(best) < self.thresholds.quote_chars:
                    at += 1
                    best += sentences[at]
                    if not best.endswith(("；", ";")):
                        break
            quotes.append(Quote(number, _shorten(best, self.thresholds.quote_chars)))
        budget = self.settings.answer_max_chars
        kept, used = [], 0
        for q in quotes:
            if used + len(q.text) > budget and kept:
                break
            kept.append(q)
            used += len(q.text)
        return tuple(kept)

    def _citation(self, hit):
        doc = hit.document
        return {
            "title": doc["title"],
            "issuer": doc["issuer"],
            "date": doc["published"] or doc["effective"],
            "effective": doc["effective"],
            "status": doc["status"],
            "section": SECTION_SEPARATOR.join(hit.passage["section"]),
            "passage_id": hit.passage["id"],
        }

    def render(self, name, **context):
        """Render one reply template (also used by channels for their own fixed replies)."""
        return self._env.get_template(name).render(**context).strip()


def valid_unicode(text):
    """`text` with lone surrogates (from broken input encodings) replaced by U+FFFD, so it can
    be stored, logged and encoded as UTF-8 anywhere downstream."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _shorten(sentence, limit):
    sentence = sentence.strip()
    if len(sentence) <= limit:
        return sentence
    return sentence[: limit - 1] + "…"
