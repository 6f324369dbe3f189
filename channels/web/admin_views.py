"""What the admin page shows of an action (reload, rollback, FAQ save): plain values for the
templates, every field always present, so a refused or failed action renders like any other.

The core's reports carry ids; the page names documents by title and FAQ entries by their first
question, and never shows a server path (data files are named as `faq/...` / `knowledge/...`).
"""

from dataclasses import dataclass, field
from pathlib import Path

from retrieval.errors import DataFileError, FaqFileChangedError, NoPreviousBuildError, QualityDropError, StoreWriteError
from retrieval.faq_edit import Problem

KINDS = ("documents", "passages", "faq")


@dataclass
class Names:
    """Titles of documents and first questions of FAQ entries of one build, by id."""

    documents: dict = field(default_factory=dict)
    faq: dict = field(default_factory=dict)

    @classmethod
    def of(cls, assistant):
        documents = {d["id"]: d["title"] for d in assistant.documents()}
        faq = {e.id: e.questions[0] for e in assistant.faq_editor().served_entries()}
        return cls(documents, faq)

    def merged(self, other):
        return Names({**other.documents, **self.documents}, {**other.faq, **self.faq})


@dataclass
class ActionResult:
    action: str  # reload | rollback | faq_save | add | add_undo
    time: float  # epoch seconds (shown in local time)
    status: str = "done"  # done | refused (quality gate) | failed
    seconds: float = 0.0
    error: str = ""  # data_file | no_previous | quality | store_write | faq_changed | other
    where: str = ""  # faq/entries/x.toml:12 for a data file
    message: str = ""  # the checker's own words for a data file
    reason: str = ""  # the OS's words for a store that cannot be written
    changes: dict = None  # see changes()
    quality: dict = None  # see quality()
    rollback: dict = None  # see rolled_back()
    faq: dict = None  # {"id", "file", "restored"} for faq_save
    added: dict = None  # {"id", "title", "passages", "removed"} for add / add_undo (removed: its files are gone)


def changes(report, before, after):
    """The diff of a reload report by name: {"documents": {"added": [title...], "changed", "removed"},
    "faq": {...: [(id, question)...]}, "passages": {"added": n, "changed": n, "removed": n,
    "by_document": [(title, added, changed, removed)]}, "counts": {...}, "any": bool}."""
    diff = getattr(report, "diff", None) or {}
    names = after.merged(before)
    out = {"any": False}
    for kind in KINDS:
        d = diff.get(kind)
        ids = {how: tuple(getattr(d, how, ()) or ()) for how in ("added", "changed", "removed")}
        out["any"] = out["any"] or any(ids.values())
        if kind == "documents":
            out[kind] = {how: [names.documents.get(i, i) for i in v] for how, v in ids.items()}
        elif kind == "faq":
            out[kind] = {how: [(i, names.faq.get(i, "")) for i in v] for how, v in ids.items()}
        else:
            per_doc = {}
            for how, v in ids.items():
                for passage_id in v:
                    doc_id = passage_id.split(":", 1)[0]
                    per_doc.setdefault(doc_id, {"added": 0, "changed": 0, "removed": 0})[how] += 1
            out[kind] = {
                **{how: len(v) for how, v in ids.items()},
                "by_document": [(names.documents.get(doc, doc), c["added"], c["changed"], c["removed"]) for doc, c in sorted(per_doc.items())],
            }
    out["counts"] = {name: getattr(report, name, None) for name in ("documents", "passages", "tokenized", "reused")}
    return out


def quality(report):
    """hit@3 before and after, the allowed drop, whether forced; None when the report has none."""
    q = getattr(report, "quality", None)
    if q is None:
        return None
    before, after = getattr(q, "before", None), getattr(q, "after", None)
    questions = getattr(q, "questions", "") or ""
    return {
        "before": before,
        "after": after,
        "margin": getattr(q, "margin", None),
        "forced": bool(getattr(q, "forced", False)),
        "set": Path(questions).name if questions else "",
        "change": None if before is None or after is None else round(after - before, 3),
    }


def rolled_back(report):
    """The build now live and the one it replaced (times, sizes), and whether it is pinned."""
    restored = getattr(report, "restored", None) or {}
    replaced = getattr(report, "replaced", None) or {}
    return {
        "built_at": restored.get("built_at"),
        "documents": restored.get("documents"),
        "passages": restored.get("passages"),
        "replaced_built_at": replaced.get("built_at"),
        "pinned": bool(getattr(report, "pinned", False)),
    }


def failure(result, exc, shown_path):
    """Fill `result` for an error of the core; `shown_path(path)` names a data file for people."""
    result.status = "failed"
    if isinstance(exc, QualityDropError):
        result.status = "refused"
        result.error = "quality"
    elif isinstance(exc, DataFileError):
        result.error = "data_file"
        result.where = shown_path(exc.path) + (f":{exc.line}" if exc.line else "")
        result.message = exc.message
    elif isinstance(exc, NoPreviousBuildError):
        result.error = "no_previous"
    elif isinstance(exc, StoreWriteError):
        result.error = "store_write"
        result.reason = exc.reason
    elif isinstance(exc, FaqFileChangedError):
        result.error = "faq_changed"
        result.where = exc.shown_path
    else:
        result.error = "other"
    return result


def data_path(settings):
    """path -> the path as the project names it (faq/..., knowledge/...), else its file name."""
    roots = ((Path(settings.faq_dir), "faq"), (Path(settings.knowledge_dir), "knowledge"))

    def shown(path):
        for root, name in roots:
            try:
                return str(Path(name) / Path(path).resolve().relative_to(root.resolve()))
            except (ValueError, OSError):
                continue
        return Path(path).name

    return shown


def declined_sections(rows, groups):
    """Declined rows (newest first) in the sections of labels.toml [declined_groups], in file
    order: [{"key", "title", "hint", "draft", "rows", "total"}]; the same question asked again is
    one row with its `count` and latest time; empty sections are left out."""
    sections, by_kind = [], {}
    for key, group in groups.items():
        section = {"key": key, "title": group["title"], "hint": group.get("hint", ""), "draft": bool(group.get("draft", False)), "rows": [], "total": 0, "_seen": {}}
        sections.append(section)
        for kind in group.get("kinds", ()):
            by_kind[kind] = section
    fallback = sections[-1] if sections else None
    for row in rows:
        section = by_kind.get(row["kind"], fallback)
        if section is None:
            continue
        section["total"] += 1
        key = (row["question"] or "", row["kind"])
        if key in section["_seen"]:
            shown = section["_seen"][key]
            shown["count"] += 1
            shown["time"] = max(shown["time"] or "", row["time"] or "")
            continue
        shown = {**row, "count": 1}
        section["_seen"][key] = shown
        section["rows"].append(shown)
    for section in sections:
        del section["_seen"]
    return [s for s in sections if s["rows"]]


def stale_problem(shown_path):
    """The editor's problem when the file changed between preview and save."""
    return Problem("stale", "", shown_path)
