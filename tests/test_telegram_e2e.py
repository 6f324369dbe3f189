"""End to end: `python bot.py telegram` against a fake Bot API server on 127.0.0.1.

The real process polls the fake (TELEGRAM_API_BASE_URL), with the real AIORateLimiter, HTTP
transport and error mapping; the test pushes updates and reads what the bot sent.
"""

import asyncio
import os
import re
import shutil
import signal
import socket
import sqlite3
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from telegram import Update

from channels.telegram import build_application
from retrieval.assistant import Assistant
from tests import telegram_fakes as fake

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:E2E-SECRET-TOKEN"
ADMIN, CITIZEN, OTHER = 1001, 3003, 3004


def keyboard_data(params):
    return [b["callback_data"] for row in params["reply_markup"]["inline_keyboard"] for b in row]


class Session:
    """The fake server plus helpers that push one update and wait for what it causes."""

    def __init__(self, server):
        self.server = server

    async def push(self, update, method="sendMessage", count=1, timeout=20.0):
        """Push an update; the params of the next `count` successful calls of `method`."""
        before = len(self.server.state.sent(method))
        self.server.push(update)
        await self.server.wait_for(lambda s: len(s.sent(method)) >= before + count, timeout)
        return self.server.state.sent(method)[before : before + count]


def test_bot_py_telegram_against_a_fake_bot_api(settings, library, tmp_path):
    shutil.copy(settings.store_path, tmp_path / "store.db")
    log_path = tmp_path / "log.db"
    asyncio.run(_scenario(tmp_path, log_path))


def _bot_env(tmp_path, base_url, **extra):
    """The environment of a `bot.py` process talking to the fake Bot API: none of this
    machine's TELEGRAM_/MINZHENG_/WECHAT_ settings, the store and log in `tmp_path`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MINZHENG_", "WECHAT_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=base_url,
        MINZHENG_STORE_PATH=str(tmp_path / "store.db"),
        MINZHENG_LOG_PATH=str(tmp_path / "log.db"),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


async def _scenario(tmp_path, log_path):
    server = fake.FakeBotAPI(TOKEN)
    base_url = await server.start()
    env = _bot_env(tmp_path, base_url, TELEGRAM_ADMIN_IDS=str(ADMIN))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bot.py"), "telegram", cwd=str(ROOT), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    s = Session(server)
    try:
        await server.wait_for(lambda st: "getUpdates" in st.methods(), timeout=60)
        startup = server.state.methods()
        assert startup[: startup.index("getUpdates")] == ["getMe", "setMyCommands", "deleteWebhook"]
        assert [c["command"] for c in server.state.sent("setMyCommands")[0]["commands"]] == ["start", "help", "human", "forget"]

        # /start: greeting and topic keyboard; a topic button edits that message
        (greeting,) = await s.push(fake.message("/start", user_id=CITIZEN))
        assert greeting["text"].startswith("您好,小王!我是<b>民政小助手</b>。") and greeting["parse_mode"] == "HTML"
        assert keyboard_data(greeting)[0] == "topic:marriage"
        (edit,) = await s.push(fake.callback("topic:marriage", message_id=1, user_id=CITIZEN), method="editMessageText")
        assert edit["text"].startswith("<b>婚姻登记</b>") and keyboard_data(edit)[0] == "ex:marriage:0"

        # a question answered with a numbered citation, then 查看原文 and 👍
        (answer,) = await s.push(fake.message("结婚登记要带什么材料", user_id=CITIZEN))
        assert re.search(r"\n\[\d\] 《婚姻登记条例》国务院\(国务院令第804号\),2025-04-06,2025-05-10施行 › 第二章 结婚登记 › 第八条\n", answer["text"])
        query_id = int(keyboard_data(answer)[0].split(":")[1])
        (sources,) = await s.push(fake.callback(f"src:{query_id}", message_id=3, user_id=CITIZEN))
        assert "<blockquote>第八条 申请结婚登记的内地居民应当出具下列证件和书面材料：\n（一）本人的居民身份证；" in sources["text"]
        (toast,) = await s.push(fake.callback(f"fb:+:{query_id}", user_id=CITIZEN), method="answerCallbackQuery")
        assert toast["text"] == "谢谢您的肯定!"
        with sqlite3.connect(log_path) as db:
            assert db.execute("select value from feedback where query_id = ?", [query_id]).fetchall() == [(1,)]

        # /reload: refused for a citizen, done for the admin
        (refusal,) = await s.push(fake.message("/reload", user_id=CITIZEN))
        assert refusal["text"] == "抱歉,/reload 只对管理员开放。"
        (report,) = await s.push(fake.message("/reload", user_id=ADMIN), timeout=60)
        assert report["text"].startswith("已重新载入:12个文件,")

        # a follow-up carrying <b> and & arrives escaped (the fake rejects broken HTML)
        await s.push(fake.message("在杭州怎么办理<b>结婚登记</b>&手续", user_id=OTHER))
        (escaped,) = await s.push(fake.message("那要带什么材料?", user_id=OTHER))
        assert escaped["text"].startswith("<i>结合您上一个问题“在杭州怎么办理&lt;b&gt;结婚登记&lt;/b&gt;&amp;手续”来理解</i>")

        # a 429 from the server is retried after retry_after and the user still gets the answer
        server.fail_once("sendMessage", status=429, retry_after=1)
        tries_before = sum(1 for m, p, _ in server.state.calls if m == "sendMessage" and p["chat_id"] == OTHER)
        started = time.monotonic()
        (retried,) = await s.push(fake.message("低保怎么申请", user_id=OTHER))
        assert time.monotonic() - started >= 1.0
        tries = [(p["text"], status) for m, p, status in server.state.calls if m == "sendMessage" and p["chat_id"] == OTHER][tries_before:]
        assert tries == [(retried["text"], 429), (retried["text"], 200)]
    except BaseException:
        if proc.returncode is None:
            proc.kill()
        out, err = await proc.communicate()
        print(err.decode("utf-8", "replace")[-5000:])
        await server.stop()
        raise
    proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    await server.stop()
    log_text = err.decode("utf-8", "replace")
    assert proc.returncode == 0, log_text[-3000:]
    assert "refused /reload for a telegram user who is not an admin" in log_text and str(CITIZEN) not in log_text
    assert TOKEN not in log_text and TOKEN.split(":")[1] not in log_text


def test_one_slow_answer_blocks_nobody(settings, library, tmp_path, monkeypatch):
    """Updates run concurrently and ask() runs in a thread: a fast question overtakes a slow one."""
    tg = replace(settings, log_path=tmp_path / "log.db", telegram_bot_token="123456:TEST-TOKEN")
    assistant = Assistant(tg)
    assistant.warm_up()  # the knowledge base and the masker loaded: only the slow answer is slow
    real_ask = assistant.ask

    state = fake.BotAPIState()

    def ask(question, channel="cli", user=None, context=None):
        if question == "慢的问题:低保怎么申请":
            # slow until the other citizen has been answered (at most 10 s): were updates handled
            # one after another, the fast answer would wait behind this one and come second.
            # No stopwatch: a busy machine cannot make it pass or fail by itself.
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline and not any(p["chat_id"] == 6002 for p in state.sent()):
                time.sleep(0.02)
        return real_ask(question, channel=channel, user=user, context=context)

    monkeypatch.setattr(assistant, "ask", ask)
    request = fake.RecordingRequest(state)
    app = build_application(assistant, tg, request=request, get_updates_request=request)

    async def scenario():
        async with app:
            await app.start()
            await app.update_queue.put(Update.de_json(fake.message("慢的问题:低保怎么申请", user_id=6001), app.bot))
            await app.update_queue.put(Update.de_json(fake.message("离婚冷静期多久", user_id=6002), app.bot))
            for _ in range(400):
                if len(state.sent()) == 2:
                    break
                await asyncio.sleep(0.05)
            await app.stop()

    asyncio.run(scenario())
    assert [p["chat_id"] for p in state.sent()] == [6002, 6001]


@pytest.mark.parametrize("environ", [{}, {"TELEGRAM_BOT_TOKEN": ""}])
def test_without_a_token_it_says_so_and_exits_2(environ, capsys):
    import bot

    assert bot.main(["telegram"], environ=environ) == 2
    assert capsys.readouterr().err == "错误: 没有设置 TELEGRAM_BOT_TOKEN,无法启动 Telegram 机器人。\n"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_webhook_mode_checks_the_secret(settings, library, tmp_path):
    """TELEGRAM_WEBHOOK_URL set: the bot registers the webhook and answers POSTed updates."""
    shutil.copy(settings.store_path, tmp_path / "store.db")
    asyncio.run(_webhook_scenario(tmp_path))


async def _webhook_scenario(tmp_path):
    import httpx

    server = fake.FakeBotAPI(TOKEN)
    base_url = await server.start()
    port = _free_port()
    env = _bot_env(
        tmp_path,
        base_url,
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/hook",
        TELEGRAM_WEBHOOK_SECRET="s3cret-hook",
        MINZHENG_PORT=str(port),
    )
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "bot.py"), "telegram", cwd=str(ROOT), env=env, stderr=asyncio.subprocess.PIPE)
    try:
        (hook,) = await server.wait_for(lambda st: st.sent("setWebhook"), timeout=60)
        assert (hook["url"], hook["secret_token"]) == (f"http://127.0.0.1:{port}/telegram/hook", "s3cret-hook")
        url = f"http://127.0.0.1:{port}/telegram/hook"
        async with httpx.AsyncClient() as client:
            for _ in range(50):  # setWebhook comes before the listener is up
                try:
                    wrong = await client.post(url, json=fake.message("低保怎么申请", user_id=CITIZEN), headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            assert wrong.status_code == 403
            right = await client.post(url, json=fake.message("低保怎么申请", user_id=CITIZEN), headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-hook"})
            assert right.status_code == 200
        (answer,) = await server.wait_for(lambda st: st.sent(), timeout=20)
        assert answer["chat_id"] == CITIZEN and "<b>出处:</b>" in answer["text"]
        assert "getUpdates" not in server.state.methods()
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        await server.stop()
    assert proc.returncode == 0, err.decode("utf-8", "replace")[-3000:]


def test_start_and_stop_embed_the_bot_in_a_running_loop(settings, library, tmp_path):
    """What a Starlette lifespan does: build, `await start(app)`, serve, `await stop(app)`."""
    from channels.telegram import receive_webhook, start, stop

    async def scenario():
        server = fake.FakeBotAPI(TOKEN)
        base_url = await server.start()
        tg = replace(settings, log_path=tmp_path / "log.db", telegram_bot_token=TOKEN, telegram_api_base_url=base_url, telegram_webhook_secret="hook")
        app = build_application(Assistant(tg), tg)
        await start(app)
        try:
            assert server.state.methods()[:2] == ["getMe", "setMyCommands"]
            s = Session(server)
            (answer,) = await s.push(fake.message("离婚冷静期多久", user_id=CITIZEN))
            assert "<b>出处:</b>" in answer["text"]
            # the helper a web server's webhook route calls: wrong secret -> nothing queued
            assert await receive_webhook(app, "nope", fake.message("低保怎么申请", user_id=CITIZEN)) is False
            assert await receive_webhook(app, "hook", fake.message("低保怎么申请", user_id=OTHER)) is True
            (queued,) = await server.wait_for(lambda st: [p for p in st.sent() if p["chat_id"] == OTHER], timeout=20)
            assert "<b>出处:</b>" in queued["text"]
            assert [p["chat_id"] for p in server.state.sent()].count(CITIZEN) == 1  # "nope" was dropped
        finally:
            await stop(app)
            await server.stop()
        assert not app.running and not app.updater.running

    asyncio.run(scenario())


def test_serve_runs_the_bot_beside_the_web_pages_when_a_token_is_set(settings, library, tmp_path):
    """`make run` is `bot.py serve`: with TELEGRAM_BOT_TOKEN the bot polls in the same process."""
    shutil.copy(settings.store_path, tmp_path / "store.db")
    asyncio.run(_serve_scenario(tmp_path))


async def _serve_scenario(tmp_path):
    import httpx

    server = fake.FakeBotAPI(TOKEN)
    base_url = await server.start()
    port = _free_port()
    env = _bot_env(tmp_path, base_url, MINZHENG_PORT=str(port))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bot.py"), "serve", cwd=str(ROOT), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        await server.wait_for(lambda st: "getUpdates" in st.methods(), timeout=60)
        (answer,) = await Session(server).push(fake.message("结婚登记要带什么材料", user_id=CITIZEN))
        assert "婚姻登记条例" in answer["text"]
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{port}/healthz")).json() == {"status": "ok"}
    finally:
        proc.terminate()
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        await server.stop()
    printed = out.decode("utf-8")
    assert f"  citizen chat   http://127.0.0.1:{port}/chat" in printed and "  Telegram bot   long polling" in printed
    assert TOKEN not in printed + err.decode("utf-8", "replace")
