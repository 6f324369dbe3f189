"""make calibrate: the logistic fit, the threshold choice and the TOML section writer."""

import numpy as np
import pytest

from retrieval import calibrate
from retrieval.answer import Calibration
from retrieval.errors import DataFileError

from .conftest import ROOT


def test_logistic_regression_separates_separable_data():
    x = [[0.0], [0.1], [0.2], [0.8], [0.9], [1.0]]
    y = [0, 0, 0, 1, 1, 1]
    weights, bias = calibrate.fit_logistic(x, y, l2=0.01)
    p = 1 / (1 + np.exp(-(bias + np.array(x) @ weights)))
    assert all(p[:3] < 0.5) and all(p[3:] > 0.5)


def test_write_section_replaces_keys_and_keeps_comments(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[ranking]\n# why\nword_weight = 0.5\n\n[decision]\nbias = 0.0\n", encoding="utf-8")
    calibrate.write_section(path, "decision", {"bias": -1.5, "features": ["a", "b"]})
    calibrate.write_section(path, "ranking", {"word_weight": 0.3})
    assert path.read_text(encoding="utf-8") == '[ranking]\n# why\nword_weight = 0.3\n\n[decision]\nbias = -1.5\nfeatures = ["a", "b"]\n'


def test_calibration_refuses_a_held_out_set(settings):
    with pytest.raises(ValueError):
        calibrate.run(settings, ["eval/heldout.jsonl"], dry_run=True)


def test_the_fitted_model_in_the_repository_reads_every_feature_it_names(answerer, library):
    model = answerer.calibration
    snapshot = library.snapshot
    query = answerer.parse("低保怎么申请")
    result = answerer.candidates(snapshot, query)
    features = answerer.features(snapshot, query, result, [])
    assert set(model.features) <= set(features) and len(model.weights) == len(model.features)
    assert 0 < model.suggest_at <= model.answer_at < 1
    # Every document in the repository has index questions: the model with them decides.
    assert features["unasked"] == 0.0 and model.model_for(features) is model


def test_a_document_without_index_questions_is_decided_by_the_model_fitted_without_them(answerer):
    model = answerer.calibration
    unasked = model.unasked
    assert unasked is not None and unasked.unasked is None
    assert set(unasked.features) == set(model.features) and 0 < unasked.suggest_at <= unasked.answer_at < 1
    # No index questions: their features carry no weight (they were 0 for every question fitted).
    weights = dict(zip(unasked.features, unasked.weights))
    assert (weights["log_question_score"], weights["index_bigrams"]) == (0.0, 0.0)
    assert model.model_for({"unasked": 1.0}) is unasked and model.model_for({"unasked": 0.0}) is model


def test_a_decision_unasked_section_without_a_model_is_refused_with_its_line(tmp_path):
    path = tmp_path / "calibration.toml"
    text = (ROOT / "faq" / "calibration.toml").read_text(encoding="utf-8")
    start = text.index("[decision_unasked]")
    end = text.index("[faq]")
    path.write_text(text[:start] + "[decision_unasked]\nfeatures = []\n\n" + text[end:], encoding="utf-8")
    with pytest.raises(DataFileError) as error:
        Calibration.load(path)
    line = text[:start].count("\n") + 1
    assert (error.value.line, "[decision_unasked] has no fitted model" in str(error.value)) == (line, True)


def _pools():
    """Three questions' pools: feature 0 marks the answering passage, feature 1 is noise that
    the fused order (row order) follows."""
    x1 = np.array([[0.0, 0.9], [1.0, 0.1], [0.0, 0.5]])
    x2 = np.array([[0.0, 0.8], [0.0, 0.7], [1.0, 0.2]])
    x3 = np.array([[1.0, 0.3], [0.0, 0.9], [0.0, 0.1]])
    return [(x1, np.array([0.0, 1.0, 0.0])), (x2, np.array([0.0, 0.0, 1.0])), (x3, np.array([1.0, 0.0, 0.0]))]


def test_the_conditional_logit_learns_what_marks_the_answering_passage():
    groups = _pools() * 4
    weights = calibrate.fit_softmax(groups, l2=0.1)
    assert weights[0] > 0 > weights[1]
    assert calibrate._hits(groups, lambda x: x @ weights) == (1.0, 1.0)
    assert calibrate._hits(groups, lambda x: -np.arange(len(x))) == (1 / 3, 1.0)  # the fused order


def test_cross_validation_predicts_each_question_from_the_other_folds():
    groups = _pools() * 4
    assert calibrate.cross_validate_rerank(groups, l2=0.1, folds=4) == (1.0, 1.0)


def test_each_wrong_answer_costs_what_the_targets_allow():
    questions = [{"kind": "grounded"}] * 374 + [{"kind": "not_in_corpus"}] * 59 + [{"kind": "out_of_scope"}] * 60
    costs = calibrate.wrong_answer_costs(questions)
    # 5% of 374 answerable declined weighs as much as 15% of 59 not-in-corpus or 5% of 60
    # out-of-scope questions answered
    assert round(costs["not_in_corpus"], 2) == 2.11 and round(costs["out_of_scope"], 2) == 6.23


def test_the_threshold_answers_only_where_the_answerable_questions_outweigh_the_cost():
    # (features, label, kind, question number): the bias alone gives p; weights are zero.
    def sample(p, kind):
        return ([float(np.log(p / (1 - p)))], 1 if kind == "grounded" else 0, kind, 0)

    samples = [sample(0.9, "grounded")] * 10 + [sample(0.8, "grounded")] * 3 + [sample(0.8, "not_in_corpus")]
    # answering the four at 0.8 gains 3 answerable questions and costs 2 x 1 unanswerable: worth it
    answer_at, _ = calibrate.thresholds(samples, np.array([1.0]), 0.0, (13, 1), {"not_in_corpus": 2.0})
    assert answer_at == 0.8
    # one answerable question is not worth one unanswerable one answered
    samples = [sample(0.9, "grounded")] * 10 + [sample(0.8, "grounded")] + [sample(0.8, "not_in_corpus")]
    answer_at, suggest_at = calibrate.thresholds(samples, np.array([1.0]), 0.0, (11, 1), {"not_in_corpus": 2.0})
    assert answer_at == 0.9 and suggest_at == calibrate.SUGGEST_AT_MOST


def test_coverage_reads_a_phrase_no_passage_has_through_the_lexicon(answerer, library, monkeypatch):
    """"乱埋坟": no passage has 乱, 埋 or 坟 as a word, so the question's only known word is the
    place; the lexicon reads the phrase as 私埋乱葬 (and 墓地 公墓 安葬), which 滨湖's plan says."""
    snapshot = library.snapshot
    query = answerer.parse("滨湖山上有人乱埋坟")
    result = answerer.candidates(snapshot, query)
    top = result.hits[0].passage
    assert top["id"] == "binhu-2021:f8b77787-3" and "私埋乱葬" in snapshot.normalized(snapshot.by_id[top["id"]])
    assert answerer.features(snapshot, query, result, [])["coverage"] == 1.0
    monkeypatch.setattr(type(snapshot.analyzer), "phrases_in", lambda self, text: [])
    assert answerer.features(snapshot, query, result, [])["coverage"] == 0.0


def test_the_decision_reads_the_rarest_missed_term_and_whether_a_topic_and_a_place_are_named(answerer, library):
    snapshot = library.snapshot
    query = answerer.parse("出了交通事故对方全责,死亡赔偿金怎么算")
    result = answerer.candidates(snapshot, query)
    features = answerer.features(snapshot, query, result, [])
    # what the reranker read of the top passage: 对方 is in none of 第三十条's text and questions
    assert features["missed_idf"] == round(result.hits[0].features["missed_idf"], 4) > 0.9
    assert (features["names_topic"], features["names_place"]) == (0.0, 0.0)
    placed = answerer.parse("萧山结婚登记要带什么")
    features = answerer.features(snapshot, placed, answerer.candidates(snapshot, placed), [])
    assert (features["names_topic"], features["names_place"]) == (1.0, 1.0)
