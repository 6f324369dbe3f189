"""Faults: a missing or damaged store, data files broken while serving, interrupted reloads,
a full disk, a corrupt or locked query log. Whatever breaks, citizens keep getting answers, the
live store is never replaced by a half-built one, and operators get a named error, not a traceback.

Each test works on its own copy of knowledge/ and faq/ and of one store built for the module
(real SQLite files in a temp folder); subprocesses run `bot.py` against that copy.
"""

import errno
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from argparse import Namespace
from dataclasses import replace
from io import StringIO
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from channels.cli import Cli
from channels.telegram import standalone
from channels.web.app import create_app
from retrieval import assistant as assistant_module
from retrieval import builds, logstore, querylog, store
from retrieval import reload as reloading
from retrieval.assistant import Assistant
from retrieval.errors import DataFileError, StoreWriteError
from retrieval.library import Library

from .conftest import ROOT
from .workspace import ARTICLE, CIVIL_CODE, FORTY_FIVE, QUESTION, THIRTY, drop_faq_entries_citing, workspace_settings

DOCS = "knowledge/documents"
FUNERAL = "殡葬管理条例(2025-12-12)"
VAGRANT = "城市生活无着的流浪乞讨人员救助管理办法(2003-06-20)"
NO_SPACE = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
SQLITE_FULL = sqlite3.OperationalError("database or disk is full")


def run_bot(ws, *args, timeout=120):
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), *args], capture_output=True, text=True, env=ws.env(), timeout=timeout, cwd=ROOT
    )


def ask_json(ws):
    """`bot.py ask --json QUESTION`: (exit status, the answer as a dict or None, stderr)."""
    import json

    result = run_bot(ws, "ask", "--json", QUESTION)
    payload = json.loads(result.stdout) if result.returncode == 0 else None
    return result.returncode, payload, result.stderr


def var_files(ws):
    """The files in var/ but jieba's caches and the reload lock file (it stays, unlocked)."""
    return sorted(p.name for p in ws.settings.store_path.parent.iterdir() if not p.name.startswith("jieba") and p.name != "store.db.lock")


def dead_pid():
    """The id of a process that has exited (for files 'left by a crashed process')."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def answer_text(assistant, question=QUESTION):
    return assistant.ask(question, channel="test").answer.text


# -- the store at start ----------------------------------------------------------------------
def _drop_table(name):
    def damage(path):
        with sqlite3.connect(path) as db:
            db.execute(f"drop table {name}")
    return damage


def _set_schema(path):
    with sqlite3.connect(path) as db:
        db.execute("update build set value = '2' where key = 'schema_version'")


def _damage_index(path):
    # Valid SQLite, right schema, but the saved index points past the last passage.
    with sqlite3.connect(path) as db:
        where = "where field = 'words' and part = 'indices' and seq = 0"
        (indices,) = db.execute(f"select bytes from index_chunks {where}").fetchone()
        db.execute(f"update index_chunks set bytes = ? {where}", (b"\xff\xff\xff\x7f" + indices[4:],))


def _half_written_temp(path):
    # A build killed while writing its temporary file beside the store.
    (path.parent / f".{path.name}.{dead_pid()}.tmp").write_bytes(path.read_bytes()[:50_000])


def _crash_leftovers(path):
    (path.parent / f".{path.name}.next").write_bytes(path.read_bytes()[:3000])
    (path.parent / f"..{path.name}.next.{dead_pid()}.tmp").write_bytes(os.urandom(4096))
    (path.parent / f"{path.name}.prev").write_bytes(os.urandom(4096))
    (path.parent / f"{path.name}.lock").write_bytes(b"")
    (path.parent / f"{path.name}.pin").write_text("not-a-hash\n", encoding="utf-8")


STORE_FAULTS = {
    "deleted": lambda path: path.unlink(),
    "empty": lambda path: path.write_bytes(b""),
    "random-bytes": lambda path: path.write_bytes(os.urandom(path.stat().st_size)),
    "truncated": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "passages-dropped": _drop_table("passages"),
    "indexes-dropped": _drop_table("indexes"),
    "build-dropped": _drop_table("build"),
    "old-schema": _set_schema,
    "damaged-index": _damage_index,
    "half-written-temp": _half_written_temp,
    "crash-leftovers": _crash_leftovers,
}


@pytest.fixture(scope="module")
def healthy_answer(base, tmp_path_factory):
    settings = replace(workspace_settings(base), log_path=tmp_path_factory.mktemp("healthy") / "log.db")
    return Assistant(settings).ask(QUESTION).answer.as_json()


@pytest.mark.parametrize("fault", STORE_FAULTS)
def test_a_missing_or_damaged_store_is_rebuilt_at_start(ws, fault, healthy_answer):
    path = ws.settings.store_path
    STORE_FAULTS[fault](path)
    damaged = reloading.signature(path)
    status, payload, stderr = ask_json(ws)
    assert (status, stderr.count("Traceback")) == (0, 0), stderr
    assert payload == healthy_answer
    assert THIRTY in payload["answer"] and payload["sources"][0]["id"] == ARTICLE
    # The rebuilt store is complete and current; temp files of dead processes are gone.
    assert Library(ws.settings).is_current()
    assert store.read_metadata(path)["schema_version"] == store.SCHEMA_VERSION
    assert not [name for name in var_files(ws) if name.endswith(".tmp")]
    rebuilt = reloading.signature(path) != damaged
    assert rebuilt == (fault not in ("half-written-temp", "crash-leftovers"))  # a sound store is kept


@pytest.mark.parametrize("fault", ["random-bytes", "indexes-dropped", "damaged-index", "crash-leftovers"])
def test_the_services_assistant_rebuilds_a_damaged_store_when_it_warms_up(ws, fault, healthy_answer):
    STORE_FAULTS[fault](ws.settings.store_path)
    assistant = Assistant(ws.settings)  # what `bot.py serve` and `bot.py telegram` do before listening
    assistant.warm_up()
    assert assistant.ask(QUESTION).answer.as_json() == healthy_answer


def test_a_store_that_cannot_be_rebuilt_is_a_clear_error_with_exit_2(ws):
    path = ws.settings.store_path
    path.unlink()
    path.mkdir()  # something in the way: the build cannot write there
    for args in (("ask", "--json", QUESTION), ("serve", "--port", "9")):
        result = run_bot(ws, *args)
        assert (result.returncode, result.stdout) == (2, ""), result.stderr
        assert result.stderr == f"错误: cannot write the store {path}: Is a directory\n"


def test_the_telegram_channel_refuses_to_start_on_an_unwritable_store_with_exit_2(ws):
    path = ws.settings.store_path
    path.unlink()
    path.mkdir()
    err = StringIO()
    assert standalone.main(replace(ws.settings, telegram_bot_token="123:abc"), err=err) == 2
    assert err.getvalue().endswith(f"错误: cannot write the store {path}: Is a directory\n")


def test_a_full_disk_at_the_first_build_is_a_named_error_and_exit_2(ws, monkeypatch):
    ws.settings.store_path.unlink()
    shutil.rmtree(builds.folder(ws.settings.store_path))  # no accepted build yet: the first start builds

    def full(*args, **kwargs):
        raise SQLITE_FULL

    monkeypatch.setattr(store, "_write_indexes", full)
    with pytest.raises(StoreWriteError) as info:
        Assistant(ws.settings).warm_up()
    assert info.value.reason == "database or disk is full"
    assert not ws.settings.store_path.exists() and not [n for n in var_files(ws) if n.endswith(".tmp")]
    out, err = StringIO(), StringIO()
    assert Cli(ws.settings, out=out, err=err).run("ask", Namespace(question=[QUESTION], json=True)) == 2
    assert (out.getvalue(), err.getvalue()) == ("", f"错误: cannot write the store {ws.settings.store_path}: database or disk is full\n")


# -- data files broken while serving ---------------------------------------------------------
def _cut(relative, data):
    def fault(root):
        (root / relative).write_bytes(data(root / relative))
    return fault


FILE_FAULTS = {
    # fault: (what is done, the file the error names, its line)
    "md-deleted": (lambda r: (r / DOCS / f"{FUNERAL}.md").unlink(), f"{DOCS}/{FUNERAL}.toml", None),
    "md-truncated-to-0": (_cut(f"{DOCS}/{FUNERAL}.md", lambda p: b""), f"{DOCS}/{FUNERAL}.md", None),
    "md-cut-mid-character": (_cut(f"{DOCS}/{FUNERAL}.md", lambda p: p.read_bytes()[:1001]), f"{DOCS}/{FUNERAL}.md", 25),
    "md-invalid-utf8": (_cut(f"{DOCS}/{FUNERAL}.md", lambda p: p.read_bytes().replace("火化".encode(), b"\xff\xfe", 1)), f"{DOCS}/{FUNERAL}.md", None),
    "toml-deleted": (lambda r: (r / DOCS / f"{FUNERAL}.toml").unlink(), f"{DOCS}/{FUNERAL}.md", None),
    "faq-topics-deleted": (lambda r: (r / "faq/topics.toml").unlink(), "faq/topics.toml", None),
    "faq-privacy-truncated-to-0": (_cut("faq/privacy.toml", lambda p: b""), "faq/privacy.toml", None),
    "faq-entries-truncated-to-0": (_cut("faq/entries/marriage.toml", lambda p: b""), "faq/entries/marriage.toml", None),
    "synonyms-invalid-utf8": (_cut("faq/synonyms.txt", lambda p: b"\xff" + p.read_bytes()), "faq/synonyms.txt", 1),
}


def _utf8_error_line(root):
    raw = (root / DOCS / f"{FUNERAL}.md").read_bytes()
    return raw[: raw.index(b"\xff\xfe")].count(b"\n") + 1


@pytest.mark.parametrize("fault", FILE_FAULTS)
def test_a_data_file_broken_while_serving_fails_the_reload_and_the_old_build_keeps_answering(ws, fault, monkeypatch):
    monkeypatch.setattr(assistant_module, "FOLLOW_INTERVAL", 0.0)  # the store check runs at every question
    assistant = Assistant(ws.settings)
    assistant.warm_up()
    questions = (QUESTION, "火化证明怎么开", "领证需要带哪些材料")
    before = [answer_text(assistant, q) for q in questions]
    signature = reloading.signature(ws.settings.store_path)
    damage, relative, line = FILE_FAULTS[fault]
    damage(ws.root)
    assert [answer_text(assistant, q) for q in questions] == before
    with pytest.raises(DataFileError) as info:
        assistant.reload()
    if fault == "md-invalid-utf8":
        line = _utf8_error_line(ws.root)
    assert (info.value.path, info.value.line) == (str(ws.root / relative), line)
    assert [answer_text(assistant, q) for q in questions] == before
    assert reloading.signature(ws.settings.store_path) == signature
    assert var_files(ws) == ["keys", "log.db", "log.db-shm", "log.db-wal", "store.db", "store.db.builds"]
    assert run_bot(ws, "reload").returncode == 2


def test_a_document_removed_with_both_files_is_reported_as_removed(ws):
    assistant = Assistant(ws.settings)
    for suffix in (".md", ".toml"):
        (ws.root / DOCS / f"{VAGRANT}{suffix}").unlink()
    drop_faq_entries_citing(ws, ("vagrant-relief-2003#",))
    report = assistant.reload()
    assert report.diff["documents"].removed == ("vagrant-relief-2003",)
    assert report.diff["documents"].added == report.diff["documents"].changed == ()
    assert report.diff["passages"].removed and all(p.startswith("vagrant-relief-2003:") for p in report.diff["passages"].removed)
    assert "vagrant-rescue-services" in report.diff["faq"].removed
    assert all(h.document["id"] != "vagrant-relief-2003" for h in assistant.search("流浪乞讨人员救助", k=10).hits)


def test_the_store_check_keeps_serving_when_the_new_store_cannot_be_loaded(ws, monkeypatch, caplog):
    """Another process installs a store; then faq/ breaks, or the file is damaged: no question fails."""
    monkeypatch.setattr(assistant_module, "FOLLOW_INTERVAL", 0.0)
    service = Assistant(ws.settings)
    service.warm_up()
    before = answer_text(service)
    ws.edit(CIVIL_CODE, THIRTY, FORTY_FIVE)
    assert run_bot(ws, "reload").returncode == 0
    (ws.root / "faq" / "topics.toml").unlink()  # read by the new build's answerer, lazily
    with caplog.at_level(logging.WARNING, logger="retrieval.assistant"):
        for _ in range(3):
            assert answer_text(service) == before
    warnings = [r for r in caplog.records if "could not be loaded" in r.getMessage()]
    assert len(warnings) == 1 and "topics.toml" in warnings[0].getMessage()
    # The store file replaced by garbage, then removed: still the build in memory.
    path = ws.settings.store_path
    path.write_bytes(os.urandom(100_000))
    assert answer_text(service) == before
    path.unlink()
    assert answer_text(service) == before


# -- interrupted reloads ---------------------------------------------------------------------
@pytest.mark.parametrize("interruption", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_reload_interrupted_midway_leaves_the_old_build_and_no_trace(ws, monkeypatch, interruption):
    assistant = Assistant(ws.settings)
    before = answer_text(assistant)
    signature = reloading.signature(ws.settings.store_path)
    files = var_files(ws)
    ws.edit(CIVIL_CODE, THIRTY, FORTY_FIVE)
    written = []
    real = store._write_indexes

    def interrupted(conn, indexes, chunk_bytes):  # documents, passages and tokens are already in the staging file
        written.append(conn.execute("select count(*) from passages").fetchone()[0])
        raise interruption

    monkeypatch.setattr(store, "_write_indexes", interrupted)
    with pytest.raises(type(interruption)):
        assistant.reload()
    assert written and written[0] > 700
    assert answer_text(assistant) == before
    assert reloading.signature(ws.settings.store_path) == signature
    assert var_files(ws) == files
    monkeypatch.setattr(store, "_write_indexes", real)
    result = run_bot(ws, "reload", timeout=60)  # the lock is free for another process
    assert result.returncode == 0, result.stderr
    assert FORTY_FIVE in assistant.ask(QUESTION).answer.sources[0].passage["text"]


KILLED_RELOAD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from retrieval import store
    def stall(conn, indexes, chunk_bytes):
        open({marker!r}, "w").close()
        time.sleep(600)
    store._write_indexes = stall
    import bot
    bot.main(["reload"])
    """
)


def test_a_reload_killed_with_sigkill_leaves_the_old_build_serving_and_the_lock_free(ws, monkeypatch):
    monkeypatch.setattr(assistant_module, "FOLLOW_INTERVAL", 0.0)
    service = Assistant(ws.settings)
    service.warm_up()
    before = answer_text(service)
    signature = reloading.signature(ws.settings.store_path)
    ws.edit(CIVIL_CODE, THIRTY, FORTY_FIVE)
    marker = ws.root / "stalled"
    script = KILLED_RELOAD.format(root=str(ROOT), marker=str(marker))
    child = subprocess.Popen([sys.executable, "-c", script], env=ws.env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None and time.monotonic() < deadline, "the reload never reached the staging build"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    var = ws.settings.store_path.parent
    leftovers = {".store.db.next", f"..store.db.next.{child.pid}.tmp"}
    assert leftovers <= set(var_files(ws))  # what the killed reload left behind
    assert reloading.signature(ws.settings.store_path) == signature
    assert answer_text(service) == before  # the half-built staging store is never loaded
    started = time.monotonic()
    report = service.reload()  # the lock died with the process
    assert time.monotonic() - started < 30
    assert report.diff["passages"].changed == (ARTICLE,)
    assert FORTY_FIVE in service.ask(QUESTION).answer.sources[0].passage["text"]
    assert not leftovers & {p.name for p in var.iterdir()}


# -- out of disk ---------------------------------------------------------------------------
def _fail_on(monkeypatch, name, target_name):
    """Make os.<name> raise ENOSPC when its destination is the file called target_name (prefix)."""
    real = getattr(os, name)

    def failing(src, dst, *args, **kwargs):
        if Path(dst).name.startswith(target_name):
            raise NO_SPACE
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, name, failing)


DISK_FULL = {
    "sqlite-staging-write": lambda mp: mp.setattr(store, "_write_indexes", lambda *a: (_ for _ in ()).throw(SQLITE_FULL)),
    "staging-link": lambda mp: _fail_on(mp, "link", ".store.db.next"),
    "staging-rename": lambda mp: _fail_on(mp, "replace", ".store.db.next"),
    "accepted-link": lambda mp: _fail_on(mp, "link", "build-"),
    "swap-rename": lambda mp: _fail_on(mp, "replace", "store.db"),
}


@pytest.mark.parametrize("where", DISK_FULL)
def test_a_full_disk_during_reload_is_a_named_error_and_the_live_store_keeps_serving(ws, monkeypatch, where):
    assistant = Assistant(ws.settings)
    before = answer_text(assistant)
    signature = reloading.signature(ws.settings.store_path)
    files = var_files(ws)
    ws.edit(CIVIL_CODE, THIRTY, FORTY_FIVE)
    DISK_FULL[where](monkeypatch)
    with pytest.raises(StoreWriteError) as info:
        assistant.reload()
    assert info.value.reason in ("No space left on device", "database or disk is full")
    assert answer_text(assistant) == before
    assert reloading.signature(ws.settings.store_path) == signature
    assert [n for n in var_files(ws) if n not in files] == []
    assert len(builds.entries(ws.settings.store_path)) == 1  # nothing was accepted
    err = StringIO()
    cli = Cli(ws.settings, out=StringIO(), err=err)
    cli._assistant = assistant
    assert cli.run("reload", Namespace(force=False)) == 2
    assert err.getvalue() == f"错误: {info.value}\n"
    monkeypatch.undo()
    assistant.reload()
    assert FORTY_FIVE in assistant.ask(QUESTION).answer.sources[0].passage["text"]


# -- the query log ---------------------------------------------------------------------------
def _log_failures(caplog):
    return [r for r in caplog.records if r.name == "retrieval.assistant" and "query log failed" in r.getMessage()]


def test_a_corrupt_query_log_never_costs_the_citizen_the_answer(ws, caplog):
    healthy = Assistant(ws.settings)
    expected = healthy.ask(QUESTION).answer.as_json()
    healthy.log.close()
    for name in ("log.db-wal", "log.db-shm"):
        (ws.settings.log_path.parent / name).unlink(missing_ok=True)
    ws.settings.log_path.write_bytes(os.urandom(65536))
    assistant = Assistant(ws.settings)
    with caplog.at_level(logging.ERROR, logger="retrieval.assistant"):
        replies = [assistant.ask(QUESTION, channel="web", user="u1") for _ in range(3)]
        assert assistant.feedback(replies[0].query_id, 1) is False
    assert all(r.answer.as_json() == expected and r.query_id is None for r in replies)
    failures = _log_failures(caplog)
    assert len(failures) == 1  # reported once, not once per question
    assert f"query log {ws.settings.log_path}: file is not a database" in failures[0].getMessage()


def test_the_web_chat_answers_with_a_corrupt_query_log(ws):
    ws.settings.log_path.parent.mkdir(parents=True, exist_ok=True)
    ws.settings.log_path.write_bytes(b"\0" * 8192)
    assistant = Assistant(ws.settings)
    with TestClient(create_app(assistant, ws.settings), base_url="http://testserver") as client:
        client.get("/chat")
        response = client.post("/chat/api/ask", json={"question": QUESTION})
    assert response.status_code == 200
    payload = response.json()
    assert (payload["kind"], payload["query_id"]) == ("answer", None)
    assert THIRTY in payload["text"]


LOCKER = textwrap.dedent(
    """
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("begin exclusive")
    print("locked", flush=True)
    time.sleep(600)
    """
)


def test_a_query_log_locked_by_another_process_never_delays_the_answer_and_catches_up(ws, caplog):
    assistant = Assistant(ws.settings)
    first = assistant.ask(QUESTION).query_id
    assert assistant.log.flush() and first == 1  # the log exists, in WAL mode
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(ws.settings.log_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout.readline() == "locked\n"
        started = time.monotonic()
        with caplog.at_level(logging.WARNING):
            replies = [assistant.ask(QUESTION, channel="telegram", user=42) for _ in range(3)]
            waited = time.monotonic() - started
            time.sleep(querylog.BUSY_TIMEOUT + 0.5)  # the writer meets the lock
    finally:
        locker.kill()
        locker.wait(timeout=10)
    assert all(THIRTY in r.answer.text for r in replies)
    assert [r.query_id for r in replies] == [2, 3, 4]  # ids reserved beforehand: feedback stays possible
    assert waited < 1.0  # three answers, no wait for the lock (it used to be 2 s each)
    assert _log_failures(caplog) == []  # the citizen's path never saw the lock
    assert any("database is locked" in r.getMessage() for r in caplog.records if r.name == "retrieval.querylog")
    assert assistant.feedback(3, -1) is True  # waits for the writer to catch up once the lock is gone
    rows = list(assistant.log.db["queries"].rows)
    assert [r["id"] for r in rows] == [1, 2, 3, 4] and rows[3]["channel"] == "telegram"
    assert assistant.log.dropped() == 0


@pytest.mark.parametrize("where", ["insert", "key-file"])
def test_a_full_disk_under_the_query_log_still_returns_the_answer(ws, monkeypatch, caplog, where):
    assistant = Assistant(ws.settings)
    expected = assistant.ask(QUESTION).answer.as_json()
    if where == "insert":
        def full(*args, **kwargs):
            raise SQLITE_FULL

        monkeypatch.setattr(logstore, "_insert_rows", full)  # the SQLite storage's insert (retrieval/logstore.py)
    else:
        assistant.log.close()
        assistant.log.key_path.unlink()
        assistant = Assistant(ws.settings)

        def full(*args, **kwargs):
            raise NO_SPACE

        monkeypatch.setattr(querylog.secrets, "token_hex", full)
    with caplog.at_level(logging.WARNING):
        reply = assistant.ask(QUESTION)
        assistant.log.flush(timeout=1.0)
    assert reply.answer.as_json() == expected
    if where == "insert":
        # Queued with an id reserved before the disk filled; the writer reports the failure, once.
        assert reply.query_id == 2 and _log_failures(caplog) == []
        writer = [r for r in caplog.records if r.name == "retrieval.querylog"]
        assert len(writer) == 1 and "database or disk is full" in writer[0].getMessage()
    else:
        assert reply.query_id is None and len(_log_failures(caplog)) == 1
        keys = ws.settings.log_path.parent / "keys"
        assert not [n.name for n in keys.iterdir() if n.name.startswith(".log.key")]  # no half-written key file
    monkeypatch.undo()
    assert assistant.log.flush()  # the writer tries again at once and catches up
    later = assistant.ask(QUESTION).query_id
    assert later is not None and assistant.feedback(later, 1) is True
    if where == "insert":
        assert [r["id"] for r in assistant.log.db["queries"].rows] == [1, 2, 3]  # the queued question caught up
