"""PostgreSQL (MINZHENG_DATABASE_URL): migrations, builds shared by two machines, a server restart
under a stream of questions, /readyz. The query-log suite itself runs on both backends in
tests/test_querylog.py. One throwaway cluster per session (tests/conftest.py `postgres`)."""

import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace

import psycopg
import pytest
from starlette.testclient import TestClient

from channels.web import revoked
from channels.web.app import create_app
from channels.web.revoked import PostgresRevokedSessions
from retrieval import builds, querylog, readiness
from retrieval.answer import Answer
from retrieval.assistant import Assistant
from retrieval.database import MIGRATIONS, Database
from retrieval.errors import QueryLogError
from retrieval.pglog import PostgresLogStorage
from retrieval.querylog import QueryLog

from .conftest import ROOT
from .web.conftest import ADMIN_TOKEN, STAFF_TOKEN
from .workspace import CIVIL_CODE, FORTY_FIVE, QUESTION, THIRTY

SERVE_WITHIN = 2.0  # seconds: every machine serves a new accepted build within this


def bot(env, *args):
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)


def test_migrate_creates_the_schema_once_and_a_second_run_changes_nothing(database_url, tmp_path):
    env = dict(os.environ, MINZHENG_DATABASE_URL=database_url, MINZHENG_LOG_PATH=str(tmp_path / "log.db"))
    first = bot(env, "migrate")
    second = bot(env, "migrate")
    assert (first.returncode, first.stdout) == (0, f"PostgreSQL 数据库结构版本 {len(MIGRATIONS)} (由 0 升级)\n")
    assert (second.returncode, second.stdout) == (0, f"PostgreSQL 数据库结构版本 {len(MIGRATIONS)} (已是最新)\n")
    with psycopg.connect(database_url) as conn:
        assert [r[0] for r in conn.execute("select version from schema_version order by version")] == [1, 2, 3, 4]
        tables = {r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'public'")}
    assert tables == {"schema_version", "queries", "feedback", "dropped", "builds", "revoked_sessions", "deletions"}
    assert not (tmp_path / "log.db").exists()  # nothing of the log went to SQLite


def test_migrate_names_an_unreachable_server_without_its_password(tmp_path):
    url = f"postgresql://minzheng:s3cret-pw@/nowhere?host={tmp_path}"  # no server on that socket
    result = bot(dict(os.environ, MINZHENG_DATABASE_URL=url), "migrate")
    assert result.returncode == 5
    assert result.stderr.splitlines()[-1].startswith(f"无法迁移 PostgreSQL postgresql://minzheng:***@/nowhere?host={tmp_path}: ")
    assert "s3cret-pw" not in result.stderr + result.stdout


# -- two machines, one PostgreSQL: reload and rollback reach both -----------------------------
def machine(ws, database_url, name, tmp_path):
    """An Assistant with its own var/ (store, builds, log) on the shared knowledge tree."""
    var = tmp_path / name / "var"
    var.mkdir(parents=True)
    for cache in ws.settings.store_path.parent.glob("jieba*"):  # caches of jieba's dictionary, not a build
        shutil.copy(cache, var / cache.name)
    return Assistant(replace(ws.settings, store_path=var / "store.db", log_path=var / "log.db", database_url=database_url))


def served_text(assistant):
    return assistant.ask(QUESTION, channel="test").answer.sources[0].passage["text"]


def wait_for(assistant, build_id, limit):
    """Seconds until `assistant` serves `build_id` (asking nothing meanwhile); fails past `limit`."""
    started = time.monotonic()
    while assistant._served.build_id != build_id:
        assert time.monotonic() - started < limit, f"still serving {assistant._served.build_id}"
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_reload_on_one_machine_is_served_by_the_other_within_two_seconds_and_so_is_a_rollback(ws, database_url, tmp_path):
    first = Assistant(replace(ws.settings, database_url=database_url))
    second = machine(ws, database_url, "second", tmp_path)
    try:
        assert THIRTY in served_text(first)  # the first start: its build becomes the shared one
        ws.edit(CIVIL_CODE, THIRTY, FORTY_FIVE)  # an edit nobody reloaded yet
        assert THIRTY in served_text(second)  # a machine that starts serves the accepted build, not the tree
        assert [builds.build_id(builds.store.read_metadata(p)) for p in builds.entries(second.settings.store_path)] == [first._served.build_id]
        original = first._served.build_id

        first.reload(force=True)
        took = wait_for(second, first._served.build_id, SERVE_WITHIN)
        assert FORTY_FIVE in served_text(second) and took < SERVE_WITHIN

        first.rollback()
        assert first._served.build_id == original
        took = wait_for(second, original, SERVE_WITHIN)
        assert THIRTY in served_text(second) and took < SERVE_WITHIN
        with psycopg.connect(database_url) as conn:
            history = conn.execute("select id, withdrawn_at is not null from builds order by id").fetchall()
        assert history == [(1, False), (2, True)]  # the rolled-back build stays in the history, withdrawn
    finally:
        first.close()
        second.close()


# -- faults: the server stops and comes back under a stream of questions ----------------------
def test_questions_keep_being_answered_while_postgres_restarts_and_every_row_is_written_after(postgres, database_url, settings, tmp_path):
    assistant = Assistant(replace(settings, log_path=tmp_path / "log.db", database_url=database_url))
    questions = ["低保怎么申请", "结婚登记要带什么材料", "离婚冷静期多久", "特困人员有哪些待遇"]
    asked, slowest = 0, 0.0
    try:
        assistant.warm_up()  # as `serve` does: the writer reserves its query ids meanwhile

        def ask(n):
            nonlocal asked, slowest
            started = time.monotonic()
            reply = assistant.ask(questions[n % len(questions)], channel="test", user=f"u{n % 3}")
            slowest = max(slowest, time.monotonic() - started)
            assert reply.answer.text and reply.answer.sources  # a cited answer, whatever the log does
            asked += 1

        for n in range(20):
            ask(n)
        postgres.stop()
        try:
            for n in range(20, 60):
                ask(n)
            with pytest.raises(QueryLogError):
                assistant.log.counts()  # the log is truly unreachable meanwhile
        finally:
            postgres.start()
        for n in range(60, 80):
            ask(n)
        written_by = time.monotonic() + 30  # the pool reconnects with a backoff; the writer keeps retrying
        while not assistant.log.flush(5):
            assert time.monotonic() < written_by, "the queued rows were not written after the restart"
        assert asked == 80 and slowest < 1.0
        assert assistant.log.counts()["queries"] == 80 and assistant.log.dropped() == 0
    finally:
        assistant.close()


def test_a_queue_that_overflows_while_postgres_is_down_counts_what_it_dropped(postgres, database_url, tmp_path, monkeypatch):
    monkeypatch.setattr(querylog, "QUEUE_LIMIT", 5)
    database = Database(database_url, timeout=0.5)
    log = QueryLog(tmp_path / "log.db", "k", storage=PostgresLogStorage(database, lambda: querylog.BUSY_TIMEOUT))
    try:
        log.record("cli", None, "开始", Answer(question="q", text="t", kind="answer"), 1.0)
        assert log.flush()
        postgres.stop()
        try:
            outcomes = []
            for n in range(8):
                try:
                    outcomes.append(log.record("cli", None, f"问题{n}", Answer(question="q", text="t", kind="answer"), 1.0))
                except QueryLogError as exc:
                    outcomes.append(exc.reason)
        finally:
            postgres.start()
        assert outcomes[:5] == [2, 3, 4, 5, 6]  # ids reserved before the outage
        assert outcomes[5:] == ["5 questions are waiting for the log; this one is not logged"] * 3
        written_by = time.monotonic() + 30
        while not log.flush(5):
            assert time.monotonic() < written_by, "the queued rows were not written after the restart"
        assert log.counts() == {"queries": 6, "declined": 0, "feedback_up": 0, "feedback_down": 0, "dropped": 3}
        with psycopg.connect(database_url) as conn:
            assert conn.execute("select sum(questions) from dropped").fetchone() == (3,)  # kept: every worker's report sees it
    finally:
        log.close()
        database.close()


# -- a user's deletion reaches the rows another machine still holds in its queue ---------------
def two_machines(database_url, tmp_path):
    """Two query logs on one PostgreSQL, each with its own var/ (log.pending) and pool, the same key."""
    logs = []
    for name in ("a", "b"):
        storage = PostgresLogStorage(Database(database_url, timeout=0.5), lambda: querylog.BUSY_TIMEOUT)
        logs.append(QueryLog(tmp_path / name / "var" / "log.db", "the-same-key-on-every-machine", storage=storage))
    for log in logs:
        log.warm_masker()  # as `serve` does: ids reserved before the first question
        assert log.flush()
        # the reservation is the writer's, in the background: wait for it, so that holding the
        # writer (the tests below) never meets a log with no id in hand on a busy machine
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with log._cond:
                if log._ids_left() > 0:
                    break
            time.sleep(0.01)
    return logs


def ask(log, user, text):
    return log.record("wechat", user, text, Answer(question="q", text="t", kind="answer"), 1.0)


def rows(database_url):
    with psycopg.connect(database_url) as conn:
        return conn.execute("select user_hash, question from queries order by id").fetchall()


def close(*logs):
    for log in logs:
        log.close()
        log._storage.database_.close()


def test_a_deletion_through_one_machine_drops_the_rows_another_machine_still_had_queued(database_url, tmp_path):
    a, b = two_machines(database_url, tmp_path)
    gone, stays = a.user_hash("wechat", "oGone"), a.user_hash("wechat", "oStays")
    try:
        with a._lock:  # A's writer is held: its rows wait in its queue
            for n in range(3):
                ask(a, "oGone", f"要删的问题{n}")
                ask(a, "oStays", f"别人的问题{n}")
            assert b.forget("wechat", "oGone") == 0  # nothing of oGone was written yet
            ask(a, "oGone", "删除之后又问")  # after the request: kept
        assert a.flush()
        assert rows(database_url) == [(stays, "别人的问题0"), (stays, "别人的问题1"), (stays, "别人的问题2"), (gone, "删除之后又问")]
        with psycopg.connect(database_url) as conn:
            assert [r[0] for r in conn.execute("select user_hash from deletions")] == [gone]
    finally:
        close(a, b)


def test_a_deletion_asked_while_postgres_is_down_waits_in_log_pending_then_still_drops_the_other_machines_rows(postgres, database_url, tmp_path):
    a, b = two_machines(database_url, tmp_path)
    gone, stays = a.user_hash("wechat", "oGone"), a.user_hash("wechat", "oStays")
    try:
        with a._lock:
            for n in range(3):
                ask(a, "oGone", f"要删的问题{n}")
                ask(a, "oStays", f"别人的问题{n}")
            postgres.stop()
            try:
                asked_at = time.time()
                assert b.forget("wechat", "oGone") is None  # deferred: the server is down
                assert b.pending_deletions() == [gone]
            finally:
                postgres.start()
            written_by = time.monotonic() + 30  # the pool reconnects with a backoff
            while not b.flush(5):
                assert time.monotonic() < written_by, "the pending deletion was not moved to PostgreSQL"
            assert b.pending_deletions() == []
            with psycopg.connect(database_url) as conn:
                ((user_hash, requested_at),) = conn.execute("select user_hash, requested_at from deletions").fetchall()
            assert user_hash == gone and asked_at <= requested_at < asked_at + 2  # when it was asked, not when it was moved
        while not a.flush(5):
            assert time.monotonic() < written_by, "A's queue was not written after the restart"
        assert rows(database_url) == [(stays, "别人的问题0"), (stays, "别人的问题1"), (stays, "别人的问题2")]
    finally:
        close(a, b)


# -- logouts: a copied cookie ends on every machine -------------------------------------------
def web_machine(settings, database_url, folder, **changes):
    """An Assistant and its app's client as one machine sees them: its own log, its own session
    revocation folder (nothing shared but PostgreSQL)."""
    own = replace(
        settings, log_path=folder / "log.db", session_revocation_dir=folder, database_url=database_url,
        admin_token=ADMIN_TOKEN, staff_token=STAFF_TOKEN, **changes,
    )
    assistant = Assistant(own)
    return assistant, TestClient(create_app(assistant, own), base_url="http://testserver")


def signed_in(client, area="admin"):
    token = ADMIN_TOKEN if area == "admin" else STAFF_TOKEN
    response = client.post(f"/{area}/login", data={"token": token}, follow_redirects=False)
    assert response.status_code == 303
    return client.cookies[f"mz_{'admin' if area == 'admin' else 'staff'}"]


def page(client, cookie, area="admin"):
    """The status of GET /admin or /lookup with this cookie (200 signed in, 401 the login page)."""
    client.cookies.clear()
    return client.get(f"/{area}", cookies={f"mz_{'admin' if area == 'admin' else 'staff'}": cookie}).status_code


def logout(client, cookie, area="admin"):
    client.cookies.clear()
    return client.post(f"/{area}/logout", cookies={f"mz_{'admin' if area == 'admin' else 'staff'}": cookie}, follow_redirects=False).status_code


def refused_within(client, cookie, limit, area="admin"):
    """Seconds until `client` refuses `cookie`; fails past `limit`."""
    started = time.monotonic()
    while page(client, cookie, area) != 401:
        assert time.monotonic() - started < limit, "the copied cookie still opens the page"
        time.sleep(0.05)
    return time.monotonic() - started


def test_an_admin_logout_on_one_machine_ends_the_copied_cookie_on_the_other_within_two_seconds(settings, database_url, tmp_path):
    a, client_a = web_machine(settings, database_url, tmp_path / "a")
    b, client_b = web_machine(settings, database_url, tmp_path / "b")
    try:
        with client_a, client_b:
            cookie = signed_in(client_a)
            other = signed_in(client_a)  # a second session: not ended by the first one's logout
            assert (page(client_a, cookie), page(client_b, cookie)) == (200, 200)
            assert logout(client_a, cookie) == 303
            assert page(client_a, cookie) == 401  # at once where it was logged out
            assert refused_within(client_b, cookie, 2.0) < 2.0
            assert (page(client_a, other), page(client_b, other)) == (200, 200)
        assert not list((tmp_path / "a").glob("revoked-*.txt"))  # recorded in PostgreSQL, not in a file
        with psycopg.connect(database_url) as conn:
            assert conn.execute("select realm, count(*) from revoked_sessions group by realm").fetchall() == [("admin", 1)]
    finally:
        a.close()
        b.close()


def test_a_logout_while_postgres_is_down_holds_at_once_here_and_is_written_when_it_is_back(postgres, settings, database_url, tmp_path, caplog):
    # /lookup, whose page reads no query log: /admin's counts need the server too
    a, client_a = web_machine(settings, database_url, tmp_path / "a", database_timeout=0.5)
    b, client_b = web_machine(settings, database_url, tmp_path / "b", database_timeout=0.5)
    try:
        with client_a, client_b:
            cookie = signed_in(client_a, "lookup")
            assert page(client_b, cookie, "lookup") == 200
            postgres.stop()
            try:
                assert logout(client_a, cookie, "lookup") == 303  # no 500: the browser is signed out all the same
                assert page(client_a, cookie, "lookup") == 401  # and the copy ends here at once
                assert page(client_b, cookie, "lookup") == 200  # B cannot know yet; it answers all the same
                assert "the staff logout could not be recorded in PostgreSQL" in caplog.text
            finally:
                postgres.start()
            # Nothing more is asked of A: its retry writes the logout once the server answers.
            took = refused_within(client_b, cookie, 30.0, "lookup")
        with psycopg.connect(database_url) as conn:
            assert conn.execute("select realm, count(*) from revoked_sessions group by realm").fetchall() == [("staff", 1)]
        assert took < 30.0
    finally:
        a.close()
        b.close()


def test_logouts_past_the_realms_max_age_are_purged_from_postgres(database_url):
    now = [1_800_000_000.0]
    database = Database(database_url)
    try:
        sessions = PostgresRevokedSessions(database, "staff", max_age=12 * 3600, clock=lambda: now[0])
        sessions.revoke("old-cookie", issued=now[0] - 100)
        assert sessions.is_revoked("old-cookie")
        now[0] += 12 * 3600  # the old cookie is now past its max_age: it has expired anyway
        sessions.revoke("new-cookie", issued=now[0] - 10)
        with psycopg.connect(database_url) as conn:
            assert conn.execute("select realm, issued from revoked_sessions").fetchall() == [("staff", int(now[0] - 10))]
        assert revoked.revocations(None, database)("staff", 60).realm == "staff"
    finally:
        database.close()


# -- /readyz ----------------------------------------------------------------------------------
def test_readyz_is_200_when_ready_and_503_naming_what_is_not(settings, database_url, tmp_path):
    ready = Assistant(replace(settings, log_path=tmp_path / "a" / "log.db", database_url=database_url))
    down = Assistant(replace(settings, log_path=tmp_path / "b" / "log.db", database_url=f"postgresql://postgres@/gone?host={tmp_path}", database_timeout=0.5))
    try:
        ready.warm_up()
        with TestClient(create_app(ready, ready.settings)) as client:
            response = client.get("/readyz")
            assert (response.status_code, response.json()) == (200, {"ready": True, "checks": {"store": "ok", "postgresql": "ok"}})
            assert client.get("/healthz").json() == {"status": "ok"}
        with TestClient(create_app(down, down.settings)) as client:
            response = client.get("/readyz")  # the store loads without the server; the server is named
            body = response.json()
            assert response.status_code == 503 and body["ready"] is False and body["checks"]["store"] == "ok"
            assert body["checks"]["postgresql"].startswith(f"PostgreSQL postgresql://postgres@/gone?host={tmp_path}: ")
            assert client.get("/healthz").status_code == 200  # alive all the same
        unloaded = Assistant(replace(settings, log_path=tmp_path / "c" / "log.db"))
        assert readiness.run(readiness.checks(unloaded)) == (False, {"store": "the store is not loaded yet"})
    finally:
        ready.close()
        down.close()
