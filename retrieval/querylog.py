"""The query log and feedback (a SQLite file beside the store, or PostgreSQL: retrieval/logstore.py).

Per question: time, channel, a keyed hash of the user id (never the raw id), the question with
personal data masked (retrieval/privacy.py), the answer kind and outcome (faq / passages /
decline), FAQ id, source ids and latency. Feedback rows point at a query id. Rows older than the
retention are purged (at most once a day while recording, or `bot.py purge`), in short batches so
no purge holds the log for long.

The log never stands between a citizen and the answer: `record` masks the question, takes a query
id from a block reserved in the log beforehand and puts the row on a bounded queue; one writer
thread writes the queue in order, a batch per transaction, and keeps retrying while the log is
locked or failing. A question that finds the queue full is dropped and counted (`dropped()`, the
admin counts, `bot.py report`, the Python log). `close()` - and the interpreter's exit - writes
what is queued first.

Deleted text must not stay readable on disk: the log runs with `secure_delete` (freed pages are
zeroed) and the WAL is checkpointed and truncated after every deletion. A user's deletion
(unsubscribe, /forget) is first written to `log.pending` beside the log (fsync'd), then queued
behind that user's questions, so it is done after every question recorded before it; when the
log is locked the line stays and the deletion is retried, also after a restart, until it is done.
With PostgreSQL the request (user hash, when it was asked) is recorded in the database when it is
done, and every writer on every machine drops that user's queued rows recorded before it
(retrieval/pglog.py); while the server is away it waits in log.pending like any other.

The log and its key are private (0600); a generated key lives in its own 0700 folder
(`keys/` beside the log unless MINZHENG_LOG_KEY_DIR says elsewhere), never beside the log.
"""

import atexit
import collections
import hashlib
import hmac
import itertools
import json
import logging
import os
import secrets
import stat
import threading
import time
import weakref
from pathlib import Path

from .errors import DataFileError, QueryLogError, RetentionError
from .logstore import TIME_FORMAT, SQLiteLogStorage, private_file as _private_file, reason

log = logging.getLogger(__name__)

PURGE_INTERVAL = 24 * 3600  # seconds between automatic purges
PURGE_BATCH = 500  # questions deleted per transaction: the log is never held for long
# Seconds one SQLite statement waits for another process's write to finish. Only the writer
# thread, deletions, feedback and reads wait; `record` never does.
BUSY_TIMEOUT = 2.0
QUEUE_LIMIT = 5000  # questions waiting for the writer; past it a question is dropped and counted
ID_BLOCK = 1000  # query ids reserved in the log at a time, so `record` can hand one out at once
BATCH = 200  # questions written per transaction
FLUSH_TIMEOUT = 5.0  # seconds close() gives the writer to empty the queue
FORGET_WAIT = 5.0  # seconds forget() waits for its deletion before saying it is deferred
IDLE_EXIT = 2.0  # seconds the writer thread waits for work before it ends (restarted on demand)
RETRY_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)  # between attempts while the log is failing
REPORT_REPEAT = 60.0  # seconds before the same writer problem is logged again

FAQ = "faq"
PASSAGES = "passages"
DECLINE = "decline"



def outcome(answer):
    """How a question was answered: from an FAQ entry, from passages, or declined."""
    if answer.declined:
        return DECLINE
    return FAQ if answer.faq_id else PASSAGES


def open_log(settings, database=None, masker=None):
    """The query log `settings` describe: SQLite at log_path, or PostgreSQL when
    MINZHENG_DATABASE_URL is set (through `database`, a retrieval.database.Database, made
    from the settings when not given)."""
    storage = None
    if settings.database_url:
        from .database import Database
        from .pglog import PostgresLogStorage

        if database is None:
            database = Database(settings.database_url, settings.database_pool_size, settings.database_timeout)
        storage = PostgresLogStorage(database, lambda: BUSY_TIMEOUT)
    return QueryLog(
        settings.log_path,
        settings.log_key,
        masker=masker,
        retention_days=settings.log_retention_days,
        key_dir=settings.log_key_dir,
        storage=storage,
    )


class _Forget:
    """A user's deletion waiting in the queue behind that user's earlier questions."""

    def __init__(self, user_hash):
        self.user_hash = user_hash
        self.counts = None  # {user_hash: questions deleted} once done
        self.settled = threading.Event()  # done, or an attempt failed (forget() stops waiting)


class QueryLog:
    def __init__(self, path, key="", masker=None, retention_days=None, key_dir=None, storage=None):
        """`path` is the SQLite log, and in any case where log.pending (and the generated key's
        keys/ folder) live; `storage` another backend (retrieval/pglog.py) for the rows."""
        self.path = Path(path)
        self._key = key.encode("utf-8") if key else None
        self.key_dir = Path(key_dir) if key_dir else self.path.parent / "keys"
        self._storage = storage if storage is not None else SQLiteLogStorage(self.path, lambda: BUSY_TIMEOUT)
        self._lock = threading.Lock()  # the connection: one statement or transaction at a time
        self._masker_source = masker  # a Masker, a callable returning one, or None (no masking)
        self._masker = None
        if retention_days is not None and not _whole_days(retention_days, 0):
            raise RetentionError(retention_days, "MINZHENG_LOG_RETENTION_DAYS (0: keep questions forever)")
        self.retention_days = retention_days
        self._purged_at = None
        self._pending = None  # None: not looked yet; True: log.pending may hold deletions to do
        # The queue and its writer; everything below is guarded by _cond. Lock order: _lock, then _cond.
        self._cond = threading.Condition(threading.Lock())
        self._queue = collections.deque()  # row dicts and _Forget markers, in order
        self._records_queued = 0
        self._deletions_queued = collections.Counter()  # user hash -> _Forget markers in the queue
        self._ids = collections.deque()  # [next, end] ranges of reserved query ids
        self._ids_wanted = False
        self._failure = None  # the reason the writer's last attempt failed; None while it works
        self._attempts = 0  # writer attempts so far (waiters see one happen)
        self._enqueued = self._written = 0  # items ever queued / taken off the queue
        self._thread = None
        self._stop = False  # closing: write what is queued, then end
        self._stop_by = 0.0  # when a closing writer gives up on a failing log
        self._poked = False
        self._dropped = 0  # questions not logged since start
        self._dropped_unsaved = 0  # of those, not yet counted in the log's `dropped` table
        self._reported = {}  # problem -> when it was last logged

    @property
    def db(self):
        """The log's database, once everything queued so far is written (or the log is failing)."""
        self.flush(BUSY_TIMEOUT)
        return self._database()

    def _database(self):
        db = self._storage.database()
        if self._key is None:
            self._key = self._key_from_file()
        return db

    @property
    def where(self):
        """What messages name the log by: its file, or the PostgreSQL URL without a password."""
        return self._storage.where

    def _failing_as_named_error(self):
        """The storage's errors (corrupt file, locked, disk full, server gone) become QueryLogError.
        Used under self._lock."""
        return self._storage.failing()

    # -- the key ---------------------------------------------------------------------------
    @property
    def key_path(self):
        """Where the generated key is kept when none is configured (MINZHENG_LOG_KEY)."""
        return self.key_dir / self.path.with_suffix(".key").name

    def _key_from_file(self):
        key_file = self.key_path
        _private_dir(self.key_dir)
        beside = self.path.with_suffix(".key")  # where earlier versions kept it
        if not key_file.exists() and beside.exists() and beside != key_file:
            _write_once(key_file, beside.read_text().strip())  # the same key: existing hashes stay valid
            beside.unlink(missing_ok=True)
            log.info("moved the query-log key from beside the log into %s", self.key_dir)
        if not key_file.exists():
            _write_once(key_file, secrets.token_hex(32))  # a full disk fails here, leaving no key file
        return key_file.read_text().strip().encode("utf-8")

    def user_hash(self, channel, user):
        if user is None:
            return None
        if self._key is None:
            self._key = self._key_from_file()
        return hmac.new(self._key, f"{channel}:{user}".encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    # -- privacy ---------------------------------------------------------------------------
    def mask(self, text):
        """The text with personal data masked; None when the masking rules cannot be read.

        Nothing unmasked is ever stored: with a broken faq/privacy.toml the question is not
        kept (reload and `bot.py check` name the broken line).
        """
        if not text or self._masker_source is None:
            return text
        if self._masker is None:
            source = self._masker_source
            try:
                self._masker = source() if callable(source) else source
            except DataFileError:
                return None
        return self._masker.mask(text)

    def warm_masker(self):
        """Read the masking rules and load what they use (jieba's name tagger) now; meanwhile the
        writer opens the log and reserves query ids, so the first question finds one ready."""
        with self._cond:
            self._ids_wanted = True
            self._start_writer()
        self.mask("")
        if self._masker is None and self._masker_source is not None:
            try:
                source = self._masker_source
                self._masker = source() if callable(source) else source
            except DataFileError:
                return
        warm = getattr(self._masker, "warm", None)
        if warm is not None:
            warm()

    def refresh_masker(self):
        """Read faq/privacy.toml again on the next question (after a reload)."""
        self._masker = None

    # -- writing ---------------------------------------------------------------------------
    def record(self, channel, user, question, answer, latency_ms):
        """Queue one answered question for the writer; returns its id (for feedback) at once.

        QueryLogError when no id can be handed out because the log is failing (corrupt, locked,
        disk full - the question is still queued and written if the log recovers), when the
        queue is full (the question is dropped and counted), or when the key cannot be read.
        Never waits for the log, except when no id is in hand and the writer has not tried to
        reserve any yet (the first question of a process not warmed up): then for one attempt."""
        try:
            user_hash = self.user_hash(channel, user)
        except OSError as exc:
            raise QueryLogError(self.where, reason(exc)) from exc
        now = time.time()
        row = {
            "id": None,
            "recorded_at": now,  # not stored: compared with deletion requests (retrieval/pglog.py)
            "time": time.strftime(TIME_FORMAT, time.localtime(now)),
            "channel": channel,
            "user_hash": user_hash,
            "question": self.mask(question),
            "kind": answer.kind,
            "outcome": outcome(answer),
            "faq_id": answer.faq_id,
            "source_ids": json.dumps([h.passage["id"] for h in answer.sources], ensure_ascii=False),
            "latency_ms": round(latency_ms, 2),
        }
        with self._cond:
            if self._records_queued >= QUEUE_LIMIT:
                self._dropped += 1
                self._dropped_unsaved += 1
                dropped = self._dropped
                full = True
            else:
                full = False
                row["id"] = self._next_id()
                self._queue.append(row)
                self._records_queued += 1
                self._enqueued += 1
                self._start_writer()
                self._cond.notify_all()
            failure = self._failure
        if full:
            self._report("dropped", log.error, "the query log is behind (%d questions waiting): a question was not logged; %d dropped since start", QUEUE_LIMIT, dropped)
            raise QueryLogError(self.where, f"{QUEUE_LIMIT} questions are waiting for the log; this one is not logged")
        if row["id"] is None:
            raise QueryLogError(self.where, f"{failure or 'not ready'} (the question is queued without a query id)")
        return row["id"]

    def _next_id(self):
        """A reserved query id, or None when none is left and the writer could not reserve one
        (waits for the writer's first attempt only). Called under self._cond."""
        deadline = time.monotonic() + 2 * BUSY_TIMEOUT  # one attempt of the writer, which may wait BUSY_TIMEOUT
        attempts = self._attempts
        while True:
            while self._ids and self._ids[0][0] > self._ids[0][1]:
                self._ids.popleft()
            if self._ids:
                query_id = self._ids[0][0]
                self._ids[0][0] += 1
                if self._ids_left() < ID_BLOCK // 2:
                    self._ids_wanted = True
                    self._cond.notify_all()
                return query_id
            if self._failure is not None or self._attempts > attempts:
                return None  # the writer tried and failed: do not make every question wait
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._ids_wanted = True
            self._start_writer()
            self._cond.notify_all()
            self._cond.wait(remaining)

    def _ids_left(self):
        return sum(end - start + 1 for start, end in self._ids)

    def feedback(self, query_id, value, comment=None, voter=None):
        """Store 👍 (+1) or 👎 (-1) for a logged question; False when the query id is unknown.
        With a voter (a user hash) one vote per question: AlreadyVotedError for a second one.
        QueryLogError when the log cannot be read or written."""
        row = {"query_id": query_id, "time": time.strftime(TIME_FORMAT), "value": int(value), "comment": self.mask(comment), "voter": voter}
        self.flush(BUSY_TIMEOUT)  # the question it rates may still be in the queue
        with self._lock, self._failing_as_named_error():
            self._database()
            return self._storage.add_feedback(row, voter)

    # -- the writer ------------------------------------------------------------------------
    def _start_writer(self):
        """Start the writer thread unless it runs. Called under self._cond."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"querylog-writer {self.path.name}", daemon=True)
            self._thread.start()
            _LIVE.add(self)
            _close_at_exit()

    def _has_work(self):
        return bool(self._queue) or (self._ids_wanted and not self._stop)

    def _run(self):
        failures = 0
        while True:
            with self._cond:
                if failures:  # a pause before the next attempt; flush() cuts it short, close() shortens it
                    pause = RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1]
                    until = time.monotonic() + (min(pause, RETRY_DELAYS[0]) if self._stop else pause)
                    while not self._poked and time.monotonic() < until:
                        self._cond.wait(until - time.monotonic())
                    self._poked = False
                    if self._stop and time.monotonic() >= self._stop_by:  # closing, and its time is up
                        return self._end()
                while not self._has_work():
                    if self._stop or not self._cond.wait(IDLE_EXIT):
                        if not self._has_work():
                            return self._end()
                batch = list(itertools.islice(self._queue, BATCH))
            try:
                self._write(batch)
            except Exception as exc:  # the writer must outlive any failure; the rows stay queued
                failures += 1
                with self._cond:
                    self._failure = exc.reason if isinstance(exc, QueryLogError) else repr(exc)
                    self._attempts += 1
                    self._ids_wanted = False  # retried with the next batch, not on its own
                    for item in batch:
                        if isinstance(item, _Forget):
                            item.settled.set()
                            break
                    waiting = self._records_queued
                    self._cond.notify_all()
                    stop = self._stop and time.monotonic() >= self._stop_by  # closing, and its time is up
                if isinstance(exc, QueryLogError):
                    self._report("failing", log.warning, "the query log cannot be written, %d questions wait for it: %s", waiting, exc)
                else:
                    log.exception("the query-log writer failed; retrying")
                if stop:
                    with self._cond:
                        return self._end()
                continue
            if failures:
                log.info("the query log is written again")
                self._reported.pop("failing", None)
            failures = 0

    def _end(self):
        """The writer thread ends (called under self._cond); a closing log may be used again."""
        self._thread = None
        self._stop = False
        self._cond.notify_all()

    def _write(self, batch):
        """Write the questions at the head of the batch in one transaction (reserving ids when
        needed), then the deletion that follows them; everything done leaves the queue."""
        records = list(itertools.takewhile(lambda item: not isinstance(item, _Forget), batch))
        with self._cond:
            need_ids = not self._stop and (self._ids_wanted or self._ids_left() < ID_BLOCK // 2)
            saving = self._dropped_unsaved
        if records or need_ids or saving:
            self._insert(records, need_ids, saving)
            self._after_writing(len(records))
        if len(records) < len(batch):
            self._forget_next(batch[len(records)])

    def _insert(self, records, need_ids, saving):
        with self._lock, self._failing_as_named_error():
            self._database()
            wanted = need_ids or any(row["id"] is None for row in records)
            blocks = self._storage.write(records, ID_BLOCK if wanted else 0, saving)
        with self._cond:
            self._ids.extend([first, last] for first, last in blocks)
            self._ids_wanted = False
            self._failure = None
            self._attempts += 1
            self._dropped_unsaved -= saving
            for row in records:
                if self._queue and self._queue[0] is row:
                    self._queue.popleft()
                    self._records_queued -= 1
            self._cond.notify_all()

    def _forget_next(self, marker):
        with self._cond:
            self._deletions_queued[marker.user_hash] -= 1  # its own questions are all written now
        try:
            counts = self._do_pending()
        except BaseException:
            with self._cond:
                self._deletions_queued[marker.user_hash] += 1
            raise
        marker.counts = counts
        with self._cond:
            if self._queue and self._queue[0] is marker:
                self._queue.popleft()
                self._written += 1
            self._deletions_queued += collections.Counter()  # drop zero counts
            self._failure = None
            self._attempts += 1
            self._cond.notify_all()
        marker.settled.set()

    def _after_writing(self, written):
        """The automatic purge and retried deletions, then the batch counts as written (flush)."""
        try:
            self._maybe_purge()
        except QueryLogError as exc:
            log.warning("automatic purge of old questions failed: %s", exc)
        self._retry_pending()
        with self._cond:
            self._written += written
            self._cond.notify_all()

    def flush(self, timeout=FLUSH_TIMEOUT):
        """Wait until everything queued so far is written; False when the time ran out or the
        writer's next attempt failed too (a read then sees the log as it is)."""
        if threading.current_thread() is self._thread:
            return True
        deadline = time.monotonic() + timeout
        with self._cond:
            target, attempts = self._enqueued, self._attempts
            if self._failure is not None:
                self._poked = True  # try now rather than after the retry pause
                self._cond.notify_all()
            while self._written < target:
                remaining = deadline - time.monotonic()
                failed_again = self._failure is not None and self._attempts > attempts
                if failed_again or remaining <= 0 or self._thread is None:
                    return False
                self._cond.wait(remaining)
            return True

    def dropped(self, days=None, now=None):
        """Questions that could not be logged (queue full, or left at a shutdown), in the last
        `days` days (None: ever), this process's uncounted ones included."""
        since = "" if days is None else _before(days, now)
        self.flush(BUSY_TIMEOUT)
        with self._lock, self._failing_as_named_error():
            self._database()
            saved = self._storage.scalar("select coalesce(sum(questions), 0) from dropped where time >= ?", [since])
        with self._cond:
            return saved + self._dropped_unsaved

    def _report(self, problem, say, message, *args):
        """Log a writer problem the first time, then at most once a minute."""
        now = time.monotonic()
        if now - self._reported.get(problem, -REPORT_REPEAT) < REPORT_REPEAT:
            return
        self._reported[problem] = now
        say(message, *args)

    # -- deleting --------------------------------------------------------------------------
    def forget(self, channel, user):
        """Delete every row of one user (WeChat unsubscribe, Telegram /forget); returns rows
        deleted, or None when the log is busy: the deletion is then kept in log.pending and done
        as soon as the log can be written, also after a restart. It is always done after every
        question of that user recorded before it. QueryLogError only when not even log.pending
        can be written."""
        try:
            user_hash = self.user_hash(channel, user)
            marker = _Forget(user_hash)
            with self._cond:
                self._deletions_queued[user_hash] += 1  # before the line exists: no retry may take it early
            try:
                self._add_pending(user_hash)
            except BaseException:
                with self._cond:
                    self._deletions_queued[user_hash] -= 1
                    self._deletions_queued += collections.Counter()
                raise
        except OSError as exc:
            raise QueryLogError(self.where, reason(exc)) from exc
        with self._cond:
            self._queue.append(marker)
            self._enqueued += 1
            self._start_writer()
            self._cond.notify_all()
        marker.settled.wait(FORGET_WAIT)
        if marker.counts is None:
            log.warning("deleting a user's questions is deferred, retried until the log can be written: %s", self._failure or "the log is busy")
            return None
        return marker.counts.get(user_hash, 0)

    @property
    def pending_path(self):
        return self.path.with_suffix(".pending")

    def pending_deletions(self):
        """The user hashes whose deletion is recorded but not done yet."""
        return list(self._pending_requests())

    def _pending_requests(self):
        """{user hash: when the deletion was asked (seconds since the epoch)} from log.pending:
        one `<hash> <time>` line per request (a line of an earlier version has no time: now)."""
        try:
            text = self.pending_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        requests = {}
        for line in text.splitlines():
            parts = line.split()
            if not parts:
                continue
            try:
                asked = float(parts[1]) if len(parts) > 1 else time.time()
            except ValueError:
                asked = time.time()
            requests[parts[0]] = max(asked, requests.get(parts[0], asked))
        return requests

    def _add_pending(self, user_hash):
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.pending_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, f"{user_hash} {time.time():.6f}\n".encode("ascii"))
                os.fsync(fd)  # the deletion is promised once this line is on disk
            finally:
                os.close(fd)
            self._pending = True

    def _do_pending(self):
        """Delete the rows of every pending user, checkpoint, then clear their lines of
        log.pending; returns {user_hash: rows deleted}. A user whose deletion still waits in the
        queue behind their questions is left for it. QueryLogError (log busy): all stay pending."""
        with self._lock, self._failing_as_named_error():
            with self._cond:  # read under self._lock: forget() counts its deletion before writing the line
                waiting = {h for h, n in self._deletions_queued.items() if n > 0}
            requests = {h: asked for h, asked in self._pending_requests().items() if h not in waiting}
            if not requests:
                self._pending = bool(waiting)
                return {}
            self._database()
            counts = self._storage.delete_users(requests)
            if not self._storage.scrub():
                log.warning("deleted questions may remain in the WAL until the next checkpoint; retried")
                return counts  # stays pending: the next attempt deletes nothing and checkpoints again
            tmp = self.pending_path.with_name(f".{self.pending_path.name}.{os.getpid()}")
            rest = {h: asked for h, asked in self._pending_requests().items() if h not in counts}  # added meanwhile, or left for the queue
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write("".join(f"{h} {asked:.6f}\n" for h, asked in rest.items()))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.pending_path)
            self._pending = bool(rest)
            return counts

    def _retry_pending(self):
        if self._pending is None:
            self._pending = self.pending_path.exists()
        if not self._pending:
            return
        try:
            self._do_pending()
        except QueryLogError as exc:
            log.warning("pending deletions still deferred: %s", exc.reason)

    def purge(self, days, now=None):
        """Delete questions (and their feedback) older than `days` days; returns questions deleted.

        In transactions of PURGE_BATCH questions: between them other writers and readers (this
        process's, another process's) get the log, so a first purge of a large log holds it for
        milliseconds at a time, not for seconds."""
        if not _whole_days(days, 1):
            raise RetentionError(days, "the retention (--days)")
        cutoff = _before(days, now)
        self._purged_at = time.monotonic()  # a failing purge is retried tomorrow, not at every question
        deleted = 0
        while True:
            with self._lock, self._failing_as_named_error():
                self._database()
                batch = self._storage.purge_batch(cutoff, PURGE_BATCH)
            deleted += batch
            if batch < PURGE_BATCH:
                break
            time.sleep(0)  # let a thread waiting for the log take it before the next batch
        if deleted:
            with self._lock, self._failing_as_named_error():
                self._storage.scrub()
        self._retry_pending()
        return deleted

    def _maybe_purge(self):
        if not self.retention_days:
            return
        if self._purged_at is not None and time.monotonic() - self._purged_at < PURGE_INTERVAL:
            return
        self.purge(self.retention_days)

    # -- reading ---------------------------------------------------------------------------
    def _query(self, sql, params=()):
        """Rows of a read, once what is queued is written (or the writer is failing)."""
        self.flush(BUSY_TIMEOUT)
        with self._lock, self._failing_as_named_error():
            self._database()
            return self._storage.rows(sql, params)

    def recent_declined(self, limit=20):
        """The latest declined questions, newest first (admin page, report)."""
        return self._query("select * from queries where kind != 'answer' order by time desc, id desc limit ?", [limit])

    def recent_negative(self, limit=20):
        """The latest 👎 feedback with its question, newest first."""
        sql = (
            "select q.*, f.time as feedback_time, f.comment from feedback f join queries q on q.id = f.query_id "
            "where f.value < 0 order by f.id desc limit ?"
        )
        return self._query(sql, [limit])

    def unanswered(self, days=None, now=None):
        """Questions declined or given 👎 (in the last `days` days), oldest first.

        Each row: id, time, channel, question, kind, outcome, declined (0/1), down (number of 👎).
        """
        since = "" if days is None else _before(days, now)
        sql = (
            "select q.id, q.time, q.channel, q.question, q.kind, q.outcome, case when q.kind != 'answer' then 1 else 0 end as declined, "
            "(select count(*) from feedback f where f.query_id = q.id and f.value < 0) as down "
            "from queries q where q.time >= ? and q.question is not null and q.question != '' "
            "and (q.kind != 'answer' or exists (select 1 from feedback f where f.query_id = q.id and f.value < 0)) "
            "order by q.time, q.id"
        )
        return self._query(sql, [since])

    def activity(self, since):
        """Questions logged at or after `since` (TIME_FORMAT, the log's clock), oldest first:
        id, time, channel, kind, outcome, question (the admin dashboard)."""
        return self._query("select id, time, channel, kind, outcome, question from queries where time >= ? order by id", [since])

    def votes(self, since):
        """👍/👎 given at or after `since`: time and value (+1 / -1), oldest first."""
        return self._query("select time, value from feedback where time >= ? order by id", [since])

    def counts(self):
        self.flush(BUSY_TIMEOUT)
        with self._lock, self._failing_as_named_error():
            self._database()
            scalar = self._storage.scalar
            counts = {
                "queries": scalar("select count(*) from queries"),
                "declined": scalar("select count(*) from queries where kind != 'answer'"),
                "feedback_up": scalar("select count(*) from feedback where value > 0"),
                "feedback_down": scalar("select count(*) from feedback where value < 0"),
                "dropped": scalar("select coalesce(sum(questions), 0) from dropped"),
            }
        with self._cond:
            counts["dropped"] += self._dropped_unsaved
        return counts

    # -- closing ---------------------------------------------------------------------------
    def _closing(self, deadline):
        """Tell the writer to finish the queue by `deadline`; returns its thread (None: not running)."""
        with self._cond:
            self._stop = True
            self._stop_by = deadline
            self._cond.notify_all()
            return self._thread

    def close(self, timeout=None):
        """Write what is queued (the writer keeps trying for FLUSH_TIMEOUT if the log is failing),
        give back unused query ids, close the connection. Questions still queued after that are
        dropped, counted and logged. The log can be used again afterwards."""
        deadline = time.monotonic() + (FLUSH_TIMEOUT if timeout is None else timeout)
        thread = self._closing(deadline)
        if thread is not None:
            thread.join(max(deadline - time.monotonic(), 0) + BUSY_TIMEOUT)  # an attempt under way may take that long
        with self._cond:
            left = [item for item in self._queue if not isinstance(item, _Forget)]
            self._queue.clear()
            self._deletions_queued.clear()  # their lines stay in log.pending: done at the next start
            self._written = self._enqueued
            self._records_queued = 0
            self._dropped += len(left)
            self._dropped_unsaved += len(left)
            unsaved, ids, failure = self._dropped_unsaved, list(self._ids), self._failure
            self._ids.clear()
            if self._thread is None:
                self._stop = False
                self._failure = None  # unknown until the next use tries the log again
            else:
                self._stop_by = 0.0  # still in an attempt (a slow disk): it ends after it
            self._cond.notify_all()
        _LIVE.discard(self)
        # Under the write lock: closing a SQLite connection while another thread inserts through
        # it crashes the process (seen as a segfault when a slow WeChat answer outlived its test).
        with self._lock:
            if unsaved or ids:
                try:
                    with self._failing_as_named_error():
                        self._database()
                        self._storage.finish(unsaved, ids)
                        with self._cond:
                            self._dropped_unsaved -= unsaved
                except QueryLogError as exc:
                    failure = failure or exc.reason
            self._storage.close()
        if left:
            log.error("%d questions were not written to the query log before it closed: %s", len(left), failure or "the writer did not finish in time")


def _whole_days(days, minimum):
    """Whether `days` is a whole number of days (an int, not a bool) of at least `minimum`."""
    return isinstance(days, int) and not isinstance(days, bool) and days >= minimum


def _before(days, now=None):
    return time.strftime(TIME_FORMAT, time.localtime((time.time() if now is None else now) - days * 86400))


# -- files -------------------------------------------------------------------------------------
def _private_dir(path):
    """A folder only its owner can enter (0700); one made wider by someone else is warned about."""
    try:
        os.makedirs(path, mode=0o700)
        os.chmod(path, 0o700)  # makedirs' mode is reduced by the umask, never widened
    except FileExistsError:
        if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
            log.warning("the query-log key folder %s is readable by others; make it 0700", path)


def _write_once(path, text):
    """Write a new private file whole under a temporary name, then link it into place: another
    process sees no file or the complete one, and the first link wins."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


# Logs whose writer ran in this process: each is closed (its queue written) at interpreter exit.
_LIVE = weakref.WeakSet()
_AT_EXIT = []


def _close_at_exit():
    if not _AT_EXIT:
        _AT_EXIT.append(atexit.register(_close_all))


def _close_all():
    """At exit: every writer finishes its queue at the same time, within one FLUSH_TIMEOUT."""
    deadline = time.monotonic() + FLUSH_TIMEOUT
    logs = list(_LIVE)
    for query_log in logs:
        query_log._closing(deadline)
    for query_log in logs:
        try:
            query_log.close(timeout=max(deadline - time.monotonic(), 0))
        except Exception:
            log.exception("closing the query log at exit failed")
