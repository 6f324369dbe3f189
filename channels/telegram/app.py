"""Wiring the Telegram Application: handlers, rate limiter, concurrency; polling or webhook.

`build_application(assistant, settings)` plus `await start(app)` / `await stop(app)` embed the
bot in an existing asyncio loop (a Starlette lifespan); `run(settings)` is `python bot.py
telegram`, which runs this channel alone until SIGINT/SIGTERM.
"""

import hmac
import logging
from urllib.parse import urlsplit

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken
from telegram.ext import AIORateLimiter, ApplicationBuilder, CallbackQueryHandler, CommandHandler, Defaults, MessageHandler, filters

from retrieval.edge import Edge

from .handlers import Handlers
from .keyboards import CALLBACK_PATTERN
from .menu import Menu
from .replies import Replies

log = logging.getLogger(__name__)

RETRIES_ON_429 = 3
TOKEN_LOGGERS = ("httpx", "telegram.Bot", "telegram.ext.ExtBot")  # loggers that print URLs with the token
TOKEN_REJECTED = "the Bot API rejected TELEGRAM_BOT_TOKEN (or TELEGRAM_API_BASE_URL is wrong)"
NOT_TEXT = (
    filters.Sticker.ALL | filters.PHOTO | filters.VOICE | filters.AUDIO | filters.VIDEO | filters.VIDEO_NOTE
    | filters.ANIMATION | filters.Document.ALL | filters.LOCATION | filters.CONTACT
)

CAPTIONED = filters.PHOTO | filters.Document.ALL | filters.VIDEO | filters.ANIMATION


def build_application(assistant, settings, request=None, get_updates_request=None):
    """The Application for one Assistant; `request`s replace the HTTP transport in tests."""
    menu = Menu.load(settings.faq_dir)
    handlers = Handlers(
        assistant,
        settings,
        Replies(settings.templates_dir, menu),
        menu,
        Edge.over(assistant, assistant.shared.limiter("user", settings.rate_limit_per_minute)),
    )
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(_base_url(settings.telegram_api_base_url))
        .base_file_url(_base_url(settings.telegram_api_base_url).replace("/bot", "/file/bot", 1))
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(AIORateLimiter(max_retries=RETRIES_ON_429))
        .concurrent_updates(True)
        .post_init(post_init)
    )
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    # Before build(): the Bot logs its API URL, which holds the token, at DEBUG as it is created,
    # and httpx logs every request URL at INFO. Logger filters hold whatever handlers exist.
    for name in TOKEN_LOGGERS:
        _redact_token_in(logging.getLogger(name), settings.telegram_bot_token)
    app = builder.build()
    app.bot_data["settings"] = settings
    app.bot_data["menu"] = menu
    app.add_handler(CommandHandler("start", handlers.start))
    app.add_handler(CommandHandler("help", handlers.help))
    app.add_handler(CommandHandler("human", handlers.human))
    app.add_handler(CommandHandler("forget", handlers.forget))
    app.add_handler(CommandHandler("search", handlers.search))
    app.add_handler(CommandHandler("reload", handlers.reload))
    app.add_handler(CommandHandler("stats", handlers.stats))
    app.add_handler(CallbackQueryHandler(handlers.button, pattern=CALLBACK_PATTERN))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.text))
    # A photo or file with a caption is asked as its caption; the Bot API transcribes no voice.
    app.add_handler(MessageHandler(CAPTIONED & filters.CAPTION, handlers.caption))
    app.add_handler(MessageHandler(NOT_TEXT & filters.ChatType.PRIVATE, handlers.not_text))
    app.add_error_handler(handlers.error)
    return app


async def post_init(app):
    """Publish the command menu (PTB runs this in run_polling/run_webhook; start() calls it too)."""
    menu = app.bot_data["menu"]
    await app.bot.set_my_commands([BotCommand(c.name, c.description) for c in menu.commands])


async def start(app):
    """Start inside a running loop: initialize, commands, then polling or set the webhook."""
    settings = app.bot_data["settings"]
    try:
        await app.initialize()
    except InvalidToken:
        # PTB's message quotes the token; it would land in the startup traceback (a 404 from a
        # wrong TELEGRAM_API_BASE_URL also says "invalid token", with a perfectly valid token).
        raise InvalidToken(TOKEN_REJECTED) from None
    await post_init(app)
    await app.start()
    if settings.telegram_webhook_url:
        await app.bot.set_webhook(
            settings.telegram_webhook_url,
            secret_token=settings.telegram_webhook_secret or None,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        await app.updater.start_polling(allowed_updates=Update.ALL_TYPES)


async def stop(app):
    """Undo start(): stop polling, finish running handlers, close the HTTP clients."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()


async def receive_webhook(app, secret_header, payload):
    """Queue one webhook update (for a web server embedding the bot); False if the secret is wrong."""
    secret = app.bot_data["settings"].telegram_webhook_secret
    if secret and not hmac.compare_digest((secret_header or "").encode(), secret.encode()):
        return False
    await app.update_queue.put(Update.de_json(payload, app.bot))
    return True


def run(assistant, settings):
    """`python bot.py telegram`: this channel alone, blocking until SIGINT/SIGTERM."""
    app = build_application(assistant, settings)
    if settings.telegram_webhook_url:
        path = urlsplit(settings.telegram_webhook_url).path.lstrip("/")
        log.info("telegram webhook on %s:%s/%s", settings.host, settings.port, path)
        app.run_webhook(
            listen=settings.host,
            port=settings.port,
            url_path=path,
            webhook_url=settings.telegram_webhook_url,
            secret_token=settings.telegram_webhook_secret or None,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        log.info("telegram long polling via %s", urlsplit(settings.telegram_api_base_url).netloc)
        app.run_polling(allowed_updates=Update.ALL_TYPES)


class RedactToken(logging.Filter):
    """Replaces the bot token in any log record (httpx logs request URLs, which contain it)."""

    def __init__(self, token):
        super().__init__()
        self.token = token

    def filter(self, record):
        if self.token and self.token in record.getMessage():
            record.msg = record.getMessage().replace(self.token, "<token>")
            record.args = ()
        if self.token and record.exc_info and record.exc_info[1] is not None:
            # A traceback is formatted from exc_info, past record.msg: redact that text too.
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = text.replace(self.token, "<token>")
        return True


def _redact_token_in(logger, token):
    """Add one RedactToken for this token to a logger (building several apps adds it once)."""
    if token and not any(isinstance(f, RedactToken) and f.token == token for f in logger.filters):
        logger.addFilter(RedactToken(token))


def _base_url(url):
    """PTB appends the token to the base URL, which must end in /bot or hold {token}."""
    url = url.rstrip("/")
    if "{token}" in url or url.endswith("/bot"):
        return url
    return url + "/bot"
