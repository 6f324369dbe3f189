"""Fakes at the Telegram network edge: a recording transport, update factories, a fake Bot API.

`RecordingRequest` replaces PTB's HTTP transport for handler tests (`process_update`, no
sockets). `FakeBotAPI` is an aiohttp server on 127.0.0.1 speaking enough of the Bot API for the
real Application (polling, sending, editing, callback answers, commands, one-shot 429s); it
checks outgoing HTML the way Telegram does (known tags only, balanced, no bare `<` or `&`) and
the 4096-character and 64-byte callback-data limits.
"""

import asyncio
import html
import itertools
import json
import time
from html.parser import HTMLParser

from telegram.request import BaseRequest

BOT_ID = 777000
BOT_USERNAME = "minzheng_test_bot"
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "民政小助手", "username": BOT_USERNAME}
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "tg-emoji", "code", "pre", "blockquote"}
JSON_FIELDS = {"reply_markup", "commands", "allowed_updates", "reply_parameters", "link_preview_options", "entities", "scope"}
INT_FIELDS = {"chat_id", "message_id", "offset", "timeout", "limit"}


# -- updates -----------------------------------------------------------------------------------
_update_ids = itertools.count(1)
_message_ids = itertools.count(100)


def user(user_id=1, first_name="小王"):
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "zh-hans"}


def chat(chat_id=1, kind="private"):
    return {"id": chat_id, "type": kind} if kind == "private" else {"id": chat_id, "type": kind, "title": "街道居民群"}


def message(text=None, user_id=1, chat_id=None, chat_type="private", first_name="小王", **extra):
    """A message update; commands get their bot_command entity, as real clients send it."""
    msg = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": chat(chat_id if chat_id is not None else user_id, chat_type),
        "from": user(user_id, first_name),
        **extra,
    }
    if text is not None:
        msg["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
    return {"update_id": next(_update_ids), "message": msg}


def mention(text, user_id=1, chat_id=-100):
    """A group message that starts with @bot."""
    update = message(f"@{BOT_USERNAME} {text}", user_id=user_id, chat_id=chat_id, chat_type="supergroup")
    update["message"]["entities"] = [{"type": "mention", "offset": 0, "length": len(BOT_USERNAME) + 1}]
    return update


def sticker(user_id=1, chat_type="private", chat_id=None):
    sticker = {"file_id": "CAAC", "file_unique_id": "u1", "type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False}
    return message(None, user_id=user_id, chat_id=chat_id, chat_type=chat_type, sticker=sticker)


def callback(data, message_id=1, user_id=1, chat_id=None):
    """A button press on a bot message."""
    bot_message = {"message_id": message_id, "date": int(time.time()), "chat": chat(chat_id or user_id), "from": BOT_USER, "text": "…"}
    return {
        "update_id": next(_update_ids),
        "callback_query": {"id": str(next(_message_ids)), "from": user(user_id), "chat_instance": "ci", "data": data, "message": bot_message},
    }


def _utf16_len(text):
    return len(text.encode("utf-16-le")) // 2


# -- the Bot API's answers -------------------------------------------------------------------------
class BotAPIState:
    """What the fake Bot API does with each method; shared by the transport and the server."""

    def __init__(self):
        self.calls = []  # (method, params, HTTP status) for every request
        self.message_ids = itertools.count(1)
        self.fail_next = {}  # method -> (status, description, parameters)

    def handle(self, method, params):
        """(HTTP status, response body dict) for one request."""
        status, body = self._answer(method, params)
        self.calls.append((method, params, status))
        return status, body

    def _answer(self, method, params):
        if method in self.fail_next:
            status, description, parameters = self.fail_next.pop(method)
            body = {"ok": False, "error_code": status, "description": description}
            if parameters:
                body["parameters"] = parameters
            return status, body
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method in ("sendMessage", "editMessageText"):
            problem = check_message(params)
            if problem:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: " + problem}
            msg_id = params.get("message_id") or next(self.message_ids)
            result = {"message_id": msg_id, "date": int(time.time()), "chat": chat(params["chat_id"]), "from": BOT_USER, "text": params["text"]}
            if "reply_markup" in params:
                result["reply_markup"] = params["reply_markup"]
            return 200, {"ok": True, "result": result}
        if method in ("answerCallbackQuery", "setMyCommands", "deleteWebhook", "setWebhook", "sendChatAction"):
            return 200, {"ok": True, "result": True}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    def sent(self, method="sendMessage"):
        """Parameters of every successful call of one method (a refused try is not 'sent')."""
        return [params for m, params, status in self.calls if m == method and status == 200]

    def methods(self):
        """The methods called, in order (failed tries included)."""
        return [m for m, _, _ in self.calls]


def check_message(params):
    """Telegram's checks on a message: HTML, length, callback data; an error text or None."""
    text = params.get("text", "")
    checker = _HTMLChecker()
    try:
        checker.feed(text)
        checker.close()
    except ValueError as exc:
        return f"can't parse entities: {exc}"
    if checker.stack:
        return f"can't parse entities: unclosed start tag {checker.stack[-1]!r}"
    length = _utf16_len("".join(checker.text))
    if not 1 <= length <= 4096:
        return "message is too long" if length else "message text is empty"
    markup = params.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if len(button.get("callback_data", "").encode("utf-8")) > 64:
                return "BUTTON_DATA_INVALID"
    return None


class _HTMLChecker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.stack = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            raise ValueError(f"unsupported start tag {tag!r}")
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            raise ValueError(f"unmatched end tag {tag!r}")
        self.stack.pop()

    def handle_data(self, data):
        if "<" in data or ">" in data or "&" in data:
            raise ValueError(f"bare special character in {data[:20]!r}")
        self.text.append(data)

    def handle_entityref(self, name):
        if name not in ("lt", "gt", "amp", "quot"):
            raise ValueError(f"unsupported entity &{name};")
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name):
        self.text.append(html.unescape(f"&#{name};"))


def decode_params(form):
    """PTB sends strings raw and everything else JSON-encoded; decode only the latter."""
    params = {}
    for key, value in form.items():
        if key in JSON_FIELDS:
            params[key] = json.loads(value)
        elif key in INT_FIELDS:
            params[key] = int(value)
        else:
            params[key] = value
    return params


# -- transport for handler tests ------------------------------------------------------------------
class RecordingRequest(BaseRequest):
    """PTB transport that answers from BotAPIState instead of the network."""

    def __init__(self, state=None):
        self.state = state or BotAPIState()

    @property
    def read_timeout(self):
        return 1.0

    async def initialize(self):
        pass

    async def shutdown(self):
        pass

    async def do_request(self, url, method, request_data=None, read_timeout=None, write_timeout=None, connect_timeout=None, pool_timeout=None):
        params = decode_params(request_data.json_parameters) if request_data else {}
        status, body = self.state.handle(url.rsplit("/", 1)[-1], params)
        return status, json.dumps(body).encode("utf-8")


# -- fake Bot API server for end-to-end tests ------------------------------------------------------
class FakeBotAPI:
    """The Bot API on 127.0.0.1: long-polled getUpdates plus BotAPIState's methods."""

    def __init__(self, token):
        self.token = token
        self.state = BotAPIState()
        self.updates = []
        self._new_update = asyncio.Event()
        self._changed = asyncio.Condition()
        self._runner = None
        self.base_url = None

    async def start(self):
        from aiohttp import web

        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/bot"
        return self.base_url

    async def stop(self):
        if self._runner is not None:
            self._new_update.set()  # end a pending long poll now, not after its timeout
            await self._runner.cleanup()

    def push(self, update):
        self.updates.append(update)
        self._new_update.set()

    def fail_once(self, method, status=429, retry_after=1):
        description = "Too Many Requests: retry after %d" % retry_after if status == 429 else "Bad Request: test"
        self.state.fail_next[method] = (status, description, {"retry_after": retry_after} if status == 429 else None)

    async def wait_for(self, predicate, timeout=15.0):
        """Wait until predicate(state) is true (state: BotAPIState); returns its value."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.state)), timeout)
        return predicate(self.state)

    async def _handle(self, request):
        from aiohttp import web

        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = decode_params(dict(await request.post()))
        if method == "getUpdates":  # recorded on arrival: a long poll may wait for updates
            self.state.calls.append((method, params, 200))
            await self._notify()
            status, body = 200, {"ok": True, "result": await self._get_updates(params)}
        else:
            status, body = self.state.handle(method, params)
            await self._notify()
        return web.json_response(body, status=status)

    async def _notify(self):
        async with self._changed:
            self._changed.notify_all()

    async def _get_updates(self, params):
        offset = params.get("offset", 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates and params.get("timeout", 0):
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), params["timeout"])
            except asyncio.TimeoutError:
                pass
        return list(self.updates)
