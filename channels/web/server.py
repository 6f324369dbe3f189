"""`bot.py serve`: build the Assistant, print where everything is, run uvicorn."""

import functools
import logging
import sys
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

from retrieval.assistant import Assistant
from retrieval.compose import Composer
from retrieval.errors import SettingsError
from retrieval.sharedstate import RedisLink, open_shared

from . import slow_clients
from .app import check_settings, create_app
from .credentials import with_local_credentials
from .telegram_hook import telegram_service
from .wechat_endpoint import wechat_mode

WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # listening everywhere: the links name this machine


def urls(settings, host, port, local=None):
    """The lines `serve` prints (templates/serve_urls.txt.j2): each area's URL and whether it is
    on; for passwords generated on this machine (`local`: {area: password}) the links carry
    them, so opening one signs in (Gate exchanges ?token= for the cookie and drops it)."""
    base = f"http://{host}:{port}"
    link = f"http://{'127.0.0.1' if host in WILDCARD_HOSTS else host}:{port}"
    telegram = None
    if settings.telegram_bot_token:
        telegram = ("webhook " + settings.telegram_webhook_url) if settings.telegram_webhook_url else "long polling"
    text = Composer(settings.templates_dir).render(
        "serve_urls.txt.j2",
        base=base,
        link=link,
        local=local or {},
        configured={"staff": bool(settings.staff_token), "admin": bool(settings.admin_token)},
        credentials_file=_shown_path(settings.credentials_file),
        wechat_mode=wechat_mode(settings) if settings.wechat_token else None,
        telegram=telegram,
    )
    return text.splitlines()


def _shown_path(path):
    """The path relative to the working directory when it is inside it (var/web-credentials.toml)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class NoQueryStrings(logging.Filter):
    """Drops the query string from uvicorn's access-log lines: WeChat puts the signature, nonce
    and the citizen's openid there, staff searches their words."""

    def filter(self, record):
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def trusted_proxies(settings):
    """MINZHENG_TRUSTED_PROXIES as addresses or networks (10.0.0.1, 10.0.0.0/8, ::1);
    SettingsError for anything else, which uvicorn would silently never match (fifth attack L5)."""
    import ipaddress

    parts = [part.strip() for part in settings.trusted_proxies.split(",") if part.strip()]
    for part in parts:
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise SettingsError(f"MINZHENG_TRUSTED_PROXIES: {part!r} is not an IP address or network (such as 127.0.0.1 or 10.0.0.0/8)") from None
    return parts


def uvicorn_config(app, settings, host, port, **kwargs):
    """uvicorn's Config: X-Forwarded-* believed only from MINZHENG_TRUSTED_PROXIES (a client
    naming its own address would otherwise get a fresh rate bucket per request), a deadline for
    each request's head (MINZHENG_HEADER_TIMEOUT), and an access log without query strings."""
    proxies = trusted_proxies(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        http=slow_clients.protocol(settings.header_timeout),  # a slow-loris client cannot hold a connection
        **kwargs,
    )
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, NoQueryStrings) for f in access.filters):
        access.addFilter(NoQueryStrings())
    return config


def check_workers(settings, workers):
    """SettingsError when `workers` processes cannot share what they must (checked before any work)."""
    if workers < 1:
        raise SettingsError(f"--workers must be at least 1 (got {workers})")
    if workers == 1:
        return
    if not settings.redis_url.strip():
        raise SettingsError(
            f"--workers {workers} needs MINZHENG_REDIS_URL: without Redis each worker keeps its own rate limits "
            f"({workers} x {settings.rate_limit_per_minute} questions a minute per user), its own WeChat duplicate and replay "
            "memories (a retry reaching another worker is answered twice) and its own conversations (a follow-up reaching "
            "another worker loses its context); set MINZHENG_REDIS_URL=redis://HOST:6379/0 or serve with --workers 1"
        )
    if settings.telegram_bot_token and not settings.telegram_webhook_url:
        raise SettingsError(
            f"--workers {workers} with TELEGRAM_BOT_TOKEN needs TELEGRAM_WEBHOOK_URL: long polling runs in one process only "
            "(two pollers take each other's updates); set the webhook URL or serve with --workers 1"
        )


def serve(settings, host=None, port=None, hooks=(), out=sys.stdout, workers=1):
    """Run the web service until interrupted; the knowledge base is loaded before it listens.
    `workers` > 1: that many uvicorn worker processes on one port, sharing state in Redis."""
    host = host or settings.host
    port = port or settings.port
    check_settings(settings)  # SettingsError before the store is loaded or the port opened
    check_workers(settings, workers)
    open_shared(settings)  # a MINZHENG_REDIS_URL redis-py cannot use: SettingsError now, not in every worker
    settings, local = with_local_credentials(settings)  # passwords the environment does not set
    if workers > 1:
        Assistant(settings).warm_up()  # builds the store once, here; DataFileError before the port opens
        for line in urls(settings, host, port, local):
            print(line, file=out)
        print(f"{workers} worker processes, shared state in Redis at {RedisLink.shown(settings.redis_url)}", file=out)
        out.flush()
        config = uvicorn_config(functools.partial(worker_app, settings, hooks), settings, host, port, factory=True, workers=workers)
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return 0
    assistant = Assistant(settings, open_shared(settings))
    assistant.warm_up()  # DataFileError surfaces here, before the port opens
    telegram_hooks, telegram_routes = telegram_service(assistant, settings)
    app = create_app(assistant, settings, hooks=(*hooks, *telegram_hooks), routes=telegram_routes)
    for line in urls(settings, host, port, local):
        print(line, file=out)
    out.flush()
    uvicorn.Server(uvicorn_config(app, settings, host, port)).run()
    return 0


def worker_app(settings, hooks=()):
    """One worker process's app (`serve --workers N` calls this in each): its own Assistant on
    the shared Redis, the Telegram webhook route when the bot is configured."""
    access = logging.getLogger("uvicorn.access")  # the worker's logging was configured afresh
    if not any(isinstance(f, NoQueryStrings) for f in access.filters):
        access.addFilter(NoQueryStrings())
    assistant = Assistant(settings, open_shared(settings))
    telegram_hooks, telegram_routes = telegram_service(assistant, settings)
    return create_app(assistant, settings, hooks=(*hooks, *telegram_hooks), routes=telegram_routes)
