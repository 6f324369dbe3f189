"""One conversation on every channel: the same understood question and the same citations.

The same two turns go through the terminal (`bot.py chat` and the `ask --json` batch with a
conversation id), Telegram (fake Bot API transport), WeChat (fake platform) and /chat; every
channel asks through the one edge, so each shows the follow-up read with the previous
question and cites the same articles. "1" after a numbered suggestion list asks the first
suggestion on WeChat, /chat and the terminal.
"""

import asyncio
import io
import json
import re
import sys
from dataclasses import replace
from types import SimpleNamespace

import pytest

from channels.cli import Cli
from tests import telegram_fakes as fake
from tests.test_telegram_handlers import Harness

from . import wx
from .conftest import AES_KEY, APPID, NOW, WECHAT_TOKEN, make_client

FIRST, FOLLOW_UP = "在杭州怎么办理结婚登记", "那要带什么材料?"
CITATION = re.compile(r"\[(\d)\] 《([^》]+)》[^\n›]*› ([^\n<]+)")
UNDERSTOOD = "结合您上一个问题“在杭州怎么办理结婚登记”来理解"


def citations(text):
    """[(number, title, section)] of a reply's 出处 lines, whatever the channel's markup."""
    return [(int(n), title, section.strip()) for n, title, section in CITATION.findall(text)]


def terminal_batch(settings, lines):
    out = io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")), encoding="utf-8")
    real, sys.stdin = sys.stdin, stdin
    try:
        Cli(settings, out=out).run("ask", SimpleNamespace(question=[], json=True))
    finally:
        sys.stdin = real
    return [json.loads(line) for line in out.getvalue().splitlines()]


def terminal_chat(assistant, settings, messages, monkeypatch):
    out = io.StringIO()
    typed = iter(messages)

    def fake_input(prompt):  # what a terminal shows: the prompt and the typed line
        try:
            line = next(typed)
        except StopIteration:
            raise EOFError from None
        out.write(f"\x00{prompt}{line}\n")
        return line

    monkeypatch.setattr("builtins.input", fake_input)
    cli = Cli(settings, out=out)
    cli._assistant = assistant
    cli.run("chat", SimpleNamespace())
    return [part.split("\n", 1)[1].strip() for part in out.getvalue().split("\x00")[1:]]  # the reply to each line


def telegram(assistant, settings, messages):
    harness = Harness(assistant, replace(settings, telegram_bot_token="123456:TEST-TOKEN"))
    texts = []

    async def scenario(h):
        for text in messages:
            texts.append("\n".join(await h.texts(fake.message(text, user_id=7007))))

    harness.run(scenario)
    return texts


def wechat(client, messages, user):
    platform = wx.Platform(WECHAT_TOKEN, AES_KEY, APPID, now=NOW)
    replies = []
    for n, text in enumerate(messages):
        params, body = platform.push(wx.text_xml(text, 500 + n + hash(user) % 1000 * 10, user=user))
        r = client.post("/wechat", params=params, content=body, headers={"Content-Type": "text/xml"})
        replies.append(platform.open_reply(r.content, params, safe=False).content)
    return replies


def web(client, messages):
    client.get("/chat")
    return [client.post("/chat/api/ask", json={"question": text}).json() for text in messages]


@pytest.fixture()
def fresh(assistant):
    """Conversations start empty (the session's assistant is shared by other tests)."""
    from retrieval.conversation import Conversations

    assistant.conversations = Conversations(assistant.settings.followup_seconds)
    return assistant


def test_a_two_turn_conversation_reads_and_cites_the_same_on_every_channel(fresh, web_settings, log, monkeypatch):
    assistant = fresh
    batch = terminal_batch(web_settings, [{"question": FIRST, "conversation": "t"}, {"question": FOLLOW_UP, "conversation": "t"}])
    expected = [(n, s["title"], s["section"]) for n, s in enumerate(batch[1]["sources"], 1)]
    assert batch[1]["understood"]["followup"]["previous"] == FIRST
    assert ("婚姻登记条例", "第二章 结婚登记 › 第八条") in [(t, s) for _, t, s in expected]  # the materials article

    chat = terminal_chat(assistant, web_settings, [FIRST, FOLLOW_UP], monkeypatch)
    tg = telegram(assistant, web_settings, [FIRST, FOLLOW_UP])
    with make_client(assistant, web_settings) as client:
        wc = wechat(client, [FIRST, FOLLOW_UP], user="oSame1")
        page = web(client, [FIRST, FOLLOW_UP])

    shown = {"terminal chat": chat[-1], "telegram": tg[-1], "wechat": wc[-1], "ask --json": batch[1]["answer"]}
    for channel, text in shown.items():
        assert UNDERSTOOD in text, channel
        assert citations(text) == expected, channel
    # the web chat lists the citations under the answer (the JSON's sources), not in its text
    assert UNDERSTOOD in page[-1]["text"] and page[-1]["followup"] == FIRST
    assert "出处" not in page[-1]["text"] and "[1]" in page[-1]["text"]
    assert [(s["number"], s["title"], s["section"]) for s in page[-1]["sources"]] == expected


def test_one_after_numbered_suggestions_asks_the_first_suggestion(fresh, web_settings, log, monkeypatch):
    assistant = fresh
    first = assistant.answerer.ask("结婚登记要多少钱")
    suggestion = first.suggestions[0]
    assert suggestion == "结婚登记收不收费" and "您是不是想问(回复序号即可):\n1. 结婚登记收不收费" in first.text
    alone = assistant.answerer.ask(suggestion)
    expected = citations(alone.text)
    assert expected

    batch = terminal_batch(web_settings, [{"question": "结婚登记要多少钱", "conversation": "p"}, {"question": "1", "conversation": "p"}])
    assert batch[1]["question"] == suggestion and citations(batch[1]["answer"]) == expected
    chat = terminal_chat(assistant, web_settings, ["结婚登记要多少钱", "第一个"], monkeypatch)
    assert citations(chat[-1]) == expected
    with make_client(assistant, web_settings) as client:
        wc = wechat(client, ["结婚登记要多少钱", "1"], user="oSame2")
        page = web(client, ["结婚登记要多少钱", "1"])
    assert wc[0].count("您是不是想问") == 1 and "1. 结婚登记收不收费" in wc[0]
    assert citations(wc[1]) == expected
    assert page[0]["suggestions"][0] == suggestion and "您是不是想问" not in page[0]["text"]  # buttons on the web
    assert page[1]["asked"] == suggestion and [(s["number"], s["title"], s["section"]) for s in page[1]["sources"]] == expected
    assert log.db.execute("select count(*) from queries where question = ?", [suggestion]).fetchone()[0] >= 3  # the pick is logged as asked


def test_a_number_without_suggestions_before_it_is_just_a_question(fresh, web_settings, log):
    with make_client(fresh, web_settings) as client:
        page = web(client, ["低保怎么申请", "1"])
    assert page[0]["suggestions"] == [] and page[1]["asked"] is None and page[1]["declined"] is True
