"""Load: questions through /wechat and /lookup of the real service on 127.0.0.1, several clients at once.

    .venv/bin/python -m benchmarks.load [--questions 2000] [--clients 8] [--out benchmarks/results/load.json]

Starts `uvicorn` in a child process (its own store and query log in a temp folder, or --store),
sends every question both as a signed WeChat text push (plain mode, a different openid per
question so the per-user limit stays on but is never hit) and as a staff /lookup search, from
`--clients` threads with keep-alive connections. Checks every reply (WeChat: XML that parses,
content within 2000 UTF-8 bytes; /lookup: the results page), reports p50/p99 per endpoint,
throughput, and the server's RSS after warm-up, after the first half and after the second half.
Exit status 1 on any error, or when the run takes longer than --limit seconds (60).
"""

import argparse
import hashlib
import itertools
import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "load.json"
QUESTION_FILES = (ROOT.parent / "shared" / "eval" / "dev.jsonl", ROOT / "tests" / "data" / "golden_questions.jsonl")
WECHAT_TOKEN = "load-test-token"
STAFF_TOKEN = "load-test-staff-password"
ACCOUNT = "gh_load"
REPLY_LIMIT_BYTES = 2000
LIMIT_SECONDS = 60.0


def questions(count):
    """`count` questions cycled from the dev set (when present) and the golden questions."""
    pool = []
    for path in QUESTION_FILES:
        if path.exists():
            pool += [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [q for q, _ in zip(itertools.cycle(pool), range(count))]


# -- the server (child process) --------------------------------------------------------------------
def serve(store, log):
    """Child process: build the app, bind 127.0.0.1:0, print the port, serve until killed."""
    import uvicorn

    from channels.web.app import create_app
    from retrieval.assistant import Assistant
    from retrieval.settings import Settings

    settings = Settings(
        store_path=Path(store),
        log_path=Path(log),
        wechat_token=WECHAT_TOKEN,
        staff_token=STAFF_TOKEN,
    )
    assistant = Assistant(settings)
    assistant.warm_up()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(assistant, settings), log_level="warning", access_log=False))
    server.run(sockets=[sock])


class Server:
    """The child process running `serve`; its port and RSS."""

    def __init__(self, store=None):
        self.folder = tempfile.TemporaryDirectory(prefix="minzheng-load-")
        store = store or Path(self.folder.name) / "store.db"
        self.stderr = open(Path(self.folder.name) / "server.log", "w+b")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.load", "--serve", str(store), str(Path(self.folder.name) / "log.db")],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError("the server did not start: " + self.log())
        self.base_url = f"http://127.0.0.1:{int(line.split()[1])}"

    def rss_mb(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None

    def log(self):
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")[-2000:]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stderr.close()
        self.folder.cleanup()


# -- the clients -----------------------------------------------------------------------------------
def cdata(text):
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def wechat_request(question, n):
    timestamp, nonce = str(int(time.time())), str(100000 + n)
    signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, timestamp, nonce])).encode()).hexdigest()
    body = (
        f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><FromUserName>{cdata(f'oLoad{n}')}</FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(question)}</Content><MsgId>{9_000_000 + n}</MsgId></xml>"
    )
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}, body.encode("utf-8")


def check_wechat(response, n):
    """None when the reply is a valid passive text reply to oLoad<n>, else what is wrong."""
    from defusedxml.ElementTree import fromstring

    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    try:
        root = fromstring(response.content, forbid_dtd=True)
    except Exception as exc:  # any parse failure is an error to count, whatever its type
        return f"unparsable reply: {exc}"
    content = root.findtext("Content") or ""
    if root.findtext("ToUserName") != f"oLoad{n}" or root.findtext("MsgType") != "text" or not content.strip():
        return "not a text reply to the sender"
    if len(content.encode("utf-8")) > REPLY_LIMIT_BYTES:
        return "content over 2000 bytes"
    return None


def check_lookup(response):
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    if 'id="summary"' not in response.text:
        return "not a results page"
    return None


def run_half(base_url, jobs, clients):
    """Send (endpoint, n, question) jobs from `clients` threads: {endpoint: [ms]}, [errors]."""
    import httpx

    work = queue.Queue()
    for job in jobs:
        work.put(job)
    latencies = {"wechat": [], "lookup": []}
    errors = []
    lock = threading.Lock()

    def client():
        with httpx.Client(base_url=base_url, timeout=30.0) as http:
            while True:
                try:
                    endpoint, n, question = work.get_nowait()
                except queue.Empty:
                    return
                started = time.perf_counter()
                try:
                    if endpoint == "wechat":
                        params, body = wechat_request(question, n)
                        response = http.post("/wechat", params=params, content=body, headers={"Content-Type": "text/xml"})
                        problem = check_wechat(response, n)
                    else:
                        response = http.get("/lookup", params={"q": question}, headers={"Authorization": f"Bearer {STAFF_TOKEN}"})
                        problem = check_lookup(response)
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies[endpoint].append(elapsed)
                    if problem:
                        errors.append({"endpoint": endpoint, "n": n, "question": question, "problem": problem})

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors


def percentile(values, p):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))], 2) if values else None


def run(count=2000, clients=8, store=None):
    """The whole measurement as a dict (see the module docstring)."""
    asked = questions(count)
    jobs = [(endpoint, n, q) for n, q in enumerate(asked) for endpoint in ("wechat", "lookup")]
    half = len(jobs) // 2
    server = Server(store)
    try:
        run_half(server.base_url, jobs[:16], 2)  # warm the connections and the first-request paths
        rss = {"after_warm_up": server.rss_mb()}
        started = time.perf_counter()
        first, errors1 = run_half(server.base_url, jobs[:half], clients)
        rss["after_first_half"] = server.rss_mb()
        second, errors2 = run_half(server.base_url, jobs[half:], clients)
        elapsed = time.perf_counter() - started
        rss["after_second_half"] = server.rss_mb()
        if server.process.poll() is not None:
            raise RuntimeError("the server died: " + server.log())
    finally:
        server.stop()
    result = {
        "questions": count,
        "requests": len(jobs),
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(jobs) / elapsed, 1),
        "errors": len(errors1) + len(errors2),
        "first_errors": (errors1 + errors2)[:5],
        "rss_mb": {k: round(v, 1) for k, v in rss.items()},
        "rss_growth_second_half_mb": round(rss["after_second_half"] - rss["after_first_half"], 1),
    }
    for endpoint in ("wechat", "lookup"):
        values = first[endpoint] + second[endpoint]
        result[endpoint] = {"requests": len(values), "p50_ms": percentile(values, 0.50), "p99_ms": percentile(values, 0.99), "max_ms": percentile(values, 1.0)}
    return result


def summary(result):
    lines = [
        f"{result['questions']} questions x (WeChat + /lookup) = {result['requests']} requests, {result['clients']} clients: "
        f"{result['seconds']} s, {result['requests_per_second']} req/s, {result['errors']} errors",
    ]
    for endpoint in ("wechat", "lookup"):
        r = result[endpoint]
        lines.append(f"  {endpoint:7} p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms  max {r['max_ms']} ms")
    rss = result["rss_mb"]
    lines.append(
        f"  server RSS: {rss['after_warm_up']} MB after warm-up, {rss['after_first_half']} MB after the first half, "
        f"{rss['after_second_half']} MB after the second (+{result['rss_growth_second_half_mb']} MB)"
    )
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--questions", type=int, default=2000)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--store", help="a built store to serve (default: build one in a temp folder)")
    p.add_argument("--out", default=str(OUT), help=f"where to write the results (default {OUT.relative_to(ROOT)})")
    p.add_argument("--limit", type=float, default=LIMIT_SECONDS, help="seconds the run may take (default 60)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON line (for benchmarks.run)")
    p.add_argument("--serve", nargs=2, metavar=("STORE", "LOG"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(*args.serve)
        return 0
    result = run(args.questions, args.clients, args.store)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False) if args.json else summary(result))
    return 0 if result["errors"] == 0 and result["seconds"] <= args.limit else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
