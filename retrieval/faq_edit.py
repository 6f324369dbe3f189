"""Adding or changing one FAQ entry from a form: check it, show the file diff, write it.

A `Draft` is what the editor holds: the entry's fields with its sources as passage ids picked
from the served build. `FaqEditor.preview` turns it into the new text of its faq/entries/*.toml
file (only that entry's `[[faq]]` block is replaced, comments and other entries stay as they
are) and checks it: the form's own rules (each a `Problem` with a code the channel words), the
entry's sources resolved against the served passages, `faq.lint`, and `reload.validate` over a
copy of faq/ holding the new file - the same checks as `bot.py check`. `write` puts the text in
place only if the file is still what the preview was made from; reloading is the caller's job
(through the same quality gate as any reload), and `restore` undoes a write the reload refused.
"""

import dataclasses
import datetime
import difflib
import hashlib
import json
import os
import re
import shutil
import tempfile
import types
from dataclasses import dataclass
from pathlib import Path

from . import faq as faqs
from .datafiles import read_toml
from .errors import DataFileError, FaqFileChangedError
from .regions import NATIONWIDE, Regions

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_TOPIC = re.compile(r"^[a-z][a-z_]{1,30}$")
_HEADER = re.compile(r"^\s*\[\[\s*faq\s*\]\]")
MAX_QUESTIONS = 20
MAX_QUESTION_CHARS = 60
MAX_SOURCES = 8


@dataclass(frozen=True)
class Draft:
    id: str
    topic: str
    region: str
    questions: tuple
    answer: str
    passages: tuple  # passage ids of the served build, in the order picked
    valid_from: str = ""
    valid_to: str = ""
    gives: tuple = ()
    original: str = ""  # the id of the entry being changed; empty: a new entry


@dataclass(frozen=True)
class Problem:
    code: str  # what is wrong, worded by the channel (templates/web/labels.toml [faq_problems])
    field: str  # the form field it is about ("" for the whole entry)
    detail: str = ""  # the value or the checker's own message


@dataclass(frozen=True)
class Preview:
    draft: Draft
    path: Path  # the file that would be written
    shown_path: str  # the same, relative to the project ("faq/entries/marriage.toml")
    old_text: str  # "" for a file that does not exist yet
    new_text: str
    sources: tuple  # the entry's `sources` as they would be written
    cited: tuple  # passage ids those sources resolve to
    problems: tuple

    @property
    def base(self):
        """A digest of the file the preview was made from (the save form carries it back)."""
        return digest(self.old_text)

    @property
    def ok(self):
        return not self.problems

    def diff(self, context=3):
        """The unified diff, line by line, from the file now to the file written."""
        return list(
            difflib.unified_diff(
                self.old_text.splitlines(), self.new_text.splitlines(), self.shown_path, self.shown_path, n=context, lineterm=""
            )
        )


def digest(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def toml_string(value):
    """A TOML basic string (JSON's escapes are TOML's; DEL must be escaped too)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def render_entry(entry_id, topic, region, questions, answer, sources, valid_from="", valid_to="", gives=()):
    """One `[[faq]]` block in the layout of faq/entries/*.toml."""
    lines = ["[[faq]]", f"id = {toml_string(entry_id)}", f"topic = {toml_string(topic)}", f"region = {toml_string(region)}", "questions = ["]
    lines += [f"  {toml_string(q)}," for q in questions]
    lines += ["]", f"answer = {toml_string(answer)}", "sources = [" + ", ".join(toml_string(s) for s in sources) + "]"]
    if valid_from:
        lines.append(f"valid_from = {toml_string(valid_from)}")
    if valid_to:
        lines.append(f"valid_to = {toml_string(valid_to)}")
    if gives:
        lines.append("gives = [" + ", ".join(toml_string(g) for g in gives) + "]")
    return "\n".join(lines) + "\n"


def replace_block(text, header_line, block):
    """`text` with the `[[faq]]` block starting at line `header_line` (1-based) replaced by `block`;
    comment and blank lines just before the next block stay with that block."""
    lines = text.splitlines(keepends=True)
    start = header_line - 1
    end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
    keep_from = end
    while keep_from > start + 1 and (not lines[keep_from - 1].strip() or lines[keep_from - 1].lstrip().startswith("#")):
        keep_from -= 1
    tail = lines[keep_from:end]
    if end < len(lines) and not any(not line.strip() for line in tail[:1]):
        tail = ["\n", *tail]
    return "".join(lines[:start]) + block + "".join(tail) + "".join(lines[end:])


def append_block(text, block):
    """`text` with `block` added at the end, one blank line before it."""
    if not text.strip():
        return block
    return text.rstrip("\n") + "\n\n" + block


class FaqEditor:
    """FAQ editing over the files in faq/ and the passages of one served build (a Snapshot)."""

    def __init__(self, settings, snapshot, validate):
        self.settings = settings
        self.snapshot = snapshot
        self._validate = validate  # reload.validate: the checks of `bot.py check`
        self.faq_dir = Path(settings.faq_dir)
        self.regions = Regions.load(self.faq_dir / "regions.toml")

    # -- what the form offers --------------------------------------------------------------
    def entries(self):
        """The entries as the files hold them now (with file and line), ordered by id."""
        return sorted(faqs.load_entries(self.faq_dir, self.regions.names), key=lambda e: e.id)

    def served_entries(self):
        """The entries the served build answers with (they may differ from the files until a reload)."""
        return sorted(self.snapshot.faq.entries.values(), key=lambda e: e.id)

    def entry(self, entry_id):
        return next((e for e in self.entries() if e.id == entry_id), None)

    def region_names(self):
        """全国 first, then faq/regions.toml in file order."""
        listed = [r.get("name") for r in read_toml(self.faq_dir / "regions.toml").get("region", [])]
        return [NATIONWIDE, *(name for name in listed if name and name != NATIONWIDE)]

    def topics(self, extra=()):
        """Topics entries use (faq/entries) and those of faq/topics.toml (`extra`), sorted."""
        return sorted({e.topic for e in self.entries()} | set(extra))

    def draft_of(self, entry):
        """The Draft for an existing entry: its sources as the passage ids they resolve to."""
        cited = self._resolve(entry)
        return Draft(entry.id, entry.topic, entry.region, entry.questions, entry.answer, cited, entry.valid_from or "", entry.valid_to or "", entry.gives, original=entry.id)

    def passage(self, passage_id):
        """(passage, document) of the served build, or None."""
        passage = self.snapshot.passage(passage_id)
        return None if passage is None else (passage, self.snapshot.documents[passage["doc_id"]])

    # -- sources ---------------------------------------------------------------------------
    def _resolve(self, entry):
        try:
            return faqs.resolve([entry], self.snapshot.passages, self.snapshot.documents)[entry.id]
        except DataFileError:
            return ()

    def _resolves_to(self, ref):
        probe = faqs.FaqEntry(id="probe", topic="", region="", questions=(), answer="", sources=(ref,))
        return set(self._resolve(probe))

    def source_refs(self, passage_ids, keep=()):
        """The `sources` to write for picked passages: each ref of `keep` (the entry's own) whose
        passages were all picked stays as written; each other passage gets the ref that names
        it with the fewest unpicked passages (its article, a heading, else a piece of its text)."""
        picked = [p for p in passage_ids if self.snapshot.passage(p) is not None]
        wanted, refs, covered = set(picked), [], set()
        for ref in keep:
            ids = self._resolves_to(ref)
            if ids and ids <= wanted:
                refs.append(ref)
                covered |= ids
        for passage_id in picked:
            if passage_id in covered:
                continue
            best = None
            parts = self._parts(passage_id)  # a passage split in parts is cited whole anyway
            for ref in self._candidates(self.snapshot.passage(passage_id)):
                ids = self._resolves_to(ref)
                extra = len(ids - wanted - parts)
                if passage_id in ids and (best is None or extra < best[0]):
                    best = (extra, ref, ids)
                    if best[0] == 0:
                        break
            if best is not None and best[1] not in refs:
                refs.append(best[1])
                covered |= best[2]
        return tuple(refs)

    def _parts(self, passage_id):
        """The ids of the parts of the passage `passage_id` belongs to (id, id-2, id-3...)."""
        stem = re.sub(r"-\d+$", "", passage_id)
        return {p["id"] for p in self.snapshot.passages if p["id"] == stem or re.fullmatch(re.escape(stem) + r"-\d+", p["id"])}

    @staticmethod
    def _candidates(passage):
        doc_id = passage["doc_id"]
        labels = [label for label in reversed(passage["section"]) if label and "#" not in label]
        for label in labels:
            yield f"{doc_id}#{label}"
        text = re.sub(r"\s+", "", passage["text"])
        for size in (12, 20, 32):
            for start in range(0, max(1, len(text) - size), size):
                piece = text[start : start + size]
                if "#" not in piece and len(piece) >= 6:
                    yield f"{doc_id}#{piece}"

    # -- preview and write -----------------------------------------------------------------
    def target(self, draft):
        """(path, header line or None) the draft is written to: its entry's block, or the end of
        the file holding its topic's entries (entries/<topic>.toml for a new topic)."""
        entries = self.entries()
        if draft.original:
            own = next((e for e in entries if e.id == draft.original), None)
            if own is not None:
                return Path(own.path), own.line
        files = [Path(e.path) for e in entries if e.topic == draft.topic]
        if files:
            return max(set(files), key=lambda p: (files.count(p), -len(str(p)))), None
        return self.faq_dir / faqs.ENTRY_DIR / f"{draft.topic}.toml", None

    def preview(self, draft, today, topics=()):
        """The file as it would be written and every problem found (none: it may be written).
        With problems in the form itself nothing else is checked and there is no new text."""
        problems = tuple(self._form_problems(draft, today, topics))
        if problems:
            return Preview(draft, None, "", "", "", (), (), problems)
        path, line = self.target(draft)
        old_text = path.read_text(encoding="utf-8") if path.is_file() else ""
        own = self.entry(draft.original) if draft.original else None
        sources = self.source_refs(draft.passages, keep=own.sources if own is not None else ())
        block = render_entry(draft.id, draft.topic, draft.region, draft.questions, draft.answer, sources, draft.valid_from, draft.valid_to, draft.gives)
        new_text = replace_block(old_text, line, block) if line else append_block(old_text, block)
        if new_text == old_text:
            return Preview(draft, path, self._shown(path), old_text, new_text, sources, (), (Problem("unchanged", ""),))
        entry = faqs.FaqEntry(draft.id, draft.topic, draft.region, tuple(draft.questions), draft.answer, sources, tuple(draft.gives), draft.valid_from or None, draft.valid_to or None, str(path), 0)
        cited = self._resolve(entry)
        problems = list(self._source_problems(entry, draft, cited, today))
        if not problems:
            problems += self._checked_as_files(path, new_text)
        return Preview(draft, path, self._shown(path), old_text, new_text, sources, tuple(cited), tuple(problems))

    def write(self, preview):
        """Put the previewed text in place (atomically); FaqFileChangedError when the file changed since."""
        path = preview.path
        now = path.read_text(encoding="utf-8") if path.is_file() else ""
        if digest(now) != preview.base:
            raise FaqFileChangedError(preview.shown_path)
        _write_text(path, preview.new_text)

    def restore(self, preview):
        """Undo `write` (a reload refused it) unless someone changed the file again meanwhile."""
        path = preview.path
        if not path.is_file() or path.read_text(encoding="utf-8") != preview.new_text:
            return False
        if preview.old_text:
            _write_text(path, preview.old_text)
        else:
            path.unlink()
        return True

    # -- checks ----------------------------------------------------------------------------
    def _form_problems(self, d, today, topics):
        existing = {e.id for e in self.entries()}
        if not _ID.match(d.id or ""):
            yield Problem("bad_id", "id", d.id)
        elif d.id != d.original and d.id in existing:
            yield Problem("duplicate_id", "id", d.id)
        if d.original and d.original not in existing:
            yield Problem("entry_gone", "id", d.original)
        if not _TOPIC.match(d.topic or "") or d.topic not in self.topics(topics):
            yield Problem("bad_topic", "topic", d.topic)
        if d.region not in self.regions.names:
            yield Problem("bad_region", "region", d.region)
        questions = [q for q in d.questions if q]
        if len(questions) < faqs.MIN_QUESTIONS:
            yield Problem("few_questions", "questions", str(len(questions)))
        if len(questions) > MAX_QUESTIONS:
            yield Problem("many_questions", "questions", str(len(questions)))
        for q in questions:
            if len(q) > MAX_QUESTION_CHARS:
                yield Problem("long_question", "questions", q)
        if len(set(questions)) != len(questions):
            yield Problem("repeated_question", "questions", "")
        taken = {q: e.id for e in self.entries() if e.id != d.original for q in e.questions}
        for q in questions:
            if q in taken:
                yield Problem("question_taken", "questions", f"{q} ({taken[q]})")
        han = len(faqs._HAN.findall(d.answer or ""))
        if not (d.answer or "").strip():
            yield Problem("no_answer", "answer", "")
        elif han > faqs.MAX_ANSWER_HAN:
            yield Problem("long_answer", "answer", str(han))
        if not d.passages:
            yield Problem("no_sources", "sources", "")
        elif len(d.passages) > MAX_SOURCES:
            yield Problem("many_sources", "sources", str(len(d.passages)))
        for passage_id in d.passages:
            if self.snapshot.passage(passage_id) is None:
                yield Problem("unknown_passage", "sources", passage_id)
        dates = {}
        for key in ("valid_from", "valid_to"):
            value = getattr(d, key)
            if value:
                try:
                    dates[key] = datetime.date.fromisoformat(value).isoformat()
                except ValueError:
                    yield Problem("bad_date", key, value)
        if len(dates) == 2 and dates["valid_from"] > dates["valid_to"]:
            yield Problem("dates_reversed", "valid_to", d.valid_to)
        if d.valid_to and dates.get("valid_to") and dates["valid_to"] < today:
            yield Problem("expired", "valid_to", d.valid_to)

    def _source_problems(self, entry, draft, cited, today):
        if not set(draft.passages) <= set(cited):
            yield Problem("sources_unresolved", "sources", ", ".join(p for p in draft.passages if p not in cited))
        text = "".join(self.snapshot.passage(p)["text"] for p in cited)
        for written, value in dict.fromkeys(faqs.uncited_numbers(entry.answer, text)):
            yield Problem("number_not_cited", "answer", written if value is None else f"{written}({value:g})")
        # faq.lint over this one entry; its number and expiry rules are worded above
        view = types.SimpleNamespace(
            faq=types.SimpleNamespace(entries={entry.id: entry}, sources={entry.id: tuple(cited)}, ranking=self.snapshot.faq.ranking),
            regions=self.snapshot.regions,
            analyzer=self.snapshot.analyzer,
            passage=self.snapshot.passage,
        )
        for error in faqs.lint(view, today):
            if "in no cited source" in error.message or "expired on" in error.message:
                continue
            yield Problem("lint", "questions", error.message)

    def _checked_as_files(self, path, new_text):
        """`bot.py check` (reload.validate) over a copy of faq/ holding the new file."""
        relative = path.resolve().relative_to(self.faq_dir.resolve())
        with tempfile.TemporaryDirectory(prefix="faq-edit-") as tmp:
            copy = Path(tmp) / "faq"
            shutil.copytree(self.faq_dir, copy, symlinks=True)
            (copy / relative).parent.mkdir(parents=True, exist_ok=True)
            (copy / relative).write_text(new_text, encoding="utf-8")
            errors = self._validate(dataclasses.replace(self.settings, faq_dir=copy))
            out = []
            for error in errors:
                shown = self._shown(Path(error.path), copy)
                where = f"{shown}:{error.line}" if error.line else shown
                out.append(Problem("check", "", f"{where}: {error.message}"))
            return out

    def _shown(self, path, faq_root=None):
        """A path as the project names it: faq/... or knowledge/..., never the server's folders."""
        for root, name in ((faq_root or self.faq_dir, "faq"), (Path(self.settings.knowledge_dir), "knowledge")):
            try:
                return str(Path(name) / Path(path).resolve().relative_to(Path(root).resolve()))
            except ValueError:
                continue
        return Path(path).name


def _write_text(path, text):
    """Write a data file whole (a temp name, then rename), keeping its mode; OSError as DataFileError."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise DataFileError(path, None, f"cannot write: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
