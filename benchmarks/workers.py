"""Workers: requests/s and p50/p99 of `bot.py serve` with 1 and 2 worker processes on Redis,
with the query log in SQLite and in PostgreSQL.

    .venv/bin/python -m benchmarks.workers [--questions 600] [--clients 8] [--workers 1 2] [--logs sqlite postgresql] [--json]

For each log and worker count: a throwaway redis-server on a unix socket (tests/redis_server.py)
and for the PostgreSQL log a throwaway cluster (tests/pg_cluster.py, unix socket, fsync off like
the tests; skipped with a reason when its programs are not installed), a real
`bot.py serve --workers N` child on 127.0.0.1 (N = 1: the single-process server, Redis for its
limits all the same), then `--questions` signed WeChat pushes (a different openid each, so the
per-user limit is on but never hit) from `--clients` threads with keep-alive connections. The
machine's core count is printed beside the figures: workers cannot beat the cores they share
with the clients.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .load import WECHAT_TOKEN, check_wechat, percentile, questions, wechat_request

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(workers, count, clients, store, database_url=""):
    import httpx

    from tests.redis_server import RedisServer

    with tempfile.TemporaryDirectory(prefix="minzheng-workers-") as folder:
        redis = RedisServer(Path(folder)).start()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MINZHENG_", "WECHAT_", "TELEGRAM_"))}
        env.update(MINZHENG_STORE_PATH=str(store), MINZHENG_LOG_PATH=str(Path(folder) / "log.db"), MINZHENG_REDIS_URL=redis.url, MINZHENG_PORT=str(port), WECHAT_TOKEN=WECHAT_TOKEN)
        if database_url:
            env["MINZHENG_DATABASE_URL"] = database_url
        args = [sys.executable, "bot.py", "serve"] + (["--workers", str(workers)] if workers > 1 else [])
        server = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + 120
            while True:
                try:
                    if httpx.get(base + "/healthz").json().get("shared_state") == "redis":
                        break
                except httpx.TransportError:
                    pass
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError(f"serve --workers {workers} did not start")
                time.sleep(0.2)
            time.sleep(2.0 if workers > 1 else 0.2)  # every worker warmed up
            asked = questions(count + 40)
            jobs = list(enumerate(asked))
            latencies, errors, lock = [], [], threading.Lock()

            def client(part):
                with httpx.Client(base_url=base, timeout=30.0) as http:
                    for n, question in part:
                        started = time.perf_counter()
                        params, body = wechat_request(question, n)
                        try:
                            problem = check_wechat(http.post("/wechat", params=params, content=body), n)
                        except httpx.HTTPError as exc:
                            problem = f"{type(exc).__name__}: {exc}"
                        with lock:
                            latencies.append((time.perf_counter() - started) * 1000)
                            if problem:
                                errors.append(problem)

            def run(part_jobs):
                threads = [threading.Thread(target=client, args=(part_jobs[i::clients],)) for i in range(clients)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()

            run(jobs[:40])  # warm the connections and every worker's first-request paths
            latencies.clear()
            started = time.perf_counter()
            run(jobs[40:])
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(30)
            redis.stop()
    return {
        "log": "postgresql" if database_url else "sqlite",
        "workers": workers,
        "requests": count,
        "clients": clients,
        "cores": os.cpu_count(),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(count / elapsed, 1),
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def built_store(folder):
    """A store built once for every run (the service would build it on first use otherwise)."""
    store = Path(folder) / "store.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINZHENG_")}
    env["MINZHENG_STORE_PATH"] = str(store)
    subprocess.run([sys.executable, "bot.py", "build"], cwd=ROOT, env=env, check=True, capture_output=True)
    return store


def rows(worker_counts, logs, count, clients):
    """One row per (log, worker count); a PostgreSQL row says why it was skipped when it was."""
    sys.path.insert(0, str(ROOT / "tests"))
    import pg_cluster

    with tempfile.TemporaryDirectory(prefix="minzheng-workers-store-") as folder:
        store = built_store(folder)
        for log in logs:
            if log == "sqlite":
                for n in worker_counts:
                    yield measure(n, count, clients, store)
                continue
            found = pg_cluster.binaries()
            if found is None:
                for n in worker_counts:
                    yield {"log": log, "workers": n, "cores": os.cpu_count(), "skipped": "PostgreSQL's initdb/pg_ctl are not installed"}
                continue
            cluster = pg_cluster.Cluster(found).init().start()
            try:
                for n in worker_counts:
                    yield measure(n, count, clients, store, cluster.new_database())  # a fresh log for each run
            finally:
                cluster.destroy()


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.workers", description=__doc__.split("\n\n")[0])
    p.add_argument("--questions", type=int, default=600)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--logs", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    p.add_argument("--json", action="store_true", help="one JSON object per (log, worker count)")
    args = p.parse_args(argv)
    for row in rows(args.workers, args.logs, args.questions, args.clients):
        if args.json:
            print(json.dumps(row))
        elif "skipped" in row:
            print(f"{row['log']} log, {row['workers']} worker(s): skipped ({row['skipped']})")
        else:
            print(f"{row['log']} log, {row['workers']} worker(s) on {row['cores']} cores: {row['requests_per_second']} req/s, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, {row['errors']} errors ({row['requests']} WeChat pushes, {row['clients']} clients)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
