"""BM25 scores against rank-bm25's BM25Okapi (the reference) on the same tokens."""

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from retrieval.index import BM25Index, BM25Params, top_k_of


def test_scores_match_rank_bm25_on_real_passages(library):
    snapshot = library.snapshot
    corpus = [snapshot.words_tokens(i) for i in range(len(snapshot.passages))]
    ours = BM25Index.build(corpus)
    reference = BM25Okapi(corpus)
    for question in ["结婚登记要带什么材料", "低保 申请 乡镇 街道", "老年助餐 食堂 萧山", "殡葬 火化 遗体 死亡证明"]:
        tokens = snapshot.analyzer.words(question)
        np.testing.assert_allclose(ours.scores(tokens), reference.get_scores(tokens), rtol=1e-9, atol=1e-12)


def test_negative_idf_gets_rank_bm25s_floor():
    corpus = [["a", "b"], ["a", "c"], ["a", "d"]]
    ours = BM25Index.build(corpus, BM25Params(epsilon=0.25))
    np.testing.assert_allclose(ours.scores(["a", "b"]), BM25Okapi(corpus).get_scores(["a", "b"]))


def test_repeated_query_tokens_count_twice():
    corpus = [["低保", "申请"], ["特困"], ["救助"]]
    index = BM25Index.build(corpus)
    once = index.scores(["低保"])[0]
    assert index.scores(["低保", "低保"])[0] == pytest.approx(2 * once)


def test_top_k_only_returns_matching_passages_best_first_ties_by_position():
    index = BM25Index.build([["x"], ["y"], ["x"], ["z"]])
    assert [i for i, _ in index.top_k(["x"], 10)] == [0, 2]
    assert index.top_k(["unknown"], 3) == []


def test_top_k_of_picks_the_k_best():
    ids = np.array([5, 9, 2, 7])
    scores = np.array([0.1, 0.9, 0.5, 0.9])
    assert top_k_of(ids, scores, 2) == [(7, 0.9), (9, 0.9)]


def test_bad_parameters_raise_value_error():
    with pytest.raises(ValueError):
        BM25Params(b=2.0)


def test_score_of_one_passage_equals_its_dense_score():
    index = BM25Index.build([["低保", "申请", "低保"], ["特困"], ["低保", "救助"]])
    tokens = ["低保", "救助", "低保", "未知"]
    dense = index.scores(tokens)
    assert [index.score_of(tokens, d) for d in range(3)] == pytest.approx(list(dense))
    assert index.matched_terms(tokens, 2) == ["低保", "救助"]


def test_matched_terms_of_many_passages_equals_one_at_a_time():
    index = BM25Index.build([["低保", "申请", "低保"], ["特困"], ["低保", "救助"], [], ["救助", "申请"]])
    tokens = ["救助", "低保", "未知", "申请", "救助"]
    docs = [4, 2, 0, 1, 3, 2]
    assert index.matched_terms_of(tokens, docs) == [index.matched_terms(tokens, d) for d in docs]
    assert index.matched_terms_of(tokens, docs)[1] == ["救助", "低保"]
    assert index.matched_terms_of(tokens, []) == []
