"""The one object every channel talks to: answers, search, feedback, reload, stats.

Channels (terminal, Telegram, WeChat, web) hold an `Assistant` and never reach into the
library, the answerer or the log themselves. Errors stay the core's named errors; each channel
words them for its users.

The served build (an Answerer over one Library snapshot) is swapped in one assignment: a
question takes the build once and finishes on it, so a reload never shows a half-built index.
At most once a second a question also checks whether the store file was replaced by another
process (`bot.py reload` / `rollback`) and, if so, loads it before answering. With PostgreSQL
(MINZHENG_DATABASE_URL) the accepted builds are shared by every machine (retrieval/shared_builds.py):
a start takes the current one first, and a watcher thread installs and loads each new one
(or a rollback's) as soon as it is notified, or at its next poll of one row.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from . import reload as reloading
from . import store, unanswered
from .answer import Answerer
from .context_codec import ContextCodec, Tables
from .database import Database
from .decision import ANSWER, FACT_MISSING, Citation
from .errors import AssistantError, DatabaseError, EmptyQuestionError, FeedbackRateLimitedError, QueryLogError, QuestionTooLongError
from .faq_edit import FaqEditor
from .library import Library
from .querylog import open_log
from .shared_builds import SharedBuilds
from .sharedstate import Local
from .tokenize import TextAnalyzer
from .unanswered import ReportSettings

FOLLOW_INTERVAL = 1.0  # seconds between checks for a store replaced by another process
FOLLOW_RETRY = 30.0  # seconds before a store file that failed to load is tried again
LOG_FAILURE_REPEAT = 60.0  # seconds before the same query-log failure is reported again
WATCH_POLL = 0.5  # seconds between reads of the current shared build when no notification comes
WATCH_RETRY = 1.0  # seconds before the watcher connects again after PostgreSQL went away

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    answer: object  # retrieval.answer.Answer
    query_id: int  # id in the query log, for feedback


@dataclass(frozen=True)
class StandardAnswer:
    """The curated FAQ entry (标准口径) the core answers a question with, for staff (/lookup)."""

    entry: object = None  # faq.FaqEntry, or None when no entry answers
    sources: tuple = ()  # library.Hit: the entry's own cited passages, in the order the core cites them
    suggestions: tuple = ()  # FAQ questions close to the question when no entry answers


class _Served:
    """One build being served: its answerer and the store file it came from."""

    def __init__(self, answerer, signature, quality=None):
        self.answerer = answerer
        self.signature = signature  # reload.signature() of the store file when it was loaded
        self.quality = quality  # hit@3 on the quality set, once computed

    @property
    def build_id(self):
        return reloading.build_id(self.answerer.library.snapshot.metadata)


def _prime(answerer):
    """Load what an answerer reads lazily (jieba's dictionary, the faq/ tables) by using it once."""
    answerer.search("民政", k=1)
    answerer.library.snapshot.mentions("民政")
    answerer.intents
    answerer.thresholds
    answerer.checks


class Assistant:
    def __init__(self, settings, shared=None):
        """`shared`: sharedstate.Local() (the default: this process's tables) or Shared (Redis),
        chosen once at start; the conversations and limiters of every channel come from it."""
        self.settings = settings
        self.shared = shared if shared is not None else Local()  # limits, conversations: this process's or Redis
        # PostgreSQL when configured (nothing connects until first use), else None: SQLite and var/
        self.database = Database(settings.database_url, settings.database_pool_size, settings.database_timeout) if settings.database_url else None
        # the served build's one Masker (refreshed on a swap)
        self.log = open_log(settings, self.database, masker=lambda: self.answerer.masker)
        # accepted builds shared across machines through PostgreSQL, else None (var/ only)
        self.shared_builds = SharedBuilds(self.database, settings.store_path) if self.database is not None else None
        self._shared_id = None  # the shared build this process last installed or published
        self._watcher = None
        self._closing = threading.Event()
        self._watch_failure = None
        self._feedback_limiter = self.shared.limiter("feedback", settings.feedback_per_minute)  # per (channel, user), every channel
        self._served = None
        self._previous = None  # the build before the last reload or rollback, for an instant rollback
        self._lock = threading.RLock()  # one load, reload or rollback at a time
        self._checked_at = time.monotonic()
        self._renderer = None
        self._log_failure = (None, 0.0)  # (message, when) of the last query-log failure reported
        self._follow_failure = (None, 0.0)  # (signature, when) of the last store file that failed to load
        # every channel's, by (channel, id); in Redis a context travels as JSON, read against the served build
        self.conversations = self.shared.conversations(settings.followup_seconds, ContextCodec(self._context_tables))

    def _context_tables(self):
        answerer = self.answerer
        return Tables(
            {t.name: t for t in answerer.question_types},
            {f.name: f for f in answerer.intents.facts},
            answerer.checks[0].by_id,
        )

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
                    shared = self._take_shared() if self.shared_builds is not None else None
                    signature = reloading.signature(self.settings.store_path)
                    library = Library(self.settings)
                    library.load()
                    self._served = _Served(Answerer(library, self.settings), signature)
                    self._checked_at = time.monotonic()
                    if shared is False:
                        self._publish_first()
                    self._start_watcher()
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
        failed, failed_at = self._follow_failure
        if signature == failed and now - failed_at < FOLLOW_RETRY:
            return served  # loading this file failed moments ago; do not make every second's question pay again
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
                _prime(new.answerer)  # faq/ read now: a broken file keeps the old build, not fails a question
            self._previous, self._served = served, new
            self.log.refresh_masker()
            return new
        except Exception as exc:  # the check must never fail the question that ran it
            # A corrupt or half-copied store, a broken or missing faq/ file: keep serving the
            # build in memory; this file is tried again after FOLLOW_RETRY, a new one at once.
            self._follow_failed(signature, exc)
            return served
        finally:
            self._lock.release()

    # -- the accepted builds shared through PostgreSQL ---------------------------------------
    def _take_shared(self):
        """At start: install the current shared build; False when none is published yet, None
        when PostgreSQL cannot be asked (the last build accepted here is served meanwhile)."""
        try:
            build = self.shared_builds.current()
            if build is None:
                return False
            self.shared_builds.install(build)
            self._shared_id = build.id
            return True
        except (DatabaseError, AssistantError) as exc:
            log.warning("the accepted builds in PostgreSQL cannot be read, serving the last build accepted here: %s", exc)
            return None

    def _publish_first(self):
        """No build was ever shared: the one accepted here (first start, `bot.py build`) is."""
        try:
            self._shared_id = self.shared_builds.publish().id
        except (DatabaseError, OSError) as exc:
            log.warning("the build accepted here could not be recorded in PostgreSQL: %s", exc)

    def _start_watcher(self):
        if self.shared_builds is None or self._watcher is not None:
            return
        self._watcher = threading.Thread(target=self._watch, name="shared-builds watcher", daemon=True)
        self._watcher.start()

    def _watch(self):
        """LISTEN for accepted builds and read the current one every WATCH_POLL seconds; install and load it."""
        while not self._closing.is_set():
            conn = None
            try:
                conn = self.database.listener()
                while not self._closing.is_set():
                    self._sync_shared()
                    for _ in conn.notifies(timeout=WATCH_POLL, stop_after=1):
                        pass
                    if self._watch_failure is not None:
                        log.info("the accepted builds in PostgreSQL are followed again")
                        self._watch_failure = None
            except Exception as exc:  # the watcher must outlive any outage; the build in memory is served meanwhile
                if self._watch_failure != str(exc):
                    self._watch_failure = str(exc)
                    log.warning("cannot follow the accepted builds in PostgreSQL (retrying): %s", exc)
                self._closing.wait(WATCH_RETRY)
            finally:
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:
                        pass

    def _sync_shared(self):
        build = self.shared_builds.current()
        if build is None or build.id == self._shared_id:
            return
        self.shared_builds.install(build)
        self._shared_id = build.id
        self._checked_at = -math.inf  # load it now, here, rather than in a citizen's question
        self._current()

    def store_state(self):
        """None once a build is loaded and served; else why not (readiness)."""
        return None if self._served is not None else "the store is not loaded yet"

    def share_build(self):
        """Record the live build in PostgreSQL as the current accepted one (`bot.py build`); None without PostgreSQL."""
        if self.shared_builds is None:
            return None
        self._shared_id = self.shared_builds.publish().id
        return self._shared_id

    def warm_up(self):
        """Load (or build) the knowledge base now rather than on the first question.

        Also runs one search and reads the intent tables, so jieba's dictionary and faq/ tables
        are loaded before the first citizen waits for them (about 0.5 s otherwise).
        """
        answerer = self.answerer
        _prime(answerer)
        self.log.warm_masker()  # jieba's name tagger (about a second) before the first question
        return answerer.library.snapshot

    def _follow_failed(self, signature, exc):
        """Say once per store file that it could not be loaded (the check repeats every second)."""
        reported = self._follow_failure[0] == signature
        self._follow_failure = (signature, time.monotonic())
        if not reported:
            log.warning(
                "the store %s could not be loaded, still serving the build in memory: %s",
                self.settings.store_path,
                exc,
                exc_info=None if isinstance(exc, AssistantError) else exc,
            )

    # -- questions -------------------------------------------------------------------------
    def ask(self, question, channel="cli", user=None, context=None):
        """Answer and log one question (a follow-up of `context` when it is one); channels go
        through an edge (`Edge.over`). Raises EmptyQuestionError / QuestionTooLongError."""
        started = time.perf_counter()
        answer = self.answerer.ask(question, context)
        try:
            query_id = self.log.record(channel, user, answer.question, answer, (time.perf_counter() - started) * 1000)
        except QueryLogError as exc:
            # The citizen still gets the answer; without a query id a channel offers no feedback.
            self._log_failed(exc)
            query_id = None
        else:
            if self.settings.log_wait_seconds > 0:
                # The answer leaves once its row is written (or the wait is over, or the log is
                # failing): a worker killed after replying has no answered question left unlogged.
                self.log.flush(self.settings.log_wait_seconds)
        return Reply(answer, query_id)

    def _log_failed(self, exc):
        """Report a query-log failure in the Python log: in full the first time, then at most once a minute."""
        now = time.monotonic()
        message = str(exc)
        if message == self._log_failure[0] and now - self._log_failure[1] < LOG_FAILURE_REPEAT:
            return
        self._log_failure = (message, now)
        log.error("query log failed, answering without logging: %s", exc, exc_info=exc)

    def search(self, query, k=None, region=None):
        return self.answerer.search(query, k=k, region=region)

    def search_anywhere(self, question, k=None):
        """Ranked passages for `question` as if it named no place: every region's documents
        (the staff lookup counts the passages of each place from one search)."""
        answerer = self.answerer
        snapshot = answerer.library.snapshot
        try:
            query = answerer.parse(question, snapshot)
        except (EmptyQuestionError, QuestionTooLongError):
            return answerer.search("", k)
        return snapshot.search(replace(query, region=None), k or self.settings.top_k)

    def standard_answer(self, question, region=None):
        """The FAQ entry the core answers `question` with and its cited passages, from the same
        decision a citizen's question goes through; nothing is logged. `region` (a place of
        faq/regions.toml) is where the question is asked, as if it named that place. Empty for an
        empty or too long question; ValueError for a region the table does not list."""
        answerer = self.answerer
        snapshot = answerer.library.snapshot
        if region is not None and region not in {r.name for r in snapshot.regions.listed}:
            raise ValueError(f"unknown region {region!r}; known: {[r.name for r in snapshot.regions.listed]}")
        try:
            query = answerer.parse(question, snapshot)
        except (EmptyQuestionError, QuestionTooLongError):
            return StandardAnswer()
        if region is not None:
            query = replace(query, region=region)
        decision = answerer.decide(snapshot, query)
        if decision.faq is None or decision.kind not in (ANSWER, FACT_MISSING):
            return StandardAnswer(suggestions=decision.suggestions)
        own = set(snapshot.faq.sources[decision.faq.id])
        return StandardAnswer(decision.faq, tuple(h for h in decision.hits if h.passage["id"] in own), decision.suggestions)

    def passage(self, passage_id):
        """One passage with its document, or None."""
        snapshot = self.library.snapshot
        passage = snapshot.passage(passage_id)
        if passage is None:
            return None
        return passage, snapshot.documents[passage["doc_id"]]

    def cited(self, number, passage_id):
        """(Citation numbered `number`, passage) of a passage shown again after its answer (原文),
        with its validity as of today; None when the served build lacks it."""
        found = self.passage(passage_id)
        if found is None:
            return None
        passage, document = found
        today = self.answerer.today()
        valid = self.library.snapshot.validity(document["id"], today, today)
        return Citation.of_parts(number, passage, document, valid), passage

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

    def regions(self):
        """The region table of the served build (faq/regions.toml)."""
        return self.library.snapshot.regions

    def topics_of(self, text):
        """The topics a text mentions (used to filter passages by topic)."""
        return self.answerer.intents.topics_in(self.library.snapshot.analyzer.normalize(text))

    def feedback(self, query_id, value, comment=None, channel=None, user=None):
        """Store 👍/👎; False when the query id is unknown or the log cannot be written (logged).

        With a channel and user: FeedbackRateLimitedError past MINZHENG_FEEDBACK_PER_MINUTE, and
        AlreadyVotedError for a second vote on the same answer (kept in the log, so a restart or
        another chat does not reset it).
        """
        if query_id is None:
            return False  # the question could not be logged
        voter = None
        if user is not None:
            key = (channel, user)
            if not self._feedback_limiter.allow(key):
                raise FeedbackRateLimitedError(self._feedback_limiter.retry_after(key))
        try:
            if user is not None:
                voter = self.log.user_hash(channel, user)
            return self.log.feedback(query_id, value, comment, voter=voter)
        except QueryLogError as exc:
            self._log_failed(exc)
            return False

    def mask(self, text):
        """`text` with personal data masked as the query log stores it; None when the masking
        rules cannot be read (keep nothing then)."""
        return self.log.mask(text)

    def forget(self, channel, user, conversation=None):
        """Delete what the log holds about one user and the conversation's context; returns the
        number of questions deleted."""
        self.conversations.forget((channel, user if conversation is None else conversation))
        return self.log.forget(channel, user)

    def compose(self, answer, **options):
        """An Answer's Decision in words again, for a channel (see Composer.text's options)."""
        return self.answerer.composer.text(answer.decision, **options)

    # -- administration --------------------------------------------------------------------
    def reload(self, force=False):
        """Validate knowledge/ and faq/, build beside the live store, compare, swap; a ReloadReport.

        Raises DataFileError (a bad file) or QualityDropError (hit@3 would fall by more than the
        margin; force=True swaps anyway); either way nothing changes.
        """
        with self._lock:
            if self.shared_builds is not None:
                self.database.ping()  # DatabaseError before anything changes: the other machines must follow
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
            if self.shared_builds is not None:
                self._shared_id = self.shared_builds.publish().id
            return done.report

    def rollback(self):
        """Serve the accepted build before the current one (retrieval/builds.py); a RollbackReport. NoPreviousBuildError if none."""
        with self._lock:
            report = self._rollback_shared() if self.shared_builds is not None else reloading.rollback(self.settings)
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
            self.log.refresh_masker()
            self._checked_at = time.monotonic()
            return report

    def _rollback_shared(self):
        """Withdraw the current shared build and serve the one before it here; the watchers of the
        other workers follow."""
        path = Path(self.settings.store_path)
        replaced = store.read_metadata(path)
        build, earlier = self.shared_builds.withdraw()
        self.shared_builds.install(build)
        self._shared_id = build.id
        restored = store.read_metadata(path)
        current_inputs = Library(self.settings).input_hash()
        pinned = current_inputs != restored.get("input_hash")
        pin = store.pin_path(path)
        if pinned:  # as a local rollback: the restored build is served until the next reload
            pin.write_text(current_inputs + "\n", encoding="utf-8")
        else:
            pin.unlink(missing_ok=True)
        return reloading.RollbackReport(restored, replaced, pinned, earlier)

    def close(self):
        """Stop following shared builds, write what the log has queued, close the PostgreSQL pool (if any)."""
        self._closing.set()
        if self._watcher is not None:
            self._watcher.join(WATCH_POLL + WATCH_RETRY + 5)
        self.log.close()
        if self.database is not None:
            self.database.close()

    def check(self):
        """Every problem in knowledge/ and faq/ as DataFileErrors (empty: all good); changes nothing."""
        return reloading.validate(self.settings)

    def purge(self, days=None):
        """Delete logged questions older than the retention (settings.log_retention_days)."""
        return self.log.purge(self.settings.log_retention_days if days is None else days)

    def unanswered(self, days=None, limit=None, now=None):
        """Declined and 👎 questions grouped by similarity, biggest group first (the FAQ worklist);
        `now` (epoch seconds) is where the last `days` end."""
        faq = Path(self.settings.faq_dir)
        analyzer = TextAnalyzer(faq, cache_dir=Path(self.settings.store_path).parent)
        def words(text):  # the question's own words, chat filler (请问, 怎么办...) removed
            return analyzer.words(analyzer.query(text)[0])

        groups = unanswered.group(self.log.unanswered(days, now=now), words, ReportSettings.load(faq / "calibration.toml").similarity)
        return groups if limit is None else groups[:limit]

    def faq_editor(self):
        """Add or change FAQ entries in faq/entries, checked against the served build (web admin)."""
        return FaqEditor(self.settings, self.library.snapshot, reloading.validate)

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
