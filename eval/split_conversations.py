"""Split the two-turn conversation set once, with a fixed seed, into a fit half and a held-out half.

Run once when the set was written (2026-12-02, 151 conversations by a helper who read only the
sources); the halves are committed and never re-split: `python eval/split_conversations.py
conversations.jsonl` writes eval/conversations_fit.jsonl and eval/conversations_heldout.jsonl,
stratified by follow-up style.
"""

import json
import random
import sys
from pathlib import Path

SEED = 20261202


def main(path):
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    groups = {}
    for row in rows:
        groups.setdefault(row["style"], []).append(row)
    rng = random.Random(SEED)
    fit, held = [], []
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda r: r["id"])
        rng.shuffle(group)
        half = len(group) // 2
        fit.extend(group[:half])
        held.extend(group[half:])
    here = Path(__file__).parent
    for name, part in (("conversations_fit.jsonl", fit), ("conversations_heldout.jsonl", held)):
        part.sort(key=lambda r: r["id"])
        (here / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part), encoding="utf-8")
    print(f"fit {len(fit)}, held-out {len(held)}")


if __name__ == "__main__":
    main(sys.argv[1])
