"""/chat in a real phone-sized Chromium (390x844): what a citizen sees and taps, over a real socket.

Same browser and server as test_browser.py (Debian's /usr/bin/chromium driven by Playwright,
skipped without it on a developer machine, failing under CI). Each test starts with a fresh
browser profile, so its localStorage (history, large text) and its chat cookie are its own.
Screenshots go to var/screenshots/chat-*.png (or MINZHENG_SCREENSHOT_DIR).
"""

import json

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails under CI) with the reason
    expect = None

from .test_browser import SCREENSHOTS, browser, server  # noqa: F401  (pytest fixtures)

PHONE = {"width": 390, "height": 844}
THANKS_DOWN = "谢谢您的反馈,我们会据此改进资料和回答。"
THANKS_UP = "谢谢您的肯定!"


def phone(browser, server):  # noqa: F811
    base, _ = server
    page = browser.new_page()
    page.set_viewport_size(PHONE)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/chat")
    page.errors = errors
    return page


def ask(page, question):
    """Type a question, press Enter, wait for its answer; the answer's locator."""
    before = page.locator(".msg.answer").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    answer = page.locator(".msg.answer").nth(before)
    answer.wait_for()  # (wait_for_function would evaluate a string, which the page's CSP refuses)
    return answer


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"chat-{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    return path


def web_text(own, question):
    """The core's answer as the web chat's JSON words it: no 出处 list, no suggestions (shown below)."""
    return own.compose(own.answerer.ask(question), suggestions=False, sources=False)


def test_an_answer_shows_its_text_once_and_each_source_folded_with_the_passages_lines(server, browser):  # noqa: F811
    _, own = server
    page = phone(browser, server)
    answer = ask(page, "结婚登记要带什么材料")
    expected = own.answerer.ask("结婚登记要带什么材料")
    assert answer.get_attribute("data-kind") == "answer"
    assert page.locator(".msg.user").all_inner_texts() == ["结婚登记要带什么材料"]
    shown = answer.locator(".text").inner_text()
    assert shown == web_text(own, "结婚登记要带什么材料")
    assert shown.startswith("内地居民办理结婚登记，双方各带本人的居民身份证")
    assert "出处" not in shown and "《婚姻登记条例》" not in shown  # the sources are listed once, below
    assert answer.locator(".sources h3").inner_text() == "出处(点开可看原文)"

    sources = answer.locator(".sources li")
    assert sources.count() == len(expected.sources)
    for n, hit in enumerate(expected.sources, 1):
        item = sources.nth(n - 1)
        source = hit.as_source()
        assert item.locator(".src-title").inner_text() == f"[{n}] 《{source['title']}》"
        assert item.locator(".src-section").inner_text() == source["section"]
        assert item.locator(".src-date").inner_text() == (hit.document["published"] or hit.document["effective"])
    assert page.evaluate("[...document.querySelectorAll('.sources details')].every(d => !d.open)")
    first = sources.nth(0)
    assert not first.locator(".passage").is_visible()

    first.locator("summary").focus()  # the keyboard opens a source
    page.keyboard.press("Enter")
    assert first.locator("details").get_attribute("open") == ""
    lines = first.locator(".passage p").all_inner_texts()
    assert lines[:3] == ["第八条 申请结婚登记的内地居民应当出具下列证件和书面材料：", "（一）本人的居民身份证；", "（二）本人无配偶以及与对方当事人没有直系血亲和三代以内旁系血亲关系的签字声明。"]
    assert lines == [line.strip() for line in expected.sources[0].passage["text"].split("\n") if line.strip()]
    assert first.locator(".src-issuer").inner_text() == "发布机关:国务院(国务院令第804号)"
    assert not first.locator(".src-status").is_visible()  # in force: no warning
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    first.locator("summary").scroll_into_view_if_needed()
    shot(page, "source")
    assert page.errors == []


def test_clicking_a_suggestion_asks_it_and_suggestions_are_shown_once(server, browser):  # noqa: F811
    _, own = server
    expected = own.answerer.ask("养老")
    assert len(expected.suggestions) >= 2, "the test needs a question the FAQ offers 您是不是想问 for"
    page = phone(browser, server)
    answer = ask(page, "养老")
    buttons = answer.locator(".suggestions button.suggestion")
    assert buttons.all_inner_texts() == list(expected.suggestions)
    assert answer.locator(".suggestions h3").inner_text() == "您是不是想问:"
    shown = answer.locator(".text").inner_text()
    assert "您是不是想问" not in shown and expected.suggestions[0] not in shown
    buttons.nth(1).scroll_into_view_if_needed()
    shot(page, "suggestions")
    buttons.nth(0).click()
    second = page.locator(".msg.answer").nth(1)
    second.wait_for()
    assert page.locator(".msg.user").all_inner_texts() == ["养老", expected.suggestions[0]]
    assert second.get_attribute("data-kind") == own.answerer.ask(expected.suggestions[0]).kind
    assert own.log.db.execute("select question from queries order by id desc limit 1").fetchone()[0] == expected.suggestions[0]


def test_not_helpful_opens_a_reason_choice_sent_as_the_comment(server, browser):  # noqa: F811
    _, own = server
    page = phone(browser, server)
    answer = ask(page, "离婚冷静期多久")
    down = answer.locator("button.fb[data-value='-1']")
    assert answer.locator("button.fb").all_inner_texts() == ["有帮助", "没帮助"]
    down.click()
    reason = answer.locator("form.reason")
    assert reason.locator("legend").inner_text() == "哪里没帮到您?(选一项,也可以不选)"
    assert [label.strip() for label in reason.locator(".choice").all_inner_texts()] == ["没回答我的问题", "内容不对", "看不懂", "其他"]
    assert down.get_attribute("aria-expanded") == "true"
    assert page.evaluate("document.activeElement.value") == "没回答我的问题"  # focus moved into the choice
    page.keyboard.press("Escape")  # changed my mind: closed, focus back on 没帮助
    assert reason.count() == 0 and down.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.textContent") == "没帮助"
    page.keyboard.press("Enter")  # open again from the keyboard, pick the third reason with the arrows
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.value") == "看不懂"
    reason.locator("textarea").fill("字太多了,没找到去哪里办")
    shot(page, "reason")
    reason.locator("button[type=submit]").click()
    expect(answer.locator(".fb-status")).to_have_text(THANKS_DOWN)
    assert answer.locator("button.fb").count() == 0 and answer.locator("form.reason").count() == 0
    assert page.evaluate("document.activeElement.className") == "fb-status"  # focus not lost with the form
    rows = [(r["question"], r["comment"]) for r in own.log.recent_negative() if r["question"] == "离婚冷静期多久"]
    assert rows == [("离婚冷静期多久", "看不懂: 字太多了,没找到去哪里办")]
    assert page.errors == []


def test_history_stays_in_the_browser_and_comes_back_after_a_reload_until_cleared(server, browser):  # noqa: F811
    base, own = server
    page = phone(browser, server)
    sent = []
    page.on("request", lambda r: sent.append((r.method, r.url.removeprefix(base), r.post_data)))
    answer = ask(page, "低保怎么申请")
    answer.locator("button.fb[data-value='1']").click()
    expect(answer.locator(".fb-status")).to_have_text(THANKS_UP)
    page.click("button.chip[data-topic=marriage]")
    page.click("#handoff")
    page.reload()
    page.locator("#history .msg.answer").wait_for()
    restored = page.locator("#history > *")
    assert [restored.nth(i).get_attribute("class") for i in range(restored.count())] == ["msg user", "msg bot answer", "msg bot topic", "msg bot handoff"]
    assert restored.nth(0).inner_text() == "低保怎么申请"
    again = page.locator("#history .msg.answer")
    assert again.locator(".text").inner_text() == web_text(own, "低保怎么申请")
    assert again.locator(".fb-status").inner_text() == THANKS_UP and again.locator("button.fb").count() == 0  # rated stays rated
    assert again.locator(".sources li").count() >= 1 and again.locator("details[open]").count() == 0
    assert page.locator("#messages > *").count() == 0  # restored messages are not in the live region
    again.locator(".sources").scroll_into_view_if_needed()
    shot(page, "history")
    posts = [(m, u, json.loads(b)) for m, u, b in sent if m == "POST"]
    assert [p[1] for p in posts] == ["/chat/api/ask", "/chat/api/feedback"]
    assert posts[0][2] == {"question": "低保怎么申请"}  # only the question: the history never leaves the browser
    assert set(posts[1][2]) == {"query_id", "token", "value"}

    page.once("dialog", lambda dialog: (dialog.message == "确定要清空这台设备上的聊天记录吗?" and dialog.accept()) or dialog.dismiss())
    page.click("#clear")
    assert page.locator("#history > *, #messages > *").count() == 0
    assert page.evaluate("localStorage.getItem('mz_chat_history')") is None
    page.reload()
    assert page.locator("#history > *").count() == 0
    assert page.locator("button.chip").count() == 5  # the topics are still there to start again


def test_large_text_switch_is_remembered_and_the_page_still_fits_360_pixels(server, browser):  # noqa: F811
    page = phone(browser, server)
    size = "parseFloat(getComputedStyle(document.querySelector('.msg.bot')).fontSize)"
    assert page.evaluate(size) == 17
    page.click("#large-text")
    assert page.get_attribute("#large-text", "aria-pressed") == "true"
    assert page.evaluate(size) == 21.25
    page.reload()
    assert page.get_attribute("#large-text", "aria-pressed") == "true" and page.evaluate(size) == 21.25
    page.set_viewport_size({"width": 360, "height": 740})
    answer = ask(page, "低保怎么申请")
    answer.locator("summary").first.click()
    answer.locator("button.fb[data-value='-1']").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size(PHONE)
    answer.scroll_into_view_if_needed()
    shot(page, "large")
    page.click("#large-text")
    assert page.evaluate(size) == 17 and page.evaluate("localStorage.getItem('mz_chat_large_text')") is None
    assert page.errors == []


def test_a_topic_chip_offers_its_questions_and_the_handoff_shows_12345(server, browser):  # noqa: F811
    page = phone(browser, server)
    page.click("button.chip[data-topic=aid]")
    card = page.locator("#messages .msg.topic")
    assert card.locator(".text").inner_text() == "社会救助\n最低生活保障(低保)、低保边缘、特困人员供养、临时救助的申请条件和办理流程。\n\n您可以直接输入问题,或点下面的常见问题。"
    assert card.locator("button.suggestion").all_inner_texts() == ["低保怎么申请?", "特困人员有哪些救助?", "临时救助找哪里申请?", "我能不能申请低保?"]
    assert page.evaluate("document.activeElement.classList.contains('topic')")  # focus follows the tap
    card.locator("button.suggestion").nth(0).click()
    answer = page.locator(".msg.answer").first
    answer.wait_for()
    assert page.locator(".msg.user").all_inner_texts() == ["低保怎么申请?"]
    assert answer.get_attribute("data-kind") == "answer"

    answer.locator("button.handoff-button").click()  # 转人工 under an answer
    handoff = page.locator("#messages .msg.handoff")
    assert handoff.locator(".text").inner_text() == "人工服务\n请拨打12345政务服务便民热线(7×24小时人工服务),或到当地民政局、乡镇人民政府(街道办事处)窗口咨询。\n紧急情况请直接拨打110、120或119。"
    assert handoff.locator("a.call").get_attribute("href") == "tel:12345"
    assert page.evaluate("document.activeElement.classList.contains('handoff')")
    shot(page, "handoff")
    page.click("button.chip[data-topic=human]")  # the 人工服务 chip: the same card
    assert page.locator("#messages .msg.handoff").count() == 2
    assert page.errors == []


def test_a_followup_says_which_question_it_was_read_with_once(server, browser):  # noqa: F811
    """The JSON's `followup` (the previous question) becomes a line above the answer, not a
    second copy of the text's own (结合您上一个问题…) paragraph; a first question has none."""
    _, own = server
    page = phone(browser, server)
    first = ask(page, "在杭州怎么办理结婚登记")
    assert not first.locator(".followup").is_visible() and not first.locator(".asked").is_visible()
    second = ask(page, "那要带什么材料?")
    assert second.locator(".followup").inner_text() == "结合您上一个问题“在杭州怎么办理结婚登记”来理解"
    shown = second.locator(".text").inner_text()
    assert "结合您上一个问题" not in shown  # said once, above
    assert [s.split("\n")[0] for s in second.locator(".sources summary").all_inner_texts()][0].startswith("[1] 《")
    sections = second.locator(".src-section").all_inner_texts()
    assert "第二章 结婚登记 › 第八条" in sections  # the materials article, as on every other channel
    shot(page, "followup")
    assert page.errors == []


def test_a_tapped_suggestion_is_never_read_as_a_followup_and_one_picks_the_first(server, browser):  # noqa: F811
    _, own = server
    page = phone(browser, server)
    bodies = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data)) if r.url.endswith("/chat/api/ask") else None)
    first = ask(page, "结婚登记要多少钱")
    suggestion = first.locator("button.suggestion").nth(0).inner_text()
    assert suggestion == own.answerer.ask("结婚登记要多少钱").suggestions[0]
    picked = ask(page, "1")  # typed: the first suggestion, said so above the answer
    assert picked.locator(".asked").inner_text() == f"您选的是:“{suggestion}”"
    first.locator("button.suggestion").nth(0).click()
    page.locator(".msg.answer").nth(2).wait_for()
    assert bodies == [{"question": "结婚登记要多少钱"}, {"question": "1"}, {"question": suggestion, "follow": False}]
    assert not page.locator(".msg.answer").nth(2).locator(".followup").is_visible()


def test_rating_an_answer_kept_from_before_a_server_restart_says_it_has_expired(server, browser):  # noqa: F811
    page = phone(browser, server)
    ask(page, "低保怎么申请")
    # A restart gives the server a new feedback key: the token kept in the history no longer matches.
    page.evaluate("""() => {
        const items = JSON.parse(localStorage.getItem('mz_chat_history'));
        items[1].data.feedback_token = '0'.repeat(32);
        localStorage.setItem('mz_chat_history', JSON.stringify(items));
    }""")
    page.reload()
    answer = page.locator("#history .msg.answer")
    answer.locator("button.fb[data-value='1']").click()
    expect(answer.locator(".fb-status")).to_have_text("这条回答已过期,不能再评价了;如有问题请重新提问。")
    assert answer.locator("button.fb").count() == 0
    page.reload()  # and it stays so
    assert page.locator("#history .msg.answer .fb-status").inner_text() == "这条回答已过期,不能再评价了;如有问题请重新提问。"
