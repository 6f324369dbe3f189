"""/lookup: passage search for 12345 hotline and window staff (login, the FAQ's 标准口径 above the
passages, filters with counts, document view)."""

import time

from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from retrieval.regions import NATIONWIDE

from .auth import Gate, Realm
from .facets import MAX_QUERY_CHARS, POOL, Filters, PassageTopics, narrow, places
from .revoked import revocations as file_revocations


def choices(assistant, kind_order):
    """What each filter offers for the served build: regions in reading order (Place values),
    topics (faq/topics.toml order), document kinds (`kind_order` first), documents by title."""
    documents = assistant.documents()
    present = {d["kind"] for d in documents}
    kinds = [k for k in kind_order if k in present] + sorted(present - set(kind_order))
    return {
        "region": places(assistant.regions().listed, {d["region"] for d in documents}),
        "topic": tuple(assistant.topics()),
        "kind": tuple(kinds),
        "doc": tuple(sorted(documents, key=lambda d: d["title"])),
    }


def allowed(offered):
    """The values each filter accepts (others are dropped)."""
    return {
        "region": {p.name for p in offered["region"]},
        "topic": set(offered["topic"]),
        "kind": set(offered["kind"]),
        "doc": {d["id"] for d in offered["doc"]},
    }


def look_up(assistant, filters, offered, passage_topics):
    """The narrowed passages and the FAQ entry for one search (run in a worker thread)."""
    regions = [p.name for p in offered["region"]]
    narrowed = narrow(assistant, filters, regions, offered["topic"], offered["kind"], passage_topics)
    # The staff's place stands for the caller's: the entry of that place, as if the question named it.
    asked_in = filters.region if filters.region and filters.region != NATIONWIDE else None
    return narrowed, assistant.standard_answer(filters.q, asked_in)


def source_item(number, hit):
    """What the page shows of one passage's document and place: kind, issuer, dates, section."""
    source, document = hit.as_source(), hit.document
    return {
        "number": number,
        "id": source["id"],
        "doc_id": source["doc_id"],
        "title": source["title"],
        "issuer": source["issuer"],
        "date": source["date"],
        "published": document["published"],
        "effective": document["effective"],
        "kind": document["kind"],
        "section": source["section"],
        "region": document["region"],
        "status": document["status"],
        "text": source["text"],
        "matched": list(hit.matched),
        "score": source["score"],
        # the citation line's own fields (order number, revision, 施行日期, validity as of today)
        **{key: source[key] for key in ("order", "revised", "year", "validity", "repealed_on", "validity_now")},
        "effective_from": source["effective"],
    }


def result_item(assistant, number, hit):
    """What the template shows for one hit, including the plain text for "copy with citation"."""
    item = source_item(number, hit)
    item["copy_text"] = assistant.render("web/copy.txt.j2", s=dict(item, effective=item["effective_from"]))
    return item


def faq_panel(assistant, standard):
    """The 标准口径 panel: the entry, its cited passages and its text with citations to copy."""
    entry = standard.entry
    sources = [source_item(n, hit) for n, hit in enumerate(standard.sources, 1)]
    return {
        "id": entry.id,
        "question": entry.questions[0],
        "answer": entry.answer,
        "topic": entry.topic,
        "region": entry.region,
        "valid_from": entry.valid_from,
        "valid_to": entry.valid_to,
        "sources": sources,
        "copy_text": assistant.render("web/copy_faq.txt.j2", answer=entry.answer, sources=[dict(s, effective=s["effective_from"]) for s in sources]),
    }


class Lookup:
    def __init__(self, assistant, settings, templates, clock=time.time, limiter=None, revocations=None):
        self.assistant = assistant
        self.templates = templates
        self.kind_order = tuple(templates.env.globals["labels"].get("document_kinds", {}))  # labels.toml order
        self.passage_topics = PassageTopics()
        max_age = 12 * 3600
        revoked = (revocations or file_revocations(settings, clock=clock))("staff", max_age)  # files, or PostgreSQL (app.py)
        self.realm = Realm("staff", settings.staff_token, "/lookup", max_age=max_age, clock=clock, revoked=revoked)
        self.gate = Gate(self.realm, templates, "/lookup", limiter)

    def routes(self):
        return [
            Route("/lookup", self.page, methods=["GET"]),
            *self.gate.routes(),
            Route("/lookup/doc/{doc_id}", self.document, methods=["GET"]),
            Route("/lookup/explain", self.explain, methods=["GET"]),
        ]

    async def explain(self, request):
        """Why a question gets its passages and its decision, compact (staff)."""
        from .explaining import page

        return await page(request, self.assistant, self.templates, self.gate, full=False, back="/lookup")

    async def page(self, request):
        session, refused = self.gate.session(request)
        if refused is not None:
            return refused
        offered = choices(self.assistant, self.kind_order)
        filters = Filters.from_query(request.query_params).known(allowed(offered))
        started = time.perf_counter()
        items, narrowed, faq, suggestions = [], None, None, ()
        if filters.q:
            narrowed, standard = await run_in_threadpool(look_up, self.assistant, filters, offered, self.passage_topics)
            items = [result_item(self.assistant, n, hit) for n, hit in enumerate(narrowed.hits, 1)]
            faq = faq_panel(self.assistant, standard) if standard.entry is not None else None
            suggestions = [(q, Filters(q=q, region=filters.region).url()) for q in standard.suggestions]
        elapsed_ms = (time.perf_counter() - started) * 1000
        context = {
            "filters": filters,
            "items": items,
            "faq": faq,
            "suggestions": suggestions,
            "searched": bool(filters.q),
            "detected_region": narrowed.region if narrowed else None,
            "fell_back": narrowed.fell_back if narrowed else (),
            "counts": narrowed.counts if narrowed else {},
            "elapsed_ms": elapsed_ms,
            "regions": offered["region"],
            "topics": offered["topic"],
            "kinds": offered["kind"],
            "documents": offered["doc"],
            # the box takes no more than the search reads: a pasted page made URLs of 9 KB,
            # past what clients send cookies with (fifth attack L4: the login page came back)
            "max_query_chars": MAX_QUERY_CHARS,
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
            result = await run_in_threadpool(self.assistant.search, query, POOL)
            matched = next((list(h.matched) for h in result.hits if h.passage["id"] == current), [])
        context = {"document": document, "passages": passages, "current": current, "matched": matched, "q": query}
        return self.templates.TemplateResponse(request, "document.html", context)
