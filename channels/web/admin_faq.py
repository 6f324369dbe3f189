"""/admin/faq: add or change an FAQ entry from the browser.

The form (questions, answer, sources picked from passages by id, region, validity) is checked by
`retrieval.faq_edit.FaqEditor` - the form's rules, the sources against the served passages,
faq.lint and the checks of `bot.py check` - and shown as the diff of its faq/entries/*.toml file.
Saving writes that file only if it is unchanged since the preview, then reloads through the same
quality gate as the reload button; a refused reload puts the file back as it was.
A declined question opens the editor prefilled (/admin/faq/edit?question=...).
"""

import datetime
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse
from starlette.routing import Route

from retrieval.errors import AssistantError, DataFileError
from retrieval.faq_edit import Draft

from . import admin_views as views
from .limits import read_body
from .localtime import zone

FORM_LIMIT = 64 * 1024  # an entry, its picked passages and the search results' checkboxes
MAX_FIELDS = 300
SEARCH_RESULTS = 10
MAX_FIND_CHARS = 200


async def read_fields(request, limit=FORM_LIMIT):
    """An urlencoded form as {name: [values...]} (checkboxes repeat a name)."""
    body = await read_body(request, limit)
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return {}


def first(form, name):
    values = form.get(name) or [""]
    return values[0] if isinstance(values, list) else values


def draft_from(form):
    """The Draft a submitted form describes (nothing checked yet)."""
    questions = tuple(q.strip() for q in first(form, "questions").splitlines() if q.strip())
    answer = "".join(line.strip() for line in first(form, "answer").splitlines())
    passages = tuple(dict.fromkeys(p.strip() for p in form.get("source", []) if p.strip()))
    gives = tuple(g.strip() for g in first(form, "gives").split(",") if g.strip())
    return Draft(
        id=first(form, "id").strip(),
        topic=first(form, "topic").strip(),
        region=first(form, "region").strip(),
        questions=questions,
        answer=answer,
        passages=passages,
        valid_from=first(form, "valid_from").strip(),
        valid_to=first(form, "valid_to").strip(),
        gives=gives,
        original=first(form, "original").strip(),
    )


class FaqPages:
    def __init__(self, admin):
        self.admin = admin
        self.tz = zone(admin.settings)

    def routes(self):
        return [
            Route("/admin/faq", self.index, methods=["GET"]),
            Route("/admin/faq/edit", self.edit, methods=["GET", "POST"]),
            Route("/admin/faq/save", self.save, methods=["POST"]),
        ]

    @property
    def assistant(self):
        return self.admin.assistant

    def today(self):
        return datetime.datetime.fromtimestamp(self.admin.clock(), self.tz).date().isoformat()

    async def index(self, request):
        session, refused = self.admin.gate.session(request)
        if refused is not None:
            return refused
        try:
            return await self._index(request, session)
        except DataFileError as exc:
            return self.admin.broken(request, session, exc)

    async def _index(self, request, session):
        editor = await run_in_threadpool(self.assistant.faq_editor)
        entries = await run_in_threadpool(editor.entries)
        served = {e.id for e in editor.served_entries()}
        return self.admin.render(request, "admin_faq_list.html", {"entries": entries, "served": served, "today": self.today()}, session)

    async def edit(self, request):
        if request.method == "GET":
            session, refused = self.admin.gate.session(request)
            if refused is not None:
                return refused
            form = None
        else:
            session, form = await self.admin.authorized_post(request, read_fields)
            if session is None:
                return form
        try:
            if form is None:
                return await self._start(request, session)
            draft = draft_from(form)
            find = first(form, "find").strip()[:MAX_FIND_CHARS]
            return await self._form(request, session, draft, find=find, preview=first(form, "step") == "preview")
        except DataFileError as exc:
            return self.admin.broken(request, session, exc)

    async def _start(self, request, session):
        """The form for ?id=ENTRY (change it), ?question=TEXT (a draft from a declined question) or nothing (new)."""
        editor = await run_in_threadpool(self.assistant.faq_editor)
        entry_id = request.query_params.get("id", "").strip()
        question = request.query_params.get("question", "").strip()[:MAX_FIND_CHARS]
        if entry_id:
            entry = await run_in_threadpool(editor.entry, entry_id)
            if entry is None:
                return self.admin.templates.TemplateResponse(request, "not_found.html", {}, status_code=404)
            return await self._form(request, session, editor.draft_of(entry))
        topics = [t for t in self.assistant.topics_of(question) if t in editor.topics(self.assistant.topics())] if question else []
        draft = Draft(id="", topic=topics[0] if topics else "", region="全国", questions=(question,) if question else (), answer="", passages=())
        return await self._form(request, session, draft, find=question, from_question=question)

    async def _form(self, request, session, draft, find="", preview=False, from_question="", status_code=200, problems=None):
        editor = await run_in_threadpool(self.assistant.faq_editor)
        checked = await run_in_threadpool(editor.preview, draft, self.today(), self.assistant.topics()) if preview else None
        results = []
        if find:
            found = await run_in_threadpool(self.assistant.search, find, SEARCH_RESULTS)
            results = [self._passage(hit.passage, hit.document) for hit in found.hits if hit.passage["id"] not in draft.passages]
        chosen = []
        for passage_id in draft.passages:
            found = editor.passage(passage_id)
            chosen.append(self._passage(*found) if found is not None else {"id": passage_id, "missing": True})
        context = {
            "draft": draft,
            "questions_text": "\n".join(draft.questions),
            "regions": editor.region_names(),
            "topics": editor.topics(self.assistant.topics()),
            "chosen": chosen,
            "results": results,
            "find": find,
            "from_question": from_question,
            "preview": checked,
            "problems": list(problems or ()) or (list(checked.problems) if checked is not None else []),
        }
        return self.admin.render(request, "admin_faq_edit.html", context, session, status_code=status_code)

    @staticmethod
    def _passage(passage, document):
        return {"id": passage["id"], "title": document["title"], "section": " › ".join(passage["section"]), "text": passage["text"], "missing": False}

    async def save(self, request):
        session, form = await self.admin.authorized_post(request, read_fields)
        if session is None:
            return form
        try:
            return await self._save(request, session, form)
        except DataFileError as exc:
            return self.admin.broken(request, session, exc)

    async def _save(self, request, session, form):
        admin = self.admin
        draft = draft_from(form)
        editor = await run_in_threadpool(self.assistant.faq_editor)
        preview = await run_in_threadpool(editor.preview, draft, self.today(), self.assistant.topics())
        if not preview.ok:
            return await self._form(request, session, draft, preview=True, status_code=422)
        if first(form, "base") != preview.base:
            # Someone changed the file after this preview: show the new diff rather than overwrite.
            return await self._form(request, session, draft, preview=True, status_code=409, problems=[views.stale_problem(preview.shown_path)])
        result = views.ActionResult("faq_save", admin.clock())
        result.faq = {"id": draft.id, "file": preview.shown_path, "new": not draft.original, "restored": False}
        try:
            await run_in_threadpool(editor.write, preview)
        except AssistantError as exc:
            admin.last_action = views.failure(result, exc, admin.shown_path)
            return RedirectResponse("/admin", status_code=303)
        result = await admin.run("faq_save", self.assistant.reload, result)
        if result.status != "done":
            result.faq["restored"] = await run_in_threadpool(editor.restore, preview)
        admin.last_action = result
        return RedirectResponse("/admin", status_code=303)
