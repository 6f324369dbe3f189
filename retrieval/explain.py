"""Hit testing that explains itself: why a question got the passages and the decision it got.

`explain(answerer, question, passage_id=None)` runs the same path a citizen's question runs
(Answerer.parse -> candidates -> decide) and returns an `Explanation` value: the Query as
understood; for each top passage its fused score by BM25 field, its matched terms with their
IDF and BM25 weight, the reranker's feature contributions (faq/calibration.toml [rerank]); and
the decision with the feature contributions of the answer/suggest/decline model ([decision]),
the threshold it was compared against, and a reason code; for a declined question, the focus
terms the top passage lacks with their IDF. With `passage_id` ("why not this passage?") the
same breakdown for that passage wherever it ranked, and the terms it lacks. Nothing is logged,
nothing changes; wording stays in templates/explain.txt.j2 and the web views.
"""

import math
from dataclasses import asdict, dataclass

from .decision import ANSWER, FACT_MISSING, NOT_COVERED, OUT_OF_SCOPE, SUGGEST
from .rerank import Candidate
from .rerank import features as rerank_features
from .segment import SECTION_SEPARATOR

TERMS_SHOWN = 8  # matched terms listed per field
CONTRIBUTIONS_SHOWN = 8  # reranker features listed per passage, largest first


@dataclass(frozen=True)
class Term:
    term: str
    idf: float  # plain idf in the field's index (ln((N - n + 0.5) / (n + 0.5) + 1))
    weight: float  # BM25 w(t, d) for this passage, times the query's weight for the term


@dataclass(frozen=True)
class Field:
    name: str  # words, bigrams, q_words, q_bigrams
    share: float  # the passage's BM25 as a share of the field's best (0: not among its candidates)
    weight: float  # the field's weight in the fusion (faq/calibration.toml [ranking])
    contribution: float  # share x weight
    terms: tuple  # Term, heaviest first


@dataclass(frozen=True)
class Contribution:
    feature: str
    value: float
    weight: float
    contribution: float


@dataclass(frozen=True)
class PassageWhy:
    passage_id: str
    title: str
    section: str
    rank: int  # place after the reranker (None: not among the shown)
    fused_rank: int  # place in the fused order (None: no field scored it, or filtered by place)
    score: float  # the reranker's share of the pool (as a hit's score)
    fused: float  # the fused score (field contributions, then region and type factors)
    fields: tuple  # Field
    rerank: tuple  # Contribution, largest |contribution| first
    lacking: tuple  # Term: focus terms neither its text nor its index questions contain
    index_questions: int  # questions of knowledge/questions/ that point at it
    questions_file: str  # knowledge/questions/<doc>.toml, where its index questions live


@dataclass(frozen=True)
class Explanation:
    question: str
    understood: dict
    passages: tuple  # PassageWhy of the top passages
    kind: str  # the decision's kind
    reason: str  # a code the templates word (faq, answer, low_share, suggest, fact_missing, decline, ...)
    p: float  # the answer/suggest/decline model's probability (None when it was not consulted)
    answer_at: float
    suggest_at: float
    bias: float
    contributions: tuple  # Contribution of the decision model, largest |contribution| first
    missing: tuple  # Term: focus terms the top passage lacks (or no passage has)
    faq: dict  # {"id", "score", "threshold", "question"} when an FAQ entry answered or nearly did
    matter: str = ""  # out of scope / not covered matter
    asked: PassageWhy = None  # --passage: the passage asked about

    def as_json(self):
        return asdict(self)


def explain(answerer, question, passage_id=None):
    """The Explanation of one question (and of one passage, given its id); EmptyQuestionError /
    QuestionTooLongError as ask; KeyError for a passage id the build does not have."""
    snapshot = answerer.library.snapshot
    if passage_id is not None and passage_id not in snapshot.by_id:
        raise KeyError(passage_id)
    query = answerer.parse(question, snapshot)
    result = answerer.candidates(snapshot, query)
    decision = answerer.decide(snapshot, query)
    fused, parts = snapshot.fused(query, result.region)
    fused_rank = {i: n for n, (_, i) in enumerate(fused, 1)}
    fused_score = {i: s for s, i in fused}
    questions = _index_questions(answerer)
    shown = []
    for rank, hit in enumerate(result.hits, 1):
        row = snapshot.by_id[hit.passage["id"]]
        shown.append(_passage(snapshot, query, row, rank, hit.score, hit.features, parts, fused_rank, fused_score, questions))
    asked = None
    if passage_id is not None:
        row = snapshot.by_id[passage_id]
        rank = next((n for n, h in enumerate(result.hits, 1) if h.passage["id"] == passage_id), None)
        if rank is not None:
            asked = shown[rank - 1]
        else:
            features, share = _as_if_in_pool(snapshot, query, row, fused, parts, fused_rank, result.region)
            asked = _passage(snapshot, query, row, None, share, features, parts, fused_rank, fused_score, questions)
    confidence = decision.confidence or {}
    calibration = answerer.calibration.model_for(confidence)  # [decision_unasked] for a document without index questions
    p = confidence.get("p") if "faq_score" not in confidence else None
    contributions = ()
    if p is not None:
        contributions = _sorted(Contribution(f, confidence.get(f, 0.0), w, confidence.get(f, 0.0) * w) for f, w in zip(calibration.features, calibration.weights))
    faq = None
    if "faq_score" in confidence:
        faq = {"id": decision.faq.id if decision.faq is not None else None, "score": round(confidence["faq_score"], 4), "threshold": snapshot.faq.ranking.answer_threshold, "question": confidence.get("faq_question")}
    return Explanation(
        question=query.question,
        understood=_understood(snapshot, query),
        passages=tuple(shown),
        kind=decision.kind,
        reason=_reason(answerer, query, decision, result, p),
        p=p,
        answer_at=calibration.answer_at,
        suggest_at=calibration.suggest_at,
        bias=calibration.bias,
        contributions=contributions,
        missing=_missing(snapshot, query, shown[0] if shown else None),
        faq=faq,
        matter=decision.matter,
        asked=asked,
    )


def _understood(snapshot, query):
    index = snapshot.words
    return {
        "normalized": query.normalized,
        "text": query.text,
        "repairs": [list(r) for r in query.repairs],
        "region": query.region,
        "topic": query.topic,
        "question_type": query.qtype.name if query.qtype else None,
        "question_types": [t.name for t in query.qtypes],
        "asked_facts": [f.label for f in query.asked],
        "civil": query.civil,
        "words": list(query.words),
        "focus": [{"term": t, "idf": round(index.plain_idf(t), 3), "passages": index.document_frequency(t)} for t in query.focus],
        "unknown": list(query.unknown),
        "expansions": query.expansions,
        "expansion_words": list(query.expansion_words),
        "followup": query.followup.previous if query.followup is not None else None,
    }


def _passage(snapshot, query, row, rank, score, features, parts, fused_rank, fused_score, questions):
    passage = snapshot.passages[row]
    document = snapshot.documents[passage["doc_id"]]
    fields = []
    for name, index, tokens, token_weights, weight in snapshot.field_weights(query):
        share = parts.get(row, {}).get(name, 0.0)
        terms = {}
        for token, token_weight in zip(tokens, token_weights):
            w = index.score_of([token], row) * token_weight
            if w:
                terms[token] = terms.get(token, 0.0) + w
        listed = sorted((Term(t, round(index.plain_idf(t), 3), round(w, 3)) for t, w in terms.items()), key=lambda t: (-t.weight, t.term))
        fields.append(Field(name, round(share, 4), round(weight, 4), round(share * weight, 4), tuple(listed[:TERMS_SHOWN])))
    reranker = snapshot.reranker
    rerank = ()
    if features:
        rerank = _sorted(Contribution(f, round(features.get(f, 0.0), 4), round(w, 4), features.get(f, 0.0) * w) for f, w in zip(reranker.features, reranker.weights))[:CONTRIBUTIONS_SHOWN]
    count, path = questions.get(passage["id"], (0, f"knowledge/questions/{passage['doc_id']}.toml"))
    return PassageWhy(
        passage_id=passage["id"],
        title=document["title"],
        section=SECTION_SEPARATOR.join(passage["section"]),
        rank=rank,
        fused_rank=fused_rank.get(row),
        score=round(float(score or 0.0), 4),
        fused=round(fused_score.get(row, 0.0), 4),
        fields=tuple(fields),
        rerank=rerank,
        lacking=_lacking(snapshot, query, row),
        index_questions=count,
        questions_file=path,
    )


def _as_if_in_pool(snapshot, query, row, fused, parts, fused_rank, region):
    """The reranker's features of a passage outside the shown ones, read beside the pool it
    would have joined, and its share of that pool."""
    pool = [(s, i) for s, i in fused[: snapshot.reranker.pool] if i != row]
    mine = next(((s, i) for s, i in fused if i == row), (0.0, row))
    candidates = [Candidate(i, s, parts.get(i, {})) for s, i in pool] + [Candidate(row, mine[0], parts.get(row, {}))]
    rows = rerank_features(snapshot, query, candidates, region)
    rows[-1]["log_rank"] = math.log(fused_rank.get(row, len(fused) + 1))
    if not snapshot.reranker.active:
        return rows[-1], 0.0
    shares = snapshot.reranker.scores(rows)
    return rows[-1], float(shares[-1])


def _lacking(snapshot, query, row):
    index = snapshot.words
    return tuple(Term(t, round(index.plain_idf(t), 3), 0.0) for t in query.focus if not snapshot.says(row, t, query.text))


def _missing(snapshot, query, top):
    """Focus terms the top passage lacks, then those no passage contains (weighed in the
    decision as the rarest term there is, ln(N + 1))."""
    rarest = round(math.log(snapshot.words.n_docs + 1), 3)
    lacking = list(top.lacking) if top is not None else []
    named = {t.term for t in lacking}
    return tuple(lacking + [Term(t, rarest, 0.0) for t in query.unknown if t not in named])


def _reason(answerer, query, decision, result, p):
    """Why the decision is what it is, as a code (templates/explain.txt.j2 words each)."""
    kind = decision.kind
    if kind == OUT_OF_SCOPE:
        return "out_of_scope" if decision.matter else "not_civil"
    if kind == NOT_COVERED and decision.matter:
        return "not_covered_matter"
    if decision.faq is not None and kind in (ANSWER, FACT_MISSING):
        return "faq_fact_missing" if kind == FACT_MISSING else "faq"
    if not result.hits:
        return "no_hits"
    if p is None:
        return kind
    calibration = answerer.calibration.model_for(decision.confidence or {})
    if p >= calibration.answer_at:
        if kind == SUGGEST:
            return "low_share"
        return "fact_missing" if kind == FACT_MISSING else "answer"
    if p >= calibration.suggest_at and query.civil:
        return "fact_missing" if kind == FACT_MISSING else "suggest"
    if kind == FACT_MISSING:
        return "fact_not_given"
    if kind == NOT_COVERED:
        return "unknown_term"
    return "below_suggest"


def _sorted(contributions):
    items = [Contribution(c.feature, round(c.value, 4), round(c.weight, 4), round(c.contribution, 4)) for c in contributions]
    return tuple(sorted(items, key=lambda c: (-abs(c.contribution), c.feature)))


def _index_questions(answerer):
    """{passage id: (number of index questions, their file relative to the project)}."""
    from pathlib import Path

    from .questions import load_questions

    knowledge = Path(answerer.settings.knowledge_dir)
    out = {}
    for pid, _, path, _ in load_questions(knowledge):
        count, _ = out.get(pid, (0, None))
        out[pid] = (count + 1, f"knowledge/questions/{Path(path).name}")
    return out
