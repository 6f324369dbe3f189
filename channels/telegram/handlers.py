"""Telegram update handlers: one method per command or kind of update, over one Assistant.

The core's ask() is synchronous and CPU-bound, so it runs in a worker thread; with concurrent
updates one slow answer blocks nobody. Per chat we keep the previous question (for follow-ups)
and the last answers (what 查看原文 / 👍 / 👎 / suggestions refer to) in `context.chat_data`.
"""

import asyncio
import logging
import math

from telegram import Chat, MessageEntity, ReplyParameters, Update
from telegram.error import TelegramError

from retrieval.answer import valid_unicode
from retrieval.edge import CHECK, FORGOTTEN, RATE_LIMITED
from retrieval.errors import AlreadyVotedError, AssistantError, FeedbackRateLimitedError

from .keyboards import answer_keyboard, check_keyboard, examples_keyboard, parse_callback, topics_keyboard

log = logging.getLogger(__name__)

CHANNEL = "telegram"
KEPT_ANSWERS = 50  # per chat: older answers' buttons say "expired"
SEARCH_RESULTS = 5


class Handlers:
    def __init__(self, assistant, settings, replies, menu, edge):
        self.assistant = assistant
        self.edge = edge  # the bot's edge.Edge (its limiter; the assistant's conversations)
        self.settings = settings
        self.replies = replies
        self.menu = menu

    # -- citizens: commands ------------------------------------------------------------------
    async def start(self, update: Update, context) -> None:
        """Greeting and topic menu; a deep-link payload (/start <topic key>) opens that topic."""
        user = update.effective_user
        greeting = self.replies.render("start.html.j2", name=user.first_name if user else "")
        topic = self.menu.topic(context.args[0]) if context.args else None
        if topic is None:
            await self._send(update.effective_chat.id, context, [greeting], topics_keyboard(self.menu))
        elif topic.handoff:
            await self._send(update.effective_chat.id, context, [greeting, self.replies.render("handoff.html.j2")], topics_keyboard(self.menu))
        else:
            await self._send(update.effective_chat.id, context, [greeting, self._topic_html(topic)], examples_keyboard(self.menu, topic))

    async def help(self, update: Update, context) -> None:
        """What the bot does and its commands."""
        user_id = update.effective_user.id if update.effective_user else None
        text = self.replies.render("help.html.j2", commands=self.menu.commands, staff=self._is_staff(user_id), admin=self._is_admin(user_id))
        await self._send(update.effective_chat.id, context, [text])

    async def human(self, update: Update, context) -> None:
        """How to reach a person (12345, the local office)."""
        await self._send(update.effective_chat.id, context, [self.replies.render("handoff.html.j2")])

    async def forget(self, update: Update, context) -> None:
        """Delete this user's logged questions and feedback."""
        count = await asyncio.to_thread(self.assistant.forget, CHANNEL, update.effective_user.id, update.effective_chat.id)
        self._forget_chat(update.effective_chat, context)
        await self._send(update.effective_chat.id, context, [self.replies.render("forget.html.j2", count=count)])

    # -- citizens: questions -----------------------------------------------------------------
    async def text(self, update: Update, context) -> None:
        """A free-text question (in groups only when the bot is mentioned or replied to)."""
        message = update.effective_message
        question = self._question_text(message, context.bot)
        if question is None:
            return
        # In a group the answer quotes the question, so it is clear whom it answers.
        reply_to = message.message_id if message.chat.type != Chat.PRIVATE else None
        await self._answer(update.effective_chat, update.effective_user, question, context, reply_to=reply_to, follow=True)

    async def caption(self, update: Update, context) -> None:
        """A photo or file with a caption: the caption is the question."""
        message = update.effective_message
        question = self._question_text(message, context.bot, message.caption, message.caption_entities)
        if not question:
            return
        reply_to = message.message_id if message.chat.type != Chat.PRIVATE else None
        await self._answer(update.effective_chat, update.effective_user, question, context, reply_to=reply_to, follow=True)

    async def not_text(self, update: Update, context) -> None:
        """Voice, stickers, photos without a caption: ask for a typed question, with the topic menu
        (the Bot API gives bots no transcription of voice messages)."""
        voice = update.effective_message is not None and bool(update.effective_message.voice or update.effective_message.audio)
        await self._send(update.effective_chat.id, context, [self.replies.render("not_text.html.j2", voice=voice)], topics_keyboard(self.menu))

    async def button(self, update: Update, context) -> None:
        """Inline buttons: topics, examples, 查看原文, 👍 / 👎, 转人工, suggestions, check answers."""
        query = update.callback_query
        callback = parse_callback(query.data)
        if callback is None:
            await query.answer()
            return
        await getattr(self, "_on_" + callback.kind)(update, context, callback)

    async def _on_topic(self, update, context, callback):
        query = update.callback_query
        await query.answer()
        topic = self.menu.topic(callback.key)
        if topic is None:
            return
        if topic.handoff:
            await query.edit_message_text(self.replies.render("handoff.html.j2"), reply_markup=examples_keyboard(self.menu, topic))
        else:
            await query.edit_message_text(self._topic_html(topic), reply_markup=examples_keyboard(self.menu, topic))

    async def _on_menu(self, update, context, callback):
        query = update.callback_query
        await query.answer()
        user = update.effective_user
        await query.edit_message_text(self.replies.render("start.html.j2", name=user.first_name if user else ""), reply_markup=topics_keyboard(self.menu))

    async def _on_example(self, update, context, callback):
        await update.callback_query.answer()
        topic = self.menu.topic(callback.key)
        if topic is None or callback.number >= len(topic.examples):
            return
        await self._answer(update.effective_chat, update.effective_user, topic.examples[callback.number], context, follow=False)

    async def _on_suggestion(self, update, context, callback):
        query = update.callback_query
        entry = self._remembered(context, callback.query_id)
        if entry is None or callback.number >= len(entry["suggestions"]):
            await query.answer(self.replies.render("expired.txt.j2"))
            return
        await query.answer()
        await self._answer(update.effective_chat, update.effective_user, entry["suggestions"][callback.number], context, follow=False)

    async def _on_sources(self, update, context, callback):
        query = update.callback_query
        entry = self._remembered(context, callback.query_id)
        if entry is None:
            await query.answer(self.replies.render("expired.txt.j2"))
            return
        await query.answer()
        found = [self.assistant.cited(n, pid) for n, pid in enumerate(entry["sources"], 1)]
        cited = [pair for pair in found if pair is not None]
        if not cited:
            await self._send(update.effective_chat.id, context, [self.replies.render("expired.txt.j2")])
            return
        await self._send(update.effective_chat.id, context, self.replies.sources(cited), reply_to=query.message.message_id if query.message else None)

    async def _on_feedback(self, update, context, callback):
        query = update.callback_query
        entry = self._remembered(context, callback.query_id)
        if entry is None:
            await query.answer(self.replies.render("expired.txt.j2"))
            return
        if entry["voted"]:
            await query.answer(self.replies.render("feedback_again.txt.j2"))
            return
        voter = update.effective_user.id if update.effective_user else None
        try:
            entry["voted"] = await asyncio.to_thread(self.assistant.feedback, callback.query_id, callback.value, None, CHANNEL, voter)
        except AlreadyVotedError:
            await query.answer(self.replies.render("feedback_again.txt.j2"))
            return
        except FeedbackRateLimitedError as exc:
            await query.answer(self.replies.render("feedback_wait.txt.j2", seconds=max(1, int(exc.seconds + 0.999))))
            return
        await query.answer(self.replies.render("feedback_thanks.txt.j2", value=callback.value))

    async def _on_check(self, update, context, callback):
        """An answer button of a guided check: its words go through the edge like a typed answer."""
        query = update.callback_query
        options = context.chat_data.get("check") or ()
        if callback.number >= len(options):
            await query.answer(self.replies.render("expired.txt.j2"))
            return
        await query.answer()
        await self._answer(update.effective_chat, update.effective_user, options[callback.number], context, follow=True)

    async def _on_human(self, update, context, callback):
        await update.callback_query.answer()
        await self._send(update.effective_chat.id, context, [self.replies.render("handoff.html.j2")])

    # -- staff and admins --------------------------------------------------------------------
    async def search(self, update: Update, context) -> None:
        """/search 关键词: the top passages with ids and scores (staff, when a staff list is set)."""
        user_id = update.effective_user.id if update.effective_user else None
        if not self._is_staff(user_id):
            await self._refuse(update, context, "search", admin=False)
            return
        query = " ".join(context.args or ()).strip()
        hits = []
        if query:
            result = await asyncio.to_thread(self.assistant.search, query, SEARCH_RESULTS)
            hits = [hit.as_source() for hit in result.hits]
        await self._send(update.effective_chat.id, context, self.replies.messages("search.html.j2", query=query, hits=hits))

    async def reload(self, update: Update, context) -> None:
        """/reload: rebuild from knowledge/ and faq/ (admins only)."""
        user_id = update.effective_user.id if update.effective_user else None
        if not self._is_admin(user_id):
            await self._refuse(update, context, "reload", admin=True)
            return
        log.info("telegram admin %s started a reload", user_id)
        try:
            report = await asyncio.to_thread(self.assistant.reload)
        except AssistantError as exc:
            log.warning("reload failed: %s", exc)
            await self._send(update.effective_chat.id, context, self.replies.messages("reload_failed.html.j2", error=str(exc)))
            return
        await self._send(update.effective_chat.id, context, [self.replies.render("reload.html.j2", report=report)])

    async def stats(self, update: Update, context) -> None:
        """/stats: knowledge base and query-log counts (admins only)."""
        user_id = update.effective_user.id if update.effective_user else None
        if not self._is_admin(user_id):
            await self._refuse(update, context, "stats", admin=True)
            return
        stats = await asyncio.to_thread(self.assistant.stats)
        await self._send(update.effective_chat.id, context, [self.replies.render("stats.html.j2", stats=stats)])

    async def error(self, update: object, context) -> None:
        """The one error path: log the exception, tell the user politely if we know the chat."""
        log.error("telegram update %s failed", getattr(update, "update_id", None), exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await context.bot.send_message(update.effective_chat.id, self.replies.render("error.html.j2"))
            except TelegramError as exc:
                log.warning("could not send the error reply: %s", exc)

    # -- helpers -----------------------------------------------------------------------------
    async def _answer(self, chat, user, question, context, reply_to=None, follow=True):
        """Ask through the shared edge (rate limit, follow-up, numbered pick, log) and send the
        answer with its buttons."""
        user_id = user.id if user else chat.id
        # No "typing..." chat action: answers take tens of milliseconds, and every request counts
        # against Telegram's ~30 messages/s bot-wide limit (AIORateLimiter), halving throughput.
        outcome = await asyncio.to_thread(self.edge.ask, CHANNEL, user_id, question, chat.id, follow)
        if outcome.kind == RATE_LIMITED:
            if not context.user_data.get("warned"):
                context.user_data["warned"] = True
                seconds = max(1, math.ceil(outcome.retry_after))
                await self._send(chat.id, context, [self.replies.render("rate_limited.html.j2", seconds=seconds)], reply_to=reply_to)
            return
        context.user_data["warned"] = False
        if outcome.kind == FORGOTTEN:  # "删除我的记录" typed: the edge deleted the log rows and the context
            self._forget_chat(chat, context)
        if outcome.kind == CHECK:  # a guided check's question (answered by its buttons) or its result
            step = outcome.check
            context.chat_data["check"] = [] if step.done else list(step.options)
            text = self.assistant.render("check.txt.j2", step=step, numbered=False)
            await self._send(chat.id, context, self.replies.plain(text), None if step.done else check_keyboard(step.options), reply_to=reply_to)
            return
        if outcome.answer is None:  # empty or too long: the core's wording
            await self._send(chat.id, context, self.replies.plain(outcome.text), reply_to=reply_to)
            return
        answer = outcome.answer
        self._remember(context, outcome.query_id, answer)
        messages = self.replies.answer(self.assistant.compose, answer)
        keyboard = answer_keyboard(self.menu, outcome.query_id, bool(answer.sources), tuple(answer.suggestions))
        await self._send(chat.id, context, messages, keyboard, reply_to=reply_to)

    async def _send(self, chat_id, context, messages, keyboard=None, reply_to=None):
        """Send messages in order; the keyboard goes under the last, the first replies to `reply_to`."""
        for n, text in enumerate(messages):
            last = n == len(messages) - 1
            quote = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to and n == 0 else None
            await context.bot.send_message(chat_id, text, reply_markup=keyboard if last else None, reply_parameters=quote)

    async def _refuse(self, update, context, command, admin):
        # who asked, by role, never by id: a Telegram user id is personal data (fifth attack L3)
        log.warning("refused /%s for a telegram user who is not %s", command, "an admin" if admin else "staff")
        await self._send(update.effective_chat.id, context, [self.replies.render("refused.html.j2", command=command, admin=admin)])

    def _is_admin(self, user_id):
        return user_id is not None and user_id in self.settings.telegram_admin_ids

    def _is_staff(self, user_id):
        staff = self.settings.telegram_staff_ids
        return not staff or self._is_admin(user_id) or (user_id is not None and user_id in staff)

    def _topic_html(self, topic):
        return self.replies.render("topic.html.j2", label=topic.label, description=topic.description)

    @staticmethod
    def _forget_chat(chat, context):
        """Drop what this chat keeps (the last answers' sources and suggestions, a check's options);
        a group's memory is everyone's, so only a private chat's goes."""
        if chat.type == Chat.PRIVATE:
            context.chat_data.clear()

    def _remember(self, context, query_id, answer):
        answers = context.chat_data.setdefault("answers", {})
        answers[query_id] = {"sources": [h.passage["id"] for h in answer.sources], "suggestions": list(answer.suggestions), "voted": False}
        while len(answers) > KEPT_ANSWERS:
            del answers[next(iter(answers))]

    def _remembered(self, context, query_id):
        return context.chat_data.get("answers", {}).get(query_id)

    @staticmethod
    def _question_text(message, bot, text=None, entities=None):
        """The question in a message (its text, or the caption given); None in a group unless
        the bot is mentioned or replied to."""
        # Telegram's JSON may carry lone surrogates; PTB's parse_entities raises on them, so the
        # text is repaired first (one U+FFFD per unit keeps the entities' UTF-16 offsets right).
        entities = message.entities if entities is None else entities
        text = valid_unicode((message.text if text is None else text) or "")
        if message.chat.type == Chat.PRIVATE:
            return text
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
            return text
        mention = f"@{bot.username}".lower() if bot.username else None
        found = False
        units = text.encode("utf-16-le")
        for entity in entities:
            if entity.type not in (MessageEntity.MENTION, MessageEntity.TEXT_MENTION):
                continue
            value = units[entity.offset * 2 : (entity.offset + entity.length) * 2].decode("utf-16-le", "replace")
            if (entity.type == MessageEntity.MENTION and value.lower() == mention) or (entity.user is not None and entity.user.id == bot.id):
                text = text.replace(value, " ")
                found = True
        return text.strip() if found else None
