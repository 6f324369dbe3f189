"""Seconds to refuse the fourth attack's hostile uploads with the default limits: a zip-bomb .docx
(40 MB in one part), a .docx of 20,000 parts, a page of 100,000 nested <div> and a PDF whose one
stream inflates to 1.5 GB.

    python -m benchmarks.uploads [--runs 5] [--json]

Each is `adding.prepare` on a file made by tests/ingest_files.py in a temporary folder holding a
copy of knowledge/ and faq/; reported: the median and the slowest of the runs. The tests prove
the refusal reads nothing (tests/unread.py); this says how long it takes on this machine.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.startup import summary  # noqa: E402  (median, slowest, runs: as startup reports them)
from retrieval import adding  # noqa: E402
from retrieval.errors import DocumentError  # noqa: E402
from tests import ingest_files as files  # noqa: E402
from tests.workspace import workspace_settings  # noqa: E402

MB = 1024 * 1024
HOSTILE = {
    "zip_bomb_docx": lambda folder: files.make_zip_bomb_docx(folder / "炸弹.docx", 40 * MB),
    "many_parts_docx": lambda folder: files.make_many_entries_docx(folder / "部件.docx", 20_000),
    "deep_html": lambda folder: files.make_deep_html(folder / "深.html", 100_000),
    "flate_bomb_pdf": lambda folder: files.make_flate_bomb_pdf(folder / "炸弹.pdf", 1500 * MB),
}


def refusal_seconds(path, settings):
    started = time.perf_counter()
    try:
        adding.prepare(path, settings)
    except DocumentError:
        return time.perf_counter() - started
    raise SystemExit(f"{path.name} was not refused")


def measure(runs=5):
    with tempfile.TemporaryDirectory(prefix="minzheng-bench-") as tmp:
        root = Path(tmp)
        shutil.copytree(ROOT / "knowledge", root / "knowledge")
        shutil.copytree(ROOT / "faq", root / "faq")
        settings = workspace_settings(root)
        result = {}
        for name, make in HOSTILE.items():
            path = make(root)
            result[name] = summary([refusal_seconds(path, settings) for _ in range(runs)])
    return result


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.uploads", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = measure(args.runs)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
