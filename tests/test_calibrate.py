"""make calibrate: the logistic fit, the threshold choice and the TOML section writer."""

import numpy as np
import pytest

from retrieval import calibrate


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
