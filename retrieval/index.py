"""BM25 with weights precomputed at build time in a sparse term x passage matrix.

Formula (Okapi BM25, as rank-bm25's BM25Okapi computes it, so scores match it exactly):

    idf(t)    = ln(N - n(t) + 0.5) - ln(n(t) + 0.5)
                (a negative idf, for terms in more than half the passages, is replaced by
                 epsilon * mean idf over the vocabulary: rank-bm25's floor)
    w(t, d)   = idf(t) * tf(t,d) * (k1 + 1) / (tf(t,d) + k1 * (1 - b + b * |d| / avgdl))
    score(q,d)= sum over query tokens t (repeats counted) of w(t, d)

Query time is then a sum of a few sparse rows: no per-query pass over all passages.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class BM25Params:
    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25

    def __post_init__(self):
        if self.k1 < 0 or not 0 <= self.b <= 1 or self.epsilon < 0:
            raise ValueError("BM25 needs k1 >= 0, 0 <= b <= 1 and epsilon >= 0")


def idf_values(doc_freqs, n_docs, epsilon):
    """rank-bm25's Okapi idf with its floor for negative values."""
    idf = np.log(n_docs - doc_freqs + 0.5) - np.log(doc_freqs + 0.5)
    if len(idf):
        floor = epsilon * float(idf.mean())
        idf = np.where(idf < 0, floor, idf)
    return idf


class BM25Index:
    """An immutable BM25 index over token lists; rows are terms, columns passages."""

    def __init__(self, vocabulary, weights, n_docs):
        self.vocabulary = vocabulary  # token -> row
        self._weights = weights  # CSR, terms x docs
        self.n_docs = n_docs

    @classmethod
    def build(cls, token_lists, params=BM25Params()):
        n_docs = len(token_lists)
        vocabulary = {}
        rows, cols, counts = [], [], []
        lengths = np.zeros(n_docs, dtype=np.float64)
        for doc, tokens in enumerate(token_lists):
            lengths[doc] = len(tokens)
            tf = {}
            for token in tokens:
                tf[token] = tf.get(token, 0) + 1
            for token, count in tf.items():
                rows.append(vocabulary.setdefault(token, len(vocabulary)))
                cols.append(doc)
                counts.append(count)
        rows = np.asarray(rows, dtype=np.int32)
        cols = np.asarray(cols, dtype=np.int32)
        tf = np.asarray(counts, dtype=np.float64)
        doc_freqs = np.bincount(rows, minlength=len(vocabulary)).astype(np.float64)
        idf = idf_values(doc_freqs, n_docs, params.epsilon)
        avgdl = lengths.mean() if n_docs else 0.0
        norm = params.k1 * (1 - params.b + params.b * lengths[cols] / avgdl) if avgdl else params.k1
        data = idf[rows] * tf * (params.k1 + 1) / (tf + norm)
        weights = sparse.csr_matrix((data, (rows, cols)), shape=(len(vocabulary), n_docs), dtype=np.float64)
        weights.sort_indices()
        return cls(vocabulary, weights, n_docs)

    def scores(self, tokens):
        """Dense scores of every passage for the query tokens (repeats count, as in rank-bm25)."""
        out = np.zeros(self.n_docs, dtype=np.float64)
        ids, data = self._rows(tokens)
        if len(ids):
            np.add.at(out, ids, data)
        return out

    def sparse_scores(self, tokens, weights=None):
        """(passage indices, scores) of the passages sharing at least one token with the query.

        `weights` (one per token, default 1) scale each query token's contribution.
        """
        ids, data = self._rows(tokens, weights)
        if not len(ids):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        uniq, inverse = np.unique(ids, return_inverse=True)
        return uniq, np.bincount(inverse, weights=data)

    def top_k(self, tokens, k):
        """[(passage index, score)] best first; only passages that match at least one token."""
        ids, scores = self.sparse_scores(tokens)
        return top_k_of(ids, scores, k)

    def score_of(self, tokens, doc):
        """One passage's score for the query tokens, without scoring every passage."""
        positions = (self._position(token, doc) for token in tokens)
        return float(sum(self._weights.data[pos] for pos in positions if pos is not None))

    def matched_terms(self, tokens, doc):
        """The query tokens that occur in one passage."""
        return [token for token in dict.fromkeys(tokens) if self._position(token, doc) is not None]

    def _position(self, token, doc):
        """Where w(token, doc) sits in the weight data, or None when the passage lacks the token."""
        row = self.vocabulary.get(token)
        if row is None:
            return None
        start, end = self._weights.indptr[row], self._weights.indptr[row + 1]
        pos = int(np.searchsorted(self._weights.indices[start:end], doc))
        return start + pos if pos < end - start and self._weights.indices[start + pos] == doc else None

    def document_frequency(self, token):
        """How many passages contain the token."""
        row = self.vocabulary.get(token)
        return 0 if row is None else int(self._weights.indptr[row + 1] - self._weights.indptr[row])

    def plain_idf(self, token):
        """Smoothed idf without rank-bm25's floor, to weigh query terms against each other."""
        return log_idf(self.n_docs, self.document_frequency(token))

    def _rows(self, tokens, weights=None):
        indptr, indices, data = self._weights.indptr, self._weights.indices, self._weights.data
        id_parts, data_parts = [], []
        for n, token in enumerate(tokens):
            row = self.vocabulary.get(token)
            if row is not None:
                id_parts.append(indices[indptr[row] : indptr[row + 1]])
                part = data[indptr[row] : indptr[row + 1]]
                data_parts.append(part if weights is None else part * weights[n])
        if not id_parts:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float64)
        return np.concatenate(id_parts), np.concatenate(data_parts)


def top_k_of(ids, scores, k):
    """The k best (id, score) pairs, best first, ties broken by lower id (stable, deterministic)."""
    if k <= 0 or not len(ids):
        return []
    if len(ids) > k:
        # argpartition only over the matching passages: never over a mostly-zero dense array.
        keep = np.argpartition(-scores, k - 1)[:k]
        ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -scores))
    return [(int(ids[i]), float(scores[i])) for i in order]


def log_idf(n_docs, doc_freq):
    """Plain idf used for query-term importance (no floor): ln((N - n + 0.5) / (n + 0.5) + 1)."""
    return math.log((n_docs - doc_freq + 0.5) / (doc_freq + 0.5) + 1)
