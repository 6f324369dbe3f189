"""First run: `bot.py serve` with no staff/admin password generates local ones (var/, 0600,
reused), prints links carrying them the way Jupyter does, and a ?token= link is exchanged for the
session cookie and dropped from the address, never reaching the access log or the app log."""

import logging
import os
import re
import stat
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from channels.web.credentials import with_local_credentials
from channels.web.server import urls
from retrieval.errors import SettingsError
from retrieval.settings import Settings

from .conftest import ADMIN_TOKEN, STAFF_TOKEN, make_client
from .test_server import Lines, running

ROOT = Path(__file__).resolve().parents[2]


def fresh(tmp_path, **changes):
    return replace(Settings(), log_path=tmp_path / "var" / "log.db", staff_token="", admin_token="", **changes)


def test_missing_passwords_are_generated_once_kept_0600_and_reused(tmp_path):
    settings, local = with_local_credentials(fresh(tmp_path))
    path = tmp_path / "var" / "web-credentials.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(local) == {"staff", "admin"} and local["staff"] != local["admin"]
    assert all(len(token) == 32 and re.fullmatch(r"[A-Za-z0-9_-]+", token) for token in local.values())
    assert (settings.staff_token, settings.admin_token) == (local["staff"], local["admin"])
    again, reused = with_local_credentials(fresh(tmp_path))
    assert reused == local and again.admin_token == local["admin"]


def test_a_password_from_the_environment_always_wins(tmp_path):
    settings, local = with_local_credentials(fresh(tmp_path))
    configured = replace(fresh(tmp_path), admin_token=ADMIN_TOKEN)
    mixed, generated = with_local_credentials(configured)
    assert (mixed.admin_token, mixed.staff_token, generated) == (ADMIN_TOKEN, local["staff"], {"staff": local["staff"]})
    both = replace(fresh(tmp_path / "other"), admin_token=ADMIN_TOKEN, staff_token=STAFF_TOKEN)
    assert with_local_credentials(both) == (both, {})
    assert not (tmp_path / "other" / "var" / "web-credentials.toml").exists()  # nothing generated, nothing written


def test_a_credentials_file_others_can_read_is_made_private_and_a_broken_one_is_refused(tmp_path):
    _, local = with_local_credentials(fresh(tmp_path))
    path = tmp_path / "var" / "web-credentials.toml"
    path.chmod(0o644)
    assert with_local_credentials(fresh(tmp_path))[1] == local
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text('admin = "short"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="admin must be a string of at least 16 characters"):
        with_local_credentials(fresh(tmp_path))


def test_the_startup_lines_carry_generated_passwords_but_never_configured_ones(tmp_path):
    settings, local = with_local_credentials(fresh(tmp_path, credentials_path=tmp_path / "var" / "web-credentials.toml"))
    lines = urls(settings, "127.0.0.1", 8000, local)
    assert lines[:4] == [
        "民政小助手 web service on http://127.0.0.1:8000",
        "  citizen chat   http://127.0.0.1:8000/chat",
        f"  staff lookup   http://127.0.0.1:8000/lookup?token={local['staff']}",
        f"  admin          http://127.0.0.1:8000/admin?token={local['admin']}",
    ]
    assert lines[4].startswith("                 (open the links above to sign in; passwords generated for this machine and kept in ")
    assert lines[5:] == [
        "  WeChat push    http://127.0.0.1:8000/wechat (off: set WECHAT_TOKEN, then it is ready for the WeChat console)",
        "  Telegram bot   (off: set TELEGRAM_BOT_TOKEN)",
    ]
    configured = replace(settings, admin_token=ADMIN_TOKEN, wechat_token="wx-token")
    lines = urls(configured, "0.0.0.0", 8000, {"staff": local["staff"]})
    assert "  admin          http://127.0.0.1:8000/admin (password: MINZHENG_ADMIN_TOKEN)" in lines
    assert "  WeChat push    http://0.0.0.0:8000/wechat (ready, plain mode: give the WeChat console this path behind your domain and WECHAT_TOKEN)" in lines
    assert ADMIN_TOKEN not in "\n".join(lines)


def test_a_token_link_signs_in_and_is_dropped_from_the_address(assistant, web_settings, log):
    with make_client(assistant, web_settings) as c:
        r = c.get(f"/admin?token={ADMIN_TOKEN}", follow_redirects=False)
        assert (r.status_code, r.headers["location"], r.headers["cache-control"]) == (303, "/admin", "no-store")
        assert r.headers["set-cookie"].startswith("mz_admin=") and "HttpOnly" in r.headers["set-cookie"]
        page = c.get("/admin")
        assert page.status_code == 200 and "<h1>管理后台</h1>" in page.text
        r = c.get(f"/lookup?q=低保&token={STAFF_TOKEN}&region=", follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/lookup?q=%E4%BD%8E%E4%BF%9D&region=")
        assert c.get(r.headers["location"]).status_code == 200
        assert c.get(f"/lookup?token={ADMIN_TOKEN}", follow_redirects=False).status_code == 401  # realms stay apart


def test_wrong_token_links_count_against_the_same_limit(assistant, web_settings, log):
    with make_client(assistant, web_settings) as c:
        codes = [c.get(f"/admin?token=guess-{n:02d}-xxxxxxxxxxxx", follow_redirects=False).status_code for n in range(11)]
        assert codes == [401] * 10 + [429]
        assert c.get(f"/admin?token={ADMIN_TOKEN}", follow_redirects=False).status_code == 429  # a right guess does not end it


def test_a_token_link_never_reaches_the_access_log_or_the_app_log(assistant, web_settings, log, caplog):
    access = Lines()
    caplog.set_level(logging.DEBUG)
    with running(assistant, web_settings) as base:
        logging.getLogger("uvicorn.access").addHandler(access)  # after uvicorn configured its logging
        try:
            with httpx.Client(base_url=base) as browser:
                r = browser.get(f"/admin?token={ADMIN_TOKEN}", follow_redirects=True)
                assert r.status_code == 200 and str(r.url) == base + "/admin"
                browser.get("/admin?token=wrong-guess-1234567890")
        finally:
            logging.getLogger("uvicorn.access").removeHandler(access)
    assert [line.split(" - ", 1)[1] for line in access.lines] == ['"GET /admin HTTP/1.1" 303', '"GET /admin HTTP/1.1" 200', '"GET /admin HTTP/1.1" 401']
    server = [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]  # not this test's own client
    text = "\n".join(access.lines + server)
    assert ADMIN_TOKEN not in text and "wrong-guess" not in text
    assert "failed admin sign-in (link) from 127.0.0.1" in text


def read_until(process, pattern, seconds=120):
    """stdout lines of a running process until one matches `pattern` (all lines so far returned)."""
    lines, found = [], threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if re.search(pattern, line):
                found.set()

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(seconds):
        raise AssertionError("no line matched %r: %r" % (pattern, lines))
    return list(lines)


def test_bot_py_serve_on_a_fresh_checkout_gives_working_chat_lookup_and_admin(assistant, web_settings, tmp_path):
    """What `make run` does after its build: no password configured, every area reachable from the printed links."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINZHENG_", "WECHAT_", "TELEGRAM_"))}
    env.update(MINZHENG_STORE_PATH=str(web_settings.store_path), MINZHENG_LOG_PATH=str(tmp_path / "var" / "log.db"), MINZHENG_PORT=str(port))
    process = subprocess.Popen([sys.executable, "bot.py", "serve"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = read_until(process, r"Telegram bot")
        text = "\n".join(lines)
        lookup = re.search(r"staff lookup   (http://127\.0\.0\.1:\d+/lookup\?token=[A-Za-z0-9_-]{32})$", text, re.M).group(1)
        admin = re.search(r"admin          (http://127\.0\.0\.1:\d+/admin\?token=[A-Za-z0-9_-]{32})$", text, re.M).group(1)
        assert "(off" not in text.split("WeChat push")[0]  # /lookup and /admin are on
        assert "WeChat push    http://127.0.0.1:%d/wechat (off: set WECHAT_TOKEN, then it is ready for the WeChat console)" % port in text
        credentials = tmp_path / "var" / "web-credentials.toml"
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600 and admin.rsplit("=", 1)[1] in credentials.read_text(encoding="utf-8")
        deadline = time.time() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.TransportError:
                assert time.time() < deadline
                time.sleep(0.2)
        chat = httpx.get(f"http://127.0.0.1:{port}/chat")
        assert chat.status_code == 200
        with httpx.Client() as browser:
            page = browser.get(admin, follow_redirects=True)
            assert page.status_code == 200 and "<h1>管理后台</h1>" in page.text and "token=" not in str(page.url)
        with httpx.Client() as browser:
            page = browser.get(lookup, follow_redirects=True)
            assert page.status_code == 200 and str(page.url) == f"http://127.0.0.1:{port}/lookup"
            results = browser.get(f"http://127.0.0.1:{port}/lookup", params={"q": "低保怎么申请"}).text
            assert '<li class="result" id="r-1"' in results
    finally:
        process.terminate()
        process.wait(30)
