"""`bot.py ask --json` in batch mode: one valid JSON object per input line, whatever the line."""

import json
import os
import subprocess
import sys

from .conftest import ROOT
from .nasty import nasty_inputs


def test_batch_survives_every_nasty_line(tmp_path, settings, library):
    texts = [text for _, text in nasty_inputs() if "\n" not in text]
    lines = [t.encode("utf-8", "surrogatepass") for t in texts]
    lines.append(b"\xff\xfe\xc3\x28 invalid utf-8 \xe4\xbd")  # not UTF-8 at all
    lines.append("结婚登记要带什么".encode("utf-8"))
    stdin = b"\n".join(lines) + b"\n"
    env = dict(os.environ, MINZHENG_STORE_PATH=str(settings.store_path), MINZHENG_LOG_PATH=str(tmp_path / "log.db"), LANG="C", LC_ALL="C")
    result = subprocess.run([sys.executable, str(ROOT / "bot.py"), "ask", "--json"], input=stdin, capture_output=True, env=env, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    out = result.stdout.decode("utf-8").splitlines()  # also splits at U+2028 etc.: none may be raw
    assert len(out) == len(lines)
    payloads = [json.loads(line) for line in out]
    assert all({"question", "answer", "declined", "kind", "sources"} <= set(p) for p in payloads)
    assert payloads[0]["kind"] == "empty" and payloads[-1]["kind"] == "answer"
    assert {p["kind"] for p in payloads} >= {"empty", "too_long", "answer"}
