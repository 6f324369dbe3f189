"""Rerank the fused candidates by what each passage says about the question.

`Snapshot.search` fuses four BM25 fields into one score; the first `pool` passages are then
ordered by a linear model over features of each (Query, passage) pair: the fused score and the
fields' shares, how much of the question's focus the passage text and its index questions cover
(directly or through the lexicon), whether it has the content the question's type asks for
(faq/question_types.toml), the asked fact, how its place relates to the question's, its shape,
and how close its nearest index question is. The model is a conditional logit fitted by
`make calibrate` (retrieval/calibrate.py): for each labelled question, the softmax over its pool
of the passages that answer it. A passage's score is its softmax share of the pool.

Everything is computed from the Query (computed once) and what the snapshot caches per passage
(normalised text, index-question token sets); no text is tokenised twice.
"""

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .datafiles import read_section, read_toml
from .errors import DataFileError

# The features every candidate gets; the names faq/calibration.toml [rerank] may use, besides
# TYPE_PREFIX + a question type's name (its content, when the question names that type).
FEATURES = (
    "fused",  # fused score over the pool's best
    "log_rank",  # ln of the fused rank
    "words",  # each BM25 field's score as a share of that field's best (0 when not among its candidates)
    "bigrams",
    "q_words",
    "q_bigrams",
    "focus_either",  # idf share of the focus terms the text or its index questions contain
    # (as written or through the lexicon)
    "words_text",  # idf share of the question's own words in the text
    "bigrams_text",  # share of the question's distinct character bigrams in the text
    "missed_idf",  # idf of the rarest focus term neither contains, over ln(N + 1)
    "type_first",  # the text has the content of the question's type (the first that matched)
    "fact",  # the text matches the evidence of a fact the question asks for (amount, age...)
    "same_place",  # the question names a place and this is that place's own document
    "wider_plan",  # the question names a place and this is a wider region's plan or summary
    "place_rule",  # the question names a place and this is a regulation (national or provincial)
    "table_row",
    "footnote",
    "index_similarity",  # idf-weighted Dice of the question's words and the closest index question's
    "index_bigrams",  # Dice of character bigrams with the closest index question
)
TYPE_PREFIX = "type:"


@dataclass(frozen=True)
class Reranker:
    """The fitted reranking model (faq/calibration.toml [rerank]); no features: fused order."""

    features: tuple = ()
    weights: tuple = ()
    pool: int = 20

    @classmethod
    def load(cls, path, types_path):
        """The model; DataFileError when it names a feature not computed here (or a question
        type faq/question_types.toml does not have) or its weights do not match."""
        r = read_section(path, "rerank", cls)
        r = replace(r, features=tuple(r.features), weights=tuple(float(w) for w in r.weights))
        line = next((n for n, text in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1) if text.strip() == "[rerank]"), None)
        types = {t.get("name") for t in read_toml(types_path).get("type", [])}
        known = set(FEATURES) | {TYPE_PREFIX + t for t in types}
        unknown = [f for f in r.features if f not in known]
        if unknown:
            raise DataFileError(path, line, f"[rerank] names unknown features {unknown}; known: {sorted(known)}")
        if len(r.weights) != len(r.features):
            raise DataFileError(path, line, f"[rerank] has {len(r.weights)} weights for {len(r.features)} features")
        if r.pool < 1:
            raise DataFileError(path, line, "[rerank] pool must be at least 1")
        return r

    @property
    def active(self):
        return bool(self.features)

    def scores(self, rows):
        """Each candidate's softmax share of the pool, from its feature dict."""
        logits = np.array([sum(w * row.get(f, 0.0) for f, w in zip(self.features, self.weights)) for row in rows])
        if not len(logits):
            return logits
        shares = np.exp(logits - logits.max())
        return shares / shares.sum()


@dataclass(frozen=True)
class Candidate:
    """One fused candidate handed to the reranker."""

    row: int  # passage number in the snapshot
    fused: float  # fused score after the region preference
    shares: dict  # BM25 field -> share of that field's best score


def features(snapshot, query, candidates, region, scored=None):
    """One feature dict per candidate (names as FEATURES, plus TYPE_PREFIX + type name), in order.
    `scored`: how many of the first candidates the reranker scores (all by default); those past
    it are read for the explanation only and do not weigh in what a passage with no index
    questions is given (_impute_unasked)."""
    index, analyzer = snapshot.words, snapshot.analyzer
    n_docs_log = math.log(index.n_docs + 1)
    focus = {t: index.plain_idf(t) for t in query.focus if index.document_frequency(t)}
    focus_total = sum(focus.values())
    stand_ins = {t: analyzer.stand_ins(t, query.text) for t in focus}
    own = {t: index.plain_idf(t) for t in dict.fromkeys(query.words) if index.document_frequency(t)}
    own_total = sum(own.values())
    bigrams = set(query.bigrams)
    # In the question's order, not a set's: float sums then add up the same in every process.
    asked_words = {t: index.plain_idf(t) for t in dict.fromkeys(query.words + query.expansion_words) if index.document_frequency(t)}
    asked_total = sum(asked_words.values())
    types = query.qtypes
    best = max((c.fused for c in candidates), default=0.0) or 1.0

    def found(term, text):
        return term in text or any(o in text for o in stand_ins[term])

    out = []
    for rank, c in enumerate(candidates, 1):
        passage = snapshot.passages[c.row]
        document = snapshot.documents[passage["doc_id"]]
        text = snapshot.normalized(c.row)
        asked_text = snapshot.normalized_questions(c.row)
        missed = [w for t, w in focus.items() if not found(t, text) and not found(t, asked_text)]
        raw = passage["text"]
        matched_types = [t.evidence.search(raw) is not None for t in types]
        similarity = similarity_bigrams = 0.0
        for words, own_weight, grams in snapshot.question_tokens(c.row):
            if asked_total + own_weight:
                shared = sum(w for t, w in asked_words.items() if t in words)
                similarity = max(similarity, 2 * shared / (asked_total + own_weight))
            if grams or bigrams:
                similarity_bigrams = max(similarity_bigrams, 2 * len(grams & bigrams) / (len(grams) + len(bigrams)))
        placed = region is not None
        affinity = snapshot.regions.affinity(region, document["region"])
        is_rule = document["kind"] == "regulation"
        row = {
            "fused": c.fused / best,
            "log_rank": math.log(rank),
            "words": c.shares.get("words", 0.0),
            "bigrams": c.shares.get("bigrams", 0.0),
            "q_words": c.shares.get("q_words", 0.0),
            "q_bigrams": c.shares.get("q_bigrams", 0.0),
            "focus_either": (focus_total - sum(missed)) / focus_total if focus_total else 0.0,
            "words_text": sum(w for t, w in own.items() if t in text) / own_total if own_total else 0.0,
            "bigrams_text": sum(1 for b in bigrams if b in text) / len(bigrams) if bigrams else 0.0,
            "missed_idf": max(missed, default=0.0) / n_docs_log,
            "type_first": 1.0 if matched_types and matched_types[0] else 0.0,
            "fact": 1.0 if any(f.evidence.search(raw) for f in query.asked) else 0.0,
            "same_place": 1.0 if placed and affinity == 2 else 0.0,
            "wider_plan": 1.0 if placed and affinity == 1 and not is_rule else 0.0,
            "place_rule": 1.0 if placed and is_rule else 0.0,
            "table_row": 1.0 if passage.get("kind") == "table_row" else 0.0,
            "footnote": 1.0 if passage.get("kind") == "footnote" else 0.0,
            "index_similarity": similarity,
            "index_bigrams": similarity_bigrams,
        }
        for t, matched in zip(types, matched_types):
            row[TYPE_PREFIX + t.name] = 1.0 if matched else 0.0
        out.append(row)
    _impute_unasked(snapshot, candidates, out, len(candidates) if scored is None else scored)
    return out


def _impute_unasked(snapshot, candidates, rows, scored):
    """A passage of a document with no index questions yet (one just added with `bot.py add`)
    has no question fields to match, which the model would read as a poor match: its text's
    shares stand in for the question fields', and the closest-question similarities take the
    mean of the asked candidates' among the first `scored` (neither a reward nor a penalty).
    With no asked passage among those they stay 0."""
    asked = snapshot.asked_documents
    unasked = [n for n, c in enumerate(candidates) if snapshot.passages[c.row]["doc_id"] not in asked]
    lacking = set(unasked)
    others = [rows[n] for n in range(min(scored, len(rows))) if n not in lacking]
    if not unasked or not others:
        return
    means = {f: sum(r[f] for r in others) / len(others) for f in ("index_similarity", "index_bigrams")}
    for n in unasked:
        row = rows[n]
        row["q_words"], row["q_bigrams"] = row["words"], row["bigrams"]
        row.update(means)
