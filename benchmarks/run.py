"""`make bench`: every measurement, checked against the targets, written to results and docs.

    python -m benchmarks.run [--sizes 1000 10000 100000]

Runs benchmarks.retrieval once per size (a fresh process each, so peak RSS is per size),
benchmarks.startup, benchmarks.uploads (seconds to refuse three hostile uploads),
benchmarks.load (2,000 questions through /wechat and /lookup of a real
server, also written to benchmarks/results/load.json), benchmarks.workers (requests/s and
p50/p99 of `serve` with 1 and 2 worker processes on Redis, SQLite and PostgreSQL log, with the
core count) and
benchmarks.log_backends (questions/s through Assistant.ask with the SQLite and the PostgreSQL
log, the core count beside them); writes benchmarks/results/latest.json, regenerates the table between the
markers in docs/performance.md and docs/performance-latency.svg, prints PASS/FAIL per target and
exits 1 when any target is missed.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .plot import latency_svg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
DOC = ROOT / "docs" / "performance.md"
PLOT = ROOT / "docs" / "performance-latency.svg"
BEGIN, END = "<!-- bench:begin (written by make bench) -->", "<!-- bench:end -->"
TARGET_SIZE = 100000

# (name, how to read it from the results, limit, "max" or "min")
TARGETS = (
    ("100k: our p99 per query incl. tokenization <= 2 ms", lambda r: r["sizes"][TARGET_SIZE]["ours_p99_ms"], 2.0, "max"),
    ("100k: >= 100x faster than rank-bm25 (p50, same run)", lambda r: r["sizes"][TARGET_SIZE]["ratio_p50"], 100.0, "min"),
    ("100k: peak RSS <= 300 MB", lambda r: r["sizes"][TARGET_SIZE]["rss_mb"], 300.0, "max"),
    ("100k: same top 10 as rank-bm25 for every question", lambda r: r["sizes"][TARGET_SIZE]["top10_agreement"], 1.0, "min"),
    ("cold start of `ask` with a built store <= 0.6 s (median)", lambda r: r["startup"]["ask_cold_start"]["median_s"], 0.6, "max"),
    # issue 17: 0.3 s on the machine where the peer took 0.67 s, i.e. 0.45x the same run's peer
    ("cold start of `ask` <= 0.45x `import jieba; lcut` in a fresh process (median, same run)", lambda r: round(r["startup"]["ask_cold_start"]["median_s"] / r["startup"]["peer_jieba_cold_start"]["median_s"], 3), 0.45, "max"),
    ("reload with nothing changed <= 2 s (median)", lambda r: r["startup"]["reload_unchanged"]["median_s"], 2.0, "max"),
    ("reload from scratch (deleted store) <= 5 s (median)", lambda r: r["startup"]["reload_from_scratch"]["median_s"], 5.0, "max"),
    ("load: 2,000 questions via /wechat and /lookup, 8 clients <= 60 s", lambda r: r["load"]["seconds"], 60.0, "max"),
    ("load: errors", lambda r: r["load"]["errors"], 0, "max"),
    ("load: server RSS growth over the second half <= 50 MB", lambda r: r["load"]["rss_growth_second_half_mb"], 50.0, "max"),
    ("workers: errors with 1 and 2 workers, SQLite and PostgreSQL log", lambda r: sum(row["errors"] for row in measured(r["workers"])), 0, "max"),
    ("uploads: a hostile file (zip bomb, 20,000 parts, 100,000 nested <div>, PDF stream bomb) refused <= 0.5 s (slowest)", lambda r: max(v["max_s"] for v in r["uploads"].values()), 0.5, "max"),
    ("query log: questions not written, SQLite and PostgreSQL", lambda r: sum(r["log_backends"][b]["unwritten"] for b in ("sqlite", "postgresql")), 0, "max"),
)


def measured(rows):
    """The rows, or KeyError ('not measured', a FAIL) when one was skipped or missing."""
    if not rows or any("skipped" in row for row in rows):
        raise KeyError("workers")
    return rows


def machine():
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "os": f"{platform.system()} {platform.release()}",
        "date": time.strftime("%Y-%m-%d"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def python_json(module, *args, check=True):
    out = subprocess.run([sys.executable, "-m", module, *args, "--json"], cwd=ROOT, check=check, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def check(results):
    rows = []
    for name, read, limit, kind in TARGETS:
        try:
            value = read(results)
        except KeyError:
            rows.append((name, None, limit, False))
            continue
        rows.append((name, value, limit, value <= limit if kind == "max" else value >= limit))
    return rows


def table(results, checks):
    m = results["machine"]
    lines = [
        BEGIN,
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, Python {m['python']}, numpy {m['numpy']}, {m['os']}"
        f" (load average at start {', '.join(map(str, m['load_average']))}).",
        "",
        "| passages | vocabulary | build s | ours p50 ms | ours p99 ms | rank-bm25 p50 ms | p99 ms | ratio p50 | top-10 agree | same order | full search p50 ms | p99 ms | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sorted(results["sizes"]):
        r = results["sizes"][size]
        lines.append(
            f"| {size:,} | {r['vocabulary']:,} | {r['build_s']} | {r['ours_p50_ms']} | {r['ours_p99_ms']} | {r.get('rank_bm25_p50_ms', '-')} | {r.get('rank_bm25_p99_ms', '-')}"
            f" | {r.get('ratio_p50', '-')}x | {r.get('top10_agreement', '-')} | {r.get('top10_identical_order', '-')} | {r['search_p50_ms']} | {r['search_p99_ms']} | {r['rss_mb']} |"
        )
    s = results["startup"]
    lines += [
        "",
        "| process (fresh `python bot.py ...`) | median s | slowest s | runs |",
        "|---|---:|---:|---:|",
    ]
    names = {
        "ask_cold_start": "`ask \"问题\"` with a built store",
        "ask_json_cold_start": "`ask --json \"问题\"` with a built store",
        "reload_unchanged": "`build`, nothing changed",
        "reload_from_scratch": "`build`, store deleted (jieba cache kept)",
        "first_build_empty_var": "`build`, empty var/ (jieba builds its own cache too)",
        "peer_jieba_cold_start": "peer: `python -c \"import jieba; jieba.lcut(...)\"`",
    }
    for key, label in names.items():
        if key not in s:
            continue
        lines.append(f"| {label} | {s[key]['median_s']} | {s[key]['max_s']} | {s[key]['runs']} |")
    if results.get("workers"):
        lines += ["", f"| `serve` on Redis ({results['workers'][0]['cores']} cores, 8 clients, WeChat pushes) | query log | req/s | p50 ms | p99 ms | errors |", "|---|---|---:|---:|---:|---:|"]
        for row in results["workers"]:
            if "skipped" in row:
                lines.append(f"| {row['workers']} worker(s) | {row['log']} | skipped: {row['skipped']} | | | |")
            else:
                lines.append(f"| {row['workers']} worker(s) | {row.get('log', 'sqlite')} | {row['requests_per_second']} | {row['p50_ms']} | {row['p99_ms']} | {row['errors']} |")
    logs = results.get("log_backends")
    if logs:
        lines += ["", f"| query log ({logs['cores']} cores), Assistant.ask with the log on | questions/s asked | questions/s written (flushed) |", "|---|---:|---:|"]
        for backend in ("sqlite", "postgresql"):
            r = logs.get(backend, {})
            if "skipped" in r:
                lines.append(f"| {backend} | skipped: {r['skipped']} | |")
            else:
                lines.append(f"| {backend} | {r.get('asked_per_s', '-')} | {r.get('written_per_s', '-')} |")
    uploads = results.get("uploads")
    if uploads:
        lines += ["", "| hostile upload, default limits (`adding.prepare`) | median s | slowest s | runs |", "|---|---:|---:|---:|"]
        for key, r in uploads.items():
            lines.append(f"| {key} | {r['median_s']} | {r['max_s']} | {r['runs']} |")
    lines += ["", "| target | measured | result |", "|---|---:|---|"]
    for name, value, limit, ok in checks:
        lines.append(f"| {name} | {value if value is not None else 'not measured'} | {'PASS' if ok else 'FAIL'} |")
    lines += ["", "![query latency against corpus size](performance-latency.svg)", END]
    return "\n".join(lines)


def write_doc(block):
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC} lacks the markers {BEGIN} ... {END}")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(head + block + tail, encoding="utf-8")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, TARGET_SIZE])
    args = p.parse_args(argv)
    results = {"machine": machine(), "sizes": {}}
    for size in args.sizes:
        print(f"retrieval benchmark at {size:,} passages ...", flush=True)
        (row,) = python_json("benchmarks.retrieval", "--sizes", str(size))
        results["sizes"][size] = row
        print("  " + json.dumps(row), flush=True)
    print("cold start and reload ...", flush=True)
    (results["startup"],) = python_json("benchmarks.startup")
    print("  " + json.dumps(results["startup"]), flush=True)
    print("load: 2,000 questions through /wechat and /lookup, 8 clients ...", flush=True)
    (results["load"],) = python_json("benchmarks.load", check=False)  # exit 1 = a target missed, reported below
    print("  " + json.dumps(results["load"], ensure_ascii=False), flush=True)
    print("workers: 600 WeChat pushes through `serve` with 1 and 2 worker processes on Redis, SQLite and PostgreSQL log, 8 clients ...", flush=True)
    results["workers"] = python_json("benchmarks.workers")
    for row in results["workers"]:
        if "skipped" in row:
            print(f"  {row['log']} log, {row['workers']} worker(s): skipped ({row['skipped']})", flush=True)
        else:
            print(f"  {row['log']} log, {row['workers']} worker(s), {row['cores']} cores: {row['requests_per_second']} req/s, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, {row['errors']} errors", flush=True)
    print("query log: questions/s through Assistant.ask, SQLite vs PostgreSQL ...", flush=True)
    (results["log_backends"],) = python_json("benchmarks.log_backends")
    print("  " + json.dumps(results["log_backends"], ensure_ascii=False), flush=True)
    print("uploads: refusing a zip bomb, a .docx of 20,000 parts, a page of 100,000 nested <div>, a PDF stream bomb ...", flush=True)
    (results["uploads"],) = python_json("benchmarks.uploads")
    print("  " + json.dumps(results["uploads"]), flush=True)
    checks = check(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    write_doc(table(results, checks))
    PLOT.write_text(latency_svg(results["sizes"]), encoding="utf-8")
    for name, value, limit, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {value}")
    print(f"wrote {RESULTS.relative_to(ROOT)}, {DOC.relative_to(ROOT)}, {PLOT.relative_to(ROOT)}")
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
