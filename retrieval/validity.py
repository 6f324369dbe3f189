"""Which texts are in force on a date: a document's validity, decided from its sidecar.

A document takes effect on `effective_from` (its `effective` date when not given) and stays in
force until the day after `effective_to` (the last day it applies) or, when `superseded_by`
names another document, until that document takes effect. A sidecar whose `status` says
superseded or expired but gives no date is repealed on every date. Answers are as of one date
(the Query's `as_of`): a text repealed by then is never cited for the rule of that date.
"""

import datetime
from dataclasses import dataclass

IN_FORCE = "in_force"
NOT_YET = "not_yet"  # published, but its date of entry into force is after the as-of date
REPEALED = "repealed"  # superseded or expired by the as-of date


@dataclass(frozen=True)
class Validity:
    state: str
    effective_from: str = ""  # YYYY-MM-DD it takes effect, "" when unknown
    repealed_on: str = ""  # YYYY-MM-DD it stopped applying (first day no longer in force), "" none known
    superseded_by: str = ""  # id of the document replacing it
    repealed_now: bool = False  # repealed as of today, whatever the as-of date (labelled 已废止)
    state_now: str = IN_FORCE  # the state today (differs from `state` for a question about the past)

    @property
    def in_force(self):
        return self.state == IN_FORCE


def ends_on(document, documents):
    """The first day `document` no longer applies: the day after effective_to, else the day its
    successor takes effect; "" when neither is known."""
    end = document.get("effective_to") or ""
    if end:
        return next_day(end)
    successor = documents.get(document.get("superseded_by") or "")
    if successor is not None:
        return successor.get("effective_from") or successor.get("effective") or ""
    return ""


def state_on(document, documents, day):
    """IN_FORCE, NOT_YET or REPEALED on `day` (YYYY-MM-DD)."""
    end = ends_on(document, documents)
    if end and day >= end:
        return REPEALED
    if not end and document.get("status", IN_FORCE) != IN_FORCE:
        return REPEALED  # marked repealed without a date: repealed whatever the date
    start = document.get("effective_from") or document.get("effective") or ""
    if start and day < start:
        return NOT_YET
    return IN_FORCE


def validity(document, documents, as_of, today):
    """The Validity of `document` for a question as of `as_of`, asked on `today`."""
    now = state_on(document, documents, today)
    return Validity(
        state=state_on(document, documents, as_of),
        state_now=now,
        effective_from=document.get("effective_from") or document.get("effective") or "",
        repealed_on=ends_on(document, documents),
        superseded_by=document.get("superseded_by") or "",
        repealed_now=now == REPEALED,
    )


def next_day(day):
    return (datetime.date.fromisoformat(day) + datetime.timedelta(days=1)).isoformat()


def previous_day(day):
    return (datetime.date.fromisoformat(day) - datetime.timedelta(days=1)).isoformat()
