"""A real browser (Debian's chromium driven by Playwright) on /lookup over a real socket (/chat: test_chat_browser.py).

Never downloads a browser: it uses /usr/bin/chromium, which .ci/run installs. Without chromium the
test is skipped on a developer machine but FAILS under CI (CI=true), so it cannot silently vanish.
"""

import contextlib
import os
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from channels.web.app import create_app

from .conftest import STAFF_TOKEN

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("MINZHENG_SCREENSHOT_DIR", "var/screenshots"))


def _require_browser():
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(CHROMIUM)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package")
    if missing:
        message = "browser test needs " + " and ".join(missing) + " (apt-get install -y chromium; pip install -e '.[test]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def server(assistant, web_settings, tmp_path_factory):
    """The real app under uvicorn on 127.0.0.1 (a free port), with its own query log."""
    from dataclasses import replace

    settings = replace(web_settings, log_path=tmp_path_factory.mktemp("browser") / "log.db")
    from retrieval.assistant import Assistant

    own = Assistant(settings)  # same store as the session's assistant, its own query log
    own.warm_up()
    with served(create_app(own, settings)) as base:
        yield base, own


@contextlib.contextmanager
def served(app):
    """`app` under uvicorn on 127.0.0.1 (a free port), in a thread: its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture()
def browser(tmp_path):
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh --user-data-dir for every test
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1200, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def test_lookup_in_a_real_browser(server, browser):
    from playwright.sync_api import expect

    base, _ = server
    browser.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = browser.new_page()
    page.goto(base + "/lookup")
    page.fill("#token", STAFF_TOKEN)
    page.press("#token", "Enter")
    page.wait_for_url(base + "/lookup")

    page.fill("#q", "结婚登记要带什么材料")
    page.press("#q", "Enter")
    page.wait_for_selector("#results .result")
    assert page.locator("#results .result").count() == 20
    assert page.locator(".result.selected").get_attribute("id") == "r-1"
    first_marks = page.locator("#r-1 mark").all_inner_texts()
    assert {"结婚登记", "材料"} <= set(first_marks)
    assert page.locator("#r-1 .section").inner_text() == "第二章 结婚登记 › 第八条"  # the materials article

    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert page.locator(".result.selected").get_attribute("id") == "r-2"
    page.keyboard.press("k")
    assert page.locator(".result.selected").get_attribute("id") == "r-1"

    page.keyboard.press("c")
    expect(page.locator("#status")).to_have_text("已复制到剪贴板")
    expected = page.locator("#r-1 .copy-text").input_value()
    assert expected.startswith("根据《婚姻登记条例》国务院(国务院令第804号),2025-04-06,2025-05-10施行 › 第二章 结婚登记 › 第八条:\n第八条 申请结婚登记的内地居民")
    assert page.evaluate("navigator.clipboard.readText()") == expected

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "lookup.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000

    page.keyboard.press("o")
    page.wait_for_selector(".doc-passage.current")
    current = page.locator(".doc-passage.current")
    assert current.get_attribute("id") == "p-marriage-registration-2025:第八条"
    assert "结婚登记" in current.locator("mark").all_inner_texts()
    assert current.is_visible()

