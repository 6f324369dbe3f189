"""/wechat end to end: signatures, plain and safe mode, messages and events, retries, slow path, attacks."""

import re
import time
from dataclasses import replace

import pytest
from wechatpy.utils import check_signature

from channels.web import wechat
from channels.web.wechat_reply import LIMIT_BYTES, fit_answer, utf8_len

from . import wx
from .conftest import AES_KEY, APPID, NOW, WECHAT_TOKEN, make_client
from .fake_wechat_api import FakeWeChatAPI

ORIGINAL_HINT = "回复“原文”查看引用的条文全文。"


@pytest.fixture()
def platform():
    return wx.Platform(WECHAT_TOKEN, AES_KEY, APPID, now=NOW)


def post(client, platform, xml, safe=False):
    params, body = platform.push(xml, safe=safe)
    return params, client.post("/wechat", params=params, content=body, headers={"Content-Type": "text/xml"})


def reply_content(client, platform, xml, safe=False):
    params, r = post(client, platform, xml, safe)
    assert r.status_code == 200, r.text
    reply = platform.open_reply(r.content, params, safe=safe)
    sender = re.search(r"<FromUserName><!\[CDATA\[(.*?)\]\]>", xml).group(1)
    assert (reply.type, reply.target, reply.source) == ("text", sender, wx.ACCOUNT)
    return reply.content


def expected_answer(assistant, question):
    """The core's answer with the 原文 hint, its quotes shortened only as far as WeChat's limit needs."""
    answer = assistant.answerer.ask(question)
    return fit_answer(answer.text + "\n\n" + ORIGINAL_HINT, answer.quotes, LIMIT_BYTES)


# -- signatures and URL verification ----------------------------------------------------------
def test_signature_matches_the_official_vectors_and_wechatpy():
    assert wechat.signature("AAAAA", "1714036504", "1514711492") == "f464b24fc39322e44b38aa78f5edd27bd1441696"
    assert wechat.signature("AAAAA", "1714037059", "486452656") == "899cf89e464efb63f54ddac96b0a0a235f53aa78"
    check_signature("AAAAA", wechat.signature("AAAAA", "1714036504", "1514711492"), "1714036504", "1514711492")


def test_url_verification_echoes_echostr_for_the_official_vector(client):
    params = {"signature": "f464b24fc39322e44b38aa78f5edd27bd1441696", "timestamp": "1714036504", "nonce": "1514711492", "echostr": "7315183466284430353"}
    r = client.get("/wechat", params=params)
    assert (r.status_code, r.text) == (200, "7315183466284430353")


def test_bad_signature_is_403_on_get_and_post(client, platform):
    params = {"signature": "0" * 40, "timestamp": "1714036504", "nonce": "1514711492", "echostr": "x"}
    assert client.get("/wechat", params=params).status_code == 403
    params, body = platform.push(wx.text_xml("低保怎么申请", 1))
    params["signature"] = params["signature"][:-1] + ("0" if params["signature"][-1] != "0" else "1")
    r = client.post("/wechat", params=params, content=body)
    assert (r.status_code, r.text) == (403, "bad signature")


def test_stale_timestamp_is_refused_against_replays(assistant, web_settings, log, platform):
    with make_client(assistant, web_settings, clock=lambda: NOW + 301) as late:
        params, body = platform.push(wx.text_xml("低保怎么申请", 2))
        assert late.post("/wechat", params=params, content=body).status_code == 403


def test_wechat_is_off_without_a_token(assistant, web_settings, log, platform):
    with make_client(assistant, replace(web_settings, wechat_token="")) as c:
        params, body = platform.push(wx.text_xml("低保怎么申请", 3))
        assert c.post("/wechat", params=params, content=body).status_code == 404


# -- messages ----------------------------------------------------------------------------------
def test_text_question_gets_the_cited_answer_in_plain_mode(client, platform, assistant):
    content = reply_content(client, platform, wx.text_xml("结婚登记要带什么材料", 10))
    assert content == expected_answer(assistant, "结婚登记要带什么材料")
    assert "[1] 《婚姻登记条例》国务院(国务院令第804号),2025-04-06,2025-05-10施行 › 第二章 结婚登记 › 第" in content


def test_safe_mode_round_trip_with_wechatpy(client, platform, assistant):
    content = reply_content(client, platform, wx.text_xml("低保怎么申请", 11), safe=True)
    assert content == expected_answer(assistant, "低保怎么申请")


def test_safe_mode_tampered_msg_signature_is_403_and_foreign_appid_is_400(client, platform):
    params, body = platform.push(wx.text_xml("低保怎么申请", 12), safe=True)
    params["msg_signature"] = "f" * 40
    assert client.post("/wechat", params=params, content=body).status_code == 403
    other = wx.Platform(WECHAT_TOKEN, AES_KEY, "wxSOMEBODYELSE000", now=NOW)
    params, body = other.push(wx.text_xml("低保怎么申请", 13), safe=True)
    r = client.post("/wechat", params=params, content=body)
    assert (r.status_code, r.text) == (400, "bad request")


def test_voice_uses_the_recognition_text(client, platform, assistant):
    content = reply_content(client, platform, wx.voice_xml("低保怎么申请", 20))
    assert content == expected_answer(assistant, "低保怎么申请")
    unheard = reply_content(client, platform, wx.voice_xml("", 21))
    assert unheard == "抱歉,没有听清您的语音。请再说一遍,或者直接用文字输入您的问题。"


def test_image_gets_the_text_only_notice(client, platform):
    assert reply_content(client, platform, wx.image_xml(22)) == "抱歉,我暂时只能看懂文字和语音。请用文字描述您的问题,例如:“结婚登记要带什么材料?”"


def test_empty_and_too_long_questions_use_the_core_wording(client, platform, web_settings):
    assert reply_content(client, platform, wx.text_xml("?!。", 23)) == "请用文字输入您的问题,例如:“结婚登记要带什么材料?”“申请低保找哪里?”"
    long_question = "低保" * 1001
    assert reply_content(client, platform, wx.text_xml(long_question, 24)) == "您的问题有2002个字,超过了2000字的上限。请用一两句话说明您想问的事。"


def test_subscribe_click_and_help(client, platform):
    welcome = reply_content(client, platform, wx.event_xml("subscribe", created=NOW))
    assert welcome.startswith("您好,欢迎关注!我是民政小助手")
    assert "回复“原文”可查看上一条回答引用的条文全文。" in welcome
    hotline = reply_content(client, platform, wx.event_xml("CLICK", created=NOW + 1, key="HOTLINE"))
    assert hotline == "如需人工服务,请拨打12345政务服务便民热线(7×24小时),或到当地县级民政局、乡镇人民政府(街道办事处)窗口咨询。\n紧急情况请立即拨打110、120或119。"
    topic = reply_content(client, platform, wx.event_xml("CLICK", created=NOW + 2, key="TOPIC_AID"))
    assert topic == "关于社会救助,您可以这样问:\n· 低保怎么申请?\n· 特困人员有哪些救助?\n· 临时救助找哪里?\n直接发送您的问题即可。"
    unknown = reply_content(client, platform, wx.event_xml("CLICK", created=NOW + 3, key="NO_SUCH_KEY"))
    assert unknown.startswith("怎么提问:用一两句话说明您想办的事")
    assert reply_content(client, platform, wx.text_xml("帮助", 30)) == unknown


def test_unsubscribe_deletes_the_users_data(client, platform, log):
    reply_content(client, platform, wx.text_xml("离婚冷静期多久", 40, user="oLeaving"))
    reply_content(client, platform, wx.text_xml("低保怎么申请", 41, user="oStaying"))
    assert log.db["queries"].count == 2
    params, r = post(client, platform, wx.event_xml("unsubscribe", user="oLeaving", created=NOW))
    assert (r.status_code, r.text) == (200, "success")
    assert [row["question"] for row in log.db["queries"].rows] == ["低保怎么申请"]
    assert reply_content(client, platform, wx.text_xml("原文", 42, user="oLeaving")).startswith("您还没有提问")


def test_asking_to_be_forgotten_also_forgets_the_last_answers_sources(client, platform, log):
    """原文 after 删除我的记录 must not reveal what the forgotten question was about."""
    reply_content(client, platform, wx.text_xml("我叫陈桂花，离婚冷静期是多少天", 43, user="oForgets"))
    assert reply_content(client, platform, wx.text_xml("原文", 44, user="oForgets")).startswith("上一条回答引用的原文:")
    forgotten = reply_content(client, platform, wx.text_xml("删除我的记录", 45, user="oForgets"))
    assert forgotten == "已删除您的1条提问记录和相关反馈,之前的对话也不再用来理解您的下一个问题。"
    assert reply_content(client, platform, wx.text_xml("原文", 46, user="oForgets")).startswith("您还没有提问")
    assert log.db["queries"].count == 0


def test_a_forget_request_in_everyday_words_deletes_the_rows_and_is_not_itself_logged(client, platform, log):
    reply_content(client, platform, wx.text_xml("低保怎么申请", 47, user="oPlain"))
    reply_content(client, platform, wx.text_xml("离婚冷静期多久", 48, user="oPlain"))
    forgotten = reply_content(client, platform, wx.text_xml("我要删除我的信息，我叫王小明电话13912345678", 49, user="oPlain"))
    assert forgotten == "已删除您的2条提问记录和相关反馈,之前的对话也不再用来理解您的下一个问题。"
    assert log.db["queries"].count == 0
    assert reply_content(client, platform, wx.text_xml("帮我把我的记录删掉", 52, user="oPlain")) == "没有您的提问记录需要删除;之前的对话也不再用来理解您的下一个问题。"


def test_original_shows_the_cited_passages_of_the_last_answer(client, platform, assistant):
    reply_content(client, platform, wx.text_xml("结婚登记要带什么材料", 50, user="oReader"))
    original = reply_content(client, platform, wx.text_xml("原文", 51, user="oReader"))
    hits = assistant.answerer.ask("结婚登记要带什么材料").sources
    assert original.startswith("上一条回答引用的原文:\n\n[1] 《婚姻登记条例》国务院(国务院令第804号),2025-04-06,2025-05-10施行 › ")
    for n, hit in enumerate(hits, 1):
        assert f"[{n}] 《{hit.document['title']}》" in original
    assert hits[0].passage["text"][:60] in original
    assert utf8_len(original) <= 2000


# -- retries, deadline, 客服消息 ----------------------------------------------------------------
def test_retries_of_one_msgid_are_answered_once(client, platform, log):
    xml = wx.text_xml("特困人员供养", 60, user="oRetry")
    contents = {reply_content(client, platform, xml) for _ in range(3)}
    assert len(contents) == 1
    assert log.db["queries"].count == 1


class SlowAssistant:
    """The real assistant, but each answer takes `delay` seconds (a slow core or a busy machine)."""

    def __init__(self, assistant, delay):
        self._assistant = assistant
        self.delay = delay
        self.asked = 0

    def ask(self, question, channel="cli", user=None, context=None):
        self.asked += 1
        time.sleep(self.delay)
        return self._assistant.ask(question, channel=channel, user=user, context=context)

    def __getattr__(self, name):
        return getattr(self._assistant, name)


@pytest.fixture()
def fake_api():
    api = FakeWeChatAPI(appid=APPID).start()
    yield api
    api.stop()


def test_slow_answer_says_success_then_arrives_once_through_the_customer_service_api(assistant, web_settings, log, platform, fake_api):
    slow = SlowAssistant(assistant, delay=0.6)
    settings = replace(web_settings, wechat_appsecret=fake_api.secret, wechat_api_base_url=fake_api.base_url)
    with make_client(slow, settings, wechat_deadline=0.2) as c:
        xml = wx.text_xml("低保怎么申请", 70, user="oSlow")
        for _ in range(3):  # WeChat's retries while the answer is still being composed
            params, r = post(c, platform, xml, safe=True)
            assert (r.status_code, r.text) == (200, "success")
        sent = fake_api.wait_sent(1)
        time.sleep(0.3)
        assert len(fake_api.sent) == 1 and slow.asked == 1
    token, raw, payload = sent[0]
    assert token == "TOKEN1"
    assert fake_api.token_requests == [{"grant_type": "client_credential", "appid": APPID, "secret": fake_api.secret}]
    assert payload == {"touser": "oSlow", "msgtype": "text", "text": {"content": expected_answer(assistant, "低保怎么申请")}}
    assert "出处:".encode("utf-8") in raw  # UTF-8 on the wire, not \u escapes


def test_customer_service_refreshes_an_expired_token_once(assistant, web_settings, log, platform, fake_api):
    fake_api.expire_next = True
    slow = SlowAssistant(assistant, delay=0.3)
    settings = replace(web_settings, wechat_appsecret=fake_api.secret, wechat_api_base_url=fake_api.base_url)
    with make_client(slow, settings, wechat_deadline=0.05) as c:
        params, r = post(c, platform, wx.text_xml("临时救助", 71, user="oSlow2"))
        assert r.text == "success"
        sent = fake_api.wait_sent(1)
    assert [s[0] for s in sent] == ["TOKEN2"] and len(fake_api.token_requests) == 2


def test_slow_answer_without_appsecret_still_says_success(assistant, web_settings, log, platform):
    slow = SlowAssistant(assistant, delay=0.3)
    with make_client(slow, web_settings, wechat_deadline=0.05) as c:
        params, r = post(c, platform, wx.text_xml("临时救助", 72))
        assert (r.status_code, r.text) == (200, "success")


# -- hostile and malformed input ---------------------------------------------------------------
XXE = b"""<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"""
LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol4;</Content><MsgId>2</MsgId></xml>"""


@pytest.mark.parametrize(
    "body",
    [XXE, LAUGHS, b"<xml><ToUserName>gh", b"not xml at all", b"<html><body/></html>", b"<xml><Content>no sender</Content></xml>", b"\xff\xfe<xml/>"],
    ids=["xxe", "billion-laughs", "truncated", "text", "wrong-root", "missing-fields", "bad-encoding"],
)
def test_hostile_or_malformed_xml_is_400_without_a_trace(client, platform, body):
    r = client.post("/wechat", params=platform.params(), content=body)
    assert (r.status_code, r.text) == (400, "bad request")


def test_oversized_body_is_refused(client, platform):
    r = client.post("/wechat", params=platform.params(), content=b"<xml>" + b"a" * 70_000 + b"</xml>")
    assert r.status_code == 413


def test_cdata_terminator_cannot_break_the_reply_xml(client, platform):
    message = wechat.Message("gh_x", "o]]><evil/>", "1", "text", "1", "", "", "")
    xml = wechat.text_reply(message, "前]]><MsgType>news</MsgType>后", now=5)
    assert wechat.parse_xml(xml.encode()) == {"ToUserName": "o]]><evil/>", "FromUserName": "gh_x", "CreateTime": "5", "MsgType": "text", "Content": "前]]><MsgType>news</MsgType>后"}
    assert wx.Platform(WECHAT_TOKEN).open_reply(xml, {}).content == "前]]><MsgType>news</MsgType>后"
    content = reply_content(client, platform, wx.text_xml("低保]]><x/>怎么申请", 80))
    assert content.startswith("由共同生活的家庭成员向户籍所在地")  # the dibao-apply FAQ entry answers


class WithSuggestions:
    """The real assistant, with FAQ 'did you mean' questions on each answer (as the FAQ work will add)."""

    def __init__(self, assistant):
        self._assistant = assistant

    def ask(self, question, channel="cli", user=None, context=None):
        reply = self._assistant.ask(question, channel=channel, user=user, context=context)
        return replace(reply, answer=with_suggestions(reply.answer))

    def __getattr__(self, name):
        return getattr(self._assistant, name)


def with_suggestions(answer):
    suggestions = ("低保申请需要哪些材料?", "低保标准是多少?")
    return replace(answer, suggestions=suggestions, decision=replace(answer.decision, suggestions=suggestions))


def test_suggestions_are_listed_in_wechat_and_returned_by_chat(assistant, web_settings, log, platform):
    with make_client(WithSuggestions(assistant), web_settings) as c:
        content = reply_content(c, platform, wx.text_xml("低保怎么申请", 90))
        data = c.post("/chat/api/ask", json={"question": "低保怎么申请"}).json()
    answer = assistant.answerer.ask("低保怎么申请")
    full = answer.text + "\n\n您是不是想问(回复序号即可):\n1. 低保申请需要哪些材料?\n2. 低保标准是多少?\n\n" + ORIGINAL_HINT
    assert content == fit_answer(full, answer.quotes, LIMIT_BYTES) and content.count("您是不是想问") == 1
    # /chat shows them as buttons only
    assert data["suggestions"] == ["低保申请需要哪些材料?", "低保标准是多少?"] and "您是不是想问" not in data["text"]


# -- replays of a logged signature (issue 14) ---------------------------------------------------
def questions_of(log, user):
    """The logged questions of one openid (a slow answer of an earlier test may still land in this log)."""
    return [row["question"] for row in log.db["queries"].rows_where("user_hash = ?", [log.user_hash("wechat", user)])]


def test_a_logged_signature_replayed_with_another_body_is_403_and_changes_nothing(client, platform, log):
    params, r = post(client, platform, wx.text_xml("低保怎么申请", 70, user="oVictim"))
    assert r.status_code == 200 and questions_of(log, "oVictim") == ["低保怎么申请"]
    forged = wx.event_xml("unsubscribe", user="oVictim", created=NOW)
    r = client.post("/wechat", params=params, content=forged.encode())
    assert (r.status_code, r.text) == (403, "replayed signature")
    assert questions_of(log, "oVictim") == ["低保怎么申请"]  # the citizen's history is still there
    for other in (wx.text_xml("结婚登记要带什么材料", 71, user="oVictim"), wx.text_xml("低保怎么申请", 70, user="oVictim") + " "):
        assert client.post("/wechat", params=params, content=other.encode()).status_code == 403


def test_the_identical_push_again_is_wechat_retrying_and_answered_once(client, platform, log):
    xml = wx.text_xml("特困人员供养", 72, user="oRetry2")
    params, first = post(client, platform, xml)
    again = client.post("/wechat", params=params, content=xml.encode())
    assert (again.status_code, again.content) == (200, first.content)
    assert questions_of(log, "oRetry2") == ["特困人员供养"]


def test_duplicates_are_remembered_for_the_whole_signature_window(assistant, web_settings, log, platform):
    now = [float(NOW)]
    with make_client(assistant, web_settings, clock=lambda: now[0]) as c:
        xml = wx.text_xml("离婚冷静期多久", 73, user="oLate")
        params, body = platform.push(xml)
        first = platform.open_reply(c.post("/wechat", params=params, content=body).content, params).content
        for later in (62, 299, 300):
            now[0] = NOW + later
            r = c.post("/wechat", params=params, content=body)
            assert (r.status_code, platform.open_reply(r.content, params).content) == (200, first), later
        now[0] = NOW + 301
        assert c.post("/wechat", params=params, content=body).status_code == 403  # the signature is stale now
        retry = wx.Platform(WECHAT_TOKEN, now=NOW + 290)  # WeChat signed a later retry of the same MsgId
        params, body = retry.push(xml)
        for later in (290, 580):  # the retry, then a replay of it near the end of its own window
            now[0] = NOW + later
            r = c.post("/wechat", params=params, content=body)
            assert (r.status_code, platform.open_reply(r.content, params).content) == (200, first), later
    assert questions_of(log, "oLate") == ["离婚冷静期多久"]
    endpoint = c.app.state.wechat
    assert endpoint.pending.window == endpoint.replays.window == endpoint.max_skew == 300


def test_events_of_one_second_are_told_apart_by_their_event_key(client, platform):
    hotline = reply_content(client, platform, wx.event_xml("CLICK", user="oClicker", created=NOW, key="HOTLINE"))
    topic = reply_content(client, platform, wx.event_xml("CLICK", user="oClicker", created=NOW, key="TOPIC_AID"))
    assert hotline.startswith("如需人工服务") and topic.startswith("关于社会救助")


def test_pushes_never_log_openids_signatures_or_nonces(client, platform, caplog, monkeypatch, assistant):
    caplog.set_level("DEBUG")
    monkeypatch.setattr(assistant, "forget", lambda *a: (_ for _ in ()).throw(RuntimeError("log locked")))
    params, _ = post(client, platform, wx.event_xml("unsubscribe", user="oSecretOpenid1", created=NOW))
    params2, _ = post(client, platform, wx.text_xml("低保怎么申请", 74, user="oSecretOpenid2"))
    client.post("/wechat", params=params2, content=b"<xml>forged</xml>")
    server_side = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records if not r.name.startswith("httpx"))  # httpx: the test's own client
    assert "WeChat reply failed for ev:" in server_side  # the failure is reported...
    for value in ("oSecretOpenid1", "oSecretOpenid2", params["signature"], params2["signature"], f"nonce={params['nonce']}", "oCitizen1"):
        assert value not in server_side  # ...without who it was for


# -- the configured mode decides, not the request (issue 14) ----------------------------------------
@pytest.mark.parametrize("encrypt_type", [None, "raw", "RAW", "none"])
def test_safe_mode_refuses_plaintext_pushes(assistant, web_settings, log, platform, encrypt_type):
    with make_client(assistant, replace(web_settings, wechat_mode="")) as c:  # an AES key alone means safe mode
        params, body = platform.push(wx.text_xml("低保怎么申请", 80, user="oDowngrade"))
        if encrypt_type is not None:
            params["encrypt_type"] = encrypt_type
        r = c.post("/wechat", params=params, content=body)
        assert (r.status_code, r.text) == (403, "safe mode: plaintext push refused")
        params, body = platform.push(wx.text_xml("低保怎么申请", 81, user="oSafe"), safe=True)
        assert c.post("/wechat", params=params, content=body).status_code == 200
    assert questions_of(log, "oDowngrade") == [] and questions_of(log, "oSafe") == ["低保怎么申请"]


def test_plain_mode_refuses_encrypted_pushes(assistant, web_settings, log, platform):
    with make_client(assistant, replace(web_settings, wechat_mode="plain")) as c:
        params, body = platform.push(wx.text_xml("低保怎么申请", 82), safe=True)
        r = c.post("/wechat", params=params, content=body)
        assert (r.status_code, r.text) == (403, "plain mode: encrypted push refused")
        params, body = platform.push(wx.text_xml("低保怎么申请", 83))
        assert c.post("/wechat", params=params, content=body).status_code == 200


def test_compatible_mode_takes_both_only_when_configured(assistant, web_settings, log, platform):
    with make_client(assistant, replace(web_settings, wechat_mode="compat")) as c:
        for n, safe in ((84, False), (85, True)):
            params, body = platform.push(wx.text_xml("低保怎么申请", n), safe=safe)
            assert c.post("/wechat", params=params, content=body).status_code == 200


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"wechat_mode": "SAFE!"}, "WECHAT_MODE must be plain, safe or compat (got 'SAFE!')"),
        ({"wechat_mode": "safe", "wechat_aes_key": ""}, "WECHAT_MODE=safe needs WECHAT_AES_KEY and WECHAT_APPID"),
        ({"wechat_mode": "compat", "wechat_appid": ""}, "WECHAT_MODE=compat needs WECHAT_AES_KEY and WECHAT_APPID"),
        ({"wechat_mode": "", "wechat_appid": ""}, "WECHAT_MODE=safe needs WECHAT_AES_KEY and WECHAT_APPID"),
        # fifth attack: a key of the wrong length or alphabet was a ValueError and a traceback at start
        ({"wechat_mode": "safe", "wechat_aes_key": "short"}, "WECHAT_AES_KEY must be the 43-character EncodingAESKey of the account (it has 5 characters)"),
        ({"wechat_mode": "safe", "wechat_aes_key": "!" * 43}, "WECHAT_AES_KEY must be the 43-character EncodingAESKey of the account (it has 43 characters)"),
    ],
)
def test_an_impossible_wechat_mode_refuses_to_start(assistant, web_settings, changes, message):
    from retrieval.errors import SettingsError

    with pytest.raises(SettingsError) as info:
        make_client(assistant, replace(web_settings, **changes))
    assert str(info.value) == message


# -- the query log locked (issue 14 item 6) ---------------------------------------------------
LOCKED_LOG_QUESTIONS = ("结婚登记要带什么材料", "低保怎么申请", "离婚冷静期多久", "特困人员供养", "临时救助找哪里",
                        "火化证明怎么开", "高龄津贴怎么领", "老年助餐", "社会组织登记", "领证需要带哪些材料")


def test_a_locked_query_log_costs_no_wechat_answer(assistant, web_settings, log, platform):
    """Another connection holds the log's write lock (an open transaction in a sqlite3 shell):
    ten pushes arriving together all get the real answer inside WeChat's 5 s, none `success`."""
    import sqlite3
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from .test_server import running

    expected = [expected_answer(assistant, q) for q in LOCKED_LOG_QUESTIONS]
    pushes = [platform.push(wx.text_xml(q, 900 + n, user=f"oLocked{n}")) for n, q in enumerate(LOCKED_LOG_QUESTIONS)]
    with running(assistant, web_settings) as base:
        params, body = platform.push(wx.text_xml("低保怎么申请", 899, user="oBefore"))
        assert httpx.post(base + "/wechat", params=params, content=body).status_code == 200
        assert log.db["queries"].count == 1  # the log exists (WAL mode) before it is locked
        locker = sqlite3.connect(log.path, isolation_level=None)
        locker.execute("begin exclusive")
        try:
            with ThreadPoolExecutor(len(pushes)) as pool:
                started = time.monotonic()
                responses = list(pool.map(lambda push: httpx.post(base + "/wechat", params=push[0], content=push[1], timeout=30), pushes))
                took = time.monotonic() - started
        finally:
            locker.execute("rollback")
            locker.close()
    contents = []
    for (params, _), response in zip(pushes, responses):
        assert response.status_code == 200
        assert response.text != "success"
        contents.append(platform.open_reply(response.content, params).content)
    assert contents == expected  # 10 of 10: the real answer, not `success` (8 of 10 were before)
    assert took < 4.5
    assert log.db["queries"].count == 11  # once the lock is gone the writer catches up: every question is logged
    assert log.dropped() == 0


# -- memory bounded by size (issue 14 item 9) --------------------------------------------------
def test_3000_pushes_with_huge_fields_are_refused_at_parse_time_and_grow_no_table(assistant, web_settings, log, platform):
    """The attack: 20 KB FromUserName, 40 KB MsgId (60 KB, under the body cap) took RSS 241 -> 428 MB."""
    with make_client(assistant, web_settings) as c:
        endpoint = c.app.state.wechat
        for n in range(3000):
            params, body = platform.push(wx.text_xml("低保怎么申请", f"{n:040000d}", user=f"o{n:020000d}"))
            assert len(body) > 60_000
            r = c.post("/wechat", params=params, content=body)
            assert (r.status_code, r.text) == (400, "bad request")
        assert (len(endpoint.pending), endpoint.pending._bytes) == (0, 0)  # no MsgId kept
        assert endpoint.last_sources._by_user == {} and endpoint.asker.edge.limiter._buckets == {}
        # Only the (timestamp, nonce) pairs of the signatures are remembered: bytes, not the bodies.
        per_pair = wechat.ENTRY_OVERHEAD + len(str(NOW)) + 4
        assert len(endpoint.replays) == 3000 and endpoint.replays._bytes == 3000 * per_pair < 1_000_000
    assert log.db["queries"].count == 0


def test_the_dedup_and_replay_tables_stay_within_their_byte_budget_with_the_longest_allowed_fields():
    clock = lambda: NOW  # noqa: E731
    limits = wechat.FIELD_LIMITS
    pending = wechat.Deduplicator(window=300, max_bytes=200_000, clock=clock)
    replays = wechat.ReplayGuard(window=300, max_bytes=200_000, clock=clock)
    for n in range(3000):
        pending.put(f"msg:{'o' * limits['FromUserName']}:{n:0{limits['MsgId']}d}", object(), NOW)
        event = f"ev:{n:0{limits['FromUserName']}d}:{NOW}:CLICK:{'k' * limits['EventKey']}"
        pending.put(event, object(), NOW)
        assert replays.check(str(NOW), f"{n:0{wechat.MAX_NONCE_CHARS}d}", b"<xml/>") == wechat.NEW
        assert pending._bytes <= 200_000 and replays._bytes <= 200_000
    assert pending._bytes == sum(wechat._size(k) for k in pending._entries)
    assert replays._bytes == sum(wechat._size(k) for k in replays._entries)
    assert 0 < len(pending) < 3000 and 0 < len(replays) < 3000
    user = "o" * limits["FromUserName"]
    assert pending.get(f"msg:{user}:{2999:0{limits['MsgId']}d}") is not None and pending.get(f"msg:{user}:{0:0{limits['MsgId']}d}") is None  # the oldest went first


def test_a_push_from_another_user_with_the_same_msgid_is_answered_for_that_user(client, platform, log):
    """Found by the third attack: duplicates were keyed on MsgId alone, so a signed push from
    another openid reusing a MsgId got the first user's reply and its question was dropped."""
    _, first = post(client, platform, wx.text_xml("低保怎么申请", 9001, user="oFirst"))
    _, second = post(client, platform, wx.text_xml("结婚登记要带什么材料", 9001, user="oSecond"))
    assert first.status_code == second.status_code == 200 and first.content != second.content
    assert questions_of(log, "oFirst") == ["低保怎么申请"] and questions_of(log, "oSecond") == ["结婚登记要带什么材料"]
