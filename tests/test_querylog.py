"""The query log: masked questions, outcomes, retention purge, forgetting, the unanswered report."""

import csv
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest

from retrieval.answer import Answer
from retrieval.assistant import Assistant
from retrieval.errors import QueryLogError
from retrieval import querylog
from retrieval.privacy import Masker
from retrieval.querylog import QueryLog
from retrieval.unanswered import bigrams, group, jaccard

from .conftest import ROOT


def answer(kind="answer", faq_id=None):
    return Answer(question="q", text="t", kind=kind, faq_id=faq_id)


class Backend:
    """One storage of the log (SQLite, or PostgreSQL in a database of the test's own): the same
    tests run on both. `locked` is another client holding the write lock: a sqlite3 shell's open
    transaction, or a PostgreSQL session holding EXCLUSIVE locks on the log's tables."""

    def __init__(self, name, url=""):
        self.name = name
        self.url = url
        self._databases = []
        self.locked_reason = "database is locked" if name == "sqlite" else "canceling statement due to lock timeout"

    def log(self, path, key="", **options):
        storage = None
        if self.url:
            from retrieval.database import Database
            from retrieval.pglog import PostgresLogStorage

            database = Database(self.url)
            self._databases.append(database)
            storage = PostgresLogStorage(database, lambda: querylog.BUSY_TIMEOUT)
        return QueryLog(path, key, storage=storage, **options)

    def locked(self, log, begin="begin exclusive"):
        if self.name == "sqlite":
            other = sqlite3.connect(log.path, isolation_level=None, check_same_thread=False)
            other.execute(begin)
            return other
        return PostgresHolder(self.url)

    def env(self, tmp_path):
        env = dict(os.environ, MINZHENG_LOG_PATH=str(tmp_path / "log.db"), MINZHENG_STORE_PATH=str(tmp_path / "store.db"))
        if self.url:
            env["MINZHENG_DATABASE_URL"] = self.url
        return env

    def close(self):
        for database in self._databases:
            database.close()


class PostgresHolder:
    """A psql session as `locked` uses a sqlite3 connection: `begin ...` takes the locks again."""

    def __init__(self, url):
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.execute("begin")

    def execute(self, sql, params=()):
        if sql.startswith("begin"):
            self.conn.execute("begin")
            self.conn.execute("lock table queries, feedback, dropped in exclusive mode")
            return None
        return self.conn.execute(sql.replace("?", "%s"), params)

    def close(self):
        self.conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    if request.param == "sqlite":
        chosen = Backend("sqlite")
    else:
        chosen = Backend("postgresql", request.getfixturevalue("database_url"))
    yield chosen
    chosen.close()


@pytest.fixture()
def log(backend, tmp_path):
    return backend.log(tmp_path / "log.db", "test-key", masker=lambda: Masker.load(ROOT / "faq" / "privacy.toml"))


def test_questions_and_comments_are_stored_masked(log):
    query_id = log.record("wechat", "oUser", "我叫张伟，手机13957112345，低保怎么申请", answer(), 12.5)
    log.feedback(query_id, -1, "请打我电话0571-85123456")
    row = next(log.db["queries"].rows)
    assert row["question"] == "我叫[姓名]，手机[手机号]，低保怎么申请"
    assert next(log.db["feedback"].rows)["comment"] == "请打我电话[电话]"
    assert "oUser" not in str(list(log.db["queries"].rows))


def test_a_broken_privacy_file_stores_no_question_text_but_keeps_logging(backend, tmp_path):
    broken = tmp_path / "privacy.toml"
    broken.write_text("[[pattern]\n", encoding="utf-8")
    log = backend.log(tmp_path / "log.db", "k", masker=lambda: Masker.load(broken))
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


def test_recording_purges_past_the_retention_once_a_day(backend, tmp_path):
    log = backend.log(tmp_path / "log.db", "k", retention_days=7)
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
def assistant(settings, backend, tmp_path):
    made = Assistant(replace(settings, log_path=tmp_path / "log.db", database_url=backend.url))
    yield made
    made.close()


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


def run_bot(backend, tmp_path, *args):
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args], capture_output=True, text=True, env=backend.env(tmp_path), timeout=120, cwd=ROOT)


def test_report_and_purge_commands(backend, tmp_path):
    log = backend.log(tmp_path / "log.db")
    for q in ("燃气费怎么交", "燃气费如何交", "燃气费怎么交", "宠物殡葬"):
        log.record("wechat", "u", q, answer("out_of_scope"), 1.0)
    log.db.execute("update queries set time = '2020-01-01T00:00:00' where question = '宠物殡葬'")
    log.close()
    result = run_bot(backend, tmp_path, "report", "--csv", str(tmp_path / "out.csv"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:4] == ["序号 | 次数 | 拒答 | 👎 | 问题 | 相似问法", "1 | 3 | 3 | 0 | 燃气费怎么交 | 燃气费如何交", "2 | 1 | 1 | 0 | 宠物殡葬 | "]
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as handle:
        assert [(r["count"], r["question"], r["variants"]) for r in csv.DictReader(handle)] == [("3", "燃气费怎么交", "燃气费如何交"), ("1", "宠物殡葬", "")]
    result = run_bot(backend, tmp_path, "report", "--days", "30")
    assert "宠物殡葬" not in result.stdout and "燃气费怎么交" in result.stdout
    result = run_bot(backend, tmp_path, "purge", "--days", "30")
    assert (result.returncode, result.stdout) == (0, "已删除 1 条超过 30 天的提问记录(及其反馈)。\n")


@pytest.mark.parametrize("days", ["-5", "0"])
def test_a_purge_of_fewer_than_one_day_is_refused_and_deletes_nothing(backend, tmp_path, days):
    # fifth attack: `purge --days -5` put the cutoff five days ahead and deleted the whole log
    log = backend.log(tmp_path / "log.db")
    for q in ("燃气费怎么交", "低保怎么申请"):
        log.record("wechat", "u", q, answer(), 1.0)
    log.close()
    result = run_bot(backend, tmp_path, "purge", "--days", days)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"错误: the retention (--days) must be a whole number of days, at least 1 (got {days}); nothing was deleted\n"
    assert [r["question"] for r in backend.log(tmp_path / "log.db").db["queries"].rows] == ["燃气费怎么交", "低保怎么申请"]


def test_a_negative_retention_setting_is_refused_before_anything_is_purged(tmp_path):
    from retrieval.errors import RetentionError

    with pytest.raises(RetentionError) as info:
        QueryLog(tmp_path / "log.db", "k", retention_days=-1)
    assert str(info.value) == "MINZHENG_LOG_RETENTION_DAYS (0: keep questions forever) must be a whole number of days, at least 1 (got -1); nothing was deleted"


def test_report_neither_writes_formulas_into_the_csv_nor_control_characters_to_the_terminal(backend, tmp_path):
    log = backend.log(tmp_path / "log.db")
    for q in ("=HYPERLINK(\"http://evil.example\",\"点我\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "燃气\x1b[2J\x07费\r怎么交"):
        log.record("wechat", "u", q, answer("out_of_scope"), 1.0)
    log.close()
    result = run_bot(backend, tmp_path, "report", "--csv", str(tmp_path / "out.csv"))
    assert result.returncode == 0, result.stderr
    assert not any(c in result.stdout for c in "\x1b\x07\r")
    assert "燃气\ufffd[2J\ufffd费\ufffd怎么交" in result.stdout
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as handle:
        questions = sorted(r["question"] for r in csv.DictReader(handle))
    assert questions == sorted(["'=HYPERLINK(\"http://evil.example\",\"点我\")", "'+1+cmd|' /C calc'!A0", "'-2+3", "'@SUM(1,2)", "燃气\x1b[2J\x07费\r怎么交"])


def test_forgotten_questions_are_in_neither_the_database_file_nor_the_wal(backend, tmp_path):
    log = backend.log(tmp_path / "log.db", "k", masker=None)
    for n in range(3):
        log.record("wechat", "oGone", f"独一无二的问题甲乙丙{n}", answer(), 1.0)
    kept = log.record("wechat", "oStays", "别人的问题", answer(), 1.0)
    assert log.forget("wechat", "oGone") == 3
    if backend.name == "sqlite":  # PostgreSQL's files are the server's (docs/operations.md)
        on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("log.db*"))
        assert "独一无二的问题甲乙丙".encode("utf-8") not in on_disk
    assert [r["id"] for r in log.db["queries"].rows] == [kept]
    assert log.pending_deletions() == []


def test_a_deletion_refused_by_a_locked_log_is_kept_on_disk_and_done_once_the_lock_is_gone(backend, tmp_path, monkeypatch):
    monkeypatch.setattr(querylog, "BUSY_TIMEOUT", 0.2)
    path = tmp_path / "log.db"
    log = backend.log(path, "k", masker=None)
    log.record("wechat", "oGone", "要删的问题", answer(), 1.0)
    assert log.flush()
    other = backend.locked(log, "begin immediate")  # another process holds the write lock
    assert log.forget("wechat", "oGone") is None
    assert log.pending_deletions() == [log.user_hash("wechat", "oGone")]
    assert other.execute("select count(*) from queries").fetchone() == (1,)  # not done yet
    other.execute("rollback")
    assert log.flush()  # the writer retries by itself; nothing else has to happen
    assert other.execute("select count(*) from queries").fetchone() == (0,)
    assert log.pending_deletions() == []
    other.close()


def test_a_deletion_still_pending_when_the_process_ends_is_done_after_a_restart(backend, tmp_path, monkeypatch):
    monkeypatch.setattr(querylog, "BUSY_TIMEOUT", 0.2)
    path = tmp_path / "log.db"
    log = backend.log(path, "k", masker=None)
    log.record("wechat", "oGone", "要删的问题", answer(), 1.0)
    assert log.flush()
    other = backend.locked(log, "begin immediate")
    assert log.forget("wechat", "oGone") is None
    log.close()  # the service stops while the log is still locked
    other.execute("rollback")
    assert other.execute("select count(*) from queries").fetchone() == (1,)
    restarted = backend.log(path, "k", masker=None)
    restarted.record("wechat", "oOther", "下一个问题", answer(), 1.0)  # the first write after the restart
    assert [r["question"] for r in restarted.db["queries"].rows] == ["下一个问题"]
    assert restarted.pending_deletions() == []
    other.close()


# -- the writer: the log never stands between a citizen and the answer (issue 14 item 6) -------
def test_recording_never_waits_for_a_locked_log_and_the_questions_arrive_in_order_afterwards(backend, tmp_path):
    log = backend.log(tmp_path / "log.db", "k", masker=None)
    log.warm_masker()  # what the service does at start: the writer reserves ids meanwhile
    first = log.record("wechat", "o1", "第一个问题", answer(), 1.0)
    assert log.flush() and first == 1
    other = backend.locked(log)
    started = time.monotonic()
    ids = [log.record("wechat", f"o{n}", f"问题{n}", answer(), 1.0) for n in range(50)]
    took = time.monotonic() - started
    assert took < 0.5 and ids == list(range(2, 52))  # was 2 s per question (BUSY_TIMEOUT), then no id
    assert other.execute("select count(*) from queries").fetchone() == (1,)
    other.execute("rollback")
    assert log.feedback(ids[10], -1) is True  # waits for the writer, which catches up by itself
    assert [(r["id"], r["question"]) for r in log.db["queries"].rows] == [(1, "第一个问题")] + [(i, f"问题{n}") for n, i in enumerate(ids)]
    other.close()


def test_a_full_queue_drops_questions_counts_them_and_says_so(backend, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(querylog, "QUEUE_LIMIT", 5)
    monkeypatch.setattr(querylog, "BUSY_TIMEOUT", 0.2)
    log = backend.log(tmp_path / "log.db", "k", masker=None)
    log.record("cli", None, "开始", answer("not_found"), 1.0)
    assert log.flush()
    other = backend.locked(log)
    outcomes = []
    with caplog.at_level(logging.ERROR, logger="retrieval.querylog"):
        for n in range(8):
            try:
                outcomes.append(log.record("cli", None, f"问题{n}", answer("not_found"), 1.0))
            except QueryLogError as exc:
                outcomes.append(exc.reason)
    assert outcomes[:5] == [2, 3, 4, 5, 6]
    assert outcomes[5:] == ["5 questions are waiting for the log; this one is not logged"] * 3
    dropped = [r.getMessage() for r in caplog.records if "not logged" in r.getMessage()]
    assert dropped == ["the query log is behind (5 questions waiting): a question was not logged; 1 dropped since start"]  # once, not per question
    assert log.dropped() == 3
    other.execute("rollback")
    other.close()
    assert log.counts()["dropped"] == 3 and log.counts()["queries"] == 6
    log.close()
    assert backend.log(log.path, "k").dropped() == 3  # kept in the log: a restart, `bot.py report`, /admin see it
    result = run_bot(backend, tmp_path, "report")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "注意: 日志中另有 3 条提问没有记入查询日志(日志长时间无法写入,等待队列已满或服务停止时未能写完),上表未包含这些提问。"


def test_closing_writes_what_is_queued_and_counts_what_it_cannot(backend, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(querylog, "BUSY_TIMEOUT", 0.2)
    log = backend.log(tmp_path / "log.db", "k", masker=None)
    log.record("cli", None, "开始", answer(), 1.0)
    assert log.flush()
    other = backend.locked(log)
    for n in range(20):
        log.record("cli", None, f"问题{n}", answer(), 1.0)
    threading.Timer(0.5, other.execute, ["rollback"]).start()  # the lock goes while close() waits
    log.close()
    assert other.execute("select count(*) from queries").fetchone() == (21,)
    other.execute("begin exclusive")  # now it stays locked through close()
    if backend.name == "sqlite":
        with pytest.raises(QueryLogError) as info:  # close() gave its ids back: none can be reserved now
            log.record("cli", None, "最后", answer(), 1.0)
        assert info.value.reason == f"{backend.locked_reason} (the question is queued without a query id)"
    else:  # ids come from a sequence, which locks on the tables do not hold up
        assert log.record("cli", None, "最后", answer(), 1.0) > 21
    with caplog.at_level(logging.ERROR, logger="retrieval.querylog"):
        log.close(timeout=1.0)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [f"1 questions were not written to the query log before it closed: {backend.locked_reason}"]
    other.execute("rollback")
    other.close()
    log.record("cli", None, "重新开始", answer(), 1.0)  # the same log used again: the count is written with it
    log.close()
    assert backend.log(log.path, "k").dropped() == 1


def test_a_process_that_exits_without_closing_still_writes_its_queue(backend, tmp_path):
    script = (
        "import os, sys; sys.path.insert(0, sys.argv[1])\n"
        "from retrieval.answer import Answer\n"
        "from retrieval.querylog import open_log\n"
        "from retrieval.settings import Settings\n"
        "log = open_log(Settings.from_env(os.environ))\n"
        "for n in range(300):\n"
        "    log.record('cli', None, f'问题{n}', Answer(question='q', text='t', kind='answer'), 1.0)\n"
    )
    env = dict(backend.env(tmp_path), MINZHENG_LOG_KEY="k")
    result = subprocess.run([sys.executable, "-c", script, str(ROOT)], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert backend.log(tmp_path / "log.db", "k").counts()["queries"] == 300


def test_a_deletion_comes_after_the_users_questions_still_in_the_queue(backend, tmp_path, monkeypatch):
    monkeypatch.setattr(querylog, "BUSY_TIMEOUT", 0.2)
    log = backend.log(tmp_path / "log.db", "k", masker=None)
    log.record("wechat", "oStays", "别人的问题", answer(), 1.0)
    assert log.flush()
    other = backend.locked(log)
    for n in range(3):
        log.record("wechat", "oGone", f"要删的问题{n}", answer(), 1.0)  # queued: the log is locked
    assert log.forget("wechat", "oGone") is None  # deferred
    later = log.record("wechat", "oGone", "退订之后又问", answer(), 1.0)  # after the deletion: kept
    other.execute("rollback")
    assert log.flush()
    assert [r["question"] for r in log.db["queries"].rows] == ["别人的问题", "退订之后又问"]
    assert log.pending_deletions() == [] and later == 5
    other.close()
    # Without a lock, a deletion right behind the user's questions still finds them all.
    for n in range(3):
        log.record("wechat", "oQuick", f"问题{n}", answer(), 1.0)
    assert log.forget("wechat", "oQuick") == 3


# -- issue 14 item 16: a long first purge, private files, the key away from the log -----------
def test_the_first_purge_of_a_large_log_never_holds_the_log_for_long(tmp_path):
    log = QueryLog(tmp_path / "log.db", "k", masker=None)
    kept = log.record("cli", None, "新问题", answer("not_found"), 1.0)
    assert log.flush()
    other = sqlite3.connect(log.path, isolation_level=None)
    other.execute("begin")
    other.executemany(
        "insert into queries (time, channel, question, kind, outcome, source_ids, latency_ms) values ('2020-01-01T00:00:00', 'cli', ?, 'answer', 'passages', '[]', 1.0)",
        [(f"旧问题{n}" * 5,) for n in range(300_000)],
    )
    other.execute("commit")
    waits, done = [], threading.Event()

    def admin_page():  # another thread reading the log while it is purged
        while not done.is_set():
            started = time.monotonic()
            log.recent_declined(1)
            waits.append(time.monotonic() - started)
            time.sleep(0.01)

    reader = threading.Thread(target=admin_page)
    reader.start()
    started = time.monotonic()
    deleted = log.purge(30)
    took = time.monotonic() - started
    done.set()
    reader.join()
    assert deleted == 300_000 and [r["id"] for r in log.db["queries"].rows] == [kept]
    assert took > 0.3 and len(waits) > 10
    assert max(waits) < min(0.3, took / 3)  # it waited for the whole purge before (over a second here)
    other.close()


def test_the_log_is_private_and_its_generated_key_lives_in_a_private_folder_of_its_own(tmp_path):
    log = QueryLog(tmp_path / "var" / "log.db", masker=None)
    log.record("wechat", "oUser", "问题", answer(), 1.0)
    log.forget("wechat", "oSomeone")
    assert log.flush()
    var = tmp_path / "var"
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in var.iterdir()}
    assert {name: mode for name, mode in modes.items() if name.startswith("log.")} == {"log.db": 0o600, "log.db-wal": 0o600, "log.db-shm": 0o600, "log.pending": 0o600}
    assert modes["keys"] == 0o700 and not (var / "log.key").exists()  # never beside the log
    assert log.key_path == var / "keys" / "log.key" and stat.S_IMODE(log.key_path.stat().st_mode) == 0o600
    elsewhere = QueryLog(tmp_path / "other" / "log.db", key_dir=tmp_path / "secrets")  # MINZHENG_LOG_KEY_DIR
    elsewhere.user_hash("wechat", "oUser")
    assert elsewhere.key_path.exists() and stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    assert not (tmp_path / "other" / "keys").exists()
    configured = QueryLog(tmp_path / "env" / "log.db", key="from-the-environment")  # MINZHENG_LOG_KEY
    configured.record("wechat", "oUser", "问题", answer(), 1.0)
    assert configured.flush() and not (tmp_path / "env" / "keys").exists()


def test_a_log_and_key_of_an_earlier_version_are_made_private_and_the_key_moved_keeping_every_hash(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    db = sqlite3.connect(var / "log.db")
    db.execute("create table t (x)")
    db.close()
    (var / "log.key").write_text("an-old-key\n")
    os.chmod(var / "log.db", 0o644)
    os.chmod(var / "log.key", 0o644)
    log = QueryLog(var / "log.db", masker=None)
    old_hash = QueryLog(var / "log.db", key="an-old-key").user_hash("wechat", "oUser")
    assert log.user_hash("wechat", "oUser") == old_hash  # pending deletions and one-vote rules still match
    log.record("wechat", "oUser", "问题", answer(), 1.0)
    assert log.flush()
    assert stat.S_IMODE((var / "log.db").stat().st_mode) == 0o600
    assert not (var / "log.key").exists() and (var / "keys" / "log.key").read_text() == "an-old-key"
    assert stat.S_IMODE((var / "keys" / "log.key").stat().st_mode) == 0o600
