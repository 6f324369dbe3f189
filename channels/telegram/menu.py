"""The Telegram menu data (faq/telegram_menu.toml): topics, deep-link payloads, button labels, commands."""

import re
from dataclasses import dataclass
from pathlib import Path

from retrieval.datafiles import read_toml, table_lines
from retrieval.errors import DataFileError

MENU_FILE = "telegram_menu.toml"
_KEY = re.compile(r"^[a-z0-9_-]{1,20}$")
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
BUTTONS = ("sources", "helpful", "not_helpful", "handoff", "back")


@dataclass(frozen=True)
class Topic:
    key: str
    label: str
    description: str = ""
    examples: tuple = ()
    handoff: bool = False


@dataclass(frozen=True)
class Command:
    name: str
    description: str


@dataclass(frozen=True)
class Menu:
    topics: tuple
    buttons: dict
    commands: tuple

    def topic(self, key):
        return next((t for t in self.topics if t.key == key), None)

    @classmethod
    def load(cls, faq_dir):
        path = Path(faq_dir) / MENU_FILE
        data = read_toml(path)
        lines = table_lines(path, "topic")
        topics = []
        for n, entry in enumerate(data.get("topic", [])):
            line = lines[n] if n < len(lines) else None
            key = entry.get("key", "")
            if not isinstance(key, str) or not _KEY.match(key):
                raise DataFileError(path, line, f"topic key {key!r} must be 1-20 of a-z 0-9 _ -")
            if not entry.get("label"):
                raise DataFileError(path, line, f"topic {key!r} lacks a label")
            handoff = bool(entry.get("handoff", False))
            if not handoff and not entry.get("description"):
                raise DataFileError(path, line, f"topic {key!r} needs a description or handoff = true")
            topics.append(Topic(key, entry["label"], entry.get("description", ""), tuple(entry.get("examples", ())), handoff))
        if len({t.key for t in topics}) != len(topics):
            raise DataFileError(path, None, "topic keys must be unique")
        buttons = data.get("buttons", {})
        missing = [b for b in BUTTONS if not buttons.get(b)]
        if missing:
            raise DataFileError(path, None, f"[buttons] lacks {', '.join(missing)}")
        command_lines = table_lines(path, "command")
        commands = []
        for n, entry in enumerate(data.get("command", [])):
            name, description = entry.get("name", ""), entry.get("description", "")
            if not _COMMAND.match(str(name)) or not 1 <= len(description) <= 256:
                line = command_lines[n] if n < len(command_lines) else None
                raise DataFileError(path, line, f"command {name!r}: name a-z 0-9 _ (<=32), description 1-256 characters")
            commands.append(Command(name, description))
        return cls(tuple(topics), dict(buttons), tuple(commands))
