"""/chat: the citizens' page and its JSON endpoints (ask, feedback), errors and rate limit."""

import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from .conftest import make_client

JSON = {"Content-Type": "application/json"}


def ask(client, question):
    return client.post("/chat/api/ask", json={"question": question})


def test_chat_page_sets_an_anonymous_httponly_cookie_and_loads_local_script(client):
    r = client.get("/chat")
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert re.match(r"mz_chat=[0-9a-f]{32}; HttpOnly; Max-Age=2592000; Path=/chat; SameSite=strict", cookie)
    assert '<form class="ask" id="ask">' in r.text
    assert re.findall(r'<script src="([^"]+)"', r.text) == ["/static/chat.js"]
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in r.text


def test_ask_returns_the_core_answer_with_sources_and_a_feedback_token(client, assistant, log):
    client.get("/chat")
    r = ask(client, "结婚登记要带什么材料")
    assert r.status_code == 200
    data = r.json()
    expected = assistant.answerer.ask("结婚登记要带什么材料")
    assert data["kind"] == "answer" and data["declined"] is False
    # the core's answer without its 出处 list: the sources are listed under it, numbered alike
    assert data["text"] == expected.text.replace("\n出处:\n[1] 《婚姻登记条例》国务院(国务院令第804号),2025-04-06,2025-05-10施行 › 第二章 结婚登记 › 第八条\n[2] 《婚姻登记条例》国务院(国务院令第804号),2025-04-06,2025-05-10施行 › 第六章 附 则 › 第二十八条\n", "")
    assert "出处" not in data["text"] and "”[1]" in data["text"] and "”[2]" in data["text"]
    assert [s["number"] for s in data["sources"]] == list(range(1, len(expected.sources) + 1))
    first = data["sources"][0]
    assert first == {
        "number": 1,
        "title": "婚姻登记条例",
        "issuer": "国务院",
        "date": "2025-04-06",
        "section": expected.sources[0].as_source()["section"],
        "status": "in_force",
        "text": expected.sources[0].passage["text"],
        # the citation's own fields: order number, revision, 施行日期, an undated text's year, validity
        "order": "国务院令第804号",
        "revised": "",
        "effective": "2025-05-10",
        "year": "",
        "validity": "in_force",
        "repealed_on": "",
        "validity_now": "in_force",
    }
    assert data["suggestions"] == [] and isinstance(data["query_id"], int) and len(data["feedback_token"]) == 32
    row = next(log.db["queries"].rows)
    assert (row["channel"], row["question"]) == ("web", "结婚登记要带什么材料")


def test_declines_and_bad_questions_use_the_core_wording(client):
    oos = ask(client, "护照怎么办理").json()
    assert oos["kind"] == "out_of_scope" and oos["declined"] is True and oos["sources"] == []
    empty = ask(client, "   ").json()
    assert empty == {"kind": "empty", "declined": True, "text": "请用文字输入您的问题,例如:“结婚登记要带什么材料?”“申请低保找哪里?”", "sources": [], "suggestions": [], "query_id": None, "feedback_token": None, "followup": None, "asked": None}
    long = ask(client, "问" * 2001).json()
    assert long["kind"] == "too_long" and long["text"] == "您的问题有2001个字,超过了2000字的上限。请用一两句话说明您想问的事。"


def test_malformed_requests_are_refused_cleanly(client):
    assert client.post("/chat/api/ask", content=b"question=x", headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 415
    assert client.post("/chat/api/ask", content=b"{not json", headers=JSON).status_code == 400
    assert client.post("/chat/api/ask", json=["a list"]).status_code == 400
    assert client.post("/chat/api/ask", json={"question": 42}).status_code == 400
    assert client.post("/chat/api/ask", content=b'{"question": "' + b"a" * 20000 + b'"}', headers=JSON).status_code == 413
    assert client.post("/chat/api/ask", json={"question": "低保"}, headers={"Origin": "https://evil.example"}).status_code == 403


def test_feedback_is_recorded_only_with_the_answers_token_from_the_same_visitor(client, assistant, log):
    client.get("/chat")
    data = ask(client, "离婚冷静期多久").json()
    bad = client.post("/chat/api/feedback", json={"query_id": data["query_id"], "token": "0" * 32, "value": -1})
    assert bad.status_code == 403
    mine = client.cookies.get("mz_chat")
    client.cookies.set("mz_chat", "f" * 32, domain="testserver.local", path="/chat")
    other = client.post("/chat/api/feedback", json={"query_id": data["query_id"], "token": data["feedback_token"], "value": -1})
    assert other.status_code == 403
    client.cookies.set("mz_chat", mine, domain="testserver.local", path="/chat")
    assert client.post("/chat/api/feedback", json={"query_id": data["query_id"], "token": data["feedback_token"], "value": 0}).status_code == 400
    ok = client.post("/chat/api/feedback", json={"query_id": data["query_id"], "token": data["feedback_token"], "value": -1, "comment": "没说清楚在哪办"})
    assert ok.json() == {"ok": True, "message": "谢谢您的反馈,我们会据此改进资料和回答。"}
    negative = log.recent_negative()
    assert [(r["question"], r["comment"]) for r in negative] == [("离婚冷静期多久", "没说清楚在哪办")]
    liked = ask(client, "低保怎么申请").json()  # one vote per answer: the 👍 goes to another one
    up = client.post("/chat/api/feedback", json={"query_id": liked["query_id"], "token": liked["feedback_token"], "value": 1})
    assert up.json()["message"] == "谢谢您的肯定!"


def test_rate_limit_answers_429_with_the_wait(assistant, web_settings, log):
    with make_client(assistant, replace(web_settings, rate_limit_per_minute=2)) as c:
        c.get("/chat")
        assert ask(c, "低保怎么申请").status_code == 200
        assert ask(c, "低保怎么申请").status_code == 200
        r = ask(c, "低保怎么申请")
    assert (r.status_code, r.headers["retry-after"]) == (429, "30")
    assert r.json()["text"] == "您的提问有点频繁,请30秒后再试。如需人工帮助,请拨打12345政务服务便民热线。"
    assert log.db["queries"].count == 2


def test_two_visitors_without_cookies_on_one_address_never_share_a_conversation(client):
    """The attack: B, cookieless from A's address, got A's question back as its follow-up."""
    client.cookies.clear()
    first = client.post("/chat/api/ask", json={"question": "我住翠苑一区,想申请低保"})
    cookie = first.headers["set-cookie"]
    assert re.match(r"mz_chat=[0-9a-f]{32}; HttpOnly; Max-Age=2592000; Path=/chat; SameSite=strict", cookie)
    client.cookies.clear()
    second = client.post("/chat/api/ask", json={"question": "那要带什么材料"})
    data = second.json()
    assert data["followup"] is None and "翠苑" not in data["text"] and "低保" not in data["text"]
    assert second.headers["set-cookie"].split(";")[0] != cookie.split(";")[0]  # a visitor of its own
    # A visitor that keeps the cookie it was given has its own conversation as before.
    client.cookies.set("mz_chat", cookie.split(";")[0].split("=")[1], path="/chat")
    third = client.post("/chat/api/ask", json={"question": "那要带什么材料"}).json()
    assert third["followup"] == "我住翠苑一区,想申请低保"


def test_made_up_cookies_do_not_lift_the_limit_of_one_address(assistant, web_settings, log):
    """The attack: a fresh random mz_chat per question sent 20,000 questions without a 429."""
    import secrets

    with make_client(assistant, replace(web_settings, rate_limit_per_minute=2, address_rate_limit_per_minute=5)) as c:
        codes = []
        for _ in range(8):
            c.cookies.set("mz_chat", secrets.token_hex(16), path="/chat")
            codes.append(ask(c, "低保怎么申请").status_code)
        r = ask(c, "低保怎么申请")
    assert codes == [200] * 5 + [429] * 3
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert log.db["queries"].count == 5


def test_home_redirects_to_chat_and_health_answers(client):
    r = client.get("/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (302, "/chat")
    assert client.get("/healthz").json() == {"status": "ok"}


def test_an_answer_the_log_could_not_record_has_no_feedback_token(client, assistant, monkeypatch):
    from retrieval.errors import QueryLogError

    def broken(*args, **kwargs):
        raise QueryLogError("log.db", "disk I/O error")

    monkeypatch.setattr(assistant.log, "record", broken)
    client.get("/chat")
    data = ask(client, "结婚登记要带什么材料").json()
    assert data["kind"] == "answer" and data["text"] == assistant.compose(assistant.answerer.ask("结婚登记要带什么材料"), suggestions=False, sources=False)
    assert (data["query_id"], data["feedback_token"]) == (None, None)


def vote(client, data, value=-1):
    return client.post("/chat/api/feedback", json={"query_id": data["query_id"], "token": data["feedback_token"], "value": value})


def test_one_vote_per_answer_per_visitor_a_second_is_409_and_not_stored(client, log):
    client.get("/chat")
    data = ask(client, "离婚冷静期多久").json()
    assert vote(client, data).status_code == 200
    again = [vote(client, data, value) for value in (-1, -1, 1)]
    assert [r.status_code for r in again] == [409, 409, 409]
    assert again[0].json() == {"error": "already rated", "message": "您已经反馈过了,谢谢!"}
    assert [(r["query_id"], r["value"]) for r in log.db["feedback"].rows] == [(data["query_id"], -1)]


def test_feedback_is_rate_limited_per_visitor_with_retry_after(client, log):
    client.get("/chat")
    answers = [ask(client, q).json() for q in ["离婚冷静期多久", "低保怎么申请", "结婚登记要带什么材料", "高龄津贴", "殡葬补贴", "收养登记", "临时救助"]]
    replies = [vote(client, data) for data in answers]
    assert [r.status_code for r in replies] == [200] * 6 + [429]  # MINZHENG_FEEDBACK_PER_MINUTE = 6
    assert replies[-1].headers["retry-after"] == "10"
    assert replies[-1].json()["message"] == "您的提问有点频繁,请10秒后再试。如需人工帮助,请拨打12345政务服务便民热线。"
    assert log.db["feedback"].count == 6


def test_feedback_is_limited_per_address_whatever_cookie_each_vote_brings(client, log):
    # fifth attack M2: a made-up cookie per question and per vote gave 64 👎 a minute from one
    # address, and the answer topped `bot.py report`
    replies = []
    for n in range(13):
        client.cookies.clear()  # a new visitor id each time, as the attack made up
        replies.append(vote(client, ask(client, "结婚登记要带什么材料").json()))
    assert [r.status_code for r in replies] == [200] * 12 + [429]  # MINZHENG_ADDRESS_FEEDBACK_PER_MINUTE = 12
    assert int(replies[-1].headers["retry-after"]) >= 1
    assert replies[-1].json()["message"].startswith("您的提问有点频繁,请")
    assert log.db["feedback"].count == 12


class Tags(HTMLParser):
    """Every element's tag, attributes and own text, in document order (template contents included)."""

    def __init__(self):
        super().__init__()
        self.elements, self.open = [], []

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_endtag(self, tag):
        if any(e["tag"] == tag for e in self.open):
            while self.open.pop()["tag"] != tag:
                pass

    def handle_data(self, data):
        for element in self.open:
            element["text"] += data


VOID = {"input", "meta", "link", "br", "img", "path"}


def elements(html, **attrs):
    parser = Tags()
    parser.feed(html)
    return [e for e in parser.elements if all(e["attrs"].get(k) == v for k, v in attrs.items())]


def template(html, name):
    """The inside of <template id=name>."""
    return re.search(rf'<template id="{name}">(.*?)</template>', html, re.S).group(1)


def test_topic_chips_are_the_telegram_menus_topics_with_their_examples(client, web_settings):
    page = client.get("/chat").text
    chips = [(e["attrs"]["data-topic"], e["text"]) for e in elements(page) if "chip" in e["attrs"].get("class", "").split()]
    assert chips == [("marriage", "婚姻登记"), ("funeral", "殡葬服务"), ("aid", "社会救助"), ("meals", "老年助餐"), ("human", "人工服务")]
    marriage = template(page, "tpl-topic-marriage")
    assert "<b>婚姻登记</b>\n结婚登记、离婚登记、补领婚姻登记证,以及需要带的证件材料和办理地点。\n\n您可以直接输入问题,或点下面的常见问题。" in marriage
    assert [e["text"] for e in elements(marriage, **{"class": "suggestion"})] == ["结婚登记要带什么材料?", "离婚冷静期是多久?", "婚姻登记证丢了怎么补领?"]
    assert [e["text"] for e in elements(template(page, "tpl-topic-meals"), **{"class": "suggestion"})] == ["老年食堂在哪里?", "老年人助餐有补贴吗?", "行动不便的老人可以送餐上门吗?"]
    assert "tpl-topic-human" not in page  # the 人工服务 chip opens the hand-off instead
    assert "chip handoff-button" in elements(page, **{"data-topic": "human"})[0]["attrs"]["class"]


def test_handoff_shows_12345_and_the_local_office_in_the_telegram_wording_and_no_other_number(client, assistant):
    page = client.get("/chat").text
    handoff = template(page, "tpl-handoff")
    assert assistant.render("telegram/handoff.html.j2") in handoff
    assert "请拨打<b>12345政务服务便民热线</b>(7×24小时人工服务),或到当地民政局、乡镇人民政府(街道办事处)窗口咨询。" in handoff
    assert elements(handoff, **{"class": "call"}) == [{"tag": "a", "attrs": {"class": "call", "href": "tel:12345"}, "text": "拨打 12345"}]
    assert [e["text"] for e in elements(page) if e["tag"] == "button" and "handoff-button" in e["attrs"].get("class", "")] == ["转人工", "人工服务", "转人工"]
    # Every number of three or more digits on the page: the hotline, the emergency numbers, the length limit.
    visible = re.sub(r"<[^>]+>", " ", page)
    assert set(re.findall(r"\d{3,}", visible)) == {"12345", "110", "120", "119"}
    assert set(re.findall(r'maxlength="(\d+)"', page)) == {"2000", "400"}


def test_feedback_reasons_and_every_button_has_words_not_only_an_emoji(client):
    page = client.get("/chat").text
    reason = template(page, "tpl-reason")
    assert [e["attrs"]["value"] for e in elements(reason) if e["tag"] == "input"] == ["没回答我的问题", "内容不对", "看不懂", "其他"]
    assert elements(reason, **{"class": "more"})[0]["text"].startswith("还想说的话(可不填)")
    buttons = [e["text"].strip() for e in elements(page) if e["tag"] == "button"]
    assert all(re.search(r"[\u4e00-\u9fff]", b) for b in buttons), buttons
    assert "有帮助" in buttons and "没帮助" in buttons and "清空记录" in buttons and "大字" in buttons
    assert not re.search("[\U0001F300-\U0001FAFF\u2600-\u27BF]", page)  # no emoji at all: boxes where no emoji font is installed


def test_chat_page_fits_the_content_security_policy(client):
    r = client.get("/chat")
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    page = r.text
    assert re.findall(r"<script\b[^>]*>", page) == ['<script src="/static/chat.js">']
    assert not re.search(r"\sstyle=|\son[a-z]+=", page)  # inline styles and handlers are refused by the policy
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)  # no CDN, no outside fonts
    assert elements(page, id="messages")[0]["attrs"] == {"class": "messages", "id": "messages", "role": "log", "aria-live": "polite", "aria-relevant": "additions"}
    assert elements(page, id="large-text")[0]["attrs"]["aria-pressed"] == "false"
    assert client.get("/static/chat.js").status_code == 200
    script = client.get("/static/chat.js").text
    code = re.sub(r"//.*", "", script)
    assert not re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", code)  # every word comes from the page
    assert "innerHTML" not in script


def test_a_broken_topic_menu_names_file_and_line(tmp_path):
    from retrieval.errors import DataFileError
    from channels.web.topics import load_topics

    (tmp_path / "telegram_menu.toml").write_text('[[topic]]\nkey = "ok"\nlabel = "婚姻登记"\ndescription = "x"\n\n[[topic]]\nkey = "Bad Key"\nlabel = "y"\n', encoding="utf-8")
    with pytest.raises(DataFileError) as exc:
        load_topics(tmp_path)
    assert str(exc.value) == f"{tmp_path / 'telegram_menu.toml'}:6: topic key 'Bad Key' must be 1-20 of a-z 0-9 _ -"


def test_a_visitor_who_asks_to_be_forgotten_loses_their_questions_and_context_and_no_one_elses(assistant, web_settings, log):
    """Found missing by the third attack: "删除我的记录" was answered and logged as a question."""
    mine, theirs = make_client(assistant, web_settings), make_client(assistant, web_settings)
    mine.get("/chat")
    theirs.get("/chat")
    ask(mine, "低保怎么申请")
    ask(theirs, "结婚登记要带什么材料")
    log.flush()
    assert sorted(r["question"] for r in log.db["queries"].rows) == ["低保怎么申请", "结婚登记要带什么材料"]
    r = ask(mine, "删除我的记录")
    assert r.status_code == 200 and r.json()["kind"] == "forgotten" and "已删除您的1条提问记录" in r.json()["text"]
    assert [r["question"] for r in log.db["queries"].rows] == ["结婚登记要带什么材料"]
    follow = ask(mine, "那要带什么材料").json()
    assert follow["followup"] is None  # the conversation before it is gone too
