"""The web service: one Starlette app serving /wechat, /lookup, /chat and /admin on one Assistant.

`create_app` is the factory (tests pass their own settings, clock and fakes); `hooks` lets the
caller run more services in the same process, e.g. the Telegram bot: each hook is a pair of
async callables (start, stop), started in order after the knowledge base is loaded and stopped
in reverse order on shutdown.
"""

import contextlib
import logging
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from retrieval import readiness
from retrieval.edge import Edge
from .admin import Admin
from .auth import check_tokens
from .chat import Chat
from .localtime import zone
from .lookup import Lookup
from .pages import templates as make_templates
from .security import SecurityHeaders
from .revoked import revocations
from .shared_memories import credential_limiter, push_memories
from .topics import load_topics
from .wechat_api import WeChatAPI
from .wechat_endpoint import WeChatEndpoint, wechat_mode

log = logging.getLogger(__name__)

WECHAT_DEADLINE = 4.5  # WeChat gives up after 5 s; leave room for the network


def create_app(assistant, settings, hooks=(), wechat_api=None, wechat_deadline=WECHAT_DEADLINE, clock=time.time, routes=()):
    """The Starlette app. `hooks`: [(async start(), async stop()), ...] run inside its lifespan;
    `routes`: more routes of services embedded in this process (the Telegram webhook)."""
    check_settings(settings)
    templates = make_templates(settings)
    shared = assistant.shared
    credentials = credential_limiter(shared, settings, clock)  # one limit for /lookup and /admin
    if wechat_api is None and settings.wechat_appid and settings.wechat_appsecret:
        wechat_api = WeChatAPI(settings.wechat_appid, settings.wechat_appsecret, settings.wechat_api_base_url)
    # /wechat and /chat; /chat's user ids are cookies the client could make up, so its
    # addresses are limited too.
    edge = Edge.over(assistant, shared.limiter("user", settings.rate_limit_per_minute), shared.limiter("address", settings.address_rate_limit_per_minute))
    wechat = WeChatEndpoint(assistant, settings, edge, api=wechat_api, deadline=wechat_deadline, clock=clock, memories=push_memories(shared, clock))
    revoked = revocations(settings, assistant.database, clock)  # logouts: files on this machine, or PostgreSQL for all
    lookup = Lookup(assistant, settings, templates, clock=clock, limiter=credentials, revocations=revoked)
    # 👍/👎 by address too: a made-up cookie per vote must not lift the per-user limit
    chat = Chat(assistant, edge, templates, load_topics(settings.faq_dir), shared.limiter("feedback_address", settings.address_feedback_per_minute))
    admin = Admin(assistant, settings, templates, clock=clock, limiter=credentials, revocations=revoked)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await run_in_threadpool(assistant.warm_up)
        await run_in_threadpool(admin.add.prune)  # previews abandoned before this start
        started = []
        try:
            for start, stop in hooks:
                if start is not None:
                    await start()
                started.append(stop)
            yield
        finally:
            for stop in reversed(started):
                if stop is not None:
                    try:
                        await stop()
                    except Exception:
                        log.exception("a shutdown hook failed")
            await wechat.close()
            if wechat_api is not None:
                await wechat_api.close()

    async def home(request):
        return RedirectResponse("/chat", status_code=302)

    async def healthz(request):
        # shared_state: "redis", or "per-process" (no Redis configured, or Redis not answering)
        return JSONResponse({"status": "ok", **(await run_in_threadpool(shared.health))})

    async def readyz(request):
        ready, results = await run_in_threadpool(readiness.run, readiness.checks(assistant))
        return JSONResponse({"ready": ready, "checks": results}, status_code=200 if ready else 503)

    extra_routes = routes
    routes = [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/wechat", wechat.handle, methods=["GET", "POST"]),
        *lookup.routes(),
        *chat.routes(),
        *admin.routes(),
        *extra_routes,
        Mount("/static", app=StaticFiles(directory=str(Path(settings.templates_dir) / "web" / "static")), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={500: _server_error},
    )
    app.state.assistant = assistant
    app.state.wechat = wechat
    return app


def check_settings(settings):
    """SettingsError for settings the service must not start with (checked before any work)."""
    check_tokens(settings)
    zone(settings)
    if settings.wechat_token:
        wechat_mode(settings)


async def _server_error(request, exc):
    log.error("unhandled error on %s", request.url.path, exc_info=exc)
    return PlainTextResponse("Internal Server Error", status_code=500)
