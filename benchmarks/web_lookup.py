"""Server time of /lookup searches (target: under 50 ms each), over the dev set's questions.

    .venv/bin/python benchmarks/web_lookup.py [QUESTIONS.jsonl]

Runs the real app in-process (Starlette TestClient) on a store in a temp folder; reports the
Server-Timing value (search + filters) and the whole request (including the HTML), per filter
kind. Exit status 1 when a search's server time goes over the target.
"""

import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starlette.testclient import TestClient  # noqa: E402

from channels.web.app import create_app  # noqa: E402
from retrieval.assistant import Assistant  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

TARGET_MS = 50.0
FILTERS = {
    "none": {},
    "topic": {"topic": "aid"},
    "document": {"doc": "zhejiang-social-assistance-2020"},
    "region": {"region": "萧山区"},
}


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def main(argv):
    path = Path(argv[0]) if argv else ROOT.parent / "shared" / "eval" / "dev.jsonl"
    questions = [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    folder = Path(tempfile.mkdtemp())
    settings = replace(Settings(), store_path=folder / "store.db", log_path=folder / "log.db", staff_token="bench-staff-password")
    headers = {"Authorization": "Bearer bench-staff-password"}
    worst = 0.0
    with TestClient(create_app(Assistant(settings), settings)) as client:
        client.get("/lookup", params={"q": "低保"}, headers=headers)  # warm caches
        print(f"{len(questions)} questions from {path}")
        for name, extra in FILTERS.items():
            server, whole = [], []
            for q in questions:
                started = time.perf_counter()
                r = client.get("/lookup", params={"q": q, **extra}, headers=headers)
                whole.append((time.perf_counter() - started) * 1000)
                server.append(float(r.headers["server-timing"].split("dur=")[1]))
            worst = max(worst, max(server))
            print(
                f"filter {name:9} server median {statistics.median(server):5.1f} p95 {percentile(server, .95):5.1f} max {max(server):5.1f} ms"
                f" | whole request median {statistics.median(whole):5.1f} p95 {percentile(whole, .95):5.1f} max {max(whole):5.1f} ms"
            )
    print(f"target {TARGET_MS:.0f} ms per search: " + ("met" if worst <= TARGET_MS else f"MISSED (worst {worst:.1f} ms)"))
    return 0 if worst <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
