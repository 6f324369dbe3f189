"""The Decision: what the assistant will say about one Query, as a value, before any wording.

kind: answer (a passage or FAQ entry answers), suggest (related passages, not sure they answer),
or a decline: out_of_scope, not_found, not_covered (a matter the sources never mention, or a
focus term no passage contains), fact_missing (related passages lack the amount/phone... asked).
The Composer turns a Decision into words for a channel; nothing here knows about templates.
"""

from dataclasses import dataclass, field

from .segment import SECTION_SEPARATOR
from .validity import IN_FORCE, REPEALED

ANSWER = "answer"
SUGGEST = "suggest"
OUT_OF_SCOPE = "out_of_scope"
NOT_FOUND = "not_found"
NOT_COVERED = "not_covered"
FACT_MISSING = "fact_missing"


@dataclass(frozen=True)
class Quote:
    number: int
    text: str


@dataclass(frozen=True)
class Citation:
    """One cited passage as every channel shows it (templates/_citation.txt.j2):
    《title》issuer (order), date, revised, 施行日期 › section, and its validity label."""

    number: int
    title: str
    issuer: str
    date: str
    effective: str  # the date it takes effect (施行日期), "" when unknown
    status: str
    section: str  # "" for a passage outside any section (no trailing ›)
    passage_id: str
    kind: str  # the document's kind: regulation, plan...
    order: str = ""  # the order number the text gives (国务院令第649号)
    revised: str = ""  # the revision this text is
    year: str = ""  # an undated text: the year its content shows it was written
    validity: str = IN_FORCE  # as of the question's date: in_force, not_yet (cited with its 施行日期), repealed
    repealed_on: str = ""  # repealed by today: the first day it no longer applied (labelled 已废止)
    validity_now: str = IN_FORCE  # its state today (in force now, though not yet on a past date asked about)

    @classmethod
    def of(cls, number, hit):
        return cls.of_parts(number, hit.passage, hit.document, hit.validity)

    @classmethod
    def of_parts(cls, number, passage, doc, valid=None):
        """The Citation of a passage and its document row; `valid` its validity.Validity."""
        hit = _Parts(passage)
        return cls(
            number=number,
            title=doc["title"],
            issuer=doc["issuer"],
            date=doc["published"] or doc["effective"],
            effective=doc.get("effective_from") or doc["effective"],
            status=doc["status"],
            section=SECTION_SEPARATOR.join(s for s in hit.passage["section"] if s),
            passage_id=hit.passage["id"],
            kind=doc["kind"],
            order=doc.get("order", ""),
            revised=doc.get("revised", ""),
            year=doc.get("year", ""),
            validity=valid.state if valid is not None else IN_FORCE,
            repealed_on=valid.repealed_on if valid is not None and valid.repealed_now else "",
            validity_now=valid.state_now if valid is not None else IN_FORCE,
        )

    @property
    def repealed(self):
        """Repealed by today (it may still answer a question about the past)."""
        return bool(self.repealed_on) or self.validity == REPEALED


@dataclass(frozen=True)
class _Parts:
    passage: dict


@dataclass(frozen=True)
class Decision:
    kind: str
    query: object  # query.Query
    hits: tuple = ()  # library.Hit, cited in this order
    quotes: tuple = ()  # Quote
    citations: tuple = ()  # Citation, numbered as the quotes refer to them
    suggestions: tuple = ()  # FAQ questions offered as "您是不是想问"
    faq: object = None  # faq.FaqEntry that answers, or None
    missing: tuple = ()  # labels of facts asked for that the passages do not give
    matter: str = ""  # what is out of scope or not covered, for the wording
    channel: str = ""  # where to send the citizen instead
    confidence: dict = field(default_factory=dict)
    vague: bool = False  # not_found of a question naming nothing to look up ("好的", "123")

    @property
    def declined(self):
        return self.kind != ANSWER
