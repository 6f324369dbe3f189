"""Score the assistant on a question set (../shared/eval/dev.jsonl format).

A hit at k: one of the first k cited sources of `ask` contains every `must` string.
Retrieval quality (hit@1, hit@3, MRR) is over `grounded` + `regulation` questions; declines are
counted over `out_of_scope` and `not_in_corpus`.
"""

import json
from dataclasses import dataclass, field

from .edge import Edge
from .errors import DataFileError

ANSWERABLE = ("grounded", "regulation")
UNANSWERABLE = ("out_of_scope", "not_in_corpus")
# The answer-quality issue's targets, held on the held-out half of our own set.
TARGETS = {
    "hit@1": 0.85,
    "hit@3": 0.93,
    "shown": 0.85,
    "out_of_scope_declined": 0.95,
    "not_in_corpus_declined": 0.85,
}
MAX_ANSWERABLE_DECLINED = 0.05


@dataclass
class Report:
    total: int = 0
    answerable: int = 0
    hit1: int = 0
    hit3: int = 0
    shown: int = 0
    reciprocal_rank: float = 0.0
    answerable_declined: list = field(default_factory=list)
    declined: dict = field(default_factory=dict)  # kind -> [declined, total]
    misses: list = field(default_factory=list)

    def metrics(self):
        n = self.answerable or 1
        out = {
            "questions": self.total,
            "hit@1": round(self.hit1 / n, 3),
            "hit@3": round(self.hit3 / n, 3),
            "mrr": round(self.reciprocal_rank / n, 3),
            "shown": round(self.shown / n, 3),
            "answerable_declined": round(len(self.answerable_declined) / n, 3),
        }
        for kind, (declined, total) in sorted(self.declined.items()):
            out[f"{kind}_declined"] = round(declined / total, 3) if total else None
        return out

    def failures(self):
        """The targets this report misses (empty when all are met)."""
        metrics = self.metrics()
        failed = [f"{name} {metrics.get(name)} < {target}" for name, target in TARGETS.items() if (metrics.get(name) or 0) < target]
        if metrics["answerable_declined"] > MAX_ANSWERABLE_DECLINED:
            failed.append(f"answerable_declined {metrics['answerable_declined']} > {MAX_ANSWERABLE_DECLINED}")
        return failed


def load_questions(path):
    """Questions, one object per line; a conversation line {"id", "turns": [...]} gives its
    turns in order, all but the last asked for context only (the last one is scored)."""
    questions = []
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                turns = item.get("turns")
                if turns is None:
                    item["q"], item["kind"]
                    questions.append(item)
                    continue
                for n, turn in enumerate(turns, 1):
                    turn["q"], turn["kind"]
                    scored = n == len(turns)
                    questions.append({**turn, "id": f"{item['id']}.{n}", "conversation": item["id"], "scored": scored, "style": item.get("style")})
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise DataFileError(path, lineno, f"not a question or conversation object: {exc}") from exc
    return questions


def evaluate(answerer, questions, window=600):
    """Ask every question through an unlogged edge, as `ask --json` does; a conversation's
    turns share its id, so a follow-up is read in the light of the turn before it."""
    edge = Edge.unlogged(answerer, window)
    report = Report()
    for item in questions:
        outcome = edge.ask("eval", "eval", item["q"], item.get("conversation"), follow=item.get("conversation") is not None)
        if item.get("scored") is False:
            continue  # an earlier turn: asked so the next one can follow on
        report.total += 1
        answer = outcome.answer
        if answer is None:  # empty or too long: declined, nothing cited
            answer = _Declined(outcome.kind)
        kind = item["kind"]
        if kind in UNANSWERABLE:
            counts = report.declined.setdefault(kind, [0, 0])
            counts[1] += 1
            counts[0] += answer.declined
            if not answer.declined:
                report.misses.append((item["id"], kind, item["q"], "answered", answer.sources[0].passage["id"] if answer.sources else None))
            continue
        if kind not in ANSWERABLE:
            continue
        report.answerable += 1
        if answer.declined:
            report.answerable_declined.append(item["id"])
        rank = next(
            (i for i, hit in enumerate(answer.sources, 1) if all(m in hit.passage["text"] for m in item["must"])),
            None,
        )
        if item["must"] and all(m in answer.text for m in item["must"]):
            report.shown += 1
        if rank == 1:
            report.hit1 += 1
        if rank is not None and rank <= 3:
            report.hit3 += 1
        if rank is not None:
            report.reciprocal_rank += 1 / rank
        if rank != 1:
            top = answer.sources[0].passage["id"] if answer.sources else answer.kind
            report.misses.append((item["id"], kind, item["q"], f"rank {rank}", top))
    return report


@dataclass(frozen=True)
class _Declined:
    kind: str
    text: str = ""
    sources: tuple = ()
    declined: bool = True
