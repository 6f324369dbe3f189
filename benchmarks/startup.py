"""Process wall times of the CLI: one-shot `ask` with a built store, and `build` (reload).

    python -m benchmarks.startup [--json]

Each run is a fresh `python bot.py ...` process against a store in a temporary folder (the jieba
dictionary cache lives beside the store, as in var/). Reported: the median and the slowest run,
and the same run's peer (`import jieba; jieba.lcut(...)` in a fresh process, jieba's own cache).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ("结婚登记要带什么材料", "萧山老年食堂在哪里吃饭", "低保怎么申请", "人走了要办哪些手续", "离婚冷静期是多久")


def _timed(command, env, stderr=None):
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=stderr)
    return time.perf_counter() - started


def wall(args, env):
    return _timed([sys.executable, "bot.py", *args], env)


def peer(env):
    """The same run's peer: a fresh process that imports jieba and cuts one question."""
    return _timed([sys.executable, "-c", "import jieba; jieba.lcut('低保怎么申请')"], env, stderr=subprocess.DEVNULL)  # jieba's loading notes


def summary(samples):
    return {"median_s": round(statistics.median(samples), 3), "max_s": round(max(samples), 3), "runs": len(samples)}


def measure(runs=5):
    with tempfile.TemporaryDirectory(prefix="minzheng-bench-") as tmp:
        store = Path(tmp) / "store.db"
        env = dict(os.environ, MINZHENG_STORE_PATH=str(store))
        result = {"first_build_empty_var": summary([wall(["build"], env)])}  # jieba builds its own cache too
        result["reload_unchanged"] = summary([wall(["build"], env) for _ in range(runs)])
        scratch = []
        for _ in range(runs):
            store.unlink()
            scratch.append(wall(["build"], env))
        result["reload_from_scratch"] = summary(scratch)
        wall(["ask", "预热"], env)  # the first ask after a build may still write caches
        result["ask_cold_start"] = summary([wall(["ask", QUESTIONS[n % len(QUESTIONS)]], env) for n in range(2 * runs)])
        result["ask_json_cold_start"] = summary([wall(["ask", "--json", QUESTIONS[n % len(QUESTIONS)]], env) for n in range(runs)])
        peer(env)  # jieba may write its cache on the first run
        result["peer_jieba_cold_start"] = summary([peer(env) for _ in range(2 * runs)])
    return result


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = measure(args.runs)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
