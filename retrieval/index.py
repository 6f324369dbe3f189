"""BM25 with weights precomputed at build time in a sparse term x passage matrix.

Formula (Okapi BM25, as rank-bm25's BM25Okapi computes it, so scores match it exactly):

    idf(t)    = ln(N - n(t) + 0.5) - ln(n(t) + 0.5)
                (a negative idf, for terms in more than half the passages, is replaced by
                 epsilon * mean idf over the vocabulary: rank-bm25's floor)
    w(t, d)   = idf(t) * tf(t,d) * (k1 + 1) / (tf(t,d) + k1 * (1 - b + b * |d| / avgdl))
    score(q,d)= sum over query tokens t (repeats counted) of w(t, d)

Query time is then a sum of a few sparse rows; only when the query's postings outnumber the
passages (common terms at 100k+) is one dense pass cheaper than sorting them.
"""

import math
from array import array
from collections import Counter
from dataclasses import dataclass

import numpy as np


_SLICE = 1 << 20  # postings per slice when computing weights


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


class Postings:
    """The term x passage weight matrix in compressed-row (CSR) layout: three numpy arrays."""

    def __init__(self, indptr, indices, data):
        self.indptr = indptr  # int64, one more entry than there are terms
        self.indices = indices  # int32 passage numbers, ascending within each row
        self.data = data  # float64 w(t, d)


class BM25Index:
    """An immutable BM25 index over token lists; rows are terms, columns passages."""

    def __init__(self, vocabulary, weights, n_docs):
        self.vocabulary = vocabulary  # token -> row
        self._weights = weights  # Postings, terms x docs
        self.n_docs = n_docs

    @classmethod
    def build(cls, token_lists, params=BM25Params()):
        """Index an iterable of token lists (read once, so a generator keeps memory flat)."""
        vocabulary = {}
        row_of = vocabulary.setdefault
        rows, counts, lengths, unique = array("i"), array("i"), array("q"), array("q")
        for tokens in token_lists:
            tf = Counter(tokens)
            rows.extend([row_of(token, len(vocabulary)) for token in tf])
            counts.extend(tf.values())
            lengths.append(len(tokens))
            unique.append(len(tf))
        n_docs = len(lengths)
        lengths = np.frombuffer(lengths, dtype=np.int64).astype(np.float64)
        doc_freqs = np.bincount(np.frombuffer(rows, dtype=np.int32), minlength=len(vocabulary))
        indptr = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(doc_freqs, out=indptr[1:])
        # Entries arrive passage by passage, so a stable sort by term keeps every row's passages
        # ascending: the CSR layout directly, with no COO or dense temporary. Each input array
        # is released as soon as it is reordered, to keep the peak low at 100k+ passages.
        order = np.argsort(np.frombuffer(rows, dtype=np.int32), kind="stable")
        cols = np.repeat(np.arange(n_docs, dtype=np.int32), np.frombuffer(unique, dtype=np.int64))[order]
        tf = np.frombuffer(counts, dtype=np.int32)[order]
        del counts, unique
        rows = np.frombuffer(rows, dtype=np.int32)[order]
        del order
        idf = idf_values(doc_freqs.astype(np.float64), n_docs, params.epsilon)
        avgdl = lengths.mean() if n_docs else 0.0
        doc_norm = params.k1 * (1 - params.b + params.b * lengths / avgdl) if avgdl else np.full(n_docs, params.k1)
        # idf * tf * (k1 + 1) / (tf + norm): the formula's operations in its order, so weights
        # are bit-identical to computing it in one expression, but in slices so no float64
        # temporary as large as the result is ever made.
        data = np.empty(len(rows), dtype=np.float64)
        for start in range(0, len(rows), _SLICE):
            part = slice(start, start + _SLICE)
            out = data[part]
            np.take(idf, rows[part], out=out)
            out *= tf[part]
            out *= params.k1 + 1
            out /= tf[part] + doc_norm[cols[part]]
        return cls(vocabulary, Postings(indptr, cols, data), n_docs)

    def parts(self):
        """(terms in row order, indptr, indices, data, n_docs): what `from_parts` needs to rebuild it."""
        p = self._weights
        return list(self.vocabulary), p.indptr, p.indices, p.data, self.n_docs

    @classmethod
    def from_parts(cls, terms, indptr, indices, data, n_docs):
        """An index from saved parts, without recomputing any weight."""
        vocabulary = dict(zip(terms, range(len(terms))))
        return cls(vocabulary, Postings(indptr, indices, data), n_docs)

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
        if len(ids) * 8 < self.n_docs:
            # Few postings: sorting them costs less than a pass over every passage.
            uniq, inverse = np.unique(ids, return_inverse=True)
            return uniq, np.bincount(inverse, weights=data)
        # Many postings (common terms at 100k+ passages): accumulate densely, which adds each
        # passage's contributions in the same order as above, so the sums are bit-identical.
        totals = np.bincount(ids, weights=data, minlength=self.n_docs)
        matched = np.zeros(self.n_docs, dtype=bool)
        matched[ids] = True
        uniq = np.flatnonzero(matched)
        return uniq, totals[uniq]

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

    def matched_terms_of(self, tokens, docs):
        """`matched_terms` of many passages at once: one search per token over all of them
        (a page of a thousand hits costs a few numpy calls per token, not one per hit)."""
        indptr, indices = self._weights.indptr, self._weights.indices
        docs = np.asarray(docs, dtype=indices.dtype)
        out = [[] for _ in range(len(docs))]
        if not len(docs):
            return out
        for token in dict.fromkeys(tokens):
            row = self.vocabulary.get(token)
            if row is None:
                continue
            column = indices[indptr[row] : indptr[row + 1]]
            pos = np.searchsorted(column, docs)
            inside = pos < len(column)
            found = np.zeros(len(docs), dtype=bool)
            found[inside] = column[pos[inside]] == docs[inside]
            for n in np.flatnonzero(found):
                out[n].append(token)
        return out

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
