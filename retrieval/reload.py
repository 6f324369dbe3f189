"""Admin reload and rollback: validate, build beside the live store, compare, swap.

`reload()` checks every file under knowledge/ and faq/ first (a bad file raises DataFileError and
nothing changes), builds the new store at `.store.db.next` beside the live one (unchanged passages
reuse their cached tokens), scores hit@3 on the quality question set before and after, and only
then accepts it: the new store is recorded among the accepted builds (retrieval/builds.py) and
renamed over the live one, so there is never a moment without a store, and a restart serves it.
`rollback()` serves the accepted build before the current one, and again the one before that.

The Assistant (retrieval/assistant.py) holds the served build and swaps it in one assignment;
other processes notice the new store file (see `signature`) and load it.
"""

import hashlib
import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from . import builds, store
from .answer import Answerer, Calibration, Thresholds
from .articles import ArticleNames
from .commands import Commands
from .datafiles import read_lines, read_toml, tree_problems
from .errors import DataFileError, NoPreviousBuildError, QualityDropError, StoreError, StoreWriteError
from .evaluation import evaluate, load_questions
from .query import load_question_types
from .questions import by_passage
from .questions import load_questions as load_index_questions
from .faq import load_entries
from .followup import FollowupRules
from .ingest import control_character_problems, load_documents
from .intent import Intents
from .library import Library, Ranking
from .privacy import Masker
from .regions import Regions
from .rerank import Reranker
from .segment import segment
from .settings import ROOT
from .tokenize import TextAnalyzer

DEFAULT_QUALITY_SETS = (ROOT.parent / "shared" / "eval" / "dev.jsonl", ROOT / "tests" / "data" / "golden_questions.jsonl")
_TEXT_SUFFIXES = (".txt", ".md")


# -- validation ------------------------------------------------------------------------------
def _check_tree(settings):
    """No symbolic link, device or FIFO anywhere in knowledge/ or faq/ (questions/ included)."""
    for root in (Path(settings.knowledge_dir), Path(settings.faq_dir)):
        for problem in tree_problems(root):
            yield Path(problem.path), lambda problem=problem: _raise(problem)


def _raise(error):
    raise error


def _check_syntax(settings):
    """Every TOML file parses and every text file is UTF-8, each file on its own."""
    originals = Path(settings.knowledge_dir) / "originals"  # files as given to `bot.py add`, never read by a build
    for root in (Path(settings.knowledge_dir), Path(settings.faq_dir)):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and p.resolve().is_relative_to(root.resolve())):
            if path.is_relative_to(originals):
                continue
            if path.suffix == ".toml":
                yield path, lambda path=path: (_not_empty(path), read_toml(path))
            elif path.suffix in _TEXT_SUFFIXES:
                yield path, lambda path=path: (_not_empty(path), read_lines(path))


def _not_empty(path):
    """No data file is meant to be empty: 0 bytes is a truncated copy or an interrupted save
    (an empty privacy.toml would log personal data unmasked; an empty topics.toml would silently
    stop out-of-scope detection). A file with only comments is accepted."""
    if path.stat().st_size == 0:
        raise DataFileError(path, None, "the file is empty (truncated?): restore it from a backup or version control")


def _check_config(settings):
    faq = Path(settings.faq_dir)
    yield faq / "calibration.toml", lambda: Ranking.load(faq / "calibration.toml")
    yield faq / "calibration.toml", lambda: Thresholds.load(faq / "calibration.toml")
    yield faq / "calibration.toml", lambda: Calibration.load(faq / "calibration.toml")
    yield faq / "calibration.toml", lambda: Reranker.load(faq / "calibration.toml", faq / "question_types.toml")
    yield faq / "question_types.toml", lambda: load_question_types(faq / "question_types.toml", TextAnalyzer(faq).normalize)
    yield faq, lambda: Intents.load(faq, TextAnalyzer(faq).normalize)
    yield faq / "privacy.toml", lambda: Masker.load(faq / "privacy.toml")
    yield faq / "followup.toml", lambda: FollowupRules.load(faq)
    yield faq / "commands.toml", lambda: Commands.load(faq)
    yield faq / "document_names.toml", lambda: ArticleNames.load(faq / "document_names.toml", {}, ())


def _check_documents(settings):
    def documents():
        regions = Regions.load(Path(settings.faq_dir) / "regions.toml")
        for doc in load_documents(settings.knowledge_dir, regions.names):
            segment(doc)

    yield Path(settings.knowledge_dir), documents

    def questions():
        regions = Regions.load(Path(settings.faq_dir) / "regions.toml")
        ids = [p.id for doc in load_documents(settings.knowledge_dir, regions.names) for p in segment(doc)]
        by_passage(load_index_questions(settings.knowledge_dir), ids)

    yield Path(settings.knowledge_dir) / "questions", questions


def _check_adding(settings):
    """The conversion and metadata-proposal rules of `bot.py add` (their regular expressions)."""
    from .formats import FormatRules
    from .proposal import ProposalRules

    knowledge = Path(settings.knowledge_dir)
    yield knowledge / "formats.toml", lambda: FormatRules.load(knowledge / "formats.toml")
    yield knowledge / "proposal.toml", lambda: ProposalRules.load(knowledge / "proposal.toml")


def _check_control_characters(settings):
    """No NUL or other control character in a document or in its title and issuer."""
    try:
        problems = control_character_problems(settings.knowledge_dir)
    except DataFileError:
        return  # a link or a missing folder: named by _check_tree and _check_documents
    for problem in problems:
        yield Path(problem.path), lambda problem=problem: _raise(problem)


def _check_faq(settings):
    """Entry shape (sources are resolved against the new passages during the build)."""
    faq = Path(settings.faq_dir)
    yield faq / "entries", lambda: load_entries(faq, Regions.load(faq / "regions.toml").names)


def _check_guided(settings):
    """The guided checks (faq/checks/*.toml): every cited passage in the build, every outcome
    reached, no answer leading nowhere; one error per problem, with file and line."""
    from .checks import problems

    try:
        regions = Regions.load(Path(settings.faq_dir) / "regions.toml")
        ids = {p.id for doc in load_documents(settings.knowledge_dir, regions.names) for p in segment(doc)}
    except DataFileError:
        return  # named by _check_documents
    for problem in problems(settings.faq_dir, ids):
        yield Path(problem.path), lambda problem=problem: _raise(problem)


# Each entry yields (path, check); a check raises DataFileError.
VALIDATORS = [_check_tree, _check_syntax, _check_config, _check_documents, _check_control_characters, _check_adding, _check_faq, _check_guided]


def validate(settings):
    """Every problem found in knowledge/ and faq/, as DataFileErrors (empty: all good)."""
    errors, seen = [], set()
    for validator in VALIDATORS:
        for path, check in validator(settings):
            try:
                check()
            except DataFileError as exc:
                error = exc
            except (TypeError, ValueError, AttributeError, KeyError) as exc:
                # A value of the wrong type (a number where a list belongs) that no loader words.
                error = DataFileError(path, None, f"unexpected value: {exc!r}")
            except OSError as exc:
                # A file deleted, or made unreadable, that a loader opens without datafiles.
                error = DataFileError(exc.filename or path, None, f"cannot read: {exc.strerror or exc}")
            else:
                continue
            if str(error) not in seen:
                seen.add(str(error))
                errors.append(error)
    return errors


# -- diff ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Diff:
    added: tuple
    changed: tuple
    removed: tuple

    @classmethod
    def between(cls, old, new):
        """Compare two {id: content hash} maps."""
        return cls(
            tuple(sorted(k for k in new if k not in old)),
            tuple(sorted(k for k in new if k in old and old[k] != new[k])),
            tuple(sorted(k for k in old if k not in new)),
        )

    def counts(self):
        return {"added": len(self.added), "changed": len(self.changed), "removed": len(self.removed)}


def _document_hashes(snapshot):
    return {doc_id: doc["content_hash"] for doc_id, doc in snapshot.documents.items()}


def _passage_hashes(snapshot):
    # Not the stored content_hash: that one also covers the tokenizer, so a dictionary edit
    # would mark every passage as changed.
    return {p["id"]: _digest([p["section"], p["text"]]) for p in snapshot.passages}


def _digest(value):
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def _faq_hashes(snapshot):
    faq = snapshot.faq
    return {
        entry_id: _digest([entry.questions, entry.answer, entry.region, entry.valid_from, entry.valid_to, faq.sources[entry_id]])
        for entry_id, entry in faq.entries.items()
    }


# What the reload report compares: kind -> {id: content hash} of a snapshot.
DIFF_KINDS = {"documents": _document_hashes, "passages": _passage_hashes, "faq": _faq_hashes}


def diff(old_snapshot, new_snapshot):
    """{kind: Diff} between two snapshots (old None: everything is added)."""
    out = {}
    for kind, hashes in DIFF_KINDS.items():
        out[kind] = Diff.between(hashes(old_snapshot) if old_snapshot is not None else {}, hashes(new_snapshot))
    return out


# -- quality ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Quality:
    questions: str  # the question set's path, or "" when there is none
    before: float  # hit@3 of the live build (None: no live build)
    after: float
    margin: float
    forced: bool = False

    @property
    def dropped(self):
        """True when hit@3 falls by more than the margin."""
        if self.before is None or self.after is None:
            return False
        return round(self.before - self.after, 6) > self.margin


def quality_questions(settings):
    """The question set reload scores, or None when none is configured or found."""
    if settings.reload_quality_questions:
        return Path(settings.reload_quality_questions)
    return next((p for p in DEFAULT_QUALITY_SETS if p.exists()), None)


def hit_at_3(answerer, questions):
    if not questions:
        return None
    return evaluate(answerer, questions).metrics()["hit@3"]


def _load_quality_set(path):
    if path is None:
        return []
    if not path.exists():
        raise DataFileError(path, None, "quality question set not found (MINZHENG_RELOAD_QUALITY_QUESTIONS)")
    return load_questions(path)


# -- files -----------------------------------------------------------------------------------
def previous_path(store_path):
    """The accepted build a rollback would serve now, or None (retrieval/builds.py)."""
    kept = builds.entries(store_path)
    return kept[-2] if len(kept) >= 2 else None


def signature(store_path):
    """Identifies the file now at store_path (a swap changes it), or None when there is none."""
    try:
        st = os.stat(store_path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


build_id = builds.build_id
_locked = builds.locked
_writing = builds.writing


# -- reload and rollback ---------------------------------------------------------------------
@dataclass(frozen=True)
class ReloadReport:
    documents: int
    passages: int
    tokenized: int
    reused: int
    input_hash: str
    previous_input_hash: str  # None: there was no live build
    diff: dict  # kind -> Diff
    quality: Quality
    seconds: float

    def changed(self):
        """True when any kind has additions, changes or removals."""
        return any(d.added or d.changed or d.removed for d in self.diff.values())


@dataclass(frozen=True)
class Reloaded:
    report: ReloadReport
    answerer: Answerer  # serves the new build
    signature: tuple  # of the store file it was installed as
    before_quality: float  # hit@3 of the build it replaced (to cache)


def load_live(settings):
    """An Answerer over the live store exactly as it is, or None when there is no readable store."""
    library = Library(settings)
    try:
        library.load_stored()
    except StoreError:
        return None
    return Answerer(library, settings)


def reload(settings, current=None, current_quality=None, force=False):
    """Validate, build beside the live store, score, swap the files; returns a Reloaded.

    `current` is the Answerer being served (None: the live store is loaded to compare against).
    Raises DataFileError or QualityDropError, leaving the live store untouched.
    """
    started = time.perf_counter()
    live_path = Path(settings.store_path)
    with _locked(live_path):
        errors = validate(settings)
        if errors:
            raise errors[0]
        questions_path = quality_questions(settings)
        questions = _load_quality_set(questions_path)
        if current is None:
            current = load_live(settings)
        staging_path = live_path.with_name(f".{live_path.name}.next")
        try:
            with _writing(staging_path):
                staging_path.unlink(missing_ok=True)  # a reload killed midway left it
                store.remove_stale(live_path)
                if live_path.exists():
                    os.link(live_path, staging_path)  # its token cache spares re-tokenizing unchanged passages
            staging = Library(replace(settings, store_path=staging_path))
            built = staging.build(accept=False)  # accepted below, once it passed the gate
            library = Library(settings)
            library.install(staging.snapshot)
            answerer = Answerer(library, settings)
            old_snapshot = current.library.snapshot if current is not None else None
            if current is not None and current_quality is None:
                current_quality = hit_at_3(current, questions)
            quality = Quality(
                str(questions_path or ""),
                current_quality,
                hit_at_3(answerer, questions),
                settings.reload_max_quality_drop,
                force,
            )
            report = ReloadReport(
                built.documents,
                built.passages,
                built.tokenized,
                built.reused,
                built.input_hash,
                old_snapshot.metadata.get("input_hash") if old_snapshot is not None else None,
                diff(old_snapshot, staging.snapshot),
                quality,
                0.0,
            )
            if quality.dropped and not force:
                raise QualityDropError(quality.before, quality.after, quality.margin, report)
            builds.adopt_legacy(live_path)  # the live build stays a rollback point
            entry = builds.add(live_path, staging_path)  # accepted first: a crash now serves it at the next start
            try:
                with _writing(live_path):
                    os.replace(staging_path, live_path)
            except BaseException:
                entry.unlink(missing_ok=True)
                raise
            store.pin_path(live_path).unlink(missing_ok=True)
            builds.prune(live_path)
            installed = signature(live_path)
        finally:
            staging_path.unlink(missing_ok=True)
    report = replace(report, seconds=round(time.perf_counter() - started, 3))
    return Reloaded(report, answerer, installed, current_quality)


@dataclass(frozen=True)
class RollbackReport:
    restored: dict  # metadata of the build now live
    replaced: dict  # metadata of the build it replaced (dropped from the accepted builds)
    pinned: bool  # knowledge/ and faq/ differ from the restored build (it is served until the next reload)
    earlier: int = 0  # accepted builds still before the restored one: how many more rollbacks are possible


def rollback(settings):
    """Serve the accepted build before the current one; the current one is dropped, so a second
    rollback goes back one more. NoPreviousBuildError when there is none."""
    live_path = Path(settings.store_path)
    with _locked(live_path):
        current_inputs = Library(settings).input_hash()
        pin = store.pin_path(live_path)
        with _writing(live_path):
            # Written first: a full disk fails here, before anything is swapped.
            tmp = pin.with_name(f".{pin.name}.{os.getpid()}.tmp")
            try:
                tmp.write_text(current_inputs + "\n", encoding="utf-8")
                stepped = builds.step_back(live_path)
                if stepped is None:
                    raise NoPreviousBuildError(f"no accepted build before the current one in {builds.folder(live_path)}")
                restored, replaced, earlier = stepped
                pinned = current_inputs != restored.get("input_hash")
                if pinned:
                    os.replace(tmp, pin)
                else:
                    pin.unlink(missing_ok=True)
            finally:
                tmp.unlink(missing_ok=True)
    return RollbackReport(restored, replaced, pinned, earlier)
