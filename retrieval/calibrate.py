"""`make calibrate`: fit the ranking weights and the answer/suggest/decline model on labelled sets.

    python bot.py calibrate dev.jsonl tune.jsonl eval/fit.jsonl [--dry-run]

1. Ranking ([ranking] in faq/calibration.toml): coordinate search over the field weights, the
   region preference and the question-type boost, maximising hit@1 + hit@3 of the passage search.
2. Decision ([decision]): logistic regression (Newton's method, numpy only) of "answering is
   right" on the features `Answerer.features` computes, over the questions that reach the
   calibrated gate: label 1 for an answerable question whose top 3 passages hold the answer, 0 for
   out-of-scope, not-in-corpus and missed ones; thresholds as `thresholds` says (those between
   suggest_at and answer_at get related passages, not an answer).

Never run it on a held-out set: the point of the held-out half is that nothing was fitted on it.
"""

import copy
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from .answer import FEATURES, Answerer
from .evaluation import ANSWERABLE, UNANSWERABLE, load_questions
from .library import Library

GRID = {
    "word_weight": (0.3, 0.4, 0.5, 0.6, 0.7),
    "question_weight": (0.0, 0.2, 0.3, 0.4, 0.5, 0.6),
    "same_region_boost": (1.0, 1.25, 1.5, 2.0, 3.0),
    "type_boost": (1.0, 1.1, 1.2, 1.35, 1.5),
    "local_boost": (1.0, 1.15, 1.3, 1.5, 2.0, 2.5, 3.0, 4.0),
    "synonym_weight": (0.3, 0.5, 0.7, 0.9),
}
WRONG_ANSWER_COST = 2.0  # answering an unanswerable question is twice as bad as declining an answerable one
MAX_DECLINED_WITHOUT_PASSAGES = 0.04  # answerable questions given no passage at all (below suggest_at)
L2 = 1.0  # ridge penalty of the logistic regression (features are standardised first)


def _rank(hits, must):
    return next((n for n, h in enumerate(hits, 1) if all(m in h.passage["text"] for m in must)), None)


def search_score(snapshot, prepared, k=5):
    hit1 = hit3 = 0
    for query, must in prepared:
        rank = _rank(snapshot.search(query, k=k).hits, must)
        hit1 += rank == 1
        hit3 += rank is not None and rank <= 3
    n = len(prepared) or 1
    return hit1 / n, hit3 / n


def tune_ranking(answerer, questions, rounds=2, out=print):
    base = answerer.library.snapshot
    prepared = [(answerer.parse(q["q"], base), q["must"]) for q in questions if q["kind"] in ANSWERABLE]
    ranking = base.ranking
    trial = copy.copy(base)

    def score(r):
        trial.ranking = r
        h1, h3 = search_score(trial, prepared)
        return h1 + h3, h1, h3

    best = score(ranking)
    out(f"ranking start: hit@1 {best[1]:.3f} hit@3 {best[2]:.3f}  {ranking}")
    for _ in range(rounds):
        for name, values in GRID.items():
            for value in values:
                candidate = replace(ranking, **{name: value})
                s = score(candidate)
                if s[0] > best[0] + 1e-9:
                    best, ranking = s, candidate
        out(f"ranking round: hit@1 {best[1]:.3f} hit@3 {best[2]:.3f}  {ranking}")
    return ranking


def gate_samples(answerer, questions):
    """(features, label, kind) for each question that reaches the calibrated gate."""
    snapshot = answerer.library.snapshot
    out = []
    for item in questions:
        query = answerer.parse(item["q"], snapshot)
        if query.out_of_scope is not None:
            continue
        result = answerer.candidates(snapshot, query)
        matches = answerer._faq_matches(snapshot, query, result)
        chosen = answerer._faq_choice(snapshot, query, matches, result)
        if chosen is not None or answerer._not_covered(snapshot, query, chosen) is not None or not result.hits:
            continue
        features = answerer.features(snapshot, query, result, matches)
        if answerer._cited(snapshot, query, answerer._related(result.hits), "answer", (), {}).kind != "answer":
            continue  # a fact the passages do not give: declined whatever the gate says
        if item["kind"] in ANSWERABLE:
            rank = _rank(result.hits, item["must"])
            label = 1 if rank is not None and rank <= 3 else 0
        elif item["kind"] in UNANSWERABLE:
            label = 0
        else:
            continue
        out.append(([features[f] for f in FEATURES], label, item["kind"]))
    return out


def fit_logistic(x, y, l2=L2, steps=50):
    """Weights and bias of a ridge-penalised logistic regression, by Newton's method."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ w))
        gradient = z.T @ (p - y) + penalty * w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = w[:-1] / std
    bias = w[-1] - float((w[:-1] * mean / std).sum())
    return weights, bias


L2_CHOICES = (0.3, 1.0, 3.0, 10.0, 30.0)


def choose_l2(x, y, folds=5):
    """The ridge penalty with the lowest cross-validated log loss (fixed fold assignment)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    fold = np.arange(len(y)) % folds
    best = None
    for l2 in L2_CHOICES:
        loss = 0.0
        for k in range(folds):
            train, test = fold != k, fold == k
            w, b = fit_logistic(x[train], y[train], l2=l2)
            p = np.clip(1 / (1 + np.exp(-(b + x[test] @ w))), 1e-6, 1 - 1e-6)
            loss -= float(np.sum(y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p)))
        if best is None or loss < best[0]:
            best = (loss, l2)
    return best[1]


def thresholds(samples, weights, bias, totals):
    """(answer_at, suggest_at). answer_at maximises the share of answerable questions answered
    plus WRONG_ANSWER_COST x the share of unanswerable ones declined, over the whole sets
    (`totals`: answerable and unanswerable counts, including those decided before the gate);
    suggest_at keeps answerable questions declined without their passages at or below
    MAX_DECLINED_WITHOUT_PASSAGES."""
    probs = np.array([1 / (1 + np.exp(-(bias + float(np.dot(weights, f))))) for f, _, _ in samples])
    answerable = np.array([kind in ANSWERABLE for _, _, kind in samples])
    n_answerable, n_unanswerable = totals
    best, answer_at = None, 0.5
    for t in np.unique(np.round(probs, 4)):
        answered = probs >= t
        gain = (answered & answerable).sum() / max(1, n_answerable) + WRONG_ANSWER_COST * (1 - (answered & ~answerable).sum() / max(1, n_unanswerable))
        if best is None or gain > best + 1e-12:
            best, answer_at = gain, float(t)
    below = np.sort(probs[answerable])
    allowed = int(MAX_DECLINED_WITHOUT_PASSAGES * n_answerable)
    suggest_at = min(answer_at, float(below[allowed])) if allowed < len(below) else answer_at
    return round(answer_at, 4), round(suggest_at, 4)


def write_section(path, section, values):
    """Set `key = value` lines of one [section] of a TOML file, keeping its comments."""
    text = Path(path).read_text(encoding="utf-8")
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"[{section}]")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^\[[^\[]", lines[i])), len(lines))
    for key, value in values.items():
        rendered = f"{key} = {_toml(value)}"
        for i in range(start + 1, end):
            if re.match(rf"^{re.escape(key)}\s*=", lines[i]):
                lines[i] = rendered
                break
        else:
            lines.insert(end, rendered)
            end += 1
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _toml(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return repr(round(value, 4))
    return str(value)


def run(settings, files, dry_run=False, out=print):
    """Fit [ranking] and [decision] on `files` and write them to faq/calibration.toml."""
    if any("heldout" in Path(f).name for f in files):
        raise ValueError("refusing to fit on a held-out set")
    path = Path(settings.faq_dir) / "calibration.toml"
    questions = [q for f in files for q in load_questions(f)]
    library = Library(settings)
    answerer = Answerer(library, settings)
    ranking = tune_ranking(answerer, questions, out=out)
    fitted = {name: getattr(ranking, name) for name in GRID}
    if not dry_run:
        write_section(path, "ranking", fitted)
        library.build()  # the decision features depend on the ranking
    else:
        library.snapshot.ranking = ranking
    samples = gate_samples(answerer, questions)
    x = [f for f, _, _ in samples]
    y = [label for _, label, _ in samples]
    l2 = choose_l2(x, y)
    weights, bias = fit_logistic(x, y, l2=l2)
    totals = (sum(q["kind"] in ANSWERABLE for q in questions), sum(q["kind"] in UNANSWERABLE for q in questions))
    answer_at, suggest_at = thresholds(samples, weights, bias, totals)
    decision = {
        "features": list(FEATURES),
        "weights": [round(float(w), 4) for w in weights],
        "bias": round(float(bias), 4),
        "answer_at": answer_at,
        "suggest_at": suggest_at,
    }
    out(f"ridge penalty {l2} (5-fold cross-validated log loss)")
    out(f"decision model on {len(samples)} questions ({sum(y)} answerable and found): {decision}")
    if not dry_run:
        write_section(path, "decision", decision)
        out(f"wrote {path} [ranking] and [decision]")
    return decision
