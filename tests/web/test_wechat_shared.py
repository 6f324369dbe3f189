"""/wechat of two workers sharing one Redis, in one test process: two apps, two Assistants, one
store, one query log, one redis-server (the `redis` fixture). A push reaching both is answered
once; a replayed signature is refused on the other worker; 回复“原文” works on either."""

import re
from dataclasses import replace

import pytest

from retrieval.assistant import Assistant
from retrieval.sharedstate import RedisLink, Shared

from . import wx
from .conftest import AES_KEY, APPID, NOW, WECHAT_TOKEN, make_client


@pytest.fixture()
def workers(assistant, web_settings, tmp_path, redis):
    """Two clients, each on its own app and Assistant over the same Redis and log."""
    settings = replace(web_settings, log_path=tmp_path / "log.db")
    assistants = [Assistant(settings, Shared(RedisLink(redis.url))) for _ in range(2)]
    clients = [make_client(a, settings) for a in assistants]
    for c in clients:
        c.__enter__()
    yield clients, assistants
    for c in clients:
        c.__exit__(None, None, None)
    for a in assistants:
        a.log.close()


@pytest.fixture()
def platform():
    return wx.Platform(WECHAT_TOKEN, AES_KEY, APPID, now=NOW)


def reply(client, platform, params, body):
    r = client.post("/wechat", params=params, content=body, headers={"Content-Type": "text/xml"})
    assert r.status_code == 200, r.text
    return None if r.text == "success" else platform.open_reply(r.content, params).content


def test_one_push_delivered_to_two_workers_is_answered_once_and_logged_once(workers, platform):
    (one, two), (first, _) = workers
    params, body = platform.push(wx.text_xml("特困人员供养", 70, user="oShared"))
    answer = reply(one, platform, params, body)
    again = reply(two, platform, params, body)  # WeChat's retry, reaching the other worker
    assert answer is not None and again == answer
    assert first.log.db["queries"].count == 1


def test_a_signature_replayed_with_another_body_on_the_other_worker_is_refused(workers, platform):
    (one, two), _ = workers
    params, body = platform.push(wx.text_xml("低保怎么申请", 71, user="oVictim"))
    assert reply(one, platform, params, body) is not None
    forged = wx.text_xml("低保怎么申请", 72, user="oSomeoneElse").encode()
    r = two.post("/wechat", params=params, content=forged, headers={"Content-Type": "text/xml"})
    assert (r.status_code, r.text) == (403, "replayed signature")


def test_original_on_the_other_worker_shows_the_last_answers_passages(workers, platform):
    (one, two), _ = workers
    assert reply(one, platform, *platform.push(wx.text_xml("结婚登记要带什么材料", 73, user="oReader")))
    original = reply(two, platform, *platform.push(wx.text_xml("原文", 74, user="oReader")))
    assert re.match(r"上一条回答引用的原文:\n\n\[1\] 《婚姻登记条例》", original)


def test_forgetting_on_one_worker_forgets_the_sources_on_the_other(workers, platform):
    (one, two), (first, _) = workers
    assert reply(one, platform, *platform.push(wx.text_xml("离婚冷静期多久", 75, user="oForgets")))
    assert reply(two, platform, *platform.push(wx.text_xml("删除我的记录", 76, user="oForgets"))).startswith("已删除您的1条提问记录")
    assert reply(one, platform, *platform.push(wx.text_xml("原文", 77, user="oForgets"))).startswith("您还没有提问")
    assert first.log.db["queries"].count == 0
