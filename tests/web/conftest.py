"""Web fixtures: one real Assistant (store and log in temp folders) shared by the web tests."""

import contextlib
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from channels.web.app import create_app
from retrieval.assistant import Assistant
from retrieval.querylog import QueryLog
from retrieval.settings import Settings

NOW = 1714036504  # the official WeChat signature vector's timestamp; the tests' clock
WECHAT_TOKEN = "AAAAA"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, like an EncodingAESKey
APPID = "wx0123456789abcdef"
STAFF_TOKEN = "staff-secret-0001-lookup"  # at least 16 characters, or the service refuses to start
ADMIN_TOKEN = "admin-secret-0001-reload"


@pytest.fixture(scope="session")
def web_settings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    return replace(
        Settings(),
        store_path=folder / "store.db",
        log_path=folder / "log.db",
        staff_token=STAFF_TOKEN,
        admin_token=ADMIN_TOKEN,
        wechat_token=WECHAT_TOKEN,
        wechat_aes_key=AES_KEY,
        wechat_appid=APPID,
        wechat_mode="compat",  # the tests push both plaintext and safe-mode messages
        rate_limit_per_minute=1000,
        address_rate_limit_per_minute=1000,
    )


@pytest.fixture(scope="session")
def assistant(web_settings):
    a = Assistant(web_settings)
    a.reload()
    return a


@contextlib.contextmanager
def own_log(assistant, path):
    """The shared assistant logs to a fresh query log at `path` inside the block."""
    shared = assistant.log
    assistant.log = QueryLog(path)
    try:
        yield assistant.log
    finally:
        assistant.log.close()
        assistant.log = shared


@pytest.fixture()
def log(assistant, tmp_path):
    """A fresh query log for this test (the knowledge base stays shared)."""
    with own_log(assistant, tmp_path / "log.db") as fresh:
        yield fresh


def make_client(assistant, settings, **kwargs):
    kwargs.setdefault("clock", lambda: NOW)
    return TestClient(create_app(assistant, settings, **kwargs), base_url="http://testserver")


@pytest.fixture()
def client(assistant, web_settings, log):
    with make_client(assistant, web_settings) as c:
        yield c


def login(client, area, token):
    r = client.post(f"/{area}/login", data={"token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return r
