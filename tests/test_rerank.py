"""The reranker of the fused pool (retrieval/rerank.py), on the real knowledge base."""

import pytest

from retrieval.errors import DataFileError
from retrieval.rerank import FEATURES, TYPE_PREFIX, Reranker

from .conftest import ROOT


def test_the_fitted_reranker_reads_only_features_it_computes(library, answerer):
    snapshot = library.snapshot
    reranker = snapshot.reranker
    assert reranker.active and reranker.pool >= answerer.settings.top_k
    result = snapshot.search(answerer.parse("养老机构不和老人签服务合同会被怎么罚"), k=3)
    row = result.hits[0].features
    assert set(FEATURES) <= set(row) and TYPE_PREFIX + "penalty" in row
    names = set(FEATURES) | {TYPE_PREFIX + t.name for t in answerer.question_types}
    assert set(reranker.features) <= names and len(reranker.weights) == len(reranker.features)


def test_a_penalty_question_gets_the_penalty_article_first(library, answerer):
    # The fused score prefers 第二十三条 (养老机构应当订立养老服务合同): more of the words; the
    # reranker reads that the question asks for a penalty and 第五十三条 states the fine.
    hits = library.snapshot.search(answerer.parse("养老机构不和老人签服务合同会被怎么罚"), k=3).hits
    assert hits[0].passage["id"] == "zhejiang-elderly-services-2021:第五十三条"
    assert "一万元以上三万元以下罚款" in hits[0].passage["text"]


def test_scores_are_shares_of_the_pool_best_first(library, answerer):
    hits = library.snapshot.search(answerer.parse("低保怎么申请"), k=5).hits
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores) and sum(scores) <= 1 + 1e-9
    assert all(h.fused_rank is not None for h in hits)


def test_without_a_model_the_fused_order_stands(library, answerer):
    snapshot = library.snapshot
    query = answerer.parse("养老机构不和老人签服务合同会被怎么罚")
    fitted = snapshot.reranker
    try:
        snapshot.reranker = Reranker()
        hits = snapshot.search(query, k=5).hits
    finally:
        snapshot.reranker = fitted
    assert [h.fused_rank for h in hits] == [1, 2, 3, 4, 5] and all(h.features is None for h in hits)


@pytest.mark.parametrize(
    "section, message",
    [
        ('features = ["fused", "colour"]\nweights = [1.0, 2.0]', "unknown features ['colour']"),
        ('features = ["fused", "type:astrology"]\nweights = [1.0, 2.0]', "unknown features ['type:astrology']"),
        ('features = ["fused", "log_rank"]\nweights = [1.0]', "1 weights for 2 features"),
    ],
)
def test_a_broken_model_is_refused_with_file_and_line(tmp_path, section, message):
    path = tmp_path / "calibration.toml"
    path.write_text(f"[ranking]\nword_weight = 0.3\n\n[rerank]\npool = 20\n{section}\n", encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        Reranker.load(path, ROOT / "faq" / "question_types.toml")
    assert caught.value.line == 4 and message in str(caught.value)
