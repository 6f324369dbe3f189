"""Inline keyboards and their callback data: short ASCII codes (Telegram allows 64 bytes).

Codes: `topic:<key>`, `menu`, `ex:<key>:<n>` (example question n of a topic), `src:<query_id>`
(show cited passages), `fb:+:<query_id>` / `fb:-:<query_id>`, `human`, `sug:<query_id>:<n>`
(suggestion n of an answer), `chk:<n>` (option n of the guided check's current question). What a
query id or a check option refers to is looked up in the chat's data.
"""

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

MAX_CALLBACK_BYTES = 64
MAX_SUGGESTIONS = 5
_PATTERNS = {
    "topic": re.compile(r"^topic:([a-z0-9_-]{1,20})$"),
    "menu": re.compile(r"^menu$"),
    "example": re.compile(r"^ex:([a-z0-9_-]{1,20}):(\d{1,2})$"),
    "sources": re.compile(r"^src:(\d{1,18})$"),
    "feedback": re.compile(r"^fb:([+-]):(\d{1,18})$"),
    "human": re.compile(r"^human$"),
    "suggestion": re.compile(r"^sug:(\d{1,18}):(\d{1,2})$"),
    "check": re.compile(r"^chk:(\d{1,2})$"),
}
CALLBACK_PATTERN = r"^(topic:|menu$|ex:|src:|fb:|human$|sug:|chk:)"


@dataclass(frozen=True)
class Callback:
    kind: str
    key: str = None
    query_id: int = None
    number: int = None
    value: int = None


def parse_callback(data):
    """The Callback a button's data stands for, or None when it is not one of ours."""
    for kind, pattern in _PATTERNS.items():
        match = pattern.match(data or "")
        if not match:
            continue
        if kind == "topic":
            return Callback(kind, key=match.group(1))
        if kind == "example":
            return Callback(kind, key=match.group(1), number=int(match.group(2)))
        if kind == "sources":
            return Callback(kind, query_id=int(match.group(1)))
        if kind == "feedback":
            return Callback(kind, query_id=int(match.group(2)), value=1 if match.group(1) == "+" else -1)
        if kind == "check":
            return Callback(kind, number=int(match.group(1)))
        if kind == "suggestion":
            return Callback(kind, query_id=int(match.group(1)), number=int(match.group(2)))
        return Callback(kind)
    return None


def _button(label, data):
    assert len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES, data
    return InlineKeyboardButton(label, callback_data=data)


def topics_keyboard(menu, per_row=2):
    """The topic menu under /start."""
    buttons = [_button(t.label, f"topic:{t.key}") for t in menu.topics]
    return InlineKeyboardMarkup([buttons[i : i + per_row] for i in range(0, len(buttons), per_row)])


def examples_keyboard(menu, topic):
    """One topic's example questions, then a way back to the topic menu."""
    rows = [[_button(q, f"ex:{topic.key}:{n}")] for n, q in enumerate(topic.examples)]
    rows.append([_button(menu.buttons["back"], "menu")])
    return InlineKeyboardMarkup(rows)


def answer_keyboard(menu, query_id, has_sources, suggestions=()):
    """Under each answer: suggestions ("您是不是想问"), 查看原文, 👍 / 👎, 转人工.

    Without a query id (the query log could not be written) the buttons that refer to the
    answer would do nothing, so only 转人工 is offered."""
    b = menu.buttons
    if query_id is None:
        return InlineKeyboardMarkup([[_button(b["handoff"], "human")]])
    rows = [[_button(s, f"sug:{query_id}:{n}")] for n, s in enumerate(suggestions[:MAX_SUGGESTIONS])]
    first = [_button(b["sources"], f"src:{query_id}")] if has_sources else []
    rows.append(first + [_button(b["helpful"], f"fb:+:{query_id}"), _button(b["not_helpful"], f"fb:-:{query_id}")])
    rows.append([_button(b["handoff"], "human")])
    return InlineKeyboardMarkup(rows)


def check_keyboard(options):
    """A guided check's answer options, one button each (the citizen may also type one)."""
    return InlineKeyboardMarkup([[_button(label, f"chk:{n}")] for n, label in enumerate(options)])
