"""The worklist for new FAQ entries: declined and 👎 questions, grouped by similarity.

Two questions are alike when their word sets (our jieba tokenizer, stopwords removed) or their
character-bigram sets overlap enough (Jaccard, threshold in faq/calibration.toml [report]).
Groups are greedy: each wording, most frequent first, joins the group whose first wording it is
most like, or starts a new one.
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from .datafiles import read_section

_PLACEHOLDER = re.compile(r"\[[^\]]{1,8}\]")  # what privacy masking put in: [姓名], [手机号]
_RUN = re.compile(r"[\u3400-\u9fff]+|[0-9a-z]+")
CSV_FIELDS = ("rank", "count", "declined", "down", "question", "variants", "kinds", "last_seen")


@dataclass(frozen=True)
class ReportSettings:
    """Grouping threshold (faq/calibration.toml [report])."""

    similarity: float = 0.4

    @classmethod
    def load(cls, path):
        return read_section(path, "report", cls)


@dataclass(frozen=True)
class Group:
    question: str  # the most frequent wording
    count: int  # questions in the group
    declined: int  # of them declined
    down: int  # 👎 given to them
    variants: tuple  # the other wordings, most frequent first
    kinds: tuple  # answer kinds seen, most frequent first
    last_seen: str
    times: tuple = ()  # when each question of the group was asked, oldest first (weekly trends)

    def as_row(self, rank):
        return {
            "rank": rank,
            "count": self.count,
            "declined": self.declined,
            "down": self.down,
            "question": self.question,
            "variants": " | ".join(self.variants),
            "kinds": " ".join(self.kinds),
            "last_seen": self.last_seen,
        }


def bigrams(text):
    out = set()
    for run in _RUN.findall(text.lower()):
        if len(run) > 1:
            out.update(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.add(run)
    return out


def jaccard(a, b):
    return len(a & b) / len(a | b) if a and b else 0.0


def group(rows, words, similarity=0.4):
    """Groups of unanswered-log rows (QueryLog.unanswered), biggest first; `words` tokenizes."""
    by_text = {}
    for row in rows:
        text = (row["question"] or "").strip()
        if text:
            by_text.setdefault(text, []).append(row)
    order = sorted(by_text, key=lambda t: (-len(by_text[t]), by_text[t][0]["id"]))
    groups = []  # [features of the first wording, [wordings]]
    for text in order:
        stripped = _PLACEHOLDER.sub(" ", text)
        features = (set(words(stripped)), bigrams(stripped))
        best, best_score = None, similarity
        for g in groups:
            score = max(jaccard(features[0], g[0][0]), jaccard(features[1], g[0][1]))
            if score >= best_score:
                best, best_score = g, score
        if best is None:
            groups.append([features, [text]])
        else:
            best[1].append(text)
    out = []
    for _, texts in groups:
        members = [row for t in texts for row in by_text[t]]
        kinds = {}
        for row in members:
            kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
        out.append(
            Group(
                question=texts[0],
                count=len(members),
                declined=sum(1 for row in members if row["declined"]),
                down=sum(row["down"] for row in members),
                variants=tuple(texts[1:]),
                kinds=tuple(sorted(kinds, key=lambda k: (-kinds[k], k))),
                last_seen=max(row["time"] for row in members),
                times=tuple(sorted(row["time"] for row in members)),
            )
        )
    out.sort(key=lambda g: (-g.count, -g.down, g.question))
    return out


def write_csv(groups, path):
    """The groups as CSV (UTF-8 with BOM so spreadsheet programs read the Chinese correctly)."""
    with open(Path(path), "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for rank, g in enumerate(groups, 1):
            writer.writerow({k: inert_cell(v) for k, v in g.as_row(rank).items()})


def inert_cell(value):
    """A CSV cell a spreadsheet shows as text: a citizen's question starting with = + - @ (or a
    tab / CR) would otherwise run as a formula (=HYPERLINK(...), =cmd|...)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
