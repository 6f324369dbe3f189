"""Fuzz /wechat: nasty and generated text in plain and safe mode. The reply must parse as XML
(defusedxml, and wechatpy as the platform would), carry at most 2000 UTF-8 bytes of content,
or the request must end in a clean 400/413 - never a 500 or a broken document."""

import itertools
import re
from dataclasses import replace

import pytest
from defusedxml.ElementTree import fromstring
from hypothesis import given
from hypothesis import strategies as st

from channels.web import wechat
from channels.web.wechat_reply import LIMIT_BYTES, utf8_len

from ..nasty import fuzz, messages, nasty_inputs
from . import wx
from .conftest import AES_KEY, APPID, NOW, WECHAT_TOKEN, make_client, own_log

XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
SURROGATE = re.compile("[\ud800-\udfff]")
_ids = itertools.count(1_000_000)


@pytest.fixture(scope="module")
def wechat_client(assistant, web_settings, tmp_path_factory):
    """One client for the whole module (no per-user limit, so every example reaches the core)."""
    with own_log(assistant, tmp_path_factory.mktemp("wechat-fuzz") / "log.db"), make_client(assistant, replace(web_settings, rate_limit_per_minute=0, address_rate_limit_per_minute=0)) as c:
        yield c


@pytest.fixture(scope="module")
def platform():
    return wx.Platform(WECHAT_TOKEN, AES_KEY, APPID, now=NOW)


def push(client, platform, xml, safe):
    """POST one push: (params, body, response). Lone surrogates make the plain body invalid UTF-8;
    in safe mode wechatpy (like WeChat) only encrypts valid text, so they become U+FFFD first."""
    if safe:
        params, body = platform.push(xml.encode("utf-8", "surrogatepass").decode("utf-8", "replace"), safe=True)
    else:
        params, body = platform.params(), xml.encode("utf-8", "surrogatepass")
    return params, body, client.post("/wechat", params=params, content=body, headers={"Content-Type": "text/xml"})


def check_reply(platform, params, response, safe, sender="oFuzz"):
    """The reply is well-formed XML that wechatpy opens; its content fits WeChat's limit. The content."""
    assert response.status_code == 200, response.text[:200]
    fromstring(response.content, forbid_dtd=True)  # well-formed, also before decryption
    reply = platform.open_reply(response.content, params, safe=safe)
    assert (reply.type, reply.target, reply.source) == ("text", sender, wx.ACCOUNT)
    assert reply.content.strip()
    assert utf8_len(reply.content) <= LIMIT_BYTES
    assert not XML_FORBIDDEN.search(reply.content)
    return reply.content


def ask(client, platform, text, safe):
    """Push a text message: its reply content, or None when refused cleanly (too large, not UTF-8)."""
    params, body, r = push(client, platform, wx.text_xml(text, next(_ids), user="oFuzz"), safe)
    if len(body) > wechat.MAX_BODY_BYTES:
        assert (r.status_code, r.text) == (413, "body too large")
        return None
    if SURROGATE.search(text) and not safe:
        assert (r.status_code, r.text) == (400, "bad request")
        return None
    return check_reply(platform, params, r, safe)


NASTY = nasty_inputs()


@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
@pytest.mark.parametrize("n", range(len(NASTY)), ids=[name for name, _ in NASTY])
def test_nasty_inputs_get_a_valid_reply_or_a_clean_refusal(wechat_client, platform, n, safe):
    ask(wechat_client, platform, NASTY[n][1], safe)


@fuzz(500)
@given(text=messages, safe=st.booleans())
def test_generated_text_gets_a_valid_reply(wechat_client, platform, text, safe):
    ask(wechat_client, platform, text, safe)


@fuzz(200)
@given(msg_type=st.one_of(st.sampled_from(["text", "voice", "image", "event", "location"]), messages), event=messages, key=messages, user=messages)
def test_generated_types_events_and_senders_get_a_valid_reply(wechat_client, platform, msg_type, event, key, user):
    user = SURROGATE.sub("", XML_FORBIDDEN.sub("", user))
    xml = (
        f"<xml><ToUserName>{wx.cdata(wx.ACCOUNT)}</ToUserName><FromUserName>{wx.cdata(user)}</FromUserName>"
        f"<CreateTime>{NOW}</CreateTime><MsgType>{wx.cdata(msg_type)}</MsgType><Event>{wx.cdata(event)}</Event>"
        f"<EventKey>{wx.cdata(key)}</EventKey><Content>{wx.cdata(event)}</Content><MsgId>{next(_ids)}</MsgId></xml>"
    )
    params, body, r = push(wechat_client, platform, xml, safe=False)
    if not user.strip() or not XML_FORBIDDEN.sub("", msg_type).strip() or SURROGATE.search(msg_type + event + key):
        assert (r.status_code, r.text) == (400, "bad request")
    elif any(len(value) > wechat.FIELD_LIMITS.get(name, len(value)) for name, value in wechat.parse_xml(body).items()):
        assert (r.status_code, r.text) == (400, "bad request")  # a field longer than WeChat ever sends
    elif r.text != "success":  # events such as unsubscribe or VIEW have nothing to say
        sender = user.replace("\r\n", "\n").replace("\r", "\n").strip()  # XML normalises line ends
        check_reply(platform, params, r, safe=False, sender=sender)
    else:
        assert msg_type.strip().lower() == "event"


def test_control_characters_are_dropped_not_a_reason_to_refuse(wechat_client, platform, assistant):
    # Regression: a raw \x01 or U+FFFF in a push made the XML unparsable, so the citizen got a 400
    # and WeChat's "该公众号暂时无法提供服务" after three retries.
    for safe in (False, True):
        content = ask(wechat_client, platform, "结婚登记\x01要带\x0b什么\ufffe材料\uffff", safe)
        assert content == assistant.answerer.ask("结婚登记要带什么材料").text + "\n\n回复“原文”查看引用的条文全文。"


def test_a_reply_never_carries_characters_xml_forbids():
    # Regression: cdata() passed them through, so a passage or name holding one broke the reply.
    message = wechat.Message("gh_x", "o\x00ab", "1", "text", "1", "", "", "")
    xml = wechat.text_reply(message, "前\x08\x1f\ufffe后\ud800", now=5)
    assert wechat.parse_xml(xml.encode("utf-8")) == {"ToUserName": "oab", "FromUserName": "gh_x", "CreateTime": "5", "MsgType": "text", "Content": "前后"}
    assert wx.Platform(WECHAT_TOKEN).open_reply(xml, {}).content == "前后"


def test_a_huge_body_is_refused_before_it_is_read(wechat_client, platform):
    params, _ = platform.push("<xml/>")
    r = wechat_client.post("/wechat", params=params, content=b"<xml><Content>" + "结婚".encode() * 2_000_000 + b"</Content></xml>")
    assert (r.status_code, r.text) == (413, "body too large")
