"""/admin/add: `bot.py add` from the browser.

An admin uploads a file (Word, PDF, saved web page, Markdown, text). It is kept in a staging
folder beside the query log (var/uploads/TOKEN/NAME) and converted exactly as `bot.py add`
does (retrieval/adding.py, writing nothing): the page shows the proposed metadata as an editable
form and the passages it will make. Accepting writes the three files, then reloads through the
quality gate (the reload report of the admin page); a refused or failed reload removes them
again. The same page lists the documents added this way, each with an undo button that removes
the files add wrote and reloads (a refused reload puts them back).
"""

import logging
import re
import tomllib
import secrets
import shutil
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from retrieval import adding
from retrieval.errors import AssistantError, DataFileError, DocumentError, NotAddedError
from retrieval.visible import visible

from . import admin_views as views
from .admin_faq import read_fields
from .auth import same_origin
from .limits import BodyTooLarge, read_body

log = logging.getLogger(__name__)

FORM_MARGIN = 64 * 1024  # the form's other fields and the multipart framing, above the file's own limit
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_NOT_IN_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
EDITABLE = adding.FIELDS + ("id",)
SHOWN_PASSAGES = 60  # passages listed in the preview, each with its index questions box
MAX_QUESTIONS = 10  # per passage


@dataclass(frozen=True)
class Shown:
    """What the page shows of a refused file: the uploaded name, never a server path."""

    error: DocumentError
    path: str

    def __getattr__(self, name):
        return getattr(self.error, name)


def upload_name(filename):
    """The uploaded file's own name, safe as a file name (its folder part and odd characters dropped)."""
    name = unicodedata.normalize("NFC", (filename or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = _NOT_IN_NAMES.sub("", visible(name)).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = stem[: adding.NAME_MAX_CHARS] or "upload"
    return f"{stem}.{suffix[:10]}" if suffix else stem


class AddPages:
    def __init__(self, admin):
        self.admin = admin
        self.staging = Path(admin.settings.log_path).parent / "uploads"

    def routes(self):
        return [
            Route("/admin/add", self.page, methods=["GET"]),
            Route("/admin/add/upload", self.upload, methods=["POST"]),
            Route("/admin/add/review", self.review, methods=["POST"]),
            Route("/admin/add/undo", self.undo, methods=["POST"]),
        ]

    @property
    def settings(self):
        return self.admin.settings

    # -- pages -------------------------------------------------------------------------------
    async def page(self, request):
        session, refused = self.admin.gate.session(request)
        if refused is not None:
            return refused
        return await self._render(request, session)

    async def _render(self, request, session, draft=None, token="", error=None, asked=None, status_code=200):
        added = await run_in_threadpool(adding.additions, self.settings)
        context = {
            "draft": draft,
            "token": token,
            "error": self.admin.assistant.render("admin_add_error.txt.j2", error=error, web=True, preview_hours=self.settings.add_preview_hours) if error is not None else "",
            "added": added,
            "max_mb": self.settings.add_max_mb,
            "last_action": self.admin.last_action,
            "editable": EDITABLE,
            "asked": asked or {},
            "shown_passages": SHOWN_PASSAGES,
        }
        return self.admin.render(request, "admin_add.html", context, session, status_code=status_code)

    # -- upload -> preview ---------------------------------------------------------------------
    async def upload(self, request):
        session, refused = self.admin.gate.session(request)
        if refused is not None:
            return refused
        limit = self.settings.add_max_bytes + FORM_MARGIN
        try:
            body = await read_body(request, limit)
        except BodyTooLarge as exc:
            too_large = _TooLarge(exc.args[0] if exc.args else limit, self.settings.add_max_bytes)
            return await self._render(request, session, error=too_large, status_code=413)
        form = await _form(request, body)
        token = form.get("csrf", "")
        if not same_origin(request) or not self.admin.realm.csrf_ok(session, token if isinstance(token, str) else ""):
            return self.admin.templates.TemplateResponse(request, "forbidden.html", {}, status_code=403)
        upload = form.get("file")
        if upload is None or isinstance(upload, str) or not upload.filename:
            return await self._render(request, session, error=_NoFile(), status_code=422)
        name = upload_name(upload.filename)
        data = await upload.read()
        token = secrets.token_hex(16)
        await run_in_threadpool(self._stage, token, name, data)
        return await self._preview(request, session, token, {})

    def _stage(self, token, name, data):
        self.prune(room=1)
        folder = self.staging / token
        folder.mkdir(parents=True, mode=0o700)
        (folder / name).write_bytes(data)

    def prune(self, room=0):
        """Previews neither accepted nor cancelled are removed once older than
        MINZHENG_ADD_PREVIEW_HOURS, and the oldest beyond MINZHENG_ADD_MAX_PREVIEWS less `room`
        (run at start and before each new upload is kept); the names of those removed."""
        if not self.staging.is_dir():
            return []
        cutoff = time.time() - self.settings.add_preview_hours * 3600  # file times are the real clock
        folders = []
        for folder in self.staging.iterdir():
            if folder.is_dir() and not folder.is_symlink() and _TOKEN.match(folder.name):
                folders.append((folder.stat().st_mtime, folder.name, folder))
        folders.sort(reverse=True)  # newest first
        keep = max(0, self.settings.add_max_previews - room)
        removed = [folder for n, (mtime, _, folder) in enumerate(folders) if mtime < cutoff or n >= keep]
        for folder in removed:
            shutil.rmtree(folder, ignore_errors=True)
        if removed:
            log.info("admin add: %d abandoned preview(s) removed from %s", len(removed), self.staging)
        return [folder.name for folder in removed]

    def _staged(self, token):
        """The staged file of an upload token, or None."""
        if not _TOKEN.match(token or ""):
            return None
        folder = self.staging / token
        files = [p for p in folder.iterdir() if p.is_file() and not p.is_symlink()] if folder.is_dir() else []
        return files[0] if len(files) == 1 else None

    def _discard(self, token):
        if _TOKEN.match(token or ""):
            shutil.rmtree(self.staging / token, ignore_errors=True)

    async def _draft(self, path, given):
        """The draft of the staged file with the admin's values (those differing from the proposal)."""
        draft = await run_in_threadpool(adding.prepare, path, self.settings)
        changed = {k: v.strip() for k, v in given.items() if k in EDITABLE and v.strip() != str(draft.metadata.get(k, "")).strip()}
        return await run_in_threadpool(adding.revise, draft, changed, self.settings) if changed else draft

    async def _preview(self, request, session, token, given, asked=None, status_code=200):
        path = self._staged(token)
        if path is None:
            return await self._render(request, session, error=_Expired(), status_code=410)
        try:
            draft = await self._draft(path, given)
        except DocumentError as exc:
            await run_in_threadpool(self._discard, token)
            return await self._render(request, session, error=Shown(exc, path.name), status_code=422)
        except DataFileError as exc:
            return self.admin.broken(request, session, exc)
        return await self._render(request, session, draft=draft, token=token, asked=asked, status_code=status_code)

    # -- review: update the preview, accept, or cancel ---------------------------------------------
    async def review(self, request):
        session, form = await self.admin.authorized_post(request, read_fields)
        if session is None:
            return form
        token = _one(form, "token")
        given = {k: _one(form, k) for k in EDITABLE if k in form}
        asked = _asked(form)
        step = _one(form, "step")
        if step == "cancel":
            await run_in_threadpool(self._discard, token)
            return RedirectResponse("/admin/add", status_code=303)
        if step != "accept":
            return await self._preview(request, session, token, given, asked)
        path = self._staged(token)
        if path is None:
            return await self._render(request, session, error=_Expired(), status_code=410)
        try:
            draft = await self._draft(path, given)
            if draft.problem:
                return await self._render(request, session, draft=draft, token=token, asked=asked, status_code=422)
            ids = {p.id for p in draft.passages}
            added = await run_in_threadpool(adding.write, draft, self.settings, {k: v for k, v in asked.items() if k in ids})
        except DocumentError as exc:
            return await self._render(request, session, draft=None, token="", error=Shown(exc, path.name), status_code=422)
        except DataFileError as exc:
            return self.admin.broken(request, session, exc)
        result = views.ActionResult("add", self.admin.clock())
        result.added = {"id": draft.metadata["id"], "title": draft.metadata["title"], "passages": len(draft.passages), "removed": False}
        result = await self.admin.run("add", self.admin.assistant.reload, result)
        if result.status != "done":  # refused by the quality gate or failed: knowledge/ as it was
            await run_in_threadpool(adding._remove, list(added.paths), None)
            result.added["removed"] = True
        await run_in_threadpool(self._discard, token)
        self.admin.last_action = result
        log.info("admin add %s: %s", draft.metadata["id"], result.status)
        return RedirectResponse("/admin/add", status_code=303)

    # -- undo ------------------------------------------------------------------------------------
    async def undo(self, request):
        session, form = await self.admin.authorized_post(request)
        if session is None:
            return form
        doc_id = _one(form, "id")
        result = views.ActionResult("add_undo", self.admin.clock())
        try:
            removed = await run_in_threadpool(adding.undo, self.settings, doc_id)
        except NotAddedError:
            return self.admin.templates.TemplateResponse(request, "not_found.html", {}, status_code=404)
        except (AssistantError, OSError) as exc:
            log.warning("admin add undo %s failed: %s", doc_id, exc)
            views.failure(result, exc if isinstance(exc, AssistantError) else AssistantError(str(exc)), self.admin.shown_path)
            self.admin.last_action = result
            return RedirectResponse("/admin/add", status_code=303)
        result.added = {"id": doc_id, "title": _title(removed), "passages": None, "removed": True}
        result = await self.admin.run("add_undo", self.admin.assistant.reload, result)
        if result.status != "done":
            await run_in_threadpool(adding.restore, removed)
            result.added["removed"] = False
        self.admin.last_action = result
        log.info("admin add undo %s: %s", doc_id, result.status)
        return RedirectResponse("/admin/add", status_code=303)


def _title(removed):
    for path, data in removed:
        if path.suffix == ".toml":
            try:
                return tomllib.loads(data.decode("utf-8")).get("title", "")
            except (UnicodeDecodeError, tomllib.TOMLDecodeError):
                return ""
    return ""


def _asked(form):
    """{passage id: [questions]} from the preview's boxes (q:PASSAGE_ID, one question a line)."""
    out = {}
    for name, values in form.items():
        if name.startswith("q:"):
            text = values[0] if isinstance(values, list) and values else values
            lines = [line.strip() for line in (text if isinstance(text, str) else "").splitlines() if line.strip()]
            out[name[2:]] = lines[:MAX_QUESTIONS]
    return out


def _one(form, name):
    value = form.get(name, "")
    value = value[0] if isinstance(value, list) and value else value
    return value if isinstance(value, str) else ""


async def _form(request, body):
    """The multipart form of a body already read (within its limit)."""
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await Request(request.scope, receive).form(max_files=1, max_fields=50)
    except HTTPException as exc:  # Starlette's answer to a malformed multipart body
        log.info("admin add: unreadable upload form (%s)", exc.detail)
        return {}


class _TooLarge:
    reason = "too_large"

    def __init__(self, size, limit):
        self.path, self.size, self.limit = "", size, limit  # the body was not read: no file name


class _NoFile:
    reason = "no_file"


class _Expired:
    reason = "expired"
