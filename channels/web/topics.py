"""The topic chips of /chat: the citizen topics of faq/telegram_menu.toml, the menu Telegram offers.

Read here rather than through channels.telegram.menu, whose package imports python-telegram-bot:
the web service must not load the Telegram library when no bot runs in it.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from retrieval.datafiles import read_toml, table_lines
from retrieval.errors import DataFileError

MENU_FILE = "telegram_menu.toml"
_KEY = re.compile(r"^[a-z0-9_-]{1,20}$")  # also an HTML id on the page


@dataclass(frozen=True)
class Topic:
    key: str
    label: str
    description: str = ""
    examples: tuple = ()
    handoff: bool = False  # the "人工服务" topic: shows the hand-off text, asks nothing


def load_topics(faq_dir):
    """The menu's topics in file order; DataFileError (file and line) for a malformed one."""
    path = Path(faq_dir) / MENU_FILE
    data = read_toml(path)
    lines = table_lines(path, "topic")
    topics = []
    for n, entry in enumerate(data.get("topic", [])):
        line = lines[n] if n < len(lines) else None
        key = entry.get("key", "")
        if not isinstance(key, str) or not _KEY.match(key):
            raise DataFileError(path, line, f"topic key {key!r} must be 1-20 of a-z 0-9 _ -")
        label, description, examples = entry.get("label"), entry.get("description", ""), entry.get("examples", [])
        if not isinstance(label, str) or not label.strip():
            raise DataFileError(path, line, f"topic {key!r} lacks a label")
        if not isinstance(examples, list) or not all(isinstance(e, str) and e.strip() for e in examples):
            raise DataFileError(path, line, f"topic {key!r}: examples must be a list of questions")
        handoff = entry.get("handoff", False) is True
        if not handoff and not (isinstance(description, str) and description.strip()):
            raise DataFileError(path, line, f"topic {key!r} needs a description or handoff = true")
        topics.append(Topic(key, label, description, tuple(examples), handoff))
    if len({t.key for t in topics}) != len(topics):
        raise DataFileError(path, None, "topic keys must be unique")
    return tuple(topics)
