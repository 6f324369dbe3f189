"""The Decision: what the assistant will say about one Query, as a value, before any wording.

kind: answer (a passage or FAQ entry answers), suggest (related passages, not sure they answer),
or a decline: out_of_scope, not_found, not_covered (a matter the sources never mention, or a
focus term no passage contains), fact_missing (related passages lack the amount/phone... asked).
The Composer turns a Decision into words for a channel; nothing here knows about templates.
"""

from dataclasses import dataclass, field

from .segment import SECTION_SEPARATOR

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
    """One cited passage as every channel shows it: 《title》issuer,date › section."""

    number: int
    title: str
    issuer: str
    date: str
    effective: str
    status: str
    section: str
    passage_id: str
    kind: str  # the document's kind: regulation, plan...

    @classmethod
    def of(cls, number, hit):
        doc = hit.document
        return cls(
            number=number,
            title=doc["title"],
            issuer=doc["issuer"],
            date=doc["published"] or doc["effective"],
            effective=doc["effective"],
            status=doc["status"],
            section=SECTION_SEPARATOR.join(hit.passage["section"]),
            passage_id=hit.passage["id"],
            kind=doc["kind"],
        )


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

    @property
    def declined(self):
        return self.kind != ANSWER
