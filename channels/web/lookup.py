"""/lookup: passage search for 12345 hotline and window staff (login, search with filters, document view)."""

import time
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from retrieval.regions import NATIONWIDE

from .auth import Gate, Realm
from .revoked import RevokedSessions

RESULTS = 20
FILTERED_CANDIDATES = 200  # with a topic/document filter, rank every candidate and keep the first RESULTS
MAX_QUERY_CHARS = 200


@dataclass(frozen=True)
class Filters:
    q: str = ""
    region: str = ""
    topic: str = ""
    doc: str = ""

    @classmethod
    def from_query(cls, params):
        return cls(
            params.get("q", "").strip()[:MAX_QUERY_CHARS],
            params.get("region", "").strip(),
            params.get("topic", "").strip(),
            params.get("doc", "").strip(),
        )


def region_choices(documents):
    """The places documents belong to; 全国 is not a filter (national texts apply everywhere)."""
    return sorted({d["region"] for d in documents} - {NATIONWIDE})


def search(assistant, filters):
    """Ranked hits for the staff search, with region, topic and document filters applied."""
    if filters.region and filters.region not in region_choices(assistant.documents()):
        filters = Filters(filters.q, "", filters.topic, filters.doc)
    narrowed = bool(filters.topic or filters.doc)
    result = assistant.search(filters.q, k=FILTERED_CANDIDATES if narrowed else RESULTS, region=filters.region or None)
    hits = []
    for hit in result.hits:
        if filters.doc and hit.document["id"] != filters.doc:
            continue
        if filters.topic:
            text = "\n".join([hit.document["title"], *hit.passage["section"], hit.passage["text"]])
            if filters.topic not in assistant.topics_of(text):
                continue
        hits.append(hit)
        if len(hits) == RESULTS:
            break
    return result, hits


def result_item(assistant, number, hit):
    """What the template shows for one hit, including the plain text for "copy with citation"."""
    source = hit.as_source()
    copy_text = assistant.render(
        "web/copy.txt.j2",
        text=source["text"],
        title=source["title"],
        issuer=source["issuer"],
        date=source["date"],
        section=source["section"],
    )
    return {
        "number": number,
        "id": source["id"],
        "doc_id": source["doc_id"],
        "title": source["title"],
        "issuer": source["issuer"],
        "date": source["date"],
        "section": source["section"],
        "region": hit.document["region"],
        "status": hit.document["status"],
        "text": source["text"],
        "matched": list(hit.matched),
        "copy_text": copy_text,
        "score": source["score"],
    }


class Lookup:
    def __init__(self, assistant, settings, templates, clock=time.time, limiter=None):
        self.assistant = assistant
        self.templates = templates
        max_age = 12 * 3600
        revoked = RevokedSessions(settings.session_revocation_folder / "revoked-staff.txt", max_age, clock=clock)
        self.realm = Realm("staff", settings.staff_token, "/lookup", max_age=max_age, clock=clock, revoked=revoked)
        self.gate = Gate(self.realm, templates, "/lookup", limiter)

    def routes(self):
        return [
            Route("/lookup", self.page, methods=["GET"]),
            *self.gate.routes(),
            Route("/lookup/doc/{doc_id}", self.document, methods=["GET"]),
        ]

    async def page(self, request):
        session, refused = self.gate.session(request)
        if refused is not None:
            return refused
        filters = Filters.from_query(request.query_params)
        started = time.perf_counter()
        items, region = [], None
        if filters.q:
            result, hits = await run_in_threadpool(search, self.assistant, filters)
            items = [result_item(self.assistant, n, hit) for n, hit in enumerate(hits, 1)]
            region = result.region
        elapsed_ms = (time.perf_counter() - started) * 1000
        documents = self.assistant.documents()
        context = {
            "filters": filters,
            "items": items,
            "searched": bool(filters.q),
            "detected_region": region,
            "elapsed_ms": elapsed_ms,
            "regions": region_choices(documents),
            "topics": self.assistant.topics(),
            "documents": sorted(documents, key=lambda d: d["title"]),
        }
        response = self.templates.TemplateResponse(request, "lookup.html", context)
        response.headers["Server-Timing"] = f"search;dur={elapsed_ms:.1f}"
        return response

    async def document(self, request):
        session, refused = self.gate.session(request)
        if refused is not None:
            return refused
        found = self.assistant.document(request.path_params["doc_id"])
        if found is None:
            return self.templates.TemplateResponse(request, "not_found.html", {}, status_code=404)
        document, passages = found
        current = request.query_params.get("p", "")
        query = request.query_params.get("q", "").strip()[:MAX_QUERY_CHARS]
        matched = []
        if query and current:
            result = await run_in_threadpool(self.assistant.search, query, FILTERED_CANDIDATES)
            matched = next((list(h.matched) for h in result.hits if h.passage["id"] == current), [])
        context = {"document": document, "passages": passages, "current": current, "matched": matched, "q": query}
        return self.templates.TemplateResponse(request, "document.html", context)
