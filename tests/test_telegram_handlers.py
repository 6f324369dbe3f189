"""Telegram handlers driven through Application.process_update with a recording transport.

Real Assistant, real templates, real menu file; only the HTTP transport is fake
(tests/telegram_fakes.py), and it checks every sent message the way Telegram would.
"""

import asyncio
import logging
import shutil
from dataclasses import replace

import pytest
from telegram import Update

from channels.telegram import build_application
from retrieval.assistant import Assistant
from retrieval.conversation import Conversations
from tests import telegram_fakes as fake

ADMIN, STAFF, CITIZEN = 1001, 2002, 3003
FAQ_DISCLAIMER = "<i>以上为常见问题解答,依据所列政策原文整理,具体办理以当地民政部门答复为准。需要人工帮助,请拨打12345政务服务便民热线。</i>"
PASSAGE_DISCLAIMER = "<i>以上为政策原文摘录,由系统自动检索生成,具体办理以当地民政部门答复为准。需要人工帮助,请拨打12345政务服务便民热线。</i>"


@pytest.fixture(scope="module")
def tg_settings(settings, library, tmp_path_factory):
    return replace(
        settings,
        log_path=tmp_path_factory.mktemp("telegram-log") / "log.db",
        telegram_bot_token="123456:TEST-TOKEN",
        telegram_admin_ids=frozenset({ADMIN}),
        telegram_staff_ids=frozenset({STAFF}),
    )


@pytest.fixture(scope="module")
def tg_assistant(tg_settings):
    return Assistant(tg_settings)


class Harness:
    """One Application over the shared Assistant; `run` drives an async scenario inside it."""

    def __init__(self, assistant, settings):
        # Fresh conversations per test, as a freshly started bot has (the limiter is the app's).
        assistant.conversations = Conversations(settings.followup_seconds)
        self.assistant = assistant
        self.state = fake.BotAPIState()
        request = fake.RecordingRequest(self.state)
        self.app = build_application(assistant, settings, request=request, get_updates_request=request)

    def run(self, scenario):
        async def wrapped():
            async with self.app:
                await scenario(self)

        asyncio.run(wrapped())

    async def send(self, update):
        """Process one update; the (method, params) of the requests it caused."""
        before = len(self.state.calls)
        await self.app.process_update(Update.de_json(update, self.app.bot))
        return [(m, p) for m, p, _ in self.state.calls[before:]]

    async def texts(self, update):
        """Process one update; the texts of the messages it sent."""
        return [p["text"] for m, p in await self.send(update) if m == "sendMessage"]


@pytest.fixture()
def bot(tg_assistant, tg_settings):
    return Harness(tg_assistant, tg_settings)


def buttons(params):
    return [[(b["text"], b["callback_data"]) for b in row] for row in params["reply_markup"]["inline_keyboard"]]


def last_answer(harness, chat_id):
    answers = harness.app.chat_data[chat_id]["answers"]
    query_id = list(answers)[-1]
    return query_id, answers[query_id]


def test_start_greets_escapes_the_name_and_offers_the_topics(bot):
    async def scenario(h):
        calls = await h.send(fake.message("/start", user_id=CITIZEN, first_name="<b>Tom & Jerry</b>"))
        assert [m for m, _ in calls] == ["sendMessage"]
        text = calls[0][1]["text"]
        assert text.startswith("您好,&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;!我是<b>民政小助手</b>。")
        assert "我不能做的:查询个人办件进度" in text
        assert calls[0][1]["parse_mode"] == "HTML"
        assert buttons(calls[0][1]) == [
            [("婚姻登记", "topic:marriage"), ("殡葬服务", "topic:funeral")],
            [("社会救助", "topic:aid"), ("老年助餐", "topic:meals")],
            [("人工服务", "topic:human")],
        ]

    bot.run(scenario)


def test_deep_link_opens_its_topic_and_an_example_button_asks_it(bot):
    async def scenario(h):
        calls = await h.send(fake.message("/start aid", user_id=CITIZEN))
        sent = [p for m, p in calls if m == "sendMessage"]
        assert len(sent) == 2 and sent[0]["text"].startswith("您好,小王!")
        assert sent[1]["text"].startswith("<b>社会救助</b>\n最低生活保障(低保)")
        assert buttons(sent[1]) == [[("低保怎么申请?", "ex:aid:0")], [("特困人员有哪些救助?", "ex:aid:1")], [("临时救助找哪里申请?", "ex:aid:2")], [("我能不能申请低保?", "ex:aid:3")], [("« 返回主题", "menu")]]
        calls = await h.send(fake.callback("ex:aid:0", user_id=CITIZEN))
        assert [m for m, _ in calls] == ["answerCallbackQuery", "sendMessage"]
        assert "<b>出处:</b>" in calls[-1][1]["text"]
        assert h.assistant.log.db["queries"].get(last_answer(h, CITIZEN)[0])["question"] == "低保怎么申请?"

    bot.run(scenario)


def test_unknown_deep_link_payload_shows_the_plain_menu(bot):
    async def scenario(h):
        sent = [p for m, p in await h.send(fake.message("/start from_qr_hall_3", user_id=CITIZEN)) if m == "sendMessage"]
        assert len(sent) == 1 and buttons(sent[0])[0][0] == ("婚姻登记", "topic:marriage")

    bot.run(scenario)


def test_topic_button_edits_the_menu_and_back_returns(bot):
    async def scenario(h):
        calls = await h.send(fake.callback("topic:marriage", message_id=55, user_id=CITIZEN))
        assert [m for m, _ in calls] == ["answerCallbackQuery", "editMessageText"]
        edit = calls[1][1]
        assert edit["message_id"] == 55 and edit["text"].startswith("<b>婚姻登记</b>\n结婚登记、离婚登记")
        assert buttons(edit)[0] == [("结婚登记要带什么材料?", "ex:marriage:0")]
        calls = await h.send(fake.callback("topic:human", message_id=55, user_id=CITIZEN))
        assert "12345政务服务便民热线" in calls[1][1]["text"] and buttons(calls[1][1]) == [[("« 返回主题", "menu")]]
        calls = await h.send(fake.callback("menu", message_id=55, user_id=CITIZEN))
        assert calls[1][1]["text"].startswith("您好,小王!") and len(buttons(calls[1][1])) == 3

    bot.run(scenario)


def expected_citation(n, hit):
    return f"[{n}] 《{hit.document['title']}》{expected_meta(hit.as_source())}"


def expected_meta(source):
    """The citation line after the title, for a regulation in force: issuer(order), date, 施行日期 › section."""
    order = f"({source['order']})" if source["order"] else ""
    effective = f",{source['effective']}施行" if source["effective"] != source["date"] else ""
    return f"{source['issuer']}{order},{source['date']}{effective} › {source['section']}"


def test_a_question_is_answered_with_numbered_citations_and_buttons(bot):
    async def scenario(h):
        direct = h.assistant.answerer.ask("结婚登记要带什么材料")  # what the core answers, unlogged
        calls = await h.send(fake.message("结婚登记要带什么材料", user_id=CITIZEN))
        assert [m for m, _ in calls] == ["sendMessage"]
        text = calls[0][1]["text"]
        quotes = "".join(f"· “{q.text}”[{q.number}]\n" for q in direct.quotes)
        citations = "".join(expected_citation(n, hit) + "\n" for n, hit in enumerate(direct.sources, 1))
        # an FAQ entry: its plain-language answer first, then the quoted articles and citations
        assert text == f"{direct.decision.faq.answer}\n\n<b>依据:</b>\n{quotes}\n<b>出处:</b>\n{citations}\n{FAQ_DISCLAIMER}"
        assert "国务院(国务院令第804号),2025-04-06,2025-05-10施行 › 第二章 结婚登记 › 第八条\n" in text  # the article that lists the materials
        query_id, entry = last_answer(h, CITIZEN)
        assert entry["sources"] == [hit.passage["id"] for hit in direct.sources]
        assert buttons(calls[0][1]) == [
            [("查看原文", f"src:{query_id}"), ("👍", f"fb:+:{query_id}"), ("👎", f"fb:-:{query_id}")],
            [("转人工", "human")],
        ]
        row = h.assistant.log.db["queries"].get(query_id)
        assert (row["channel"], row["question"], row["kind"]) == ("telegram", "结婚登记要带什么材料", "answer")

    bot.run(scenario)


def test_view_sources_shows_the_full_cited_passages(bot):
    async def scenario(h):
        await h.send(fake.message("结婚登记要带什么材料", user_id=CITIZEN))
        query_id, _ = last_answer(h, CITIZEN)
        calls = await h.send(fake.callback(f"src:{query_id}", message_id=9, user_id=CITIZEN))
        assert [m for m, _ in calls] == ["answerCallbackQuery", "sendMessage"]
        text = calls[1][1]["text"]
        first = h.assistant.answerer.ask("结婚登记要带什么材料").sources[0].as_source()
        assert text.startswith(f"<b>[1] 《{first['title']}》</b>\n{expected_meta(first)}\n<blockquote>{first['text'][:20]}")
        # the whole of 第八条, not the one quoted sentence
        assert "（一）本人的有效护照或者其他有效的国际旅行证件" in text
        assert calls[1][1]["reply_parameters"]["message_id"] == 9

    bot.run(scenario)


def test_feedback_is_stored_once_per_answer(bot):
    async def scenario(h):
        await h.send(fake.message("离婚冷静期多久", user_id=CITIZEN))
        query_id, _ = last_answer(h, CITIZEN)
        calls = await h.send(fake.callback(f"fb:-:{query_id}", user_id=CITIZEN))
        assert calls == [("answerCallbackQuery", {"callback_query_id": calls[0][1]["callback_query_id"], "text": "谢谢反馈,我们会改进。如需帮助请点“转人工”。"})]
        calls = await h.send(fake.callback(f"fb:+:{query_id}", user_id=CITIZEN))
        assert calls[0][1]["text"] == "您已经反馈过了,谢谢!"
        rows = list(h.assistant.log.db.query("select value from feedback where query_id = ?", [query_id]))
        assert rows == [{"value": -1}]

    bot.run(scenario)


def test_buttons_of_answers_this_chat_does_not_know_say_expired(bot):
    async def scenario(h):
        for data in ("src:999999", "fb:+:999999", "sug:999999:0"):
            calls = await h.send(fake.callback(data, user_id=CITIZEN))
            assert [(m, p.get("text")) for m, p in calls] == [("answerCallbackQuery", "这条回答已过期,请重新提问。")]
        assert list(h.assistant.log.db.query("select * from feedback where query_id = 999999")) == []
        calls = await h.send(fake.callback("nonsense:1", user_id=CITIZEN))
        assert calls == []  # not our pattern: no handler

    bot.run(scenario)


def test_hand_off_button_sends_the_hotline(bot):
    async def scenario(h):
        calls = await h.send(fake.callback("human", user_id=CITIZEN))
        assert [m for m, _ in calls] == ["answerCallbackQuery", "sendMessage"]
        assert calls[1][1]["text"].startswith("<b>人工服务</b>\n请拨打<b>12345政务服务便民热线</b>")

    bot.run(scenario)


def test_follow_up_is_asked_with_the_previous_subject_and_says_so(bot):
    async def scenario(h):
        await h.send(fake.message("在杭州怎么办理结婚登记", user_id=CITIZEN))
        texts = await h.texts(fake.message("那要带什么材料?", user_id=CITIZEN))
        assert texts[0].startswith("<i>结合您上一个问题“在杭州怎么办理结婚登记”来理解</i>\n\n内地居民办理结婚登记，双方各带本人的居民身份证")
        query_id, entry = last_answer(h, CITIZEN)
        assert "marriage-registration-2025:第八条" in entry["sources"]
        assert h.assistant.log.db["queries"].get(query_id)["question"] == "那要带什么材料?"  # as typed
        # a follow-up of a follow-up keeps the first question's subject
        texts = await h.texts(fake.message("要多久?", user_id=CITIZEN))
        assert texts[0].startswith("(结合您上一个问题“那要带什么材料?”来理解)\n\n抱歉,现有的政策资料没有写明您问的办理时限")
        context = h.assistant.conversations.get(("telegram", CITIZEN))
        assert context.subject[0] == "结婚登记" and context.region == "杭州市"

    bot.run(scenario)


def test_a_follow_up_is_merged_from_masked_questions_so_no_name_reaches_the_log_or_the_chat_data(bot):
    async def scenario(h):
        await h.send(fake.message("我叫张三丰，在杭州怎么办理结婚登记", user_id=CITIZEN))
        context = h.assistant.conversations.get(("telegram", CITIZEN))
        assert context.question == "我叫[姓名]，在杭州怎么办理结婚登记" and "张三丰" not in "".join(context.subject + context.cue)
        texts = await h.texts(fake.message("那要带什么材料?联系人王五", user_id=CITIZEN))
        query_id, _ = last_answer(h, CITIZEN)
        stored = h.assistant.log.db["queries"].get(query_id)["question"]
        assert "张三丰" not in stored and "王五" not in stored and "[姓名]" in stored
        assert "张三丰" not in texts[0] and "王五" not in texts[0]

    bot.run(scenario)


def test_html_in_a_question_reaches_the_user_escaped(bot):
    async def scenario(h):
        await h.send(fake.message("在杭州怎么办理<b>结婚登记</b>&离婚", user_id=CITIZEN))
        texts = await h.texts(fake.message("那要带什么材料?", user_id=CITIZEN))
        assert texts[0].startswith("<i>结合您上一个问题“在杭州怎么办理&lt;b&gt;结婚登记&lt;/b&gt;&amp;离婚”来理解</i>")

    bot.run(scenario)


def test_declines_are_escaped_core_text_with_suggestions_as_buttons_only(bot):
    async def scenario(h):
        texts = await h.texts(fake.message("护照怎么办理", user_id=CITIZEN))
        assert texts == [h.assistant.render("decline_out_of_scope.txt.j2", matter="护照、签证和出入境证件", channel="公安机关出入境管理部门")]
        calls = await h.send(fake.message("结婚登记要多少钱", user_id=CITIZEN))
        sent = calls[-1][1]
        assert sent["text"].startswith("抱歉,现有的政策资料没有写明您问的") and sent["text"].endswith("请拨打12345政务服务便民热线,或咨询当地民政部门。")
        assert "您是不是想问" not in sent["text"]  # they are the buttons below
        labels = [[label for label, _ in row] for row in buttons(sent)]
        assert labels[0] == ["结婚登记收不收费"]  # 您是不是想问 (an FAQ entry's first question) comes first
        assert ["查看原文", "👍", "👎"] in labels  # fact_missing still cites what it shows

    bot.run(scenario)


def test_empty_and_too_long_questions_get_the_core_wording(bot, tg_settings):
    async def scenario(h):
        assert await h.texts(fake.message("？？？", user_id=CITIZEN)) == [h.assistant.render("empty_question.txt.j2")]
        long = "结婚" * (tg_settings.max_question_chars // 2 + 1)
        expected = h.assistant.render("question_too_long.txt.j2", length=len(long), limit=tg_settings.max_question_chars)
        assert await h.texts(fake.message(long, user_id=CITIZEN)) == [expected]

    bot.run(scenario)


def test_stickers_photos_voice_and_files_get_a_please_type_reply_in_private_only(bot):
    async def scenario(h):
        expected = ["我只能看懂文字。请用文字输入您的问题(发图片时可以把问题写在图片说明里),例如“结婚登记要带什么材料?”,或在下面选一个主题。"]
        calls = await h.send(fake.sticker(user_id=CITIZEN))
        assert [p["text"] for _, p in calls] == expected
        assert buttons(calls[0][1])[0][0][1].startswith("topic:")  # the topic menu below
        voice = fake.message(None, user_id=CITIZEN, voice={"file_id": "v", "file_unique_id": "v1", "duration": 3})
        assert await h.texts(voice) == ["抱歉,我还听不懂语音。请用文字输入您的问题,例如“结婚登记要带什么材料?”,或在下面选一个主题。"]
        photo = fake.message(None, user_id=CITIZEN, photo=[{"file_id": "p", "file_unique_id": "p1", "width": 9, "height": 9}])
        document = fake.message(None, user_id=CITIZEN, document={"file_id": "d", "file_unique_id": "d1", "file_name": "a.pdf"})
        for update in (photo, document):
            assert await h.texts(update) == expected
        # a photo with a caption is asked as its caption
        captioned = fake.message(None, user_id=CITIZEN, photo=[{"file_id": "p", "file_unique_id": "p2", "width": 9, "height": 9}], caption="结婚登记要带什么材料")
        texts = await h.texts(captioned)
        assert texts[0].startswith("内地居民办理结婚登记，双方各带本人的居民身份证")
        assert h.assistant.log.db["queries"].get(last_answer(h, CITIZEN)[0])["question"] == "结婚登记要带什么材料"
        assert await h.send(fake.sticker(user_id=CITIZEN, chat_type="supergroup", chat_id=-100)) == []

    bot.run(scenario)


def test_in_groups_it_answers_only_when_mentioned_or_replied_to(bot):
    async def scenario(h):
        plain = fake.message("低保怎么申请", user_id=CITIZEN, chat_id=-100, chat_type="supergroup")
        assert await h.send(plain) == []
        mentioned = fake.mention("低保怎么申请", user_id=CITIZEN, chat_id=-100)
        calls = await h.send(mentioned)
        sent = calls[-1][1]
        assert "<b>出处:</b>" in sent["text"] and sent["reply_parameters"]["message_id"] == mentioned["message"]["message_id"]
        assert h.assistant.log.db["queries"].get(last_answer(h, -100)[0])["question"] == "低保怎么申请"
        reply = fake.message("那要什么条件", user_id=CITIZEN, chat_id=-100, chat_type="supergroup", reply_to_message={"message_id": 5, "date": 0, "chat": fake.chat(-100, "supergroup"), "from": fake.BOT_USER, "text": "…"})
        texts = await h.texts(reply)
        assert texts[0].startswith("<i>结合您上一个问题“低保怎么申请”来理解</i>")
        other = fake.message("@someone_else 低保怎么申请", user_id=CITIZEN, chat_id=-100, chat_type="supergroup")
        other["message"]["entities"] = [{"type": "mention", "offset": 0, "length": 13}]
        assert await h.send(other) == []

    bot.run(scenario)


def test_flood_protection_sends_one_polite_wait_message(tg_assistant, tg_settings):
    harness = Harness(tg_assistant, replace(tg_settings, rate_limit_per_minute=2))

    async def scenario(h):
        for _ in range(2):
            assert "<b>出处:</b>" in (await h.texts(fake.message("低保怎么申请", user_id=4004)))[0]
        assert await h.texts(fake.message("低保怎么申请", user_id=4004)) == ["您提问有点快,请等30秒后再问,谢谢理解。"]
        assert await h.texts(fake.message("低保怎么申请", user_id=4004)) == []  # no second wait message
        assert "<b>出处:</b>" in (await h.texts(fake.message("低保怎么申请", user_id=4005)))[0]  # others unaffected

    harness.run(scenario)


def test_suggestions_become_buttons_that_ask_them(bot, monkeypatch):
    real_ask = bot.assistant.ask

    def ask_with_suggestions(question, channel="cli", user=None, context=None):
        reply = real_ask(question, channel=channel, user=user, context=context)
        return replace(reply, answer=replace(reply.answer, suggestions=("低保怎么申请?", "临时救助找哪里申请?")))

    monkeypatch.setattr(bot.assistant, "ask", ask_with_suggestions)

    async def scenario(h):
        calls = await h.send(fake.message("申请救助", user_id=CITIZEN))
        query_id, _ = last_answer(h, CITIZEN)
        assert buttons(calls[-1][1])[:2] == [[("低保怎么申请?", f"sug:{query_id}:0")], [("临时救助找哪里申请?", f"sug:{query_id}:1")]]
        await h.send(fake.callback(f"sug:{query_id}:1", user_id=CITIZEN))
        new_id, _ = last_answer(h, CITIZEN)
        assert h.assistant.log.db["queries"].get(new_id)["question"] == "临时救助找哪里申请?"

    bot.run(scenario)


def test_search_is_for_staff_when_a_staff_list_is_set(bot, caplog):
    async def scenario(h):
        with caplog.at_level(logging.WARNING, logger="channels.telegram.handlers"):
            assert await h.texts(fake.message("/search 结婚 材料", user_id=CITIZEN)) == ["抱歉,/search 只对工作人员开放。"]
        assert caplog.messages == ["refused /search for a telegram user who is not staff"]  # no id: it is personal data
        text = (await h.texts(fake.message("/search 结婚 材料", user_id=STAFF)))[0]
        top = h.assistant.search("结婚 材料", k=5).hits[0].as_source()
        assert text.startswith(f"<b>“结婚 材料”的前5个段落:</b>\n\n1. <code>{top['id']}</code> 得分 {top['score']:.3f}\n《{top['title']}》 {top['date']} › {top['section']}\n")
        assert text.count("<code>") == 5
        assert (await h.texts(fake.message("/search", user_id=ADMIN)))[0].startswith("用法:/search 关键词")

    bot.run(scenario)


def test_reload_and_stats_are_for_admins_and_refusals_are_logged(bot, caplog):
    async def scenario(h):
        with caplog.at_level(logging.WARNING, logger="channels.telegram.handlers"):
            assert await h.texts(fake.message("/reload", user_id=STAFF)) == ["抱歉,/reload 只对管理员开放。"]
            assert await h.texts(fake.message("/stats", user_id=CITIZEN)) == ["抱歉,/stats 只对管理员开放。"]
        assert caplog.messages == ["refused /reload for a telegram user who is not an admin", "refused /stats for a telegram user who is not an admin"]  # no ids
        text = (await h.texts(fake.message("/reload", user_id=ADMIN)))[0]
        assert text.startswith("已重新载入:12个文件,") and "复用" in text
        stats = (await h.texts(fake.message("/stats", user_id=ADMIN)))[0]
        assert stats.startswith("<b>统计</b>\n文件数: 12\n段落数: ")

    bot.run(scenario)


def test_a_broken_data_file_on_reload_is_reported_to_the_admin(tg_settings, library, tmp_path):
    faq = tmp_path / "faq"
    shutil.copytree(tg_settings.faq_dir, faq)
    settings = replace(tg_settings, faq_dir=faq, store_path=tmp_path / "store.db", log_path=tmp_path / "log.db")
    harness = Harness(Assistant(settings), settings)
    (faq / "synonyms.txt").write_text("这一行没有等号\n", encoding="utf-8")

    async def scenario(h):
        text = (await h.texts(fake.message("/reload", user_id=ADMIN)))[0]
        assert text.startswith("重新载入失败,仍在使用原来的资料:\n<code>") and "synonyms.txt:1" in text

    harness.run(scenario)


def test_typing_a_forget_request_also_expires_the_buttons_of_earlier_answers(bot):
    """查看原文 under an answer given before 删除我的记录 must not show the forgotten question's sources."""
    async def scenario(h):
        await h.send(fake.message("离婚冷静期多久", user_id=5006))
        query_id, _ = last_answer(h, 5006)
        assert await h.texts(fake.message("删除我的记录", user_id=5006)) == ["已删除您的1条提问记录和相关反馈,之前的对话也不再用来理解您的下一个问题。"]
        assert h.app.chat_data[5006] == {}
        calls = await h.send(fake.callback(f"src:{query_id}", user_id=5006))
        assert [(m, p.get("text")) for m, p in calls] == [("answerCallbackQuery", "这条回答已过期,请重新提问。")]

    bot.run(scenario)


def test_forget_deletes_this_users_questions(bot):
    async def scenario(h):
        await h.send(fake.message("低保怎么申请", user_id=5005))
        await h.send(fake.message("离婚冷静期多久", user_id=5005))
        assert await h.texts(fake.message("/forget", user_id=5005)) == ["已删除您的2条提问记录和相关反馈。"]
        assert h.app.chat_data[5005] == {}
        assert await h.texts(fake.message("/forget", user_id=5005)) == ["已删除您的0条提问记录和相关反馈。"]

    bot.run(scenario)


def test_help_lists_the_commands_and_staff_commands_only_for_staff(bot):
    async def scenario(h):
        citizen = (await h.texts(fake.message("/help", user_id=CITIZEN)))[0]
        assert "/start 开始 / 选择主题\n/help 使用帮助\n/human 转人工服务(12345)\n/forget 删除我的提问记录" in citizen
        assert "/search" not in citizen and "/reload" not in citizen
        admin = (await h.texts(fake.message("/help", user_id=ADMIN)))[0]
        assert "/search 关键词" in admin and "/reload 重新载入资料(管理员)" in admin

    bot.run(scenario)


def test_an_unexpected_error_gets_one_polite_reply_and_a_log_line(bot, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("index exploded")

    monkeypatch.setattr(bot.assistant, "ask", broken)

    async def scenario(h):
        with caplog.at_level(logging.ERROR, logger="channels.telegram.handlers"):
            texts = await h.texts(fake.message("低保怎么申请", user_id=CITIZEN))
        assert texts == ["抱歉,系统暂时出了点问题,请稍后再试。急需帮助请拨打12345政务服务便民热线。"]
        assert [r.exc_info[1].args for r in caplog.records] == [("index exploded",)]

    bot.run(scenario)


def test_post_init_publishes_the_command_menu(bot):
    async def scenario(h):
        await h.app.post_init(h.app)
        commands = h.state.sent("setMyCommands")[0]["commands"]
        assert [c["command"] for c in commands] == ["start", "help", "human", "forget"]

    bot.run(scenario)


def test_an_answer_over_the_limit_is_split_with_the_buttons_under_the_last_part(bot, monkeypatch):
    real_ask = bot.assistant.ask
    paragraphs = [f"第{n}段:" + "根据规定应当如何办理。" * 150 for n in range(1, 6)]  # ~1650 characters each

    def long_answer(question, channel="cli", user=None, context=None):
        reply = real_ask(question, channel=channel, user=user, context=context)
        return replace(reply, answer=replace(reply.answer, kind="not_found", sources=()))

    monkeypatch.setattr(bot.assistant, "ask", long_answer)
    monkeypatch.setattr(bot.assistant, "compose", lambda answer, **options: "\n\n".join(paragraphs))

    async def scenario(h):
        calls = await h.send(fake.message("低保怎么申请", user_id=CITIZEN))
        sent = [p for m, p in calls if m == "sendMessage"]
        assert [p["text"] for p in sent] == ["\n\n".join(paragraphs[:2]), "\n\n".join(paragraphs[2:4]), paragraphs[4]]
        assert ["reply_markup" in p for p in sent] == [False, False, True]
        assert ["reply_parameters" in p for p in sent] == [False, False, False]  # private chat: no quoting

    bot.run(scenario)
