"""/admin: knowledge status, reload (and rollback when the core has it), declined questions, 👎 feedback.

State-changing actions are POSTs carrying a CSRF token bound to the admin session, then
redirect to the page (POST/redirect/GET), which shows the last action's report.
"""

import dataclasses
import logging
import time

from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse
from starlette.routing import Route

from retrieval.errors import AssistantError, DataFileError

from .auth import Gate, Realm, read_form, same_origin
from .limits import BodyTooLarge
from .revoked import RevokedSessions

log = logging.getLogger(__name__)

RECENT = 30
EXTRA_REPORT_FIELDS = ("diff", "quality")  # being added to the reload report by the ops work


def plain(value, depth=0):
    """A report (dataclass, object, dict, list...) as dicts, lists and scalars for the template."""
    if depth > 5:
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: plain(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)}
        for name in EXTRA_REPORT_FIELDS:
            if name not in out and getattr(value, name, None) is not None:
                out[name] = plain(getattr(value, name), depth + 1)
        return out
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v, depth + 1) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "__dict__"):
        return {k: plain(v, depth + 1) for k, v in vars(value).items() if not k.startswith("_")}
    return str(value)


class Admin:
    def __init__(self, assistant, settings, templates, clock=time.time, limiter=None):
        self.assistant = assistant
        self.templates = templates
        self.clock = clock
        max_age = 8 * 3600
        revoked = RevokedSessions(settings.session_revocation_folder / "revoked-admin.txt", max_age, clock=clock)
        self.realm = Realm("admin", settings.admin_token, "/admin", max_age=max_age, clock=clock, revoked=revoked)
        self.gate = Gate(self.realm, templates, "/admin", limiter)
        self.last_action = None

    def routes(self):
        return [
            Route("/admin", self.page, methods=["GET"]),
            *self.gate.routes(),
            Route("/admin/reload", self.reload, methods=["POST"]),
            Route("/admin/rollback", self.rollback, methods=["POST"]),
        ]

    @property
    def can_rollback(self):
        return callable(getattr(self.assistant, "rollback", None))

    async def page(self, request):
        session, refused = self.gate.session(request)
        if refused is not None:
            return refused
        stats = await run_in_threadpool(self.assistant.stats)
        declined = await run_in_threadpool(self.assistant.log.recent_declined, RECENT)
        negative = await run_in_threadpool(self.assistant.log.recent_negative, RECENT)
        context = {
            "stats": stats,
            "declined": declined,
            "negative": negative,
            "last_action": self.last_action,
            "can_rollback": self.can_rollback,
            "csrf": self.realm.csrf_token(session),
        }
        return self.templates.TemplateResponse(request, "admin.html", context)

    async def _authorized_post(self, request):
        """None when the POST may proceed, else the response refusing it."""
        session, refused = self.gate.session(request)
        if refused is not None:
            return refused
        try:
            form = await read_form(request)
        except BodyTooLarge:
            return self.templates.TemplateResponse(request, "forbidden.html", {}, status_code=413)
        if not same_origin(request) or not self.realm.csrf_ok(session, form.get("csrf", "")):
            return self.templates.TemplateResponse(request, "forbidden.html", {}, status_code=403)
        return None

    async def reload(self, request):
        refused = await self._authorized_post(request)
        if refused is not None:
            return refused
        self.last_action = await self._run("reload", self.assistant.reload)
        return RedirectResponse("/admin", status_code=303)

    async def rollback(self, request):
        refused = await self._authorized_post(request)
        if refused is not None:
            return refused
        if not self.can_rollback:
            return self.templates.TemplateResponse(request, "not_found.html", {}, status_code=404)
        self.last_action = await self._run("rollback", self.assistant.rollback)
        return RedirectResponse("/admin", status_code=303)

    async def _run(self, action, call):
        started = time.perf_counter()
        outcome = {"action": action, "time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.clock())), "ok": True}
        try:
            outcome["report"] = plain(await run_in_threadpool(call))
        except DataFileError as exc:
            outcome.update(ok=False, error=exc.message, path=exc.path, line=exc.line)
        except AssistantError as exc:
            outcome.update(ok=False, error=str(exc))
        outcome["seconds"] = round(time.perf_counter() - started, 2)
        log.info("admin %s: %s", action, "ok" if outcome["ok"] else outcome["error"])
        return outcome
