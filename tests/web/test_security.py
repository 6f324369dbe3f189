"""Security of the web service: credentials, constant-time comparison, path traversal, CSRF,
per-user rate limits and bounded bodies. See docs/SECURITY.md for the threat each test covers."""

import asyncio
import hmac
import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from urllib.parse import unquote

import pytest
from starlette.testclient import TestClient

from channels.web import auth, chat, wechat
from channels.web.app import create_app
from channels.web.telegram_hook import MAX_UPDATE_BYTES, telegram_service
from retrieval.errors import SettingsError
from retrieval.settings import ROOT

from . import wx
from .conftest import ADMIN_TOKEN, AES_KEY, APPID, NOW, STAFF_TOKEN, WECHAT_TOKEN, login, make_client

PASSWD = ("root:x:0:0", "root:*:0:0")


def csrf(page):
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


# -- credentials -----------------------------------------------------------------------------------
PROTECTED = [
    ("GET", "/admin", None),
    ("POST", "/admin/reload", {"csrf": "x"}),
    ("POST", "/admin/rollback", {"csrf": "x"}),
    ("GET", "/lookup", None),
    ("GET", "/lookup?q=低保", None),
    ("GET", "/lookup/doc/marriage-registration-2025", None),
]
WRONG = [
    {},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer wrong"},
    {"Authorization": f"Bearer {ADMIN_TOKEN}x"},
    {"Authorization": f"Bearer {STAFF_TOKEN[:-1]}"},
    {"Authorization": f"Basic {STAFF_TOKEN}"},
    {"Cookie": "mz_admin=1.2.3; mz_staff=1.2.3"},
    {"Cookie": f"mz_admin={NOW}.00.{'0' * 64}; mz_staff={NOW}.00.{'0' * 64}"},
]


@pytest.mark.parametrize("method,path,form", PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
@pytest.mark.parametrize("headers", WRONG, ids=[f"h{n}" for n in range(len(WRONG))])
def test_admin_and_staff_routes_refuse_missing_or_wrong_credentials(client, method, path, form, headers):
    r = client.request(method, path, data=form, headers=headers, follow_redirects=False)
    assert r.status_code == 401
    assert '<form method="post" action="/' in r.text and "/login" in r.text  # the login form, nothing else
    assert "data-passage" not in r.text and "csrf" not in r.text and "段落数" not in r.text


def test_the_staff_token_does_not_open_admin_and_the_admin_token_does_not_open_lookup(client):
    assert client.get("/admin", headers={"Authorization": f"Bearer {STAFF_TOKEN}"}).status_code == 401
    assert client.get("/lookup", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 401
    assert client.post("/admin/login", data={"token": STAFF_TOKEN}, follow_redirects=False).status_code == 401
    assert client.post("/lookup/login", data={"token": ADMIN_TOKEN}, follow_redirects=False).status_code == 401


def test_an_empty_token_switches_the_area_off_rather_than_open(assistant, web_settings, log):
    with make_client(assistant, replace(web_settings, staff_token="", admin_token="")) as c:
        for path in ("/admin", "/lookup?q=低保"):
            for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer x"}):
                r = c.get(path, headers=headers)
                assert r.status_code == 401 and "此页面未启用" in r.text
        assert c.post("/admin/login", data={"token": ""}, follow_redirects=False).status_code == 401


def test_login_attempts_are_limited_per_address(client):
    codes = [client.post("/admin/login", data={"token": f"guess{n}"}, follow_redirects=False).status_code for n in range(11)]
    assert codes == [401] * 10 + [429]
    # even the right token waits: guessing cannot be confirmed by a success inside the window
    assert client.post("/admin/login", data={"token": ADMIN_TOKEN}, follow_redirects=False).status_code == 429


GUESSES = {
    "form": lambda c, n: c.post("/admin/login", data={"token": f"guess{n}"}, follow_redirects=False),
    "bearer": lambda c, n: c.get("/admin", headers={"Authorization": f"Bearer guess{n}"}),
    "cookie": lambda c, n: c.get("/admin", headers={"Cookie": f"mz_admin={NOW}.{n:04x}.{'0' * 64}"}),
}


@pytest.mark.parametrize("how", sorted(GUESSES))
def test_every_way_of_presenting_a_credential_is_limited_with_429_and_retry_after(client, how):
    codes = [GUESSES[how](client, n).status_code for n in range(10)]
    assert codes == [401] * 10
    refused = GUESSES[how](client, 10)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "900"
    assert "尝试次数过多" in refused.text and "段落数" not in refused.text
    # the lock-out is not lifted by the right password, whichever way it comes
    assert client.get("/admin", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 429
    assert client.post("/admin/login", data={"token": ADMIN_TOKEN}, follow_redirects=False).status_code == 429
    assert client.get("/lookup", headers={"Authorization": f"Bearer {STAFF_TOKEN}"}).status_code == 429  # one limiter for both areas


def test_form_bearer_and_cookie_guesses_count_against_one_limit(client):
    codes = [GUESSES[how](client, n).status_code for n, how in enumerate(["form", "bearer", "cookie"] * 3 + ["bearer"])]
    assert codes == [401] * 10
    assert GUESSES["form"](client, 99).status_code == 429


def test_the_lockout_ends_after_its_time_and_a_correct_guess_inside_it_does_not_end_it_early(assistant, web_settings, log):
    now = [NOW]
    with make_client(assistant, web_settings, clock=lambda: now[0]) as c:
        for n in range(10):
            GUESSES["bearer"](c, n)
        now[0] += 600
        r = c.get("/admin", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert (r.status_code, r.headers["retry-after"]) == (429, "300")
        now[0] += 299
        assert c.get("/admin", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 429
        now[0] += 1
        assert c.get("/admin", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200


def test_guesses_in_flight_count_against_the_limit_so_parallel_guesses_cannot_slip_in(assistant, web_settings, log, monkeypatch):
    """The attack: 200 Bearer guesses sent at once from one client, 91 were checked (limit 10)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from channels.web.auth import Realm

    checked, lock = [], threading.Lock()
    slow = Realm.token_ok

    def token_ok(self, given):
        with lock:
            checked.append(given)
        time.sleep(0.05)  # every guess is in flight together
        return slow(self, given)

    monkeypatch.setattr(Realm, "token_ok", token_ok)
    with make_client(assistant, web_settings) as c:
        with ThreadPoolExecutor(max_workers=40) as pool:
            codes = list(pool.map(lambda n: GUESSES["bearer"](c, n).status_code, range(80)))
        assert sorted(set(codes)) == [401, 429] and codes.count(401) == len(checked) <= 10
        r = GUESSES["bearer"](c, 99)
        assert (r.status_code, r.headers["retry-after"]) == (429, "900")


def test_a_reserved_check_counts_until_released_and_a_good_one_costs_nothing():
    from channels.web.auth import CredentialLimiter

    limiter = CredentialLimiter(per_client=3, total=100, clock=lambda: NOW)
    assert [limiter.reserve("a") for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]
    limiter.release("a", failed=False)
    assert limiter.reserve("a") == 0.0  # a good presentation gave its place back
    for _ in range(3):
        limiter.release("a", failed=True)
    assert limiter.reserve("a") == 900.0 and limiter.reserve("b") == 0.0


def test_guesses_spread_over_many_clients_meet_the_overall_limit_but_sessions_keep_working(assistant, web_settings, log):
    settings = replace(web_settings, login_failures_total=25)
    app = create_app(assistant, settings, clock=lambda: NOW)
    with TestClient(app, client=("10.0.0.99", 1)) as staff:
        login(staff, "lookup", STAFF_TOKEN)
        codes = []
        for address in range(3):
            with TestClient(app, client=(f"10.0.0.{address}", 1)) as attacker:
                codes += [GUESSES["bearer"](attacker, n).status_code for n in range(9)]  # each below the per-client limit
        assert codes == [401] * 25 + [429] * 2
        with TestClient(app, client=("10.0.0.50", 1)) as newcomer:
            r = newcomer.post("/admin/login", data={"token": ADMIN_TOKEN}, follow_redirects=False)
            assert r.status_code == 429 and int(r.headers["retry-after"]) == 900
            assert newcomer.get("/lookup", headers={"Authorization": f"Bearer {STAFF_TOKEN}"}).status_code == 429
        assert staff.get("/lookup").status_code == 200  # a signed session is not a password guess


def test_a_guesser_locking_out_its_address_leaves_signed_in_sessions_from_it_working(assistant, web_settings, log):
    # fifth attack: behind an unconfigured proxy every client has the proxy's address, and one
    # guesser's lock-out answered 429 to every signed-in worker
    app = create_app(assistant, web_settings, clock=lambda: NOW)
    with TestClient(app, client=("10.0.0.7", 1)) as staff, TestClient(app, client=("10.0.0.7", 2)) as guesser:
        login(staff, "lookup", STAFF_TOKEN)
        codes = [GUESSES["bearer"](guesser, n).status_code for n in range(11)]
        assert codes == [401] * 10 + [429]
        assert staff.get("/lookup").status_code == 200
        assert guesser.get("/lookup", headers={"Authorization": f"Bearer {STAFF_TOKEN}"}).status_code == 429  # still locked out
        guesser.cookies.set("mz_staff", "1796607299.00.forged", path="/lookup")
        assert guesser.get("/lookup").status_code == 429  # a forged cookie is a presentation


def test_failed_attempts_are_logged_without_the_guessed_value(client, caplog):
    caplog.set_level("DEBUG")
    client.post("/admin/login", data={"token": "guess-in-form-7"}, follow_redirects=False)
    client.get("/lookup", headers={"Authorization": "Bearer guess-in-bearer-8"})
    client.get("/admin", headers={"Cookie": f"mz_admin={NOW}.abcd.{'9' * 64}"})
    lines = [r.getMessage() for r in caplog.records if r.name == "channels.web.auth"]
    assert lines == [
        "failed admin sign-in (form) from testclient",
        "failed staff sign-in (bearer) from testclient",
        "failed admin sign-in (cookie) from testclient",
    ]
    assert not any(secret in caplog.text for secret in ("guess-in-form-7", "guess-in-bearer-8", "9" * 64))


@pytest.mark.parametrize("field", ["staff_token", "admin_token"])
def test_a_password_shorter_than_16_characters_refuses_to_start(assistant, web_settings, field):
    with pytest.raises(SettingsError) as info:
        create_app(assistant, replace(web_settings, **{field: "fifteen-chars-x"}))
    name = "MINZHENG_STAFF_TOKEN" if field == "staff_token" else "MINZHENG_ADMIN_TOKEN"
    assert str(info.value) == f"{name} must be at least 16 characters (it has 15)"
    create_app(assistant, replace(web_settings, **{field: "sixteen-chars-xx"}))  # 16 is enough


def test_the_same_password_for_staff_and_admin_refuses_to_start(assistant, web_settings):
    # fifth attack L5: accepted, so every hotline worker held the admin password
    with pytest.raises(SettingsError) as info:
        create_app(assistant, replace(web_settings, staff_token="the-same-password-0123", admin_token="the-same-password-0123"))
    assert str(info.value) == "MINZHENG_STAFF_TOKEN and MINZHENG_ADMIN_TOKEN must be different passwords"


@pytest.mark.parametrize("proxies, ok", [("not-an-ip", False), ("10.0.0.1, 10.0.0.0/8, ::1", True), ("127.0.0.1,", True), ("10.0.0.1;10.0.0.2", False)])
def test_trusted_proxies_must_be_addresses_or_networks(web_settings, proxies, ok):
    # fifth attack L5: "not-an-ip" was accepted, and uvicorn silently never matched it
    from channels.web.server import trusted_proxies

    if ok:
        assert trusted_proxies(replace(web_settings, trusted_proxies=proxies)) == [p.strip() for p in proxies.split(",") if p.strip()]
    else:
        with pytest.raises(SettingsError) as info:
            trusted_proxies(replace(web_settings, trusted_proxies=proxies))
        assert "is not an IP address or network (such as 127.0.0.1 or 10.0.0.0/8)" in str(info.value)


def test_bot_py_serve_refuses_a_short_password_before_it_listens(tmp_path):
    env = {"PATH": os.environ["PATH"], "MINZHENG_ADMIN_TOKEN": "short", "MINZHENG_STORE_PATH": str(tmp_path / "s.db"), "MINZHENG_LOG_PATH": str(tmp_path / "l.db")}
    done = subprocess.run([sys.executable, "bot.py", "serve", "--port", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", "错误: MINZHENG_ADMIN_TOKEN must be at least 16 characters (it has 5)\n")
    assert not (tmp_path / "s.db").exists()  # refused before any work


class Spy:
    """Records every hmac.compare_digest call made through one module."""

    def __init__(self):
        self.calls = []

    def compare_digest(self, a, b):
        self.calls.append((a, b))
        return hmac.compare_digest(a, b)

    def __getattr__(self, name):
        return getattr(hmac, name)


@pytest.fixture()
def spies(monkeypatch):
    found = {}
    for module in (auth, wechat, chat):
        found[module.__name__.rsplit(".", 1)[1]] = spy = Spy()
        monkeypatch.setattr(module, "hmac", spy)
    return found


def test_every_secret_is_compared_with_hmac_compare_digest(client, spies):
    client.post("/lookup/login", data={"token": "guess-1"})
    assert (b"guess-1", STAFF_TOKEN.encode()) in spies["auth"].calls
    client.get("/admin", headers={"Authorization": "Bearer guess-2"})
    assert (b"guess-2", ADMIN_TOKEN.encode()) in spies["auth"].calls
    client.cookies.set("mz_staff", f"{NOW}.abcd.{'f' * 64}", path="/lookup")
    client.get("/lookup")
    assert any(b == "f" * 64 for _, b in spies["auth"].calls)  # the cookie's signature
    client.cookies.clear()
    login(client, "admin", ADMIN_TOKEN)
    client.post("/admin/reload", data={"csrf": "c" * 64})
    assert any(b == "c" * 64 for _, b in spies["auth"].calls)  # the CSRF token
    params = wx.Platform(WECHAT_TOKEN).params()
    client.get("/wechat", params={**params, "signature": "d" * 40, "echostr": "x"})
    assert any(b == b"d" * 40 for _, b in spies["wechat"].calls)  # the WeChat signature
    client.get("/chat")  # a visitor with its cookie: a token without one is refused unread
    client.post("/chat/api/feedback", json={"query_id": 1, "value": 1, "token": "e" * 32})
    assert any(b == "e" * 32 for _, b in spies["chat"].calls)  # the feedback token


def test_auth_code_never_compares_secrets_with_equals():
    import inspect

    from channels.telegram.app import receive_webhook

    for code in (inspect.getsource(auth), inspect.getsource(wechat), inspect.getsource(chat), inspect.getsource(receive_webhook)):
        assert "compare_digest" in code
        assert not re.search(r"(token|signature|secret|csrf)\w*(\(\))?\s*[!=]=", code, re.I)


# -- path traversal ----------------------------------------------------------------------------------
def raw_get(app, raw_path, headers=()):
    """One GET with the path exactly as a client sent it (httpx would normalise `..` away);
    `path` is percent-decoded as uvicorn does. (status, body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("latin-1"),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *[(k.encode(), v.encode()) for k, v in headers]],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent = []

    async def run():
        done = asyncio.Event()
        requested = False

        async def receive():
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()  # the client stays connected until the response is complete
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        await app(scope, receive, send)

    asyncio.run(run())
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


TRAVERSALS = [
    "/lookup/doc/../../etc/passwd",
    "/lookup/doc/..%2f..%2f..%2fetc%2fpasswd",
    "/lookup/doc/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/lookup/doc/%2e%2e",
    "/lookup/doc/..",
    "/lookup/doc/marriage-registration-2025%00",
    "/lookup/doc/%00",
    "/lookup/doc/marriage-registration-2025%2f..%2f..%2fretrieval%2fsettings.py",
    "/lookup/doc/%252e%252e%252fetc%252fpasswd",
    "/lookup/doc/....//....//etc/passwd",
    "/lookup/doc/..%5c..%5cbot.py",
    "/static/../../../../etc/passwd",
    "/static/..%2f..%2f..%2fretrieval%2fsettings.py",
    "/static/%2e%2e/%2e%2e/bot.py",
    "/static/style.css%00.js",
    "/static/%00",
    "/static//etc/passwd",
    "/static/..%5c..%5cbot.py",
]


@pytest.fixture(scope="module")
def bare_app(assistant, web_settings):
    return create_app(assistant, web_settings, clock=lambda: NOW)


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_path_traversal_through_document_ids_or_static_file_names(bare_app, path):
    status, body = raw_get(bare_app, path, [("authorization", f"Bearer {STAFF_TOKEN}")])
    assert status == 404, (status, body[:200])
    text = body.decode("utf-8", "replace")
    assert not any(marker in text for marker in PASSWD)
    assert "class Settings" not in text and "def main" not in text and "<li class=\"passage\"" not in text


def test_a_real_static_file_and_document_are_still_served(bare_app):
    assert raw_get(bare_app, "/static/style.css")[0] == 200
    status, body = raw_get(bare_app, "/lookup/doc/marriage-registration-2025", [("authorization", f"Bearer {STAFF_TOKEN}")])
    assert status == 200 and "婚姻登记条例".encode() in body


# -- CSRF ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/admin/reload", "/admin/rollback", "/admin/login", "/admin/logout", "/lookup/login", "/lookup/logout"])
def test_action_urls_refuse_get(client, path):
    login(client, "admin", ADMIN_TOKEN)
    assert client.get(path, follow_redirects=False).status_code == 405


@pytest.mark.parametrize("action", ["reload", "rollback"])
def test_admin_actions_need_the_sessions_csrf_token_and_our_origin(client, assistant, action, monkeypatch):
    calls = []
    monkeypatch.setattr(assistant, "reload", lambda: calls.append("reload"))
    monkeypatch.setattr(assistant, "rollback", lambda: calls.append("rollback"))
    login(client, "admin", ADMIN_TOKEN)
    token = csrf(client.get("/admin").text)
    for form, headers in [
        ({}, {}),
        ({"csrf": ""}, {}),
        ({"csrf": "0" * len(token)}, {}),
        ({"csrf": token[:-1]}, {}),
        ({"csrf": token}, {"Origin": "https://evil.example"}),
        ({"csrf": token}, {"Origin": "null"}),  # a sandboxed iframe or data: page (fourth attack)
        ({"csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
    ]:
        r = client.post(f"/admin/{action}", data=form, headers=headers, follow_redirects=False)
        assert r.status_code == 403, (form, headers)
    assert calls == []
    r = client.post(f"/admin/{action}", data={"csrf": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"], calls) == (303, "/admin", [action])


def test_a_csrf_token_is_bound_to_its_session(assistant, web_settings, log):
    with make_client(assistant, web_settings) as first, make_client(assistant, web_settings) as second:
        login(first, "admin", ADMIN_TOKEN)
        login(second, "admin", ADMIN_TOKEN)
        token = csrf(first.get("/admin").text)
        assert second.post("/admin/reload", data={"csrf": token}, follow_redirects=False).status_code == 403


# -- per-user rate limits --------------------------------------------------------------------------
def test_wechat_limits_each_user_and_answers_politely(assistant, web_settings, log):
    platform = wx.Platform(WECHAT_TOKEN, AES_KEY, APPID, now=NOW)
    with make_client(assistant, replace(web_settings, rate_limit_per_minute=2)) as c:

        def ask(msg_id, user="oFlood"):
            params, body = platform.push(wx.text_xml("低保怎么申请", msg_id, user=user))
            r = c.post("/wechat", params=params, content=body)
            assert r.status_code == 200
            return platform.open_reply(r.content, params).content

        assert "最低生活保障" in ask(501)
        assert "最低生活保障" in ask(501)  # WeChat's retry of the same push costs nothing
        assert "最低生活保障" in ask(502)
        assert ask(503) == "您的提问有点频繁,请30秒后再试。如需人工帮助,请拨打12345政务服务便民热线。"
        assert "最低生活保障" in ask(504, user="oOther")  # others are not affected
    assert log.db["queries"].count == 3  # 501, 502, 504: the refused question reached neither the core nor the log


def test_chat_limits_each_visitor_and_answers_politely(assistant, web_settings, log):
    with make_client(assistant, replace(web_settings, rate_limit_per_minute=2)) as c, make_client(assistant, replace(web_settings, rate_limit_per_minute=2)) as other:
        c.get("/chat")
        other.get("/chat")
        for _ in range(2):
            assert c.post("/chat/api/ask", json={"question": "低保怎么申请"}).json()["kind"] == "answer"
        r = c.post("/chat/api/ask", json={"question": "低保怎么申请"})
        assert r.status_code == 429
        assert r.json()["text"] == "您的提问有点频繁,请30秒后再试。如需人工帮助,请拨打12345政务服务便民热线。"
        assert other.post("/chat/api/ask", json={"question": "低保怎么申请"}).json()["kind"] == "answer"


# -- bounded bodies --------------------------------------------------------------------------------
def test_the_telegram_webhook_refuses_a_huge_body_before_reading_it(assistant, web_settings):
    settings = replace(web_settings, telegram_bot_token="1:x", telegram_webhook_url="https://example.org/tg/hook", telegram_webhook_secret="s")
    hooks, routes = telegram_service(assistant, settings)
    app = create_app(assistant, settings, routes=routes)  # no hooks: the bot is not started
    with TestClient(app) as c:
        r = c.post("/tg/hook", content=b"{" + b" " * (MAX_UPDATE_BYTES + 1) + b"}", headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        r = c.post("/tg/hook", content=b"[]", headers={"Content-Length": str(MAX_UPDATE_BYTES * 100)})
        assert r.status_code == 413


@pytest.mark.parametrize("path,limit", [("/chat/api/ask", 16 * 1024), ("/admin/login", 8 * 1024), ("/lookup/login", 8 * 1024)])
def test_bodies_are_capped(client, path, limit):
    r = client.post(path, content=b"x" * (limit + 1), headers={"Content-Type": "application/json" if "api" in path else "application/x-www-form-urlencoded"})
    assert r.status_code == 413


# -- deeply nested JSON (issue 14, item 13) -----------------------------------------------------------
def test_deeply_nested_json_is_a_clean_400_not_a_500_with_a_traceback(client, assistant, web_settings, caplog):
    deep = b"[" * 8000 + b"]" * 8000
    r = client.post("/chat/api/ask", content=deep, headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()) == (400, {"error": "json"})
    settings = replace(web_settings, telegram_bot_token="1:x", telegram_webhook_url="https://example.org/tg/hook", telegram_webhook_secret="s")
    hooks, routes = telegram_service(assistant, settings)
    with TestClient(create_app(assistant, settings, routes=routes)) as c:
        assert c.post("/tg/hook", content=deep, headers={"Content-Type": "application/json"}).status_code == 400
    assert "RecursionError" not in caplog.text and "Traceback" not in caplog.text
