"""The /wechat endpoint: verify, decrypt, de-duplicate, answer within the deadline, reply.

Flow of a POST: signature (403 when wrong) -> the configured mode (safe mode refuses
plaintext, plain mode ciphertext: 403) -> body (capped) -> XML (400 when malformed or hostile)
-> msg_signature in safe mode -> the (timestamp, nonce) replay memory (another body under a
pair already seen: 403) -> safe-mode decrypt -> one asyncio task per MsgId (WeChat's retries
join it) -> the passive reply if the task finishes within `deadline`, else `success` and the
answer is sent through 客服消息 when it is ready (only when WECHAT_APPSECRET is set).

Both memories last exactly as long as a signature is accepted (`max_skew` either side of the
push's timestamp). With several workers (MINZHENG_REDIS_URL) both are in Redis: the first
worker to claim a push answers it, a delivery reaching another worker waits for that reply in
Redis and sends it (channels/web/shared_memories.py). Log lines name a push by `Message.log_ref`, never by openid.
"""

import asyncio
import logging
import time
import tomllib
from collections import OrderedDict
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response

from retrieval.errors import DataFileError, SettingsError

from . import wechat
from .asking import FORGOTTEN, Asker
from .limits import BodyTooLarge, read_body
from .shared_memories import PUSH_WAIT_POLL
from .wechat_reply import LIMIT_BYTES, cut_bytes, fit_by_budget

log = logging.getLogger(__name__)

SUCCESS = "success"  # WeChat's "received, no passive reply"
CHANNEL = "wechat"
MODES = ("plain", "safe", "compat")  # 明文模式, 安全模式, 兼容模式


def wechat_mode(settings):
    """The configured message mode; SettingsError when it is unknown or lacks its keys.

    Unset, an EncodingAESKey means safe mode: a request can never talk the service down to
    plaintext. 兼容模式 (both) is only ever what the admin wrote.
    """
    mode = settings.wechat_mode.strip().lower() or ("safe" if settings.wechat_aes_key else "plain")
    if mode not in MODES:
        raise SettingsError(f"WECHAT_MODE must be plain, safe or compat (got {settings.wechat_mode!r})")
    if mode != "plain" and not (settings.wechat_aes_key and settings.wechat_appid):
        raise SettingsError(f"WECHAT_MODE={mode} needs WECHAT_AES_KEY and WECHAT_APPID")
    return mode


@dataclass
class Commands:
    """Words that are commands rather than questions, and the custom-menu CLICK keys."""

    original: frozenset
    help: frozenset
    menu: dict = field(default_factory=dict)  # key -> {"template": name, ...extra context}

    @classmethod
    def load(cls, path):
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise DataFileError(path, None, str(exc)) from exc
        menu = data.get("menu", {})
        for key, entry in menu.items():
            if not isinstance(entry, dict) or "template" not in entry:
                raise DataFileError(path, None, f"menu key {key!r} needs a template")
        return cls(frozenset(data.get("original", [])), frozenset(data.get("help", [])), menu)


@dataclass
class Pending:
    """One push being answered; WeChat's retries of the same push find it here."""

    task: asyncio.Task
    handed_off: bool = False  # went past the deadline: answer goes (or went) through 客服消息


class LastSources:
    """The passages cited in each user's last answer, for 回复“原文” (bounded, in memory only)."""

    def __init__(self, max_users=10_000):
        self.max_users = max_users
        self._by_user = OrderedDict()

    def remember(self, user, passage_ids):
        self._by_user[user] = tuple(passage_ids)
        self._by_user.move_to_end(user)
        while len(self._by_user) > self.max_users:
            self._by_user.popitem(last=False)

    def get(self, user):
        return self._by_user.get(user, ())

    def forget(self, user):
        self._by_user.pop(user, None)


class WeChatEndpoint:
    def __init__(self, assistant, settings, edge, api=None, deadline=4.5, clock=time.time, max_skew=300, memories=None):
        """`memories`: (replay guard, pushes, last sources) shared by every worker
        (shared_memories.push_memories), or None: this process's own tables."""
        self.assistant = assistant
        self.token = settings.wechat_token
        self.mode = wechat_mode(settings)
        self.crypto = None
        if self.mode != "plain":
            self.crypto = wechat.SafeModeCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_appid)
        self.api = api
        self.deadline = deadline
        self.clock = clock
        self.max_skew = max_skew
        self.asker = Asker(assistant, edge, CHANNEL, {"rate_limited": "wechat/rate_limited.txt.j2", "error": "wechat/error.txt.j2"})
        self.commands = Commands.load(Path(settings.templates_dir) / "wechat" / "commands.toml")
        self.pending = wechat.Deduplicator(window=max_skew, clock=clock)
        self.replays = wechat.ReplayGuard(window=max_skew, clock=clock)
        self.shared_pushes = None  # None: every delivery of a push reaches this process's tables
        self.last_sources = LastSources()
        self._background = set()
        if memories is not None:
            self.replays, self.shared_pushes, self.last_sources = memories

    @property
    def enabled(self):
        # An empty token would make every signature computable by anyone.
        return bool(self.token)

    async def handle(self, request):
        if not self.enabled:
            return PlainTextResponse("WeChat is not configured (WECHAT_TOKEN)", status_code=404)
        q = request.query_params
        timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
        if len(nonce) > wechat.MAX_NONCE_CHARS:
            return PlainTextResponse("bad signature", status_code=403)
        expected = wechat.signature(self.token, timestamp, nonce)
        if not wechat.signature_ok(expected, q.get("signature")) or not wechat.timestamp_fresh(timestamp, self.clock(), self.max_skew):
            return PlainTextResponse("bad signature", status_code=403)
        if request.method == "GET":
            return PlainTextResponse(q.get("echostr", ""))
        try:
            return await self._post(request, q, timestamp, nonce)
        except BodyTooLarge:
            return PlainTextResponse("body too large", status_code=413)
        except wechat.WeChatProtocolError:
            return PlainTextResponse("bad request", status_code=400)

    async def _post(self, request, q, timestamp, nonce):
        started = asyncio.get_running_loop().time()
        safe = q.get("encrypt_type", "raw").lower() == "aes"
        if not safe and self.mode == "safe":
            return PlainTextResponse("safe mode: plaintext push refused", status_code=403)
        if safe and self.mode == "plain":
            return PlainTextResponse("plain mode: encrypted push refused", status_code=403)
        body = await read_body(request, wechat.MAX_BODY_BYTES)
        fields = wechat.parse_xml(body)
        if safe:
            encrypted = fields.get("Encrypt", "")
            expected = wechat.signature(self.token, timestamp, nonce, encrypted)
            if not wechat.signature_ok(expected, q.get("msg_signature")):
                return PlainTextResponse("bad msg_signature", status_code=403)
        if self.replays.check(timestamp, nonce, body) == wechat.FORGED:
            log.warning("refused a push that reused an earlier push's signature with another body")
            return PlainTextResponse("replayed signature", status_code=403)
        if safe:
            fields = wechat.parse_xml(self.crypto.decrypt(fields.get("Encrypt", "")))
        message = wechat.Message.from_fields(fields)
        pending = self.pending.get(message.dedup_key)
        if pending is None:
            # No await between the look and the put: deliveries to this worker join one task.
            if self.shared_pushes is not None and not self.shared_pushes.claim(message.dedup_key, timestamp):
                return await self._answered_elsewhere(message, started, safe, nonce, timestamp)
            pending = self.pending.put(message.dedup_key, Pending(asyncio.create_task(self.reply_for(message))), timestamp)
            if self.shared_pushes is not None:
                pending.task.add_done_callback(lambda task, key=message.dedup_key, pending=pending: self._publish(key, pending))
        else:
            self.pending.extend(message.dedup_key, timestamp)
            if self.shared_pushes is not None:
                self.shared_pushes.extend(message.dedup_key, timestamp)
        remaining = self.deadline - (asyncio.get_running_loop().time() - started)
        try:
            content = await asyncio.wait_for(asyncio.shield(pending.task), timeout=max(remaining, 0))
        except TimeoutError:
            self._hand_off(pending, message)
            return PlainTextResponse(SUCCESS)
        if pending.handed_off or content is None:
            return PlainTextResponse(SUCCESS)
        xml = wechat.text_reply(message, content, now=self.clock())
        if safe:
            xml = self.crypto.encrypt(xml, nonce, timestamp)
        return Response(xml, media_type="application/xml")

    async def _answered_elsewhere(self, message, started, safe, nonce, timestamp):
        """Another worker claimed this push: its reply, once it is in Redis, within the deadline
        (else `success`: the claiming worker sends it or hands it off)."""
        self.shared_pushes.extend(message.dedup_key, timestamp)
        loop = asyncio.get_running_loop()
        while True:
            done, content = self.shared_pushes.outcome(message.dedup_key)
            if done or loop.time() - started >= self.deadline:
                break
            await asyncio.sleep(min(PUSH_WAIT_POLL, max(self.deadline - (loop.time() - started), 0)))
        if content is None:
            return PlainTextResponse(SUCCESS)
        xml = wechat.text_reply(message, content, now=self.clock())
        if safe:
            xml = self.crypto.encrypt(xml, nonce, timestamp)
        return Response(xml, media_type="application/xml")

    def _publish(self, key, pending):
        """The claiming worker's outcome, for the deliveries other workers hold."""
        task = pending.task
        content = None if task.cancelled() or task.exception() is not None else task.result()
        self.shared_pushes.publish(key, content, handed_off=pending.handed_off)

    def _hand_off(self, pending, message):
        """Past the deadline: send the answer through 客服消息 once it is ready (once per push)."""
        if pending.handed_off:
            return
        pending.handed_off = True
        if self.shared_pushes is not None:
            self.shared_pushes.publish(message.dedup_key, None, handed_off=True)  # other workers: `success`
        if self.api is None:
            log.warning("answer to %s took longer than %.1fs and WECHAT_APPSECRET is not set: it is not delivered", message.log_ref, self.deadline)
            return

        async def deliver():
            content = await pending.task
            if content is None:
                return
            try:
                await self.api.send_text(message.from_user, content)
            except Exception:
                log.exception("客服消息 delivery failed for %s", message.log_ref)

        task = asyncio.create_task(deliver())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- what to say ------------------------------------------------------------------------
    async def reply_for(self, message):
        """The reply text for one push, or None for no reply (`success`). Never raises."""
        try:
            return await self._reply_for(message)
        except Exception:
            log.exception("WeChat reply failed for %s", message.log_ref)
            return self.render("error")

    async def _reply_for(self, message):
        user = message.from_user
        if message.msg_type == "event":
            return await self._event(message)
        if message.msg_type == "voice" and not message.content.strip():
            return self.render("voice_unrecognized")
        if message.msg_type not in ("text", "voice"):
            return self.render("unsupported")
        text = message.content.strip()
        if text in self.commands.original:
            return self.original(user)
        if text in self.commands.help:
            return self.render("help")
        outcome = await self.asker.ask(text, user, conversation=user)
        if outcome.kind == FORGOTTEN:
            # The edge deleted the log rows and the context; what this channel keeps goes too.
            self.last_sources.forget(user)
        if outcome.answer is None:
            return cut_bytes(outcome.text, LIMIT_BYTES)
        answer = outcome.answer
        self.last_sources.remember(user, [hit.passage["id"] for hit in answer.sources])

        def render(budget):  # the whole reply with every quote cut to `budget` characters
            text = self.assistant.compose(answer, budget=budget)
            return self.render("answer", text=text, has_sources=bool(answer.sources))

        longest = max((len(q.text) for q in answer.quotes), default=1)
        return fit_by_budget(render, longest, LIMIT_BYTES)

    async def _event(self, message):
        event = message.event.lower()
        if event == "subscribe":
            return self.render("welcome")
        if event == "unsubscribe":
            # WeChat's rule: delete the user's data when they unsubscribe.
            self.last_sources.forget(message.from_user)
            await run_in_threadpool(self.assistant.forget, CHANNEL, message.from_user, message.from_user)
            return None
        if event == "click":
            entry = self.commands.menu.get(message.event_key)
            if entry is None:
                return self.render("help")
            if entry["template"] == "original":
                return self.original(message.from_user)
            context = {k: v for k, v in entry.items() if k != "template"}
            return self.render(entry["template"], **context)
        return None  # VIEW, SCAN, LOCATION...: nothing to say

    def original(self, user):
        """The full text of the passages cited in this user's last answer, fitted to one reply."""
        found = [self.assistant.cited(n, pid) for n, pid in enumerate(self.last_sources.get(user), 1)]
        found = [pair for pair in found if pair is not None]
        if not found:
            return self.render("original_none")

        def render(budget):
            passages = []
            for citation, passage in found:
                text = passage["text"]
                passages.append({**dataclasses.asdict(citation), "text": text if len(text) <= budget else text[: max(budget - 1, 0)] + "…"})
            return self.render("original", passages=passages)

        return fit_by_budget(render, max(len(p["text"]) for _, p in found), LIMIT_BYTES)

    def render(self, name, **context):
        return self.assistant.render(f"wechat/{name}.txt.j2", **context)

    async def close(self):
        for task in list(self._background):
            task.cancel()
