"""The command-line contract: `ask --json`, batch mode on stdin, `search --json`, `build`."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT


def run(args, store, stdin=None, extra_env=None):
    env = dict(os.environ, MINZHENG_STORE_PATH=str(store), **(extra_env or {}))
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "store.db"
    result = run(["build"], path)
    assert result.returncode == 0, result.stderr
    assert "个段落" in result.stdout
    return path


def test_ask_json_prints_one_object_with_sources(store):
    result = run(["ask", "--json", "离婚冷静期是多久"], store)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["declined"] is False
    assert payload["sources"][0]["doc_id"] == "civil-code-marriage-family"
    assert payload["sources"][0]["section"] == "第四章 离婚 › 第一千零七十七条"


def test_ask_plain_prints_the_citizen_text(store):
    result = run(["ask", "燃气费怎么在网上交"], store)
    assert result.returncode == 0
    assert "不属于民政业务" in result.stdout


def test_batch_mode_answers_every_line_even_hostile_ones(store):
    lines = [
        "结婚登记要带什么材料",
        "",
        "   ",
        "<b>低保</b> & 申请",
        "'; DROP TABLE passages; --",
        "]]><xml/>",
        "😀😀😀",
        "\u200b\u200b",
        "低保" * 3000,
        "結婚證丟了怎麼補",
    ]
    result = run(["ask", "--json"], store, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(lines)
    assert [o["kind"] for o in out][:3] == ["answer", "empty", "empty"]
    assert out[8]["kind"] == "too_long" and out[8]["declined"] is True
    assert all(isinstance(o["answer"], str) and o["answer"] for o in out)


def test_search_json_lists_ranked_passages(store):
    result = run(["search", "--json", "-k", "3", "临时救助"], store)
    payload = json.loads(result.stdout)
    assert len(payload["results"]) == 3
    scores = [r["score"] for r in payload["results"]]
    assert scores == sorted(scores, reverse=True)
    assert {"doc_id", "title", "issuer", "date", "section", "text", "source_file", "score"} <= set(payload["results"][0])


def test_ask_builds_the_store_on_first_use(tmp_path):
    result = run(["ask", "--json", "低保"], tmp_path / "fresh.db")
    assert result.returncode == 0 and (tmp_path / "fresh.db").exists()


def test_a_broken_knowledge_file_is_reported_with_file_and_line(tmp_path):
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge)
    meta = knowledge / "documents" / "001_0fc871ada835c21f.toml"
    meta.write_text(meta.read_text(encoding="utf-8").replace('kind = "plan"', 'kind = "poem"'), encoding="utf-8")
    result = run(["build"], tmp_path / "s.db", extra_env={"MINZHENG_KNOWLEDGE_DIR": str(knowledge)})
    assert result.returncode == 2
    assert "001_0fc871ada835c21f.toml:" in result.stderr and "kind 'poem'" in result.stderr
    assert "Traceback" not in result.stderr
