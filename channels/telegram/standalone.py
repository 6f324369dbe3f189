"""`python bot.py telegram`: configure logging, check the settings, build the core, run the bot."""

import logging
import sys

from retrieval.assistant import Assistant
from retrieval.errors import DataFileError, SettingsError, StoreError
from retrieval.sharedstate import open_shared

from telegram.error import InvalidToken

from .app import TOKEN_REJECTED, RedactToken, run

EXIT_CONFIG_ERROR = 2


def main(settings, err=None):
    """Run the Telegram channel alone until SIGINT/SIGTERM; 2 when it cannot start."""
    err = err or sys.stderr
    if not settings.telegram_bot_token:
        print("错误: 没有设置 TELEGRAM_BOT_TOKEN,无法启动 Telegram 机器人。", file=err)
        return EXIT_CONFIG_ERROR
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactToken(settings.telegram_bot_token))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would flood the log
    try:
        assistant = Assistant(settings, open_shared(settings))  # limits and conversations shared with `serve` workers when Redis is set
        assistant.warm_up()
    except (DataFileError, StoreError, SettingsError) as exc:
        print(f"错误: {exc}", file=err)
        return EXIT_CONFIG_ERROR
    try:
        run(assistant, settings)
    except InvalidToken:
        print(f"错误: {TOKEN_REJECTED}", file=err)  # PTB's own message quotes the token
        return EXIT_CONFIG_ERROR
    return 0
