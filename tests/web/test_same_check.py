"""One guided 低保 check on every channel: the same questions, one per message, and the same cited outcome.
The terminal (`bot.py chat`, answered by number), Telegram (fake Bot API transport, answered by
the check's buttons), WeChat (fake platform, answered by number) and /chat (answered by the
option words its buttons send) all ask through the one edge, so each asks the same three
conditions and ends at the same outcome with the same numbered citations.
"""


import pytest

from tests import telegram_fakes as fake
from tests.test_telegram_handlers import Harness

from .conftest import make_client
from .test_same_conversation import citations, terminal_chat, wechat

START = "我能不能申请低保"
QUESTIONS = [
    "您家共同生活的家庭成员,人均月收入低于当地最低生活保障标准吗?",
    "您家的家庭财产状况,符合当地最低生活保障家庭财产状况的规定吗?",
    "申请时需要如实申报家庭收入和财产状况,并可能由民政部门受委托查询核对。您家愿意吗?",
]
OUTCOME = "按您的回答,您家可能符合申请最低生活保障的条件(最终以审核审批为准)。"
ANSWERS = "1. 人均月收入低于当地低保标准:低于[1][2]\n2. 家庭财产状况符合当地规定:符合[1][3]\n3. 如实申报家庭收入和财产:愿意[3][4]"
EXPECTED = [
    (1, "浙江省社会救助条例", "第二章 最低生活保障 › 第九条"),
    (2, "社会救助暂行办法", "第二章 最低生活保障 › 第十条"),
    (3, "浙江省社会救助条例", "第十一章 监督管理 › 第四十八条"),
    (4, "浙江省社会救助条例", "第十一章 监督管理 › 第四十九条"),
    (5, "浙江省社会救助条例", "第二章 最低生活保障 › 第十一条"),
    (6, "社会救助暂行办法", "第二章 最低生活保障 › 第十一条"),
]


@pytest.fixture()
def fresh(assistant):
    from retrieval.conversation import Conversations

    assistant.conversations = Conversations(assistant.settings.followup_seconds)
    return assistant


def telegram_by_buttons(assistant, settings):
    """The check on Telegram: the question typed, then the first button of each condition."""
    from dataclasses import replace

    harness = Harness(assistant, replace(settings, telegram_bot_token="123456:TEST-TOKEN"))
    texts, keyboards = [], []

    async def scenario(h):
        update = fake.message(START, user_id=7008)
        for _ in range(len(QUESTIONS) + 1):
            calls = [p for m, p in await h.send(update) if m == "sendMessage"]
            texts.append("\n".join(p["text"] for p in calls))
            keyboards.append(calls[-1].get("reply_markup"))
            update = fake.callback("chk:0", user_id=7008)

    harness.run(scenario)
    return texts, keyboards


def test_a_dibao_check_asks_the_same_questions_and_ends_at_the_same_cited_outcome_everywhere(fresh, web_settings, log, monkeypatch):
    assistant = fresh
    chat = terminal_chat(assistant, web_settings, [START, "1", "1", "1"], monkeypatch)
    tg, keyboards = telegram_by_buttons(assistant, web_settings)
    with make_client(assistant, web_settings) as client:
        wc = wechat(client, [START, "1", "1", "1"], user="oCheck1")
        client.get("/chat")
        page = [client.post("/chat/api/ask", json={"question": q}).json() for q in [START, "低于", "符合", "愿意"]]

    shown = {"terminal chat": chat, "telegram": tg, "wechat": wc, "web chat": [p["text"] for p in page]}
    for channel, replies in shown.items():
        assert len(replies) == 4, channel
        for n, question in enumerate(QUESTIONS):  # one condition per message, in order
            assert f"第{n + 1}/3问】{question}" in replies[n], channel
        assert OUTCOME in replies[3] and ANSWERS in replies[3], channel
        assert citations(replies[3]) == EXPECTED, channel
    # numbers where one replies by typing, buttons where one taps
    for channel in ("terminal chat", "wechat"):
        assert "1. 低于\n2. 不低于\n3. 不确定" in shown[channel][0], channel
    for channel in ("telegram", "web chat"):
        assert "1. 低于" not in shown[channel][0], channel
    assert [[b["text"] for b in row] for row in keyboards[0]["inline_keyboard"]] == [["低于"], ["不低于"], ["不确定"]]
    assert keyboards[3] is None  # the result has no answer buttons
    assert [p["check"]["options"] for p in page[:3]] == [["低于", "不低于", "不确定"], ["符合", "不符合", "不确定"], ["愿意", "不愿意", "不确定"]]
    assert page[3]["check"]["done"] is True and page[3]["check"]["outcome"] == "likely" and page[3]["declined"] is False
    # the answers about a household are not logged
    assert log.db.execute("select count(*) from queries where question in ('低于', '符合', '愿意', '1')").fetchone()[0] == 0


def test_asking_something_else_in_the_middle_stops_the_check_on_every_channel(fresh, web_settings, log, monkeypatch):
    assistant = fresh
    chat = terminal_chat(assistant, web_settings, [START, "结婚登记要带什么材料"], monkeypatch)
    with make_client(assistant, web_settings) as client:
        wc = wechat(client, [START, "结婚登记要带什么材料"], user="oCheck2")
    for replies in (chat, wc):
        assert "第1/3问】" in replies[0]
        assert "第2/3问】" not in replies[1] and "婚姻登记条例" in replies[1]
