"""`bot.py serve`'s uvicorn: what the access log records, and whose X-Forwarded-For is believed.

A real uvicorn on 127.0.0.1 (a free port), driven over a real socket."""

import contextlib
import logging
import socket
import threading
import time
from dataclasses import replace

import httpx
import pytest

from channels.web.app import create_app
from channels.web.server import uvicorn_config

from . import wx
from .conftest import NOW, STAFF_TOKEN, WECHAT_TOKEN


@contextlib.contextmanager
def running(assistant, settings):
    """A real uvicorn serving create_app(settings) on 127.0.0.1; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(create_app(assistant, settings, clock=lambda: NOW), settings, "127.0.0.1", port))
    server.install_signal_handlers = lambda: None  # not the main thread
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_the_access_log_keeps_paths_but_never_query_strings(assistant, web_settings, log):
    handler = Lines()
    access = logging.getLogger("uvicorn.access")
    platform = wx.Platform(WECHAT_TOKEN, now=NOW)
    with running(assistant, web_settings) as base:
        access.addHandler(handler)
        try:
            params, body = platform.push(wx.text_xml("我叫张三,低保怎么申请", 1, user="oOpenidInTheLog"))
            params["openid"] = "oOpenidInTheLog"
            assert httpx.post(base + "/wechat", params=params, content=body).status_code == 200
            assert httpx.get(base + "/lookup", params={"q": "张三 低保"}, headers={"Authorization": f"Bearer {STAFF_TOKEN}"}).status_code == 200
        finally:
            access.removeHandler(handler)
    assert [line.split(" - ", 1)[1] for line in handler.lines] == ['"POST /wechat HTTP/1.1" 200', '"GET /lookup HTTP/1.1" 200']


def guesses(base, forwarded):
    codes = []
    for n in range(11):
        headers = {"Authorization": f"Bearer guess{n}", "X-Forwarded-For": f"203.0.113.{n}" if forwarded else "203.0.113.1"}
        codes.append(httpx.get(base + "/admin", headers=headers).status_code)
    return codes


def test_x_forwarded_for_from_a_client_that_is_not_a_configured_proxy_is_ignored(assistant, web_settings, log):
    with running(assistant, web_settings) as base:  # no MINZHENG_TRUSTED_PROXIES: 127.0.0.1 is just a client
        assert guesses(base, forwarded=True) == [401] * 10 + [429]


def test_x_forwarded_for_from_a_configured_proxy_names_the_client(assistant, web_settings, log):
    with running(assistant, replace(web_settings, trusted_proxies="127.0.0.1")) as base:
        assert guesses(base, forwarded=True) == [401] * 11  # eleven different clients behind the proxy
        assert guesses(base, forwarded=False)[-1] == 429  # one client behind it is still limited


# -- slow clients (issue 14 item 16) -------------------------------------------------------------
def closed_within(sock, seconds, dribble=None):
    """Seconds until the server closes `sock` (None if it stays open for `seconds`), sending
    one byte of `dribble` every 0.2 s meanwhile."""
    started = time.monotonic()
    sock.settimeout(0.2)
    pending = list(dribble or b"")
    while time.monotonic() - started < seconds:
        try:
            if pending:
                sock.send(bytes([pending.pop(0)]))
            if sock.recv(1024) == b"":
                return time.monotonic() - started
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - started
    return None


def test_a_client_that_sends_its_headers_too_slowly_is_disconnected(assistant, web_settings, log):
    settings = replace(web_settings, header_timeout=1.0)
    with running(assistant, settings) as base:
        port = int(base.rsplit(":", 1)[1])
        silent = socket.create_connection(("127.0.0.1", port))
        loris = socket.create_connection(("127.0.0.1", port))
        loris.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        waited = closed_within(loris, 4.0, dribble=b"X-Slow: " + b"a" * 100)  # never ends its head
        assert waited is not None and 0.9 < waited < 2.0
        assert closed_within(silent, 1.0) is not None  # connected at the same time, sent nothing
        with httpx.Client() as client:  # a normal client, and its kept-alive connection, are unaffected
            assert client.get(base + "/healthz").status_code == 200
            time.sleep(1.5)
            assert client.get(base + "/healthz").json() == {"status": "ok"}
        silent.close()
        loris.close()
