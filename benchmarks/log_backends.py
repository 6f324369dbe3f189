"""Questions a second through Assistant.ask with the query log on: SQLite vs PostgreSQL.

    python -m benchmarks.log_backends [--questions 2000] [--json]

One process, one thread asking (as one worker does), a store built in a temporary folder, the
masker warmed up first; then questions until each log has written every row (flush), so the
figure includes the writer's work on this machine's cores. PostgreSQL is a throwaway cluster
(tests/pg_cluster.py: initdb in a temp folder, unix socket, fsync off like the tests); skipped
with a reason when its programs are not installed. The core count is printed beside the figures.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.assistant import Assistant  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

QUESTIONS = ("结婚登记要带什么材料", "萧山老年食堂在哪里吃饭", "低保怎么申请", "人走了要办哪些手续", "离婚冷静期是多久", "特困人员有哪些待遇")


def run(settings, count):
    assistant = Assistant(settings)
    try:
        assistant.warm_up()
        for question in QUESTIONS:  # every answer's first time is not the log's cost
            assistant.ask(question, channel="bench", user="warm")
        assistant.log.flush(30)
        started = time.perf_counter()
        for n in range(count):
            assistant.ask(QUESTIONS[n % len(QUESTIONS)], channel="bench", user=f"u{n % 50}")
        asked = time.perf_counter() - started
        assert assistant.log.flush(60), "the log did not catch up"
        written = time.perf_counter() - started
        logged = assistant.log.counts()["queries"]
    finally:
        assistant.close()
    unwritten = count + len(QUESTIONS) - logged  # the warm-up questions are logged too
    return {"questions": count, "asked_per_s": round(count / asked, 1), "written_per_s": round(count / written, 1), "rows": logged, "unwritten": unwritten}


def measure(count):
    sys.path.insert(0, str(ROOT / "tests"))
    import pg_cluster

    result = {"cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="minzheng-logbench-") as tmp:
        base = replace(Settings(), store_path=Path(tmp) / "store.db", rate_limit_per_minute=0)
        result["sqlite"] = run(replace(base, log_path=Path(tmp) / "sqlite" / "log.db"), count)
        found = pg_cluster.binaries()
        if found is None:
            result["postgresql"] = {"skipped": "PostgreSQL's initdb/pg_ctl are not installed"}
            return result
        cluster = pg_cluster.Cluster(found).init().start()
        try:
            result["postgresql"] = run(replace(base, log_path=Path(tmp) / "pg" / "log.db", database_url=cluster.new_database()), count)
        finally:
            cluster.destroy()
    return result


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.log_backends", description=__doc__.split("\n\n")[0])
    p.add_argument("--questions", type=int, default=2000)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = measure(args.questions)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for backend in ("sqlite", "postgresql"):
            print(f"{backend}: {result[backend]}  ({result['cores']} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
