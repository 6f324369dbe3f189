"""The Telegram channel (python-telegram-bot 22): citizens ask, staff search, admins reload.

Modules: menu (faq/telegram_menu.toml), keyboards (buttons and callback codes), replies
(templates/telegram to HTML), split (long messages), handlers (one per update kind), app
(wiring, polling/webhook, embedding), standalone (`python bot.py telegram`).
"""

from .app import build_application, receive_webhook, start, stop
from .standalone import main

__all__ = ["build_application", "start", "stop", "receive_webhook", "main"]
