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


def test_mask_prints_each_line_exactly_as_the_query_log_stores_it(store, tmp_path):
    from dataclasses import replace

    from retrieval.assistant import Assistant
    from retrieval.settings import Settings

    lines = ["我叫张伟，电话138 1234 5678，低保怎么申请", "  我老公张三去世了，丧葬补助怎么领  ", "民法典第一千零七十七条", "卡号６２２２０２１２０２０４１２３４５６７", "联系人：王五\r"]
    done = run(["mask"], store, stdin="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    printed = done.stdout.split("\n")[:-1]
    assistant = Assistant(replace(Settings(), store_path=store, log_path=tmp_path / "log.db"))
    ids = [assistant.ask(line, channel="cli", user="u").query_id for line in lines]
    logged = [assistant.log.db["queries"].get(query_id)["question"] for query_id in ids]  # db: once the writer wrote them
    assert printed == logged == ["我叫[姓名]，电话[手机号]，低保怎么申请", "我老公[姓名]去世了，丧葬补助怎么领", "民法典第一千零七十七条", "卡号[银行卡号]", "联系人：[姓名]"]


def test_mask_with_a_broken_privacy_file_exits_2_naming_it(store, tmp_path):
    faq = tmp_path / "faq"
    shutil.copytree(ROOT / "faq", faq)
    (faq / "privacy.toml").write_text("[[pattern]]\nregex = '('\nreplacement = 'x'\n", encoding="utf-8")
    done = run(["mask"], store, stdin="我叫张三\n", extra_env={"MINZHENG_FAQ_DIR": str(faq)})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"错误: {faq / 'privacy.toml'}:1: bad regular expression")


def test_a_batch_line_is_text_or_an_object_with_question_or_q():
    from channels.cli import _batch_line

    assert _batch_line('{"question": "低保怎么申请", "conversation": 7}') == ("低保怎么申请", "7")
    assert _batch_line('{"id": "d001", "q": "结婚登记要带什么", "kind": "grounded"}') == ("结婚登记要带什么", None)
    assert _batch_line('{"q": "那萧山呢", "conversation": "c1"}') == ("那萧山呢", "c1")
    assert _batch_line('{"question": 5, "q": "x"}') == ('{"question": 5, "q": "x"}', None)  # "question" given, not text
    assert _batch_line('{"oops": 1}') == ('{"oops": 1}', None)
    assert _batch_line("{不是JSON") == ("{不是JSON", None)
