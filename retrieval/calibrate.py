"""`make calibrate`: fit the ranking weights and the answer/suggest/decline model on labelled sets.

    python bot.py calibrate dev.jsonl tune.jsonl eval/fit.jsonl [--dry-run]

1. Ranking ([ranking] in faq/calibration.toml): coordinate search over the field weights, the
   region preference and the question-type boost, maximising hit@1 + hit@3 of the fused search
   (reranker off).
2. Reranking ([rerank]): a conditional logit over each answerable question's pool of fused
   candidates (retrieval/rerank.py features): the softmax of the passages that hold the answer.
   Ridge penalty by 10-fold cross-validation grouped by question; the cross-validated hit@1 and
   hit@3 are printed beside the fused order's.
3. Decision ([decision]): logistic regression (Newton's method, numpy only) of "answering is
   right" on the features `Answerer.features` computes, over the questions that reach the
   calibrated gate: label 1 for an answerable question, 0 for out-of-scope and not-in-corpus ones
   (whether the right passage comes first is the reranker's job, and is measured by hit@k);
   thresholds as `thresholds` says (those between suggest_at and answer_at get related
   passages, not an answer).

Never run it on a held-out set: the point of the held-out half is that nothing was fitted on it.
"""

import contextlib
import copy
import math
import re
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from .answer import FEATURES, UNASKED_SECTION, Answerer
from .evaluation import ANSWERABLE, MAX_ANSWERABLE_DECLINED, TARGETS, UNANSWERABLE, load_questions
from .library import Library
from .questions import QUESTION_DIR
from .rerank import FEATURES as RERANK_FEATURES
from .rerank import TYPE_PREFIX, Candidate, Reranker
from .rerank import features as rerank_features

GRID = {
    "word_weight": (0.3, 0.4, 0.5, 0.6, 0.7),
    "question_weight": (0.0, 0.2, 0.3, 0.4, 0.5, 0.6),
    "same_region_boost": (1.0, 1.25, 1.5, 2.0, 3.0),
    "type_boost": (1.0, 1.1, 1.2, 1.35, 1.5),
    "local_boost": (1.0, 1.15, 1.3, 1.5, 2.0, 2.5, 3.0, 4.0),
    "synonym_weight": (0.3, 0.5, 0.7, 0.9),
}
MAX_DECLINED_WITHOUT_PASSAGES = 0.04  # answerable questions given no passage at all (below suggest_at)
SUGGEST_AT_MOST = 0.5  # a question more likely answerable than not is never declined without its passages
L2 = 1.0  # ridge penalty of the logistic regression (features are standardised first)
RERANK_L2_CHOICES = (300.0, 100.0, 30.0, 10.0)  # strongest first: a tie keeps the simpler model
RERANK_FOLDS = 10
FOLD_SEED = 20261202  # which fold each question falls in (grouped cross-validation)


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
    trial.reranker = Reranker()  # the fused order is tuned; the reranker is fitted on top of it

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


def rerank_groups(answerer, questions, pool):
    """(feature names, [(candidate x feature matrix, labels)] per answerable question) over the
    fused pool: label 1 for a passage that holds all `must` strings."""
    base = answerer.library.snapshot
    trial = copy.copy(base)
    trial.reranker = Reranker()
    names = list(RERANK_FEATURES) + [TYPE_PREFIX + t.name for t in answerer.question_types]
    groups = []
    for item in questions:
        if item["kind"] not in ANSWERABLE:
            continue
        query = answerer.parse(item["q"], base)
        result = trial.search(query, k=pool)
        if not result.hits:
            continue
        candidates = [Candidate(base.by_id[h.passage["id"]], h.score, dict(h.fields)) for h in result.hits]
        rows = rerank_features(trial, query, candidates, result.region)
        x = np.array([[row.get(f, 0.0) for f in names] for row in rows])
        y = np.array([1.0 if all(m in h.passage["text"] for m in item["must"]) else 0.0 for h in result.hits])
        groups.append((x, y))
    return names, groups


def fit_softmax(groups, l2=3.0, steps=100):
    """Weights of a ridge-penalised conditional logit: for each group (one question's pool), the
    softmax over its candidates of the share of the answering ones (Newton's method with step
    halving; features standardised first). A group without an answering candidate says nothing
    about the order and is skipped."""
    groups = [(x, y / y.sum()) for x, y in groups if y.sum() > 0]
    if not groups:
        raise ValueError("no question has an answering passage among its candidates")
    stacked = np.vstack([x for x, _ in groups])
    mean, std = stacked.mean(axis=0), stacked.std(axis=0)
    std[std == 0] = 1.0
    z = [((x - mean) / std, t) for x, t in groups]
    w = np.zeros(stacked.shape[1])

    def loss(w):
        total = 0.5 * l2 * float(w @ w)
        for x, t in z:
            s = x @ w
            top = s.max()
            total -= float(t @ (s - top - np.log(np.exp(s - top).sum())))
        return total

    current = loss(w)
    for _ in range(steps):
        gradient, hessian = l2 * w, l2 * np.eye(len(w))
        for x, t in z:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            gradient = gradient + x.T @ (p - t)
            mean_x = x.T @ p
            hessian = hessian + (x.T * p) @ x - np.outer(mean_x, mean_x)
        step = np.linalg.solve(hessian, gradient)
        rate = 1.0
        while True:  # Newton's full step can overshoot on a flat logit: halve it until the loss falls
            trial = loss(w - rate * step)
            if trial <= current or rate < 1e-4:
                break
            rate /= 2
        w = w - rate * step
        done = current - trial < 1e-8
        current = trial
        if done:
            break
    return w / std


def _hits(groups, scorer):
    """(hit@1, hit@3) over the groups when each is ordered by `scorer(x)` (ties: fused order)."""
    hit1 = hit3 = 0
    for x, y in groups:
        scores = scorer(x)
        order = sorted(range(len(y)), key=lambda n: (-scores[n], n))
        rank = next((r for r, n in enumerate(order, 1) if y[n]), None)
        hit1 += rank == 1
        hit3 += rank is not None and rank <= 3
    n = len(groups) or 1
    return hit1 / n, hit3 / n


def cross_validate_rerank(groups, l2, folds=RERANK_FOLDS, seed=FOLD_SEED):
    """(hit@1, hit@3) of the reranker with each question ordered by a model fitted on the other
    folds (a fold holds whole questions)."""
    fold = np.empty(len(groups), dtype=int)
    fold[np.random.RandomState(seed).permutation(len(groups))] = np.arange(len(groups)) % folds
    hit1 = hit3 = 0.0
    for k in range(folds):
        train = [g for g, f in zip(groups, fold) if f != k]
        test = [g for g, f in zip(groups, fold) if f == k]
        if not test:
            continue
        w = fit_softmax(train, l2=l2)
        h1, h3 = _hits(test, lambda x: x @ w)
        hit1 += h1 * len(test)
        hit3 += h3 * len(test)
    n = len(groups) or 1
    return hit1 / n, hit3 / n


def fit_reranker(answerer, questions, pool, out=print):
    """([rerank] values, the ridge penalty chosen by grouped cross-validation)."""
    names, groups = rerank_groups(answerer, questions, pool)
    fused = _hits(groups, lambda x: -np.arange(len(x)))
    out(f"rerank: {len(groups)} answerable questions, pool {pool}; fused order hit@1 {fused[0]:.3f} hit@3 {fused[1]:.3f}")
    best = None
    for l2 in RERANK_L2_CHOICES:
        h1, h3 = cross_validate_rerank(groups, l2)
        out(f"rerank: ridge {l2}: {RERANK_FOLDS}-fold cross-validated hit@1 {h1:.3f} hit@3 {h3:.3f}")
        if best is None or h1 + h3 > best[0] + 1e-9:
            best = (h1 + h3, l2)
    weights = fit_softmax(groups, l2=best[1])
    kept = [(f, round(float(w), 4)) for f, w in zip(names, weights) if round(float(w), 4) != 0.0]
    return {"features": [f for f, _ in kept], "weights": [w for _, w in kept], "pool": pool}, best[1]


def gate_samples(answerer, questions):
    """(features, label, kind, question number) for each question that reaches the calibrated gate."""
    snapshot = answerer.library.snapshot
    out = []
    for number, item in enumerate(questions):
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
            label = 1
        elif item["kind"] in UNANSWERABLE:
            label = 0
        else:
            continue
        out.append(([features[f] for f in FEATURES], label, item["kind"], number))
    return out


@contextlib.contextmanager
def unasked_library(settings):
    """The knowledge base as it would be with no index questions at all: built in a temporary
    directory (knowledge/ copied without questions/, its own store). Every newly added document
    starts like this, so the decision model is fitted on both: an answer must not depend on a
    passage having index questions."""
    with tempfile.TemporaryDirectory(prefix="minzheng-unasked-") as tmp:
        knowledge = Path(tmp) / "knowledge"
        shutil.copytree(settings.knowledge_dir, knowledge, ignore=shutil.ignore_patterns(QUESTION_DIR))
        cold = replace(settings, knowledge_dir=knowledge, store_path=Path(tmp) / "store.db")
        library = Library(cold)
        library.build()
        yield library


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


def choose_l2(x, y, folds=5, groups=None):
    """The ridge penalty with the lowest cross-validated log loss (fixed fold assignment; the
    samples of one question, `groups`, in one fold)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    fold = (np.asarray(groups) if groups is not None else np.arange(len(y))) % folds
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


# Constant within each model: which model decides (Answerer.features, Calibration.model_for).
GATE_FEATURES = tuple(f for f in FEATURES if f != "unasked")


def fit_gate(samples, totals, costs, name, out=print):
    """A [decision] model: logistic regression on the samples at the gate, its thresholds, and
    the cross-validated figures printed."""
    x = [[f[FEATURES.index(g)] for g in GATE_FEATURES] for f, _, _, _ in samples]
    samples = [(row, label, kind, n) for row, (_, label, kind, n) in zip(x, samples)]
    y = [label for _, label, _, _ in samples]
    l2 = choose_l2(x, y, groups=[n for _, _, _, n in samples])
    weights, bias = fit_logistic(x, y, l2=l2)
    answer_at, suggest_at = thresholds(samples, weights, bias, totals, costs)
    decision = {
        "features": list(GATE_FEATURES),
        "weights": [round(float(w), 4) for w in weights],
        "bias": round(float(bias), 4),
        "answer_at": answer_at,
        "suggest_at": suggest_at,
    }
    ok, n_ok, declined, n_declined = cross_validate_gate(samples, totals, costs, l2)
    out(f"decision {name}: ridge penalty {l2} (5-fold cross-validated log loss); {RERANK_FOLDS}-fold cross-validated at the gate: "
        f"{ok} of {n_ok} answerable answered, {declined} of {n_declined} unanswerable declined")
    out(f"decision {name}: model on {len(samples)} questions ({sum(y)} answerable and found): {decision}")
    return decision


def wrong_answer_costs(questions):
    """{unanswerable kind: what answering one such question costs, in answerable questions
    declined}: the rate at which the targets' allowances run out together. With at most
    MAX_ANSWERABLE_DECLINED of n answerable questions declined and (1 - target) of m
    not-in-corpus ones answered, one not-in-corpus answer weighs as much as
    MAX_ANSWERABLE_DECLINED x n / ((1 - target) x m) declined answerable questions."""
    n = sum(q["kind"] in ANSWERABLE for q in questions)
    costs = {}
    for kind in UNANSWERABLE:
        allowed = (1 - TARGETS[f"{kind}_declined"]) * sum(q["kind"] == kind for q in questions)
        costs[kind] = MAX_ANSWERABLE_DECLINED * n / allowed if allowed else 1.0
    return costs


def thresholds(samples, weights, bias, totals, costs):
    """(answer_at, suggest_at). answer_at maximises the number of answerable questions answered
    minus the cost (`costs`, by kind; see wrong_answer_costs) of the unanswerable ones answered,
    counted per question; suggest_at keeps answerable questions declined without their passages
    at or below MAX_DECLINED_WITHOUT_PASSAGES of all of them, and never above SUGGEST_AT_MOST
    (`totals`: answerable and unanswerable counts, including those decided before the gate)."""
    probs = np.array([1 / (1 + np.exp(-(bias + float(np.dot(weights, f))))) for f, _, _, _ in samples])
    answerable = np.array([kind in ANSWERABLE for _, _, kind, _ in samples])
    n_answerable, n_unanswerable = totals
    cost = np.array([0.0 if kind in ANSWERABLE else costs[kind] for _, _, kind, _ in samples])
    best, answer_at = None, 0.5
    for t in np.unique(probs):
        answered = probs >= t
        gain = float((answered & answerable).sum()) - float((answered * cost).sum())
        if best is None or gain > best + 1e-12:
            best, answer_at = gain, float(t)
    below = np.sort(probs[answerable])
    allowed = int(MAX_DECLINED_WITHOUT_PASSAGES * n_answerable)
    suggest_at = min(answer_at, float(below[allowed])) if allowed < len(below) else answer_at
    suggest_at = min(suggest_at, SUGGEST_AT_MOST)
    # Written with 4 decimals, rounded down so that every question the choice answers still is.
    return math.floor(answer_at * 1e4) / 1e4, math.floor(suggest_at * 1e4) / 1e4


def cross_validate_gate(samples, totals, costs, l2, folds=RERANK_FOLDS, seed=FOLD_SEED):
    """(answerable answered, answerable, unanswerable declined, unanswerable) at the gate, each
    question decided by a model and thresholds fitted on the other folds (all samples of one
    question in one fold)."""
    x = np.array([f for f, _, _, _ in samples], dtype=float)
    y = np.array([label for _, label, _, _ in samples], dtype=float)
    answerable = np.array([kind in ANSWERABLE for _, _, kind, _ in samples])
    numbers = sorted({n for _, _, _, n in samples})
    of_question = np.empty(len(numbers), dtype=int)
    of_question[np.random.RandomState(seed).permutation(len(numbers))] = np.arange(len(numbers)) % folds
    fold_of = dict(zip(numbers, of_question))
    fold = np.array([fold_of[n] for _, _, _, n in samples], dtype=int)
    answered = np.zeros(len(samples), dtype=bool)
    for k in range(folds):
        train, test = fold != k, fold == k
        if not test.any():
            continue
        w, b = fit_logistic(x[train], y[train], l2=l2)
        answer_at, _ = thresholds([s for s, t in zip(samples, train) if t], w, b, totals, costs)
        answered[test] = 1 / (1 + np.exp(-(b + x[test] @ w))) >= answer_at
    return int((answered & answerable).sum()), int(answerable.sum()), int((~answered & ~answerable).sum()), int((~answerable).sum())


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
        library.build()  # the reranker's candidates and the decision features depend on the ranking
    else:
        library.snapshot.ranking = ranking
    rerank, l2 = fit_reranker(answerer, questions, library.snapshot.reranker.pool, out=out)
    out(f"rerank: ridge {l2} chosen; {len(rerank['features'])} features")
    if not dry_run:
        write_section(path, "rerank", rerank)
        library.build()
    else:
        library.snapshot.reranker = Reranker(tuple(rerank["features"]), tuple(rerank["weights"]), rerank["pool"])
    costs = wrong_answer_costs(questions)
    out("cost of a wrong answer, in answerable questions declined: " + ", ".join(f"{k} {v:.2f}" for k, v in costs.items()))
    totals = (sum(q["kind"] in ANSWERABLE for q in questions), sum(q["kind"] in UNANSWERABLE for q in questions))
    decision = fit_gate(gate_samples(answerer, questions), totals, costs, "with the question index", out)
    with unasked_library(settings) as cold:
        cold.snapshot.ranking, cold.snapshot.reranker = library.snapshot.ranking, library.snapshot.reranker
        unasked = fit_gate(gate_samples(Answerer(cold, cold.settings), questions), totals, costs, "without index questions", out)
    if not dry_run:
        write_section(path, "decision", decision)
        write_section(path, UNASKED_SECTION, unasked)
        out(f"wrote {path} [ranking], [rerank], [decision] and [{UNASKED_SECTION}]")
    return decision
