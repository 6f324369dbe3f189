"""Where an answer's time goes: in-process answers (`Assistant.ask`, query log on), timed by stage.

    python -m benchmarks.profile [--answers 500] [--json]

Each stage's functions are wrapped with `time.perf_counter` counters that keep exclusive time (a
stage's time excludes the stages it calls: the tokenizing inside the Query, the BM25 fields inside
the search), so the stages add up to the answer's time; "other" is what no counter covers (the
answer object, the dataclass copies, the counters' own cost, ~1 µs per wrapped call). The
questions are the benchmark's 268 real-style questions, cycled; one warm-up pass first, so a
build's caches (a passage normalised once, the lexicon's tokens) are not counted.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from retrieval import answer as answer_module
from retrieval import library as library_module
from retrieval.assistant import Assistant
from retrieval.compose import Composer
from retrieval.faq import FaqIndex
from retrieval.index import BM25Index
from retrieval.querylog import QueryLog
from retrieval.query import QueryParser
from retrieval.rerank import Reranker
from retrieval.settings import Settings
from retrieval.tokenize import TextAnalyzer

from .retrieval import questions

STAGES = (
    "tokenizing (normalize, jieba words, bigrams, typo-repair cut)",
    "query (repairs, region, intents, question type, focus)",
    "BM25 words",
    "BM25 bigrams",
    "BM25 q_words",
    "BM25 q_bigrams",
    "fusion (top k per field, region, type boost)",
    "rerank (features, fitted model)",
    "FAQ (BM25 over entry questions, match, choice)",
    "decision (calibrated model, evidence, quotes, citations)",
    "composition (templates)",
    "logging (QueryLog.record on the reply path)",
)


class StageClock:
    """Exclusive time per stage of nested, wrapped calls (one thread)."""

    def __init__(self):
        self.seconds = Counter()
        self._inner = []  # time spent in wrapped calls below the current one

    def wrap(self, owner, name, stage):
        """Wrap `owner.name`; `stage` is a stage name or a function of the call's arguments."""
        real = getattr(owner, name)

        def timed(*args, **kwargs):
            self._inner.append(0.0)
            started = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                inner = self._inner.pop()
                self.seconds[stage(*args) if callable(stage) else stage] += elapsed - inner
                if self._inner:
                    self._inner[-1] += elapsed

        setattr(owner, name, timed)


def instrument(clock, snapshot):
    tokenizing, query, fusion, rerank, faq, decision, composition, logging = (STAGES[0], STAGES[1], STAGES[6], STAGES[7], STAGES[8], STAGES[9], STAGES[10], STAGES[11])
    for name in ("normalize", "words", "bigrams", "cut", "expansion_tokens"):
        clock.wrap(TextAnalyzer, name, tokenizing)
    clock.wrap(QueryParser, "parse", query)
    fields = {id(getattr(snapshot, f)): f"BM25 {f}" for f in library_module.INDEX_FIELDS}
    clock.wrap(BM25Index, "sparse_scores", lambda index, *args: fields.get(id(index), faq))
    clock.wrap(library_module.Snapshot, "search", fusion)
    clock.wrap(library_module, "rerank_features", rerank)
    clock.wrap(Reranker, "scores", rerank)
    for name in ("match", "has_key_concept"):
        clock.wrap(FaqIndex, name, faq)
    for name in ("_faq_matches", "_faq_choice", "_suggestions", "_faq_answer"):
        clock.wrap(answer_module.Answerer, name, faq)
    for name in ("decide", "candidates", "features", "_cited", "_not_covered", "_decline"):
        clock.wrap(answer_module.Answerer, name, decision)
    clock.wrap(Composer, "text", composition)
    clock.wrap(QueryLog, "record", logging)


def profile(count, assistant):
    qs = questions()
    asked = [qs[n % len(qs)] for n in range(count)]
    for question in qs:  # warm-up: config read, jieba shards, per-passage caches
        assistant.ask(question, channel="bench")
    clock = StageClock()
    instrument(clock, assistant.library.snapshot)
    started = time.perf_counter()
    per_answer = []
    for question in asked:
        t = time.perf_counter()
        assistant.ask(question, channel="bench", user="profile")
        per_answer.append(time.perf_counter() - t)
    total = time.perf_counter() - started
    stages = {stage: clock.seconds[stage] for stage in STAGES}
    stages["other"] = total - sum(stages.values())
    return {
        "answers": count,
        "total_s": round(total, 4),
        "per_answer_p50_ms": round(statistics.median(per_answer) * 1000, 3),
        "per_answer_mean_ms": round(total / count * 1000, 3),
        "stages_ms_per_answer": {stage: round(s / count * 1000, 4) for stage, s in stages.items()},
        "stages_share": {stage: round(s / total, 4) for stage, s in stages.items()},
    }


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.split("\n\n")[0])
    p.add_argument("--answers", type=int, default=500)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant(replace(Settings(), log_path=Path(tmp) / "log.db", rate_limit_per_minute=0))
        try:
            result = profile(args.answers, assistant)
        finally:
            assistant.log.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"{result['answers']} answers in {result['total_s']} s: {result['per_answer_mean_ms']} ms mean, {result['per_answer_p50_ms']} ms p50")
    for stage, ms in result["stages_ms_per_answer"].items():
        print(f"  {ms:8.4f} ms  {result['stages_share'][stage]:6.1%}  {stage}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
