"""`bot.py serve --workers 3` on Redis, over HTTP on one port: a real child process on 127.0.0.1,
once with the SQLite query log and once with the PostgreSQL one (MINZHENG_DATABASE_URL).

Thirty deliveries of one WeChat MsgId get one answer and one log row; thirty questions from one
user get exactly the per-minute limit; a follow-up is read in context whichever worker takes
it; kill -9 of a worker under load leaves the others answering and every acknowledged row in
the log; Redis stopped, answers continue with per-process limits (GET /healthz says so) and
Redis restarted, the workers share again; PostgreSQL restarted under load, no answer fails and
every row is written after. One server per log backend (startup is the cost).
"""

import hashlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from retrieval.querylog import QueryLog

from .test_first_run import read_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = "workers-wechat-token"
LOG_KEY = "workers-test-log-key"
ACCOUNT = "gh_workers"
WORKERS = 3
LIMIT = 12  # MINZHENG_RATE_LIMIT_PER_MINUTE's default
RATE_LIMITED = "您的提问有点频繁"
FOLLOWED = "结合您上一个问题“在杭州怎么办理结婚登记”来理解"


class Served:
    def __init__(self, process, port, log_path, database_url=None):
        self.process, self.base, self.log_path = process, f"http://127.0.0.1:{port}", log_path
        self.database_url = database_url  # the PostgreSQL log's, or None: the SQLite file at log_path
        self._numbers = iter(range(10**6))
        self._lock = threading.Lock()

    def workers(self):
        """Process ids of the live worker processes (children of the supervisor)."""
        text = open(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read()
        return [int(p) for p in text.split() if _is_worker(int(p))]

    def push(self, openid, question, msg_id=None, client=None):
        """One signed plain-mode WeChat text push; (status, reply content or None for `success`)."""
        with self._lock:
            n = next(self._numbers)
        timestamp, nonce = str(int(time.time())), f"n{n}"
        signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
        body = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{question}]]></Content><MsgId>{msg_id or 7_000_000 + n}</MsgId></xml>"
        )
        params = {"signature": signature, "timestamp": timestamp, "nonce": nonce}
        r = (client or httpx).post(self.base + "/wechat", params=params, content=body.encode(), timeout=30)
        if r.text == "success":
            return r.status_code, None
        found = re.search(r"<Content><!\[CDATA\[(.*)\]\]></Content>", r.text, re.S)
        return r.status_code, found.group(1) if found else r.text

    def rows(self, openid):
        """Log rows of one WeChat user (the log's own keyed hash)."""
        user_hash = QueryLog(self.log_path, LOG_KEY).user_hash("wechat", openid)
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url, connect_timeout=5) as db:
                return db.execute("select count(*) from queries where user_hash = %s", [user_hash]).fetchone()[0]
        with sqlite3.connect(f"file:{self.log_path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("select count(*) from queries where user_hash = ?", [user_hash]).fetchone()[0]

    def health(self):
        return httpx.get(self.base + "/healthz", timeout=10).json()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, redis_server, assistant, web_settings, tmp_path_factory):
    folder = tmp_path_factory.mktemp("workers")
    database_url = request.getfixturevalue("postgres").new_database() if request.param == "postgresql" else None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINZHENG_", "WECHAT_", "TELEGRAM_"))}
    env.update(
        MINZHENG_STORE_PATH=str(web_settings.store_path),  # built once by the web fixtures
        MINZHENG_LOG_PATH=str(folder / "log.db"),
        MINZHENG_LOG_KEY=LOG_KEY,
        MINZHENG_LOG_WAIT_SECONDS="1",  # an answer is sent once its row is written
        MINZHENG_REDIS_URL=redis_server.url,
        MINZHENG_PORT=str(port),
        WECHAT_TOKEN=TOKEN,
    )
    if database_url:
        env["MINZHENG_DATABASE_URL"] = database_url  # the schema is created as the workers connect
    process = subprocess.Popen(
        [sys.executable, "bot.py", "serve", "--workers", str(WORKERS)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    server = Served(process, port, folder / "log.db", database_url)
    try:
        read_until(process, r"worker processes, shared state in Redis")
        deadline = time.time() + 120
        while len(server.workers()) < WORKERS or not _all_up(server):
            assert time.time() < deadline, "the workers did not start"
            time.sleep(0.3)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def _is_worker(pid):
    """A live spawned worker (not multiprocessing's resource tracker, not a zombie)."""
    try:
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return b"spawn_main" in cmdline and b"resource_tracker" not in cmdline and state != "Z"


def _all_up(server):
    try:
        return all(server.health() == {"status": "ok", "shared_state": "redis"} for _ in range(6))
    except httpx.TransportError:
        return False


@pytest.fixture()
def clean_redis(served, redis):
    """The session's redis-server, emptied once the workers are up (conftest's `redis`)."""
    return redis


def at_once(n, call):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_serve_with_workers_and_no_redis_refuses_to_start_and_says_why(web_settings):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINZHENG_", "WECHAT_", "TELEGRAM_"))}
    env["MINZHENG_STORE_PATH"] = str(web_settings.store_path)
    done = subprocess.run([sys.executable, "bot.py", "serve", "--workers", "3"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("错误: --workers 3 needs MINZHENG_REDIS_URL: without Redis each worker keeps its own rate limits (3 x 12 questions a minute per user)")


def test_thirty_deliveries_of_one_msgid_get_one_answer_and_one_log_row(served, clean_redis):
    replies = at_once(30, lambda i: served.push("oDup", "低保怎么申请", msg_id=5_550_001))
    assert {status for status, _ in replies} == {200}
    answers = {content for _, content in replies if content is not None}
    assert len(answers) == 1
    assert "第十一条" in answers.pop()  # 《社会救助暂行办法》's article on applying for 低保
    time.sleep(0.5)  # the writer thread's batch
    assert served.rows("oDup") == 1


def test_thirty_questions_from_one_user_get_exactly_the_per_minute_limit(served, clean_redis):
    replies = at_once(30, lambda i: served.push("oBurst", "低保怎么申请"))
    limited = [content for _, content in replies if content is not None and content.startswith(RATE_LIMITED)]
    assert len(limited) == 30 - LIMIT
    time.sleep(0.5)
    assert served.rows("oBurst") == LIMIT


def test_a_follow_up_is_read_in_context_whichever_worker_takes_it(served, clean_redis):
    users = [f"oFollow{n}" for n in range(9)]
    for user in users:  # each turn on a connection of its own: the kernel picks the worker
        assert served.push(user, "在杭州怎么办理结婚登记")[0] == 200
    follow_ups = [served.push(user, "那要带什么材料?")[1] for user in users]
    assert all(FOLLOWED in content for content in follow_ups), follow_ups


def test_kill_9_of_one_worker_under_load_leaves_the_others_answering_and_no_acknowledged_row_lost(served, clean_redis):
    victim = served.workers()[0]
    answered, failed, stop = [], [], threading.Event()

    def client(c):
        http = httpx.Client()
        for n in range(10**6):
            if stop.is_set():
                break
            user = f"oLoad{c}x{n}"
            try:
                status, content = served.push(user, "结婚登记需要什么材料", client=http)
            except httpx.TransportError:  # a connection the dead worker held
                failed.append((time.time(), user))
                http.close()
                http = httpx.Client()
                continue
            if status == 200 and content:
                answered.append((time.time(), user))
        http.close()

    with ThreadPoolExecutor(6) as pool:
        running = [pool.submit(client, c) for c in range(6)]
        time.sleep(1.5)
        killed_at = time.time()
        os.kill(victim, signal.SIGKILL)
        time.sleep(3.0)
        stop.set()
        for f in running:
            f.result()
    assert victim not in served.workers()
    before = [user for when, user in answered if when < killed_at]
    after = [user for when, user in answered if when > killed_at + 0.5]
    assert len(before) > 5 and len(after) > 10, (len(before), len(after))  # the others kept answering
    assert not [f for f in failed if f[0] > killed_at + 0.5]  # failures only on the dead worker's connections
    time.sleep(1.0)
    lost = [user for _, user in answered if served.rows(user) != 1]
    assert lost == []  # every question answered has its row, the dead worker's too (MINZHENG_LOG_WAIT_SECONDS)
    if served.database_url is None:
        with sqlite3.connect(f"file:{served.log_path}?mode=ro", uri=True) as db:
            assert db.execute("pragma integrity_check").fetchone() == ("ok",)


def test_postgres_restarted_under_load_fails_no_answer_and_every_row_is_written_after(served, clean_redis, request):
    if served.database_url is None:
        pytest.skip("the SQLite log has no server to restart")
    postgres = request.getfixturevalue("postgres")
    answered, failed, stop = [], [], threading.Event()

    def client(c):
        with httpx.Client() as http:
            for n in range(10**6):
                if stop.is_set():
                    break
                user = f"oPg{c}x{n}"
                status, content = served.push(user, "结婚登记需要什么材料", client=http)
                (answered if status == 200 and content and "第" in content else failed).append(user)

    with ThreadPoolExecutor(4) as pool:
        running = [pool.submit(client, c) for c in range(4)]
        time.sleep(1.0)
        postgres.stop()
        try:
            time.sleep(3.0)
        finally:
            postgres.start()
        time.sleep(1.5)
        stop.set()
        for f in running:
            f.result()
    assert failed == [] and len(answered) > 20, (failed, len(answered))  # cited answers while the log was away
    written_by = time.time() + 30  # each worker's pool reconnects with a backoff; its writer keeps retrying
    while [user for user in answered if served.rows(user) != 1]:
        assert time.time() < written_by, "rows queued while PostgreSQL was down were not written after it came back"
        time.sleep(0.5)


def test_redis_stopped_answers_continue_on_per_process_limits_and_redis_back_is_shared_again(served, clean_redis):
    clean_redis.stop()
    replies = [served.push(f"oOutage{n}", "低保怎么申请") for n in range(6)]
    assert all(status == 200 and content and "第十一条" in content for status, content in replies)
    assert [served.health() for _ in range(6)] == [{"status": "ok", "shared_state": "per-process", "redis": "unreachable"}] * 6
    clean_redis.start()
    time.sleep(1.2)  # sharedstate.RETRY_SECONDS
    assert [served.health() for _ in range(6)] == [{"status": "ok", "shared_state": "redis"}] * 6
    replies = at_once(20, lambda i: served.push("oBack", "低保怎么申请"))
    assert len([c for _, c in replies if c and c.startswith(RATE_LIMITED)]) == 20 - LIMIT  # one limit again


def test_workers_with_telegram_polling_are_refused_and_one_worker_needs_nothing(web_settings):
    from dataclasses import replace

    from channels.web.server import check_workers
    from retrieval.errors import SettingsError

    polling = replace(web_settings, redis_url="unix:///run/redis.sock", telegram_bot_token="123:abc", telegram_webhook_url="")
    with pytest.raises(SettingsError, match=r"^--workers 2 with TELEGRAM_BOT_TOKEN needs TELEGRAM_WEBHOOK_URL: long polling runs in one process only"):
        check_workers(polling, 2)
    check_workers(replace(polling, telegram_webhook_url="https://example.org/telegram"), 2)
    check_workers(replace(web_settings, redis_url=""), 1)  # the embedded default
    with pytest.raises(SettingsError, match=r"^--workers must be at least 1 \(got 0\)$"):
        check_workers(web_settings, 0)


def test_telegram_runs_as_a_webhook_in_every_worker(redis, web_settings, tmp_path):
    """`serve --workers 2` with the bot: each worker registers the webhook and answers the
    updates it takes; a follow-up reaching either worker is read in context (Redis)."""
    import asyncio

    from tests import telegram_fakes as fake

    asyncio.run(_telegram_workers(redis, web_settings, tmp_path, fake))


async def _telegram_workers(redis, web_settings, tmp_path, fake):
    token = "123456:workers-test-token"
    bot_api = fake.FakeBotAPI(token)
    base_url = await bot_api.start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINZHENG_", "WECHAT_", "TELEGRAM_"))}
    env.update(
        MINZHENG_STORE_PATH=str(web_settings.store_path), MINZHENG_LOG_PATH=str(tmp_path / "log.db"), MINZHENG_REDIS_URL=redis.url,
        MINZHENG_PORT=str(port), TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_BASE_URL=base_url, TELEGRAM_WEBHOOK_URL=hook,
        TELEGRAM_WEBHOOK_SECRET="hook-secret",
    )
    process = subprocess.Popen([sys.executable, "bot.py", "serve", "--workers", "2"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        hooks = await bot_api.wait_for(lambda st: st.sent("setWebhook") if len(st.sent("setWebhook")) >= 2 else None, timeout=120)
        assert {h["url"] for h in hooks} == {hook} and "getUpdates" not in bot_api.state.methods()
        users = list(range(9001, 9009))
        async with httpx.AsyncClient() as client:
            for question in ("在杭州怎么办理结婚登记", "那要带什么材料?"):
                for user in users:  # a connection of its own each: the kernel picks the worker
                    for _ in range(100):  # setWebhook comes before the workers listen
                        try:
                            r = await client.post(hook, json=fake.message(question, user_id=user), headers={"X-Telegram-Bot-Api-Secret-Token": "hook-secret", "Connection": "close"})
                            break
                        except httpx.TransportError:
                            await asyncio.sleep(0.1)
                    assert r.status_code == 200
                await bot_api.wait_for(lambda st: len(st.sent()) >= len(users) * (1 if question.startswith("在") else 2) or None, timeout=60)
        follow_ups = bot_api.state.sent()[len(users):]
        assert sorted(p["chat_id"] for p in follow_ups) == users
        assert all(FOLLOWED in p["text"] for p in follow_ups), [p["text"][:80] for p in follow_ups]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        await bot_api.stop()
