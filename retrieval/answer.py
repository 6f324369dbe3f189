"""Turn a question into a cited answer or an honest decline.

Order of decisions: empty question -> out of scope -> nothing relevant found -> the question asks
for a fact (amount, phone...) the sources do not give -> answer with quoted sentences and
numbered citations. Wording comes from templates/ through one jinja2 Environment.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from .datafiles import read_section
from .errors import EmptyQuestionError, QuestionTooLongError
from .intent import Intents
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

    def __init__(self, library, settings):
        self.library = library
        self.settings = settings
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
        question = (question or "").strip()
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
        result = snapshot.search(question, k=self.settings.top_k, region=region)
        confidence = self._confidence(snapshot, result)
        civil = self.intents.is_civil_affairs(normalized)
        if not result.hits or confidence["coverage"] < self.thresholds.min_coverage or confidence["word_score"] < self.thresholds.min_word_score:
            if not civil:
                text = self.render("decline_out_of_scope.txt.j2", matter="", channel="")
                return Answer(question, text, OUT_OF_SCOPE, region, topic, confidence=confidence)
            text = self.render("decline_not_found.txt.j2", region=region)
            return Answer(question, text, NOT_FOUND, region, topic, confidence=confidence)
        hits = self._related(result.hits)
        terms = self._query_terms(snapshot, result)
        asked = self.intents.asked_facts(normalized)
        missing = [f for f in asked if not self._has_evidence(hits, terms, f)]
        quotes = self._quotes(hits, terms, asked)
        if missing:
            text = self.render(
                "decline_fact_missing.txt.j2",
                missing=[f.label for f in missing],
                quotes=quotes,
                sources=[self._citation(h) for h in hits],
                region=region,
            )
            return Answer(question, text, FACT_MISSING, region, topic, sources=hits, quotes=quotes, confidence=confidence)
        text = self.render("answer.txt.j2", quotes=quotes, sources=[self._citation(h) for h in hits])
        return Answer(question, text, ANSWER, region, topic, sources=hits, quotes=quotes, confidence=confidence)

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

    def _has_evidence(self, hits, terms, fact):
        for hit in hits:
            for sentence in self._sentences(hit.passage["text"]):
                if self._sentence_score(sentence, terms) > 0 and fact.evidence.search(sentence):
                    return True
        return False

    def _quotes(self, hits, terms, asked):
        quotes = []
        for number, hit in enumerate(hits, 1):
            sentences = self._sentences(hit.passage["text"])
            if not sentences:
                continue
            def score(s):
                bonus = sum(1 for f in asked if f.evidence.search(s))
                return (self._sentence_score(s, terms) + bonus, -sentences.index(s))
            best = max(sentences, key=score)
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


def _shorten(sentence, limit):
    sentence = sentence.strip()
    if len(sentence) <= limit:
        return sentence
    return sentence[: limit - 1] + "…"
