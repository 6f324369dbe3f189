"""/admin/faq in a real Chromium: an admin signs in, opens an entry from the list, changes its
answer, sees the diff, saves, and the assistant answers with the new wording; over a real socket,
on the test's own copy of knowledge/ and faq/.

Same browser as test_browser.py (Debian's /usr/bin/chromium driven by Playwright, skipped without
it on a developer machine, failing under CI). Screenshots go to var/screenshots/admin-faq-*.png.
"""

from dataclasses import replace

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails under CI) with the reason
    expect = None

from channels.web.app import create_app
from retrieval.assistant import Assistant

from .conftest import ADMIN_TOKEN, STAFF_TOKEN
from .test_admin_faq import MATERIALS, NEW_ANSWER, OLD_ANSWER
from .test_browser import SCREENSHOTS, browser, served  # noqa: F401  (pytest fixture)


@pytest.fixture()
def workspace_server(ws):
    """The app under uvicorn on 127.0.0.1 over the test's workspace, with admin credentials."""
    settings = replace(ws.settings, admin_token=ADMIN_TOKEN, staff_token=STAFF_TOKEN, session_revocation_dir=ws.root / "var", rate_limit_per_minute=1000)
    assistant = Assistant(settings)
    assistant.warm_up()
    with served(create_app(assistant, settings)) as base:
        yield base, assistant
    assistant.log.close()


def test_an_admin_changes_an_answer_in_the_browser_and_it_is_answered_at_once(workspace_server, browser, ws):  # noqa: F811
    base, assistant = workspace_server
    path = ws.root / "faq" / "entries" / "marriage.toml"
    before = path.read_text(encoding="utf-8")
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/admin")
    page.fill("#token", ADMIN_TOKEN)
    page.press("#token", "Enter")
    page.wait_for_url(base + "/admin")
    page.goto(base + "/admin/faq")
    expect(page.locator("p", has_text="共 96 条。")).to_have_count(1)

    page.locator(f'tr[data-id="{MATERIALS}"] a', has_text="修改").click()
    page.wait_for_url(base + f"/admin/faq/edit?id={MATERIALS}")
    answer = page.locator('textarea[name="answer"]')
    assert answer.input_value() == OLD_ANSWER
    answer.fill(NEW_ANSWER)
    page.locator("#preview-button").click()
    expect(page.locator("#preview h2")).to_have_text("将写入 faq/entries/marriage.toml 的变化")
    assert page.locator("#diff .add").all_inner_texts() == [f'+answer = "{NEW_ANSWER}"']
    assert page.locator("#diff .del").all_inner_texts() == [f'-answer = "{OLD_ANSWER}"']
    assert path.read_text(encoding="utf-8") == before  # a preview writes nothing
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "admin-faq-preview.png"), full_page=True)

    page.locator("#save-button").click()
    page.wait_for_url(base + "/admin")
    expect(page.locator("#last-action h2")).to_have_text("保存常见问答:成功")
    assert path.read_text(encoding="utf-8") == before.replace(OLD_ANSWER, NEW_ANSWER)
    reply = assistant.ask("领证需要带哪些材料", channel="test").answer
    assert reply.faq_id == MATERIALS and "到婚姻登记机关现场签署" in reply.text
    assert errors == []
