"""The one object every channel talks to: answers, search, feedback, reload, stats.

Channels (terminal, Telegram, WeChat, web) hold an `Assistant` and never reach into the
library, the answerer or the log themselves. Errors stay the core's named errors; each channel
words them for its users.

The served build (an Answerer over one Library snapshot) is swapped in one assignment: a
question takes the build once and finishes on it, so a reload never shows a half-built index.
At most once a second a question also checks whether the store file was replaced by another
process (`bot.py reload` / `rollback`) and, if so, loads it before answering.
"""

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import reload as reloading
from . import store, unanswered
from .answer import Answerer
from .errors import AssistantError
from .library import Library
from .privacy import Masker
from .querylog import QueryLog
from .tokenize import TextAnalyzer
from .unanswered import ReportSettings

FOLLOW_INTERVAL = 1.0  # seconds between checks for a store replaced by another process


@dataclass(frozen=True)
class Reply:
    answer: object  # retrieval.answer.Answer
    query_id: int  # id in the query log, for feedback


class _Served:
    """One build being served: its answerer and the store file it came from."""

    def __init__(self, answerer, signature, quality=None):
        self.answerer = answerer
        self.signature = signature  # reload.signature() of the store file when it was loaded
        self.quality = quality  # hit@3 on the quality set, once computed

    @property
    def build_id(self):
        return reloading.build_id(self.answerer.library.snapshot.metadata)


class Assistant:
    def __init__(self, settings):
        self.settings = settings
        self.log = QueryLog(
            settings.log_path,
            settings.log_key,
            masker=lambda: Masker.load(Path(settings.faq_dir) / "privacy.toml"),
            retention_days=settings.log_retention_days,
        )
        self._served = None
        self._previous = None  # the build before the last reload or rollback, for an instant rollback
        self._lock = threading.RLock()  # one load, reload or rollback at a time
        self._checked_at = time.monotonic()
        self._renderer = None

    # -- the served build ------------------------------------------------------------------
    @property
    def answerer(self):
        return self._current().answerer

    @property
    def library(self):
        return self._current().answerer.library

    def _current(self):
        served = self._served
        if served is None:
            with self._lock:
                if self._served is None:
                    signature = reloading.signature(self.settings.store_path)
                    library = Library(self.settings)
                    library.load()
                    self._served = _Served(Answerer(library, self.settings), signature)
                    self._checked_at = time.monotonic()
                return self._served
        return self._follow(served)

    def _follow(self, served):
        """The served build, or the store another process installed since (checked once a second)."""
        now = time.monotonic()
        if now - self._checked_at < FOLLOW_INTERVAL:
            return served
        self._checked_at = now
        signature = reloading.signature(self.settings.store_path)
        if signature is None or signature == served.signature:
            return served
        if not self._lock.acquire(blocking=False):
            return served  # a reload is running here; it will install its own build
        try:
            if self._served is not served:
                return self._served
            metadata = store.read_metadata(self.settings.store_path)
            wanted = reloading.build_id(metadata)
            if wanted == served.build_id:
                served.signature = signature
                return served
            previous = self._previous
            if previous is not None and previous.build_id == wanted:
                new = _Served(previous.answerer, signature, previous.quality)
            else:
                library = Library(self.settings)
                library.load_stored()
                new = _Served(Answerer(library, self.settings), signature)
            self._previous, self._served = served, new
            self.log.refresh_masker()
            return new
        except AssistantError:
            # A store caught mid-replace or a broken faq/ file: keep serving; the next check retries.
            return served
        finally:
            self._lock.release()

    def warm_up(self):
        """Load (or build) the knowledge base now rather than on the first question.

        Also runs one search and reads the intent tables, so jieba's dictionary and faq/ tables
        are loaded before the first citizen waits for them (about 0.5 s otherwise).
        """
        snapshot = self.library.snapshot
        snapshot.search("民政", k=1)
        self.answerer.intents
        self.answerer.thresholds
        return snapshot

    # -- questions -------------------------------------------------------------------------
    def ask(self, question, channel="cli", user=None):
        """Answer and log one question. Raises EmptyQuestionError / QuestionTooLongError."""
        started = time.perf_counter()
        answer = self.answerer.ask(question)
        query_id = self.log.record(channel, user, answer.question, answer, (time.perf_counter() - started) * 1000)
        return Reply(answer, query_id)

    def search(self, query, k=None, region=None):
        return self.library.search(query, k=k, region=region)

    def passage(self, passage_id):
        """One passage with its document, or None."""
        snapshot = self.library.snapshot
        passage = snapshot.passage(passage_id)
        if passage is None:
            return None
        return passage, snapshot.documents[passage["doc_id"]]

    def documents(self):
        """Every document's metadata row, ordered by id (lookup filters, admin page)."""
        documents = self.library.snapshot.documents
        return [documents[k] for k in sorted(documents)]

    def document(self, doc_id):
        """(document, its passages in reading order), or None."""
        snapshot = self.library.snapshot
        document = snapshot.documents.get(doc_id)
        if document is None:
            return None
        return document, sorted((p for p in snapshot.passages if p["doc_id"] == doc_id), key=lambda p: p["seq"])

    def topics(self):
        """Topic names (faq/topics.toml), in file order."""
        return self.answerer.intents.topic_names

    def topics_of(self, text):
        """The topics a text mentions (used to filter passages by topic)."""
        return self.answerer.intents.topics_in(self.library.snapshot.analyzer.normalize(text))

    def feedback(self, query_id, value, comment=None):
        return self.log.feedback(query_id, value, comment)

    def forget(self, channel, user):
        """Delete what the log holds about one user; returns the number of questions deleted."""
        return self.log.forget(channel, user)

    # -- administration --------------------------------------------------------------------
    def reload(self, force=False):
        """Validate knowledge/ and faq/, build beside the live store, compare, swap; a ReloadReport.

        Raises DataFileError (a bad file) or QualityDropError (hit@3 would fall by more than the
        margin; force=True swaps anyway); either way nothing changes.
        """
        with self._lock:
            current = self._served
            done = reloading.reload(
                self.settings,
                current.answerer if current is not None else None,
                current.quality if current is not None else None,
                force=force,
            )
            if current is not None:
                current.quality = done.before_quality
            self._previous, self._served = current, _Served(done.answerer, done.signature, done.report.quality.after)
            self.log.refresh_masker()
            self._checked_at = time.monotonic()
            return done.report

    def rollback(self):
        """Put the previous build back (store.db.prev); a RollbackReport. NoPreviousBuildError if none."""
        with self._lock:
            report = reloading.rollback(self.settings)
            signature = reloading.signature(self.settings.store_path)
            current, previous = self._served, self._previous
            if current is None:
                return report  # nothing loaded here yet; the first question loads the restored store
            if previous is not None and previous.build_id == reloading.build_id(report.restored):
                new = _Served(previous.answerer, signature, previous.quality)
            else:
                library = Library(self.settings)
                library.load_stored()
                new = _Served(Answerer(library, self.settings), signature)
            self._previous, self._served = current, new
            self._checked_at = time.monotonic()
            return report

    def check(self):
        """Every problem in knowledge/ and faq/ as DataFileErrors (empty: all good); changes nothing."""
        return reloading.validate(self.settings)

    def purge(self, days=None):
        """Delete logged questions older than the retention (settings.log_retention_days)."""
        return self.log.purge(self.settings.log_retention_days if days is None else days)

    def unanswered(self, days=None, limit=None):
        """Declined and 👎 questions grouped by similarity, biggest group first (the FAQ worklist)."""
        faq = Path(self.settings.faq_dir)
        analyzer = TextAnalyzer(faq, cache_dir=Path(self.settings.store_path).parent)
        def words(text):  # the question's own words, chat filler (请问, 怎么办...) removed
            return analyzer.words(analyzer.query(text)[0])

        groups = unanswered.group(self.log.unanswered(days), words, ReportSettings.load(faq / "calibration.toml").similarity)
        return groups if limit is None else groups[:limit]

    def render(self, template, **context):
        """Render a template from templates/ (needs no knowledge base: works while reload fails)."""
        if self._renderer is None:
            self._renderer = Answerer(None, self.settings)
        return self._renderer.render(template, **context)

    def stats(self):
        meta = self.library.snapshot.metadata
        return {
            "documents": int(meta.get("documents", 0)),
            "passages": int(meta.get("passages", 0)),
            "built_at": meta.get("built_at"),
            "input_hash": meta.get("input_hash"),
            **self.log.counts(),
        }
