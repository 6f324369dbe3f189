"""Reload timings on a copy of knowledge/ and faq/: `python benchmarks/bench_reload.py`.

Prints the time of an incremental in-process reload, how long a running Assistant takes to
serve a build installed by another process (`bot.py reload`), and question latency while
reloads run compared with idle.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.assistant import Assistant  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

DOC = "knowledge/documents/民法典-婚姻家庭编(2020-05-28).md"
VARIANTS = ("之日起三十日内，任何一方不愿意离婚", "之日起四十五日内，任何一方不愿意离婚")
QUESTION = "离婚冷静期是多久"


def flip(root, n):
    path = root / DOC
    old, new = (VARIANTS[0], VARIANTS[1]) if n % 2 == 0 else (VARIANTS[1], VARIANTS[0])
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return new


def latencies(assistant, seconds):
    out, stop = [], time.monotonic() + seconds
    while time.monotonic() < stop:
        started = time.perf_counter()
        assistant.ask(QUESTION, channel="bench")
        out.append((time.perf_counter() - started) * 1000)
    return out


def describe(values):
    values = sorted(values)
    return f"n={len(values)} p50={statistics.median(values):.1f} ms p99={values[int(len(values) * 0.99) - 1]:.1f} ms max={values[-1]:.1f} ms"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(ROOT / "knowledge", root / "knowledge")
        shutil.copytree(ROOT / "faq", root / "faq")
        settings = replace(
            Settings(), knowledge_dir=root / "knowledge", faq_dir=root / "faq", store_path=root / "var" / "store.db", log_path=root / "var" / "log.db"
        )
        service = Assistant(settings)
        started = time.perf_counter()
        service.reload()
        print(f"first reload (full build + quality set): {time.perf_counter() - started:.2f} s")
        times = []
        for n in range(3):
            flip(root, n)
            started = time.perf_counter()
            report = service.reload()
            times.append(time.perf_counter() - started)
        print(f"incremental reload (1 passage changed, hit@3 scored): {', '.join(f'{t:.2f}' for t in times)} s (tokenized {report.tokenized})")

        idle = latencies(service, 2.0)
        busy, done = [], threading.Event()

        def reload_loop():
            for n in range(3, 6):
                flip(root, n)
                service.reload()
            done.set()

        thread = threading.Thread(target=reload_loop)
        thread.start()
        while not done.is_set():
            busy.extend(latencies(service, 0.2))
        thread.join()
        print(f"ask latency idle:           {describe(idle)}")
        print(f"ask latency during reloads: {describe(busy)}")

        env = dict(
            os.environ,
            MINZHENG_KNOWLEDGE_DIR=str(settings.knowledge_dir),
            MINZHENG_FAQ_DIR=str(settings.faq_dir),
            MINZHENG_STORE_PATH=str(settings.store_path),
            MINZHENG_LOG_PATH=str(settings.log_path),
        )
        for command in ("reload", "rollback"):
            if command == "reload":
                flip(root, 6)
            before = service.ask(QUESTION).answer.sources[0].passage["text"]
            subprocess.run([sys.executable, str(ROOT / "bot.py"), command], env=env, check=True, capture_output=True)
            finished = time.perf_counter()
            while service.ask(QUESTION).answer.sources[0].passage["text"] == before:
                time.sleep(0.01)
                if time.perf_counter() - finished > 10:
                    raise SystemExit(f"the service did not follow `bot.py {command}` within 10 s")
            print(f"running service serves the build of `bot.py {command}` {time.perf_counter() - finished:.2f} s after the command returned")


if __name__ == "__main__":
    main()
