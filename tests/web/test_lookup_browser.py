"""/lookup in a real phone-sized Chromium (390x844): the FAQ's 标准口径 panel above the passages, its
copy button and key, a filter chip that matches nothing, over a real socket.

Same browser and server as test_browser.py (Debian's /usr/bin/chromium driven by Playwright,
skipped without it on a developer machine, failing under CI). Screenshots go to
var/screenshots/lookup-phone-*.png (or MINZHENG_SCREENSHOT_DIR).
"""

from urllib.parse import quote

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails under CI) with the reason
    expect = None

from .conftest import STAFF_TOKEN
from .test_browser import SCREENSHOTS, browser, server  # noqa: F401  (pytest fixtures)

PHONE = {"width": 390, "height": 844}


def signed_in_phone(browser, server):  # noqa: F811
    base, _ = server
    browser.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = browser.new_page()
    page.set_viewport_size(PHONE)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/lookup")
    page.fill("#token", STAFF_TOKEN)
    page.press("#token", "Enter")
    page.wait_for_url(base + "/lookup")
    page.errors = errors
    return page


def shot(page, name, full_page=False):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"lookup-phone-{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 10_000
    return path


def test_the_faq_panel_on_a_phone(server, browser):  # noqa: F811
    base, _ = server
    page = signed_in_phone(browser, server)
    assert page.evaluate("document.activeElement.id") == "q"  # type at once
    page.keyboard.type("结婚登记要带什么材料")
    page.keyboard.press("Enter")
    page.wait_for_selector("#faq")
    assert page.url == base + "/lookup?q=" + quote("结婚登记要带什么材料")  # shareable

    panel = page.locator("#faq")
    assert panel.locator("h2").inner_text() == "标准口径 领证需要带哪些材料"
    assert page.locator("#faq-answer").inner_text().startswith("内地居民办理结婚登记，双方各带本人的居民身份证")
    assert page.locator(".faq-source").count() == 2
    assert page.locator("#faq-s-1 .meta").inner_text().split() == ["法律法规", "国务院", "国务院令第804号", "发布", "2025-04-06", "施行", "2025-05-10", "全国"]
    assert panel.bounding_box()["y"] < page.locator("#r-1").bounding_box()["y"]  # above the passages
    assert page.evaluate("window.scrollY") == 0
    assert 0 < panel.bounding_box()["y"] < PHONE["height"] / 2  # seen at once, without scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    assert page.locator(".keys").is_hidden()  # no keyboard on a phone: no shortcut line
    shot(page, "faq")

    page.locator("#faq-copy-button").click()
    expect(page.locator("#status")).to_have_text("已复制标准口径(含出处)")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#faq-copy").input_value()
    assert copied.endswith("出处:\n[1] 《婚姻登记条例》国务院(国务院令第804号),2025-04-06,2025-05-10施行 › 第二章 结婚登记 › 第八条\n"
                           "[2] 《婚姻登记条例》国务院(国务院令第804号),2025-04-06,2025-05-10施行 › 第六章 附 则 › 第二十八条")

    page.locator("#faq-s-2 summary").click()  # the cited article, opened in place
    expect(page.locator("#faq-s-2 .passage")).to_have_text("第二十八条 本条例自2025年5月10日起施行。")

    page.keyboard.press("c")  # the selected passage, as before
    expect(page.locator("#status")).to_have_text("已复制到剪贴板")
    page.keyboard.press("f")  # and the 标准口径 again by key
    expect(page.locator("#status")).to_have_text("已复制标准口径(含出处)")
    assert page.evaluate("navigator.clipboard.readText()") == copied
    assert page.errors == []


def test_a_chip_that_matches_nothing_keeps_every_result_on_a_phone(server, browser):  # noqa: F811
    base, _ = server
    page = signed_in_phone(browser, server)
    page.goto(base + "/lookup?q=" + quote("申请") + "&topic=funeral")
    expect(page.locator("#fallback")).to_have_text("殡葬服务类别下没有匹配“申请”的内容,以下为全部结果。")
    assert page.locator("#results .result").count() == 20
    current = page.locator("#facet-topic .chip.current")
    assert current.inner_text().split() == ["殡葬服务", "0"]
    page.locator("#facet-topic .chip", has_text="社会救助").click()  # a chip with results, by tap
    page.wait_for_selector("#results .result")
    assert page.locator("#fallback").count() == 0
    assert page.locator("#topic").input_value() == "aid"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "chips")
    assert page.errors == []
