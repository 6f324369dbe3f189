"""No secret ever reaches a log line, stderr or an error message: the service paths (startup,
WeChat pushes good and bad, failed 客服消息 delivery, logins, a failed reload, errors in the core,
the Telegram bot start/answer/error/stop and a rejected token) run with every logger at DEBUG,
and the captured text is searched for each secret."""

import asyncio
import logging
import os
import re
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from channels.telegram import build_application, start, stop
from channels.web.app import create_app
from channels.web.server import urls
from channels.web.wechat_api import WeChatAPI
from retrieval.assistant import Assistant
from tests import telegram_fakes as fake

from . import wx
from .conftest import NOW

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "telegram_bot_token": "7777777:BOT-SECRET-TOKEN-x9",
    "telegram_webhook_secret": "hook-secret-q4",
    "wechat_token": "wxtoken-secret-k2",
    "wechat_aes_key": "SecretAesKeyZ0123456789abcdefghijklmnopqrsA",
    "wechat_appsecret": "appsecret-secret-m7",
    "staff_token": "staff-secret-p3-sixteen",
    "admin_token": "admin-secret-r8-sixteen",
    "log_key": "logkey-secret-z5",
}
ACCESS_TOKEN = "ACCESS-TOKEN-secret-w1"  # what WeChat hands out for the AppSecret: a credential too
APPID = "wx0123456789abcdef"
LOGGERS = ("", "httpx", "httpcore", "telegram", "uvicorn", "channels", "retrieval", "starlette", "aiohttp")


@pytest.fixture()
def debug_logs(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.fixture()
def secret_settings(web_settings, tmp_path):
    return replace(web_settings, **SECRETS, wechat_appid=APPID, log_path=tmp_path / "log.db", rate_limit_per_minute=1000)


def assert_no_secret(*texts):
    for text in texts:
        for name, secret in [*SECRETS.items(), ("access_token", ACCESS_TOKEN)]:
            assert secret not in text, f"{name} leaked: ...{text[max(0, text.find(secret) - 200): text.find(secret) + 60]}..."


def failing_wechat_api(status_for):
    """A WeChatAPI whose HTTP answers come from `status_for(request)` (no network at all)."""

    def handler(request):
        status = status_for(request)
        if status != 200:
            return httpx.Response(status, text="upstream failure")
        if request.url.path == "/cgi-bin/token":
            return httpx.Response(200, json={"access_token": ACCESS_TOKEN, "expires_in": 7200})
        return httpx.Response(200, json={"errcode": 0})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return WeChatAPI(APPID, SECRETS["wechat_appsecret"], "http://127.0.0.1:9", client=client)


def wait_for_log(caplog, text, timeout=5.0):
    deadline = time.time() + timeout
    while text not in caplog.text and time.time() < deadline:
        time.sleep(0.02)
    assert text in caplog.text


def test_web_service_paths_never_log_or_show_a_secret(assistant, secret_settings, debug_logs, capfd, monkeypatch, tmp_path):
    settings = secret_settings
    bodies = ["\n".join(urls(settings, "127.0.0.1", 8000)), repr(settings), str(settings)]
    platform = wx.Platform(settings.wechat_token, settings.wechat_aes_key, APPID, now=NOW)
    core = Assistant(replace(settings, store_path=assistant.settings.store_path))
    for api_status in (lambda r: 500 if r.url.path == "/cgi-bin/token" else 200, lambda r: 500 if "custom" in r.url.path else 200):
        api = failing_wechat_api(api_status)
        with TestClient(create_app(core, settings, wechat_api=api, clock=lambda: NOW), base_url="http://testserver") as c:
            # WeChat: good and bad pushes, safe mode, and a slow answer whose 客服消息 delivery fails
            params, body = platform.push(wx.text_xml("低保怎么申请", 1))
            bodies.append(c.post("/wechat", params=params, content=body).text)
            params, body = platform.push(wx.text_xml("结婚登记要带什么材料", 2), safe=True)
            bodies.append(c.post("/wechat", params={**params, "encrypt_type": "aes"}, content=body).text)
            bodies.append(c.post("/wechat", params={**params, "msg_signature": "0" * 40}, content=body).text)
            bodies.append(c.get("/wechat", params={"signature": "0" * 40, "timestamp": str(NOW), "nonce": "1", "echostr": "e"}).text)
            bodies.append(c.post("/wechat", params=platform.params(), content=b"<xml><oops").text)
            bodies.append(c.post("/wechat", params=platform.params(), content=b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><xml>&e;</xml>").text)
            # staff and admin: wrong and right credentials
            for area in ("lookup", "admin"):
                bodies.append(c.post(f"/{area}/login", data={"token": "guess"}).text)
                bodies.append(c.get(f"/{area}", headers={"Authorization": "Bearer guess"}).text)
            bodies.append(c.get("/lookup", params={"q": "低保"}, headers={"Authorization": f"Bearer {settings.staff_token}"}).text)
            bodies.append(c.post("/admin/login", data={"token": settings.admin_token}).text)
            bodies.append(c.post("/chat/api/ask", json={"question": "低保怎么申请"}).text)
        with TestClient(create_app(core, settings, wechat_api=failing_wechat_api(api_status), wechat_deadline=0.0, clock=lambda: NOW)) as c:
            params, body = platform.push(wx.text_xml("特困人员有哪些救助", 3))
            bodies.append(c.post("/wechat", params=params, content=body).text)
            wait_for_log(debug_logs, "客服消息 delivery failed")
        bodies.append(debug_logs.text)  # kept, then cleared so the next wait sees its own failure
        debug_logs.clear()
    # the core failing inside a request
    monkeypatch.setattr(core, "ask", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("index exploded")))
    with TestClient(create_app(core, settings, clock=lambda: NOW)) as c:
        bodies.append(c.post("/chat/api/ask", json={"question": "低保怎么申请"}).text)
        params, body = platform.push(wx.text_xml("低保怎么申请", 4))
        bodies.append(c.post("/wechat", params=params, content=body).text)
    out, err = capfd.readouterr()
    assert "answering failed on web" in debug_logs.text
    assert "客服消息 delivery failed" in "".join(bodies)
    assert_no_secret(debug_logs.text, out, err, *bodies)


def test_wechat_api_failures_and_httpx_request_logs_keep_the_appsecret_and_access_token_out(debug_logs, capfd):
    # Regression: raise_for_status() put the URL (…&secret=…) in the logged exception, and httpx
    # logs every request URL at INFO.
    async def scenario():
        for failing in ("/cgi-bin/token", "/cgi-bin/message/custom/send"):
            api = failing_wechat_api(lambda r, failing=failing: 500 if r.url.path == failing else 200)
            try:
                await api.send_text("oCitizen", "你好")
            except Exception:
                logging.getLogger("channels.web.wechat_endpoint").exception("客服消息 delivery failed")
            await api.close()

    asyncio.run(scenario())
    assert "HTTP Request: GET http://127.0.0.1:9/cgi-bin/token" in debug_logs.text  # httpx did log, redacted
    assert "WeChat API error 500" in debug_logs.text
    assert_no_secret(debug_logs.text, *capfd.readouterr())


def test_a_broken_data_file_on_reload_is_reported_without_secrets(secret_settings, debug_logs, capfd, tmp_path):
    knowledge = tmp_path / "knowledge"
    shutil.copytree(secret_settings.knowledge_dir, knowledge)
    settings = replace(secret_settings, knowledge_dir=knowledge, store_path=tmp_path / "store.db")
    core = Assistant(settings)
    core.reload()
    meta = next((knowledge / "documents").glob("*.toml"))
    meta.write_text("这不是 TOML = = =\n", encoding="utf-8")
    with TestClient(create_app(core, settings, clock=lambda: NOW), base_url="http://testserver") as c:
        c.post("/admin/login", data={"token": settings.admin_token})
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', c.get("/admin").text).group(1)
        c.post("/admin/reload", data={"csrf": token})
        page = c.get("/admin").text
    assert "重新加载知识库:失败" in page
    assert_no_secret(debug_logs.text, page, *capfd.readouterr())


def test_telegram_start_answer_error_stop_and_a_rejected_token_never_log_the_token(assistant, secret_settings, debug_logs, capfd, monkeypatch):
    token = SECRETS["telegram_bot_token"]

    async def scenario():
        server = fake.FakeBotAPI(token)
        base_url = await server.start()
        try:
            settings = replace(secret_settings, telegram_api_base_url=base_url)
            core = Assistant(replace(settings, store_path=assistant.settings.store_path))
            app = build_application(core, settings)
            await start(app)
            server.push(fake.message("低保怎么申请", user_id=42))
            await server.wait_for(lambda s: len(s.sent()) >= 1)
            monkeypatch.setattr(core, "ask", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("index exploded")))
            server.push(fake.message("低保怎么申请", user_id=43))
            await server.wait_for(lambda s: len(s.sent()) >= 2)
            await stop(app)
            # a wrong TELEGRAM_API_BASE_URL: the Bot API answers 404, PTB says "invalid token"
            wrong = build_application(core, replace(settings, telegram_api_base_url=base_url.replace("/bot", "/nothing-here/bot")))
            with pytest.raises(Exception) as raised:
                await start(wrong)
            logging.getLogger("uvicorn.error").error("Application startup failed", exc_info=raised.value)
            assert token not in str(raised.value)
        finally:
            await server.stop()

    asyncio.run(scenario())
    assert "telegram update" in debug_logs.text and "failed" in debug_logs.text  # the error path ran
    assert "HTTP Request: POST" in debug_logs.text  # httpx logged requests, with the token masked
    assert_no_secret(debug_logs.text, *capfd.readouterr())


def test_bot_py_telegram_with_a_rejected_token_says_so_without_printing_it(assistant, secret_settings, tmp_path):
    async def scenario():
        server = fake.FakeBotAPI("1:the-real-token")  # anything else is rejected with 401
        base_url = await server.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MINZHENG_", "WECHAT_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=SECRETS["telegram_bot_token"],
            TELEGRAM_API_BASE_URL=base_url,
            MINZHENG_STORE_PATH=str(assistant.settings.store_path),
            MINZHENG_LOG_PATH=str(tmp_path / "log.db"),
        )
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "bot.py", "telegram", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            out, err = await asyncio.wait_for(process.communicate(), 60)
        finally:
            await server.stop()
        return process.returncode, out.decode(), err.decode()

    code, out, err = asyncio.run(scenario())
    assert code == 2, err[-2000:]
    assert "错误: the Bot API rejected TELEGRAM_BOT_TOKEN (or TELEGRAM_API_BASE_URL is wrong)" in err
    assert_no_secret(out, err)
