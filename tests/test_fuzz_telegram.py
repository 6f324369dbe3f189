"""Fuzz the Telegram channel: nasty and generated messages through the real handlers, and the
formatting and splitting functions on their own. Every message the bot sends must pass the
fake Bot API's Telegram-HTML check (known tags, balanced, no bare < or &, 1..4096 characters)."""

import asyncio
import html
import itertools
import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Update

from channels.telegram import build_application
from channels.telegram.keyboards import parse_callback
from channels.telegram.menu import Menu
from channels.telegram.replies import Replies
from channels.telegram.split import split_html, visible_length
from retrieval.assistant import Assistant
from retrieval.followup import Context
from tests import telegram_fakes as fake

from .nasty import fuzz, messages, nasty_inputs

STAFF = 2002


class Bot:
    """One Application on its own event loop, kept open for many examples (initialising PTB per
    example would dominate the run time)."""

    def __init__(self, assistant, settings):
        self.state = fake.BotAPIState()
        request = fake.RecordingRequest(self.state)
        self.app = build_application(assistant, settings, request=request, get_updates_request=request)
        # Telegram's own flood limits (30 messages/s, AIORateLimiter) would make a fuzz run of
        # hundreds of messages wait tens of seconds without testing anything of ours.
        self.app.bot._rate_limiter = None
        self.errors = []
        self.app.add_error_handler(self._record)
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self.app.initialize())

    async def _record(self, update, context):
        self.errors.append(context.error)

    def send(self, update):
        """Process one update; (method, params, status) of the requests it caused."""
        before = len(self.state.calls)
        self.loop.run_until_complete(self.app.process_update(Update.de_json(update, self.app.bot)))
        return self.state.calls[before:]

    def close(self):
        self.loop.run_until_complete(self.app.shutdown())
        self.loop.close()


@pytest.fixture(scope="module")
def bot(settings, library, tmp_path_factory):
    tg = replace(
        settings,
        log_path=tmp_path_factory.mktemp("telegram-fuzz") / "log.db",
        telegram_bot_token="123456:FUZZ-TOKEN",
        telegram_staff_ids=frozenset({STAFF}),
        rate_limit_per_minute=0,  # no limit: every example must reach the core
    )
    b = Bot(Assistant(tg), tg)
    yield b
    b.close()


def assert_all_accepted(bot, calls):
    """Every request succeeded (the fake refuses invalid HTML with 400) and no handler raised."""
    assert bot.errors == []
    for method, params, status in calls:
        assert status == 200, (method, params, fake.check_message(params))
        if method in ("sendMessage", "editMessageText"):
            assert fake.check_message(params) is None
            assert len(params["text"]) <= 4096


_chats = itertools.count(10_000)


def ask_everywhere(bot, text):
    """The text as a private question, a group mention, a /search by staff, a /start name and a
    button's data; each must produce only valid requests. Every update comes from a new chat:
    PTB's AIORateLimiter would otherwise hold a group to 20 messages a minute."""
    updates = [
        fake.message(text, user_id=next(_chats)),
        fake.mention(text, user_id=next(_chats), chat_id=-next(_chats)),
        fake.message("/search " + text, user_id=STAFF, chat_id=next(_chats)),
        fake.message("/start", user_id=next(_chats), first_name=text[:64] or "x"),
        fake.callback(text[:64], user_id=next(_chats)),
    ]
    replied = []
    for update in updates:
        calls = bot.send(update)
        assert_all_accepted(bot, calls)
        replied.append(calls)
    return replied


NASTY = nasty_inputs()


@pytest.mark.parametrize("n", range(len(NASTY)), ids=[name for name, _ in NASTY])
def test_nasty_inputs_get_valid_telegram_messages(bot, n):
    _, text = NASTY[n]
    private, *_ = ask_everywhere(bot, text)
    if text.strip():
        # A private text message is always answered (an answer, a decline or the empty/too-long wording).
        assert [m for m, _, _ in private if m == "sendMessage"], text[:40]


@fuzz(500)
@given(text=messages)
def test_generated_messages_get_valid_telegram_messages(bot, text):
    ask_everywhere(bot, text)


@fuzz(200)
@given(text=messages)
def test_the_sources_button_after_any_answer_sends_valid_messages(bot, text):
    chat = next(_chats)
    calls = bot.send(fake.message(text, user_id=chat))
    assert_all_accepted(bot, calls)
    answers = bot.app.chat_data[chat].get("answers", {})
    if answers:
        query_id = list(answers)[-1]
        assert_all_accepted(bot, bot.send(fake.callback(f"src:{query_id}", user_id=chat)))


def test_a_lone_surrogate_is_answered_in_groups_and_shown_as_a_replacement_character(bot):
    # Regression: PTB's parse_entities and request encoding raised UnicodeEncodeError on it.
    chat = next(_chats)
    calls = bot.send(fake.mention("低保\udcff怎么申请", user_id=chat, chat_id=-chat))
    assert_all_accepted(bot, calls)
    assert "<b>出处:</b>" in calls[-1][1]["text"]
    calls = bot.send(fake.message("/search 低保\udcff", user_id=STAFF, chat_id=next(_chats)))
    assert_all_accepted(bot, calls)
    assert calls[-1][1]["text"].startswith("<b>“低保\ufffd”的前5个段落:</b>")


# -- the formatting and splitting functions on their own ------------------------------------------
@pytest.fixture(scope="module")
def replies(settings):
    return Replies(settings.templates_dir, Menu.load(settings.faq_dir))


@fuzz(300)
@given(text=messages)
def test_answers_to_generated_questions_format_into_valid_messages(answerer, replies, text):
    try:
        answer = answerer.ask(text)
    except Exception as exc:  # the named input errors are the handlers' business, tested above
        assert type(exc).__name__ in ("EmptyQuestionError", "QuestionTooLongError")
        return
    compose = lambda a, **options: answerer.composer.text(a.decision, **options)  # noqa: E731
    followup = answerer.ask("那要什么材料", Context(text, ("低保",), ()))  # the hostile text as the previous question
    for shown in (answer, followup):
        parts = replies.answer(compose, shown)
        assert parts
        for part in parts:
            assert fake.check_message({"text": part}) is None, part[:200]
    assert fake.check_message({"text": replies.render("start.html.j2", name=text)}) is None
    for part in replies.messages("search.html.j2", query=text, hits=[]):
        assert fake.check_message({"text": part}) is None


_TAGS = st.sampled_from(["b", "i", "code", "blockquote", "u", "s"])


@st.composite
def telegram_html(draw):
    """Escaped generated text with nested allowed tags, newlines and sentence ends between pieces."""
    pieces = []
    for _ in range(draw(st.integers(1, 12))):
        text = html.escape(draw(messages), quote=False)
        if draw(st.booleans()):
            tag = draw(_TAGS)
            text = f"<{tag}>{text}</{tag}>"
        pieces.append(text + draw(st.sampled_from(["", "\n", "\n\n", "。", "!"])))
    return "".join(pieces)


@fuzz(300)
@given(source=telegram_html(), limit=st.integers(20, 300))
def test_split_html_parts_are_valid_and_within_the_limit(source, limit):
    parts = split_html(source, limit)
    for part in parts:
        assert fake.check_message({"text": part}) is None, part
        assert visible_length(part) <= limit
    # nothing visible is lost (only whitespace at the cuts)
    assert "".join(_visible(p) for p in parts) == _visible(source)


def _visible(text):
    return "".join(html.unescape(re.sub(r"<[^>]*>", "", text)).split())


def test_long_generated_html_splits_into_telegram_sized_messages():
    source = "".join(f"<b>第{n}条</b> " + html.escape("<&>结婚登记" * 40) + "。\n" for n in range(60))
    parts = split_html(source)
    assert len(parts) > 1
    for part in parts:
        assert fake.check_message({"text": part}) is None and visible_length(part) <= 4000


@pytest.mark.parametrize("data", ["", "topic:", "src:" + "9" * 19, "fb:x:1", "sug:1:999", "\x00", "ex:aid:-1", "топик:1"])
def test_parse_callback_refuses_what_is_not_ours(data):
    assert parse_callback(data) is None
