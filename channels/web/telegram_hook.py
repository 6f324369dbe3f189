"""The Telegram bot inside the web service: `make run` / `bot.py serve` start it when
TELEGRAM_BOT_TOKEN is set. Long polling by default; with TELEGRAM_WEBHOOK_URL the bot's updates
arrive on that URL's path of this server (checked against TELEGRAM_WEBHOOK_SECRET)."""

import json
import logging
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.routing import Route

from .limits import BodyTooLarge, read_body

MAX_UPDATE_BYTES = 1_000_000


def telegram_service(assistant, settings):
    """(hooks, routes) for create_app, or ((), ()) when no bot token is set."""
    if not settings.telegram_bot_token:
        return (), ()
    from channels.telegram.app import RedactToken, build_application, receive_webhook, start, stop

    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactToken(settings.telegram_bot_token))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request URLs carry the token
    bot = build_application(assistant, settings)

    async def started():
        await start(bot)

    async def stopped():
        await stop(bot)

    routes = ()
    if settings.telegram_webhook_url:

        async def webhook(request):
            try:
                body = await read_body(request, MAX_UPDATE_BYTES)  # capped while reading, not after
            except BodyTooLarge:
                return Response(status_code=413)
            try:
                update = json.loads(body)
            except (ValueError, RecursionError):  # RecursionError: [[[[... nested thousands deep
                return Response(status_code=400)
            if not isinstance(update, dict):
                return Response(status_code=400)
            ok = await receive_webhook(bot, request.headers.get("X-Telegram-Bot-Api-Secret-Token"), update)
            return Response(status_code=200 if ok else 403)

        path = urlsplit(settings.telegram_webhook_url).path or "/telegram"
        routes = (Route(path, webhook, methods=["POST"]),)
    return ((started, stopped),), routes
