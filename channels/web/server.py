"""`bot.py serve`: build the Assistant, print where everything is, run uvicorn."""

import logging
import sys

import uvicorn

from retrieval.assistant import Assistant

from . import slow_clients
from .app import check_settings, create_app
from .telegram_hook import telegram_service


def urls(settings, host, port):
    """The lines `serve` prints: each area's URL and whether it is switched on."""
    base = f"http://{host}:{port}"
    off = " (off: set {})"
    return [
        f"民政小助手 web service on {base}",
        f"  citizen chat   {base}/chat",
        f"  staff lookup   {base}/lookup" + ("" if settings.staff_token else off.format("MINZHENG_STAFF_TOKEN")),
        f"  admin          {base}/admin" + ("" if settings.admin_token else off.format("MINZHENG_ADMIN_TOKEN")),
        f"  WeChat push    {base}/wechat" + ("" if settings.wechat_token else off.format("WECHAT_TOKEN")),
        "  Telegram bot   " + (("webhook " + settings.telegram_webhook_url) if settings.telegram_webhook_url else "long polling")
        if settings.telegram_bot_token
        else "  Telegram bot   (off: set TELEGRAM_BOT_TOKEN)",
    ]


class NoQueryStrings(logging.Filter):
    """Drops the query string from uvicorn's access-log lines: WeChat puts the signature, nonce
    and the citizen's openid there, staff searches their words."""

    def filter(self, record):
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def trusted_proxies(settings):
    return [part.strip() for part in settings.trusted_proxies.split(",") if part.strip()]


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


def serve(settings, host=None, port=None, hooks=(), out=sys.stdout):
    """Run the web service until interrupted; the knowledge base is loaded before it listens."""
    host = host or settings.host
    port = port or settings.port
    check_settings(settings)  # SettingsError before the store is loaded or the port opened
    assistant = Assistant(settings)
    assistant.warm_up()  # DataFileError surfaces here, before the port opens
    telegram_hooks, telegram_routes = telegram_service(assistant, settings)
    app = create_app(assistant, settings, hooks=(*hooks, *telegram_hooks), routes=telegram_routes)
    for line in urls(settings, host, port):
        print(line, file=out)
    out.flush()
    uvicorn.Server(uvicorn_config(app, settings, host, port)).run()
    return 0
