"""/lookup filters: a query's passages narrowed by region, topic, document kind and document, a
count for every value, and the unfiltered list (with a note) instead of an empty page.

Counts are exact: each facet's counts apply every other active filter (not its own), over every
candidate the search fuses for the query. A region value is the search's own region rule (that
place's documents and those of the regions it lies in and national ones), except 全国, which
keeps national documents only.
"""

from dataclasses import dataclass, replace
from urllib.parse import urlencode

from retrieval.regions import NATIONWIDE

POOL = 1000  # more than the search ever fuses (a few hundred passages): every candidate is counted
RESULTS = 20
MAX_QUERY_CHARS = 200
FACETS = ("topic", "region", "kind", "doc")  # also the order a fallback note names them in


@dataclass(frozen=True)
class Filters:
    q: str = ""
    region: str = ""
    topic: str = ""
    doc: str = ""
    kind: str = ""

    @classmethod
    def from_query(cls, params):
        return cls(
            params.get("q", "").strip()[:MAX_QUERY_CHARS],
            params.get("region", "").strip(),
            params.get("topic", "").strip(),
            params.get("doc", "").strip(),
            params.get("kind", "").strip(),
        )

    def known(self, choices):
        """These filters with any value not among `choices` (facet -> allowed values) dropped."""
        return replace(self, **{f: "" for f in FACETS if getattr(self, f) and getattr(self, f) not in choices[f]})

    @property
    def active(self):
        return tuple(f for f in FACETS if getattr(self, f))

    def url(self, **changes):
        """The shareable /lookup URL of these filters with `changes` (empty values left out)."""
        values = replace(self, **changes)
        return "/lookup?" + urlencode([(k, getattr(values, k)) for k in ("q", *FACETS) if getattr(values, k)])


@dataclass(frozen=True)
class Place:
    name: str
    within: str = ""  # the listed place it lies in (杭州市 for 萧山区), shown indented under it


def places(listed, present):
    """The regions of `present` (documents' regions) in reading order: each city followed by the
    places within it (file order of faq/regions.toml), then the provinces, then 全国."""
    local = {r.name for r in listed if r.within}  # places inside a province
    groups = {}
    for r in listed:
        if r.within:
            head = next((p for p in r.within if p in local), r.name)
            groups.setdefault(head, []).append(r.name)
    ordered = []
    for head, members in groups.items():
        ordered.append(Place(head))
        ordered.extend(Place(m, head) for m in members if m != head)
    ordered.extend(Place(r.name) for r in listed if not r.within)
    ordered.append(Place(NATIONWIDE))
    return tuple(p if p.within in present else Place(p.name) for p in ordered if p.name in present)


@dataclass(frozen=True)
class Candidate:
    hit: object  # library.Hit
    topics: frozenset
    kind: str
    doc: str

    def passes(self, filters, skip=None):
        """Whether the passage meets every active topic/kind/document filter but `skip`'s."""
        return (
            (skip == "topic" or not filters.topic or filters.topic in self.topics)
            and (skip == "kind" or not filters.kind or self.kind == filters.kind)
            and (skip == "doc" or not filters.doc or self.doc == filters.doc)
        )


class PassageTopics:
    """Each passage's topics (faq/topics.toml keywords in its title, section or text), worked out
    once per served build: matching every keyword costs more than the search itself."""

    def __init__(self):
        self._cache = (None, {})  # (the build's answerer, {passage id: topics}), replaced in one assignment

    def of(self, assistant, hit):
        build, known = self._cache
        if build is not assistant.answerer:  # a reload or rollback: other passages, perhaps other keywords
            build, known = assistant.answerer, {}
            self._cache = (build, known)
        pid = hit.passage["id"]
        if pid not in known:
            known[pid] = frozenset(assistant.topics_of("\n".join([hit.document["title"], *hit.passage["section"], hit.passage["text"]])))
        return known[pid]


@dataclass(frozen=True)
class Narrowed:
    hits: tuple  # what the page lists, at most RESULTS
    fell_back: tuple  # the active facets that together matched nothing: `hits` are then unfiltered
    counts: dict  # facet -> {value: passages}; "" is every value of that facet
    region: str  # the place the question itself names, or None


def narrow(assistant, filters, regions, topics, kinds, passage_topics):
    """The page's passages for `filters` (values already known) and the counts of each value of
    the region (`regions`: Place names), topic and kind facets."""
    base = assistant.search(filters.q, k=POOL)  # ranked for the place the question names, if any
    # Every place's passages, from one search: the search picks its candidates before the region
    # rule leaves out other places' documents, so a place's passages are these that apply there.
    anywhere = base.hits if base.region is None else assistant.search_anywhere(filters.q, k=POOL).hits
    table = assistant.regions()

    def describe(hits):
        return [Candidate(h, passage_topics.of(assistant, h), h.document["kind"], h.document["id"]) for h in hits]

    everything = describe(base.hits)
    everywhere = everything if anywhere is base.hits else describe(anywhere)

    def pool(region):
        if not region:
            return everything
        if region == NATIONWIDE:
            return [c for c in everywhere if c.hit.document["region"] == NATIONWIDE]
        return [c for c in everywhere if table.affinity(region, c.hit.document["region"]) > 0]

    chosen = everything
    if filters.region == NATIONWIDE:
        chosen = pool(NATIONWIDE)
    elif filters.region and filters.region != base.region:
        chosen = describe(assistant.search(filters.q, k=POOL, region=filters.region).hits)  # ranked for that place
    counts = {
        "region": {r: sum(c.passes(filters) for c in pool(r)) for r in ("", *regions)},
        "topic": {t: sum(c.passes(filters, "topic") and (not t or t in c.topics) for c in chosen) for t in ("", *topics)},
        "kind": {k: sum(c.passes(filters, "kind") and (not k or c.kind == k) for c in chosen) for k in ("", *kinds)},
    }
    matched = [c.hit for c in chosen if c.passes(filters)]
    fell_back = ()
    if not matched and filters.active and base.hits:
        matched, fell_back = list(base.hits), filters.active
    return Narrowed(tuple(matched[:RESULTS]), fell_back, counts, base.region)
