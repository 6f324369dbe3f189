"""A conversation's context as bounded JSON, for conversations kept outside the process.

A followup.Context or a checks.Walk holds references into the served build (a QuestionType,
FactTypes, a Check with its compiled patterns); they travel by name and are looked up again
in the build of the worker that reads them. A name that build does not know (a reload removed
it) makes the context unreadable: the question then stands on its own, as after the window.
JSON, never pickle: whoever can write to Redis must not be able to run code in a worker.
"""

import json
from dataclasses import dataclass

from .checks import Walk
from .followup import Context

MAX_BYTES = 16 * 1024  # a context is a masked question, a few terms and suggestions: far less


class ContextUnreadable(Exception):
    """A stored context names something the served build does not have, or is not ours."""


@dataclass(frozen=True)
class Tables:
    """What a stored context is resolved against: the served build's tables."""

    question_types: dict  # name -> query.QuestionType
    fact_types: dict  # name -> intent.FactType
    checks: dict  # id -> checks.Check


class ContextCodec:
    """encode(context) -> bytes or None (too large: not kept); decode(bytes) -> context."""

    def __init__(self, tables, max_bytes=MAX_BYTES):
        self.tables = tables  # () -> Tables of the served build
        self.max_bytes = max_bytes

    def encode(self, context):
        data = json.dumps(_plain(context), ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
        return data if len(data) <= self.max_bytes else None

    def decode(self, data):
        try:
            return _built(json.loads(data), self.tables())
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise ContextUnreadable(str(exc)) from exc


def _plain(context):
    if context is None:
        return None
    if isinstance(context, Walk):
        return {"walk": context.check.id, "answers": list(context.answers), "previous": _plain(context.previous)}
    return {
        "question": context.question,
        "subject": list(context.subject),
        "cue": list(context.cue),
        "region": context.region,
        "topic": context.topic,
        "qtype": context.qtype.name if context.qtype is not None else None,
        "asked": [f.name for f in context.asked],
        "suggestions": list(context.suggestions),
        "civil": context.civil,
    }


def _built(data, tables):
    if data is None:
        return None
    if "walk" in data:
        check = tables.checks[data["walk"]]
        answers = tuple(int(a) for a in data["answers"])
        for condition, index in zip(check.conditions, answers):
            condition.options[index]  # IndexError: the check changed under the walk
        if len(answers) > len(check.conditions):
            raise IndexError("more answers than conditions")
        return Walk(check, answers, _built(data["previous"], tables))
    return Context(
        str(data["question"]),
        tuple(map(str, data["subject"])),
        tuple(map(str, data["cue"])),
        data["region"],
        data["topic"],
        tables.question_types[data["qtype"]] if data["qtype"] is not None else None,
        tuple(tables.fact_types[name] for name in data["asked"]),
        tuple(map(str, data["suggestions"])),
        bool(data["civil"]),
    )
