"""/admin: knowledge status, reload, rollback (after a confirmation page), declined questions by
kind, 👎 feedback, the dashboard (channels/web/admin_dashboard.py), the FAQ editor
(channels/web/admin_faq.py) and adding a document from a file (channels/web/admin_add.py).

State-changing actions are POSTs carrying a CSRF token bound to the admin session, then
redirect to the page (POST/redirect/GET), which shows the last action's result in Chinese
(channels/web/admin_views.py).
"""

import logging
import time

from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse
from starlette.routing import Route

from retrieval.errors import AssistantError, QualityDropError

from . import admin_views as views
from .admin_dashboard import Dashboard
from .admin_add import AddPages
from .admin_faq import FaqPages
from .auth import Gate, Realm, read_form, same_origin
from .limits import BodyTooLarge
from .revoked import revocations as file_revocations

log = logging.getLogger(__name__)

RECENT = 60  # declined questions listed (in sections by kind)
RECENT_NEGATIVE = 30


class Admin:
    def __init__(self, assistant, settings, templates, clock=time.time, limiter=None, revocations=None):
        self.assistant = assistant
        self.settings = settings
        self.templates = templates
        self.clock = clock
        max_age = 8 * 3600
        revoked = (revocations or file_revocations(settings, clock=clock))("admin", max_age)  # files, or PostgreSQL (app.py)
        self.realm = Realm("admin", settings.admin_token, "/admin", max_age=max_age, clock=clock, revoked=revoked)
        self.gate = Gate(self.realm, templates, "/admin", limiter)
        self.shown_path = views.data_path(settings)
        self.last_action = None  # views.ActionResult of the last reload / rollback / FAQ save
        self.dashboard = Dashboard(self)
        self.faq = FaqPages(self)
        self.add = AddPages(self)

    def routes(self):
        return [
            Route("/admin", self.page, methods=["GET"]),
            *self.gate.routes(),
            Route("/admin/reload", self.reload, methods=["POST"]),
            Route("/admin/rollback/confirm", self.confirm_rollback, methods=["GET"]),
            Route("/admin/rollback", self.rollback, methods=["POST"]),
            Route("/admin/explain", self.explain, methods=["GET"]),
            *self.dashboard.routes(),
            *self.faq.routes(),
            *self.add.routes(),
        ]

    async def explain(self, request):
        """Why a question gets its passages and its decision, in full, with the files that would change it."""
        from .explaining import page

        return await page(request, self.assistant, self.templates, self.gate, full=True, back="/admin")

    @property
    def can_rollback(self):
        return callable(getattr(self.assistant, "rollback", None))

    @property
    def labels(self):
        return self.templates.env.globals["labels"]

    def render(self, request, name, context, session, status_code=200):
        """An admin page: every one gets the CSRF token of the session and the nav."""
        context = {"csrf": self.realm.csrf_token(session), "can_rollback": self.can_rollback, **context}
        return self.templates.TemplateResponse(request, name, context, status_code=status_code)

    def broken(self, request, session, exc):
        """The page in place of one that needs a data file that is broken (faq/regions.toml...)."""
        where = self.shown_path(exc.path) + (f":{exc.line}" if exc.line else "")
        log.warning("admin page needs a broken data file: %s", where)
        return self.render(request, "admin_broken.html", {"where": where, "message": exc.message}, session, status_code=503)

    async def page(self, request):
        session, refused = self.gate.session(request)
        if refused is not None:
            return refused
        stats = await run_in_threadpool(self.assistant.stats)
        declined = await run_in_threadpool(self.assistant.log.recent_declined, RECENT)
        negative = await run_in_threadpool(self.assistant.log.recent_negative, RECENT_NEGATIVE)
        context = {
            "stats": stats,
            "declined": views.declined_sections(declined, self.labels["declined_groups"]),
            "negative": negative,
            "last_action": self.last_action,
        }
        return self.render(request, "admin.html", context, session)

    async def authorized_post(self, request, read=read_form):
        """(session, form) when the POST may proceed, else (None, the response refusing it)."""
        session, refused = self.gate.session(request)
        if refused is not None:
            return None, refused
        try:
            form = await read(request)
        except BodyTooLarge:
            return None, self.templates.TemplateResponse(request, "forbidden.html", {}, status_code=413)
        token = form.get("csrf", "")
        token = token[0] if isinstance(token, list) and token else token
        if not same_origin(request) or not self.realm.csrf_ok(session, token if isinstance(token, str) else ""):
            return None, self.templates.TemplateResponse(request, "forbidden.html", {}, status_code=403)
        return session, form

    async def reload(self, request):
        session, refused = await self.authorized_post(request)
        if session is None:
            return refused
        self.last_action = await self.run("reload", self.assistant.reload)
        return RedirectResponse("/admin", status_code=303)

    async def confirm_rollback(self, request):
        session, refused = self.gate.session(request)
        if refused is not None:
            return refused
        if not self.can_rollback:
            return self.templates.TemplateResponse(request, "not_found.html", {}, status_code=404)
        stats = await run_in_threadpool(self.assistant.stats)
        return self.render(request, "admin_rollback.html", {"stats": stats}, session)

    async def rollback(self, request):
        session, refused = await self.authorized_post(request)
        if session is None:
            return refused
        if not self.can_rollback:
            return self.templates.TemplateResponse(request, "not_found.html", {}, status_code=404)
        self.last_action = await self.run("rollback", self.assistant.rollback)
        return RedirectResponse("/admin", status_code=303)

    async def run(self, action, call, result=None):
        """Run a core action in the threadpool; an ActionResult whatever happens (never raises
        for the core's errors, so the page after it always renders)."""
        started = time.perf_counter()
        result = result or views.ActionResult(action, self.clock())
        before = await run_in_threadpool(self._names)
        try:
            report = await run_in_threadpool(call)
        except QualityDropError as exc:
            views.failure(result, exc, self.shown_path)
            if exc.report is not None:
                result.changes = views.changes(exc.report, before, before)
                result.quality = views.quality(exc.report)
            else:
                result.quality = {"before": exc.before, "after": exc.after, "margin": exc.margin, "forced": False, "set": "", "change": None}
        except AssistantError as exc:
            views.failure(result, exc, self.shown_path)
        else:
            if action == "rollback":
                result.rollback = views.rolled_back(report)
            else:
                after = await run_in_threadpool(self._names)
                result.changes = views.changes(report, before, after)
                result.quality = views.quality(report)
        result.seconds = round(time.perf_counter() - started, 2)
        log.info("admin %s: %s%s", action, result.status, f" ({result.error})" if result.error else "")
        return result

    def _names(self):
        try:
            return views.Names.of(self.assistant)
        except AssistantError:
            return views.Names()
