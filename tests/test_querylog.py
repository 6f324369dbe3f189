"""The query log: masked questions, outcomes, retention purge, forgetting, the unanswered report."""

import csv
import os
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from retrieval.answer import Answer
from retrieval.assistant import Assistant
from retrieval.privacy import Masker
from retrieval.querylog import QueryLog
from retrieval.unanswered import bigrams, group, jaccard

from .conftest import ROOT


def answer(kind="answer", faq_id=None):
    return Answer(question="q", text="t", kind=kind, faq_id=faq_id)


@pytest.fixture()
def log(tmp_path):
    return QueryLog(tmp_path / "log.db", "test-key", masker=lambda: Masker.load(ROOT / "faq" / "privacy.toml"))


def test_questions_and_comments_are_stored_masked(log):
    query_id = log.record("wechat", "oUser", "我叫张伟，手机13957112345，低保怎么申请", answer(), 12.5)
    log.feedback(query_id, -1, "请打我电话0571-85123456")
    row = next(log.db["queries"].rows)
    assert row["question"] == "我叫[姓名]，手机[手机号]，低保怎么申请"
    assert next(log.db["feedback"].rows)["comment"] == "请打我电话[电话]"
    assert "oUser" not in str(list(log.db["queries"].rows))


def test_a_broken_privacy_file_stores_no_question_text_but_keeps_logging(tmp_path):
    broken = tmp_path / "privacy.toml"
    broken.write_text("[[pattern]\n", encoding="utf-8")
    log = QueryLog(tmp_path / "log.db", "k", masker=lambda: Masker.load(broken))
    query_id = log.record("cli", None, "我叫张伟", answer(), 1.0)
    assert log.db["queries"].get(query_id)["question"] is None


def test_outcome_says_faq_passages_or_decline(log):
    for a in (answer(faq_id="marriage-001"), answer(), answer("not_found"), answer("fact_missing")):
        log.record("cli", None, "问题", a, 1.0)
    assert [r["outcome"] for r in log.db["queries"].rows] == ["faq", "passages", "decline", "decline"]


def test_purge_deletes_old_questions_and_their_feedback_only(log):
    old = log.record("cli", None, "旧问题", answer("not_found"), 1.0)
    new = log.record("cli", None, "新问题", answer("not_found"), 1.0)
    log.feedback(old, -1)
    log.feedback(new, 1)
    log.db.execute("update queries set time = '2020-01-01T00:00:00' where id = ?", [old])
    assert log.purge(30) == 1
    assert [r["question"] for r in log.db["queries"].rows] == ["新问题"]
    assert [r["query_id"] for r in log.db["feedback"].rows] == [new]


def test_recording_purges_past_the_retention_once_a_day(tmp_path):
    log = QueryLog(tmp_path / "log.db", "k", retention_days=7)
    first = log.record("cli", None, "一", answer(), 1.0)
    log.db.execute("update queries set time = '2020-01-01T00:00:00' where id = ?", [first])
    log.record("cli", None, "二", answer(), 1.0)  # purged at the first record; not again today
    assert [r["question"] for r in log.db["queries"].rows] == ["一", "二"]
    log._purged_at -= 2 * 24 * 3600
    log.record("cli", None, "三", answer(), 1.0)
    assert [r["question"] for r in log.db["queries"].rows] == ["二", "三"]


def test_unanswered_lists_declined_and_thumbs_down_only(log):
    declined = log.record("cli", None, "燃气费怎么交", answer("out_of_scope"), 1.0)
    disliked = log.record("cli", None, "低保标准多少", answer(), 1.0)
    liked = log.record("cli", None, "离婚冷静期", answer(), 1.0)
    log.feedback(disliked, -1)
    log.feedback(disliked, -1)
    log.feedback(liked, 1)
    rows = log.unanswered()
    assert [(r["id"], r["declined"], r["down"]) for r in rows] == [(declined, 1, 0), (disliked, 0, 2)]
    log.db.execute("update queries set time = '2020-01-01T00:00:00' where id = ?", [declined])
    assert [r["id"] for r in log.unanswered(days=30)] == [disliked]


def test_similar_questions_are_grouped_and_counted():
    rows = []
    questions = ["宠物死了能火化吗", "宠物死了可以火化吗", "宠物死了能火化吗", "驾照怎么换", "驾照怎么换证", "我叫[姓名]，高龄津贴在哪领"]
    for n, q in enumerate(questions, 1):
        rows.append({"id": n, "time": f"2025-01-0{n}T10:00:00", "question": q, "kind": "not_found", "declined": 1, "down": 0})
    groups = group(rows, words=lambda text: [], similarity=0.4)
    assert [(g.question, g.count, g.variants) for g in groups] == [
        ("宠物死了能火化吗", 3, ("宠物死了可以火化吗",)),
        ("驾照怎么换", 2, ("驾照怎么换证",)),
        ("我叫[姓名]，高龄津贴在哪领", 1, ()),
    ]
    assert groups[0].last_seen == "2025-01-03T10:00:00"


def test_bigram_jaccard_ignores_punctuation():
    assert jaccard(bigrams("低保，怎么办?"), bigrams("低保怎么办")) == pytest.approx(3 / 4)


@pytest.fixture()
def assistant(settings, tmp_path):
    return Assistant(replace(settings, log_path=tmp_path / "log.db"))


def test_the_report_groups_real_declines_with_the_project_tokenizer(assistant, tmp_path):
    for q in ("燃气费怎么在网上交", "燃气费网上怎么交"):  # declined: not civil affairs
        assert assistant.ask(q, channel="telegram", user=1).answer.kind == "out_of_scope"
    for q in ("宠物死了怎么火化", "宠物去世了如何火化", "离婚冷静期多久"):  # 👎 (the pet ones are declined: no passage mentions 宠物)
        assistant.feedback(assistant.ask(q, channel="telegram", user=1).query_id, -1)
    assistant.ask("结婚登记要带什么材料", channel="telegram", user=1)  # answered, no complaint
    groups = assistant.unanswered()
    assert [(g.question, g.count, g.declined, g.down, g.variants) for g in groups] == [
        ("宠物死了怎么火化", 2, 2, 2, ("宠物去世了如何火化",)),
        ("燃气费怎么在网上交", 2, 2, 0, ("燃气费网上怎么交",)),
        ("离婚冷静期多久", 1, 0, 1, ()),
    ]
    target = tmp_path / "report.csv"
    from retrieval.unanswered import write_csv

    write_csv(groups, target)
    with open(target, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["rank"] for r in rows] == ["1", "2", "3"]
    assert rows[2] == {
        "rank": "3",
        "count": "1",
        "declined": "0",
        "down": "1",
        "question": "离婚冷静期多久",
        "variants": "",
        "kinds": "answer",
        "last_seen": rows[2]["last_seen"],
    }
    assert time.strftime("%Y-%m-%d") in rows[2]["last_seen"]


def run_bot(tmp_path, *args):
    env = dict(os.environ, MINZHENG_LOG_PATH=str(tmp_path / "log.db"), MINZHENG_STORE_PATH=str(tmp_path / "store.db"))
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)


def test_report_and_purge_commands(tmp_path):
    log = QueryLog(tmp_path / "log.db")
    for q in ("燃气费怎么交", "燃气费如何交", "燃气费怎么交", "宠物殡葬"):
        log.record("wechat", "u", q, answer("out_of_scope"), 1.0)
    log.db.execute("update queries set time = '2020-01-01T00:00:00' where question = '宠物殡葬'")
    log.close()
    result = run_bot(tmp_path, "report", "--csv", str(tmp_path / "out.csv"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:4] == ["序号 | 次数 | 拒答 | 👎 | 问题 | 相似问法", "1 | 3 | 3 | 0 | 燃气费怎么交 | 燃气费如何交", "2 | 1 | 1 | 0 | 宠物殡葬 | "]
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as handle:
        assert [(r["count"], r["question"], r["variants"]) for r in csv.DictReader(handle)] == [("3", "燃气费怎么交", "燃气费如何交"), ("1", "宠物殡葬", "")]
    result = run_bot(tmp_path, "report", "--days", "30")
    assert "宠物殡葬" not in result.stdout and "燃气费怎么交" in result.stdout
    result = run_bot(tmp_path, "purge", "--days", "30")
    assert (result.returncode, result.stdout) == (0, "已删除 1 条超过 30 天的提问记录(及其反馈)。\n")


def test_report_neither_writes_formulas_into_the_csv_nor_control_characters_to_the_terminal(tmp_path):
    log = QueryLog(tmp_path / "log.db")
    for q in ("=HYPERLINK(\"http://evil.example\",\"点我\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "燃气\x1b[2J\x07费\r怎么交"):
        log.record("wechat", "u", q, answer("out_of_scope"), 1.0)
    log.close()
    result = run_bot(tmp_path, "report", "--csv", str(tmp_path / "out.csv"))
    assert result.returncode == 0, result.stderr
    assert not any(c in result.stdout for c in "\x1b\x07\r")
    assert "燃气\ufffd[2J\ufffd费\ufffd怎么交" in result.stdout
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as handle:
        questions = sorted(r["question"] for r in csv.DictReader(handle))
    assert questions == sorted(["'=HYPERLINK(\"http://evil.example\",\"点我\")", "'+1+cmd|' /C calc'!A0", "'-2+3", "'@SUM(1,2)", "燃气\x1b[2J\x07费\r怎么交"])


def test_forgotten_questions_are_in_neither_the_database_file_nor_the_wal(tmp_path):
    log = QueryLog(tmp_path / "log.db", "k", masker=None)
    for n in range(3):
        log.record("wechat", "oGone", f"独一无二的问题甲乙丙{n}", answer(), 1.0)
    kept = log.record("wechat", "oStays", "别人的问题", answer(), 1.0)
    assert log.forget("wechat", "oGone") == 3
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("log.db*"))
    assert "独一无二的问题甲乙丙".encode("utf-8") not in on_disk
    assert [r["id"] for r in log.db["queries"].rows] == [kept]
    assert log.pending_deletions() == []


def test_a_deletion_refused_by_a_locked_log_is_kept_on_disk_and_done_after_a_restart(tmp_path, monkeypatch):
    import sqlite3

    from retrieval import querylog

    monkeypatch.setattr(querylog, "BUSY_TIMEOUT", 0.2)
    path = tmp_path / "log.db"
    log = QueryLog(path, "k", masker=None)
    log.record("wechat", "oGone", "要删的问题", answer(), 1.0)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("begin immediate")  # another process holds the write lock
    assert log.forget("wechat", "oGone") is None
    assert log.pending_deletions() == [log.user_hash("wechat", "oGone")]
    other.execute("rollback")
    assert other.execute("select count(*) from queries").fetchone() == (1,)  # not done yet
    log.close()
    restarted = QueryLog(path, "k", masker=None)
    restarted.record("wechat", "oOther", "下一个问题", answer(), 1.0)  # the first write after the restart
    assert [r["question"] for r in restarted.db["queries"].rows] == ["下一个问题"]
    assert restarted.pending_deletions() == []
    other.close()
