"""/chat: the citizens' web chat (a page and the JSON endpoints it calls), on the same core and templates."""

import hashlib
import hmac
import json
import secrets

from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.routing import Route

from retrieval.errors import AlreadyVotedError, FeedbackRateLimitedError
from retrieval.library import citation_fields
from retrieval.segment import SECTION_SEPARATOR

from .asking import CHECK, RATE_LIMITED, Asker
from .auth import client_address, same_origin
from .limits import BodyTooLarge, read_body

CHANNEL = "web"
COOKIE = "mz_chat"
BODY_LIMIT = 16 * 1024


class Chat:
    def __init__(self, assistant, edge, templates, topics=(), address_limiter=None):
        self.assistant = assistant
        self.address_limiter = address_limiter  # 👍/👎 per client address (None: not limited)
        self.templates = templates
        self.asker = Asker(assistant, edge, CHANNEL, {"rate_limited": "web/text/rate_limited.txt.j2", "error": "web/text/error.txt.j2"})
        # Feedback tokens only need to outlive a page visit; a restart simply retires them.
        self._key = secrets.token_bytes(32)
        self.topics = topics  # topics.Topic of the chips, from faq/telegram_menu.toml

    def routes(self):
        return [
            Route("/chat", self.page, methods=["GET"]),
            Route("/chat/api/ask", self.ask, methods=["POST"]),
            Route("/chat/api/feedback", self.feedback, methods=["POST"]),
        ]

    async def page(self, request):
        response = self.templates.TemplateResponse(request, "chat.html", self._page_context())
        if not _valid_id(request.cookies.get(COOKIE, "")):
            _set_cookie(response, request, secrets.token_hex(16))
        return response

    def _page_context(self):
        """The topic chips and the hand-off, worded by the Telegram menu's templates (autoescaped HTML)."""
        handoff = Markup(self.assistant.render("telegram/handoff.html.j2"))
        intros = {t.key: Markup(self.assistant.render("telegram/topic.html.j2", label=t.label, description=t.description)) for t in self.topics if not t.handoff}
        return {"topics": self.topics, "topic_intros": intros, "handoff": handoff}

    def _user(self, request):
        """The visitor's id from its cookie, or None when it has none (a new visitor)."""
        cookie = request.cookies.get(COOKIE, "")
        return cookie if _valid_id(cookie) else None

    def _token(self, query_id, user):
        return hmac.new(self._key, f"{query_id}:{user}".encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    async def _json(self, request):
        """The JSON body, or an error response (wrong type, too large, not an object, other site)."""
        if not same_origin(request):
            return None, JSONResponse({"error": "origin"}, status_code=403)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return None, JSONResponse({"error": "content-type"}, status_code=415)
        try:
            data = json.loads(await read_body(request, BODY_LIMIT))
        except BodyTooLarge:
            return None, JSONResponse({"error": "too large"}, status_code=413)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[... nested thousands deep
            return None, JSONResponse({"error": "json"}, status_code=400)
        if not isinstance(data, dict):
            return None, JSONResponse({"error": "json"}, status_code=400)
        return data, None

    async def ask(self, request):
        data, error = await self._json(request)
        if error is not None:
            return error
        question = data.get("question")
        if not isinstance(question, str):
            return JSONResponse({"error": "question"}, status_code=400)
        user = self._user(request)
        new = user is None
        if new:
            # A client without our cookie is a new visitor with a conversation of its own (never
            # one keyed on its address: everyone behind one proxy or NAT would share it).
            user = secrets.token_hex(16)
        # One conversation per visitor; a suggestion button asks with follow=False.
        outcome = await self.asker.ask(question, user, conversation=user, follow=data.get("follow") is not False, address=client_address(request))
        payload = {"kind": outcome.kind, "declined": outcome.kind not in ("answer", CHECK), "text": outcome.text, "sources": [], "suggestions": [], "query_id": None, "feedback_token": None, "followup": None, "asked": None}
        if outcome.kind == CHECK:  # a guided check: its answers are buttons here, so the text leaves the numbers out
            step = outcome.check
            payload["text"] = self.assistant.render("check.txt.j2", step=step, numbered=False)
            payload["check"] = {"id": step.check.id, "title": step.check.title, "number": step.number, "total": step.total, "done": step.done, "options": list(step.options), "outcome": step.ending.kind if step.done else None}
        if outcome.answer is not None:
            answer = outcome.answer
            # The suggestions are buttons and the sources are listed under the answer here, so
            # the text leaves both out.
            payload["text"] = self.assistant.compose(answer, suggestions=False, sources=False)
            payload["followup"] = outcome.followup
            payload["asked"] = outcome.asked if outcome.picked is not None else None
            payload["sources"] = [_source(n, hit) for n, hit in enumerate(answer.sources, 1)]
            payload["suggestions"] = list(answer.suggestions)
            payload["query_id"] = outcome.query_id
            # No query id when the log could not be written: then there is nothing to rate.
            payload["feedback_token"] = self._token(outcome.query_id, user) if outcome.query_id is not None else None
        if outcome.kind == RATE_LIMITED:
            response = JSONResponse(payload, status_code=429, headers={"Retry-After": str(max(1, round(outcome.retry_after)))})
        else:
            response = JSONResponse(payload)
        if new:
            _set_cookie(response, request, user)
        return response

    async def feedback(self, request):
        data, error = await self._json(request)
        if error is not None:
            return error
        query_id, value, token = data.get("query_id"), data.get("value"), data.get("token")
        if not isinstance(query_id, int) or value not in (1, -1) or not isinstance(token, str):
            return JSONResponse({"error": "fields"}, status_code=400)
        user = self._user(request)
        # compare_digest refuses a str with non-ASCII characters; a real token is hex
        if user is None or not token.isascii() or not hmac.compare_digest(self._token(query_id, user), token):
            return JSONResponse({"error": "token"}, status_code=403)
        comment = data.get("comment")
        comment = comment[:500] if isinstance(comment, str) and comment.strip() else None
        try:
            address = (CHANNEL, client_address(request))
            if self.address_limiter is not None and not self.address_limiter.allow(address):
                raise FeedbackRateLimitedError(self.address_limiter.retry_after(address))
            ok = await run_in_threadpool(self.assistant.feedback, query_id, value, comment, CHANNEL, user)
        except AlreadyVotedError:
            return JSONResponse({"error": "already rated", "message": self.assistant.render("web/text/feedback_again.txt.j2")}, status_code=409)
        except FeedbackRateLimitedError as exc:
            seconds = max(1, int(exc.seconds + 0.999))
            message = self.assistant.render("web/text/rate_limited.txt.j2", seconds=seconds)
            return JSONResponse({"error": "rate limited", "message": message}, status_code=429, headers={"Retry-After": str(seconds)})
        if not ok:
            return JSONResponse({"error": "unknown query"}, status_code=404)
        return JSONResponse({"ok": True, "message": self.assistant.render("web/text/feedback_thanks.txt.j2", value=value)})


def _source(number, hit):
    document = hit.document
    return {
        "number": number,
        "title": document["title"],
        "issuer": document["issuer"],
        "date": document["published"] or document["effective"],
        "section": SECTION_SEPARATOR.join(s for s in hit.passage["section"] if s),
        "status": document["status"],
        "text": hit.passage["text"],
        **citation_fields(document, hit.validity),
    }


def _set_cookie(response, request, value):
    response.set_cookie(COOKIE, value, max_age=30 * 86400, path="/chat", httponly=True, samesite="strict", secure=request.url.scheme == "https")


def _valid_id(value):
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)
