"""The query log and feedback (SQLite, a file beside the store).

Per question: time, channel, a keyed hash of the user id (never the raw id), the question with
personal data masked (retrieval/privacy.py), the answer kind and outcome (faq / passages /
decline), FAQ id, source ids and latency. Feedback rows point at a query id. Rows older than the
retention are purged (at most once a day while recording, or `bot.py purge`).

Deleted text must not stay readable on disk: the log runs with `secure_delete` (freed pages are
zeroed) and the WAL is checkpointed and truncated after every deletion. A user's deletion
(unsubscribe, /forget) is first written to `log.pending` beside the log, then done; when the log
is locked it stays there and is retried on the next write, deletion or start until it is done.
"""

import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path


from .errors import AlreadyVotedError, DataFileError, QueryLogError

log = logging.getLogger(__name__)

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
PURGE_INTERVAL = 24 * 3600  # seconds between automatic purges
# Seconds a write waits for another process's write to finish. Writes take milliseconds; a log
# held locked longer (an open transaction in a shell) must not hold up the citizen's answer.
BUSY_TIMEOUT = 2.0

FAQ = "faq"
PASSAGES = "passages"
DECLINE = "decline"


def outcome(answer):
    """How a question was answered: from an FAQ entry, from passages, or declined."""
    if answer.declined:
        return DECLINE
    return FAQ if answer.faq_id else PASSAGES


class QueryLog:
    def __init__(self, path, key="", masker=None, retention_days=None):
        self.path = Path(path)
        self._key = key.encode("utf-8") if key else None
        self._lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._db = None
        self._masker_source = masker  # a Masker, a callable returning one, or None (no masking)
        self._masker = None
        self.retention_days = retention_days
        self._purged_at = None
        self._pending = None  # None: not looked yet; True: log.pending may hold deletions to do

    @property
    def db(self):
        if self._db is None:
            with self._open_lock:  # threads asking at once must open one connection, once
                if self._db is None:
                    self._open()
        return self._db

    def _open(self):
        import sqlite_utils  # here, not at import: `bot.py ask` never logs and starts faster without it

        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT)
        try:
            conn.execute("pragma journal_mode=wal")
            conn.execute("pragma secure_delete=on")  # deleted questions are zeroed, not just unlinked
            db = sqlite_utils.Database(conn)
            if self._key is None:
                self._key = self._key_from_file()
            _create_tables(db)
        except BaseException:
            conn.close()
            raise
        self._db = db

    @contextmanager
    def _failing_as_named_error(self):
        """SQLite and OS errors (corrupt file, locked by another process, disk full) become
        QueryLogError; the connection is dropped so the next call opens the file afresh (it
        may have been repaired or replaced meanwhile)."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            db, self._db = self._db, None
            if db is not None:
                try:
                    db.close()
                except sqlite3.Error:
                    pass
            raise QueryLogError(self.path, reason(exc)) from exc

    def _key_from_file(self):
        key_file = self.path.with_suffix(".key")
        if not key_file.exists():
            # Written whole under a private name, then linked: another process sees either no
            # key file or a complete one, and the first link wins.
            tmp = key_file.with_name(f".{key_file.name}.{os.getpid()}.{threading.get_ident()}")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_hex(32))  # a full disk fails here, leaving no key file
                os.link(tmp, key_file)
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        return key_file.read_text().strip().encode("utf-8")

    def user_hash(self, channel, user):
        if user is None:
            return None
        if self._key is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
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
        """Read the masking rules and load what they use (jieba's name tagger) now."""
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
        """Store one answered question; returns its id (for feedback). QueryLogError when the
        log cannot be written (the automatic purge failing afterwards is only logged)."""
        with self._failing_as_named_error():
            row = {
                "time": time.strftime(TIME_FORMAT),
                "channel": channel,
                "user_hash": self.user_hash(channel, user),
                "question": self.mask(question),
                "kind": answer.kind,
                "outcome": outcome(answer),
                "faq_id": answer.faq_id,
                "source_ids": json.dumps([h.passage["id"] for h in answer.sources], ensure_ascii=False),
                "latency_ms": round(latency_ms, 2),
            }
            with self._lock:
                query_id = self.db["queries"].insert(row).last_pk
        try:
            self._maybe_purge()
        except QueryLogError as exc:
            log.warning("automatic purge of old questions failed: %s", exc)
        self._retry_pending()
        return query_id

    def feedback(self, query_id, value, comment=None, voter=None):
        """Store 👍 (+1) or 👎 (-1) for a logged question; False when the query id is unknown.
        With a voter (a user hash) one vote per question: AlreadyVotedError for a second one.
        QueryLogError when the log cannot be read or written."""
        row = {"query_id": query_id, "time": time.strftime(TIME_FORMAT), "value": int(value), "comment": self.mask(comment), "voter": voter}
        with self._lock, self._failing_as_named_error():
            if not list(self.db.query("select 1 from queries where id = ?", [query_id])):
                return False
            if voter is not None and list(self.db.query("select 1 from feedback where query_id = ? and voter = ?", [query_id, voter])):
                raise AlreadyVotedError(query_id)
            self.db["feedback"].insert(row)
            return True

    # -- deleting --------------------------------------------------------------------------
    def forget(self, channel, user):
        """Delete every row of one user (WeChat unsubscribe, Telegram /forget); returns rows
        deleted, or None when the log is busy: the deletion is then kept in log.pending and done
        on the next write, deletion or start. QueryLogError only when not even that can be written."""
        try:
            user_hash = self.user_hash(channel, user)
            self._add_pending(user_hash)
        except OSError as exc:
            raise QueryLogError(self.path, reason(exc)) from exc
        try:
            return self._do_pending().get(user_hash, 0)
        except QueryLogError as exc:
            log.warning("deleting a user's questions is deferred, retried on the next write: %s", exc.reason)
            return None

    @property
    def pending_path(self):
        return self.path.with_suffix(".pending")

    def pending_deletions(self):
        """The user hashes whose deletion is recorded but not done yet."""
        try:
            text = self.pending_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))

    def _add_pending(self, user_hash):
        with self._lock:
            fd = os.open(self.pending_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, (user_hash + "\n").encode("ascii"))
                os.fsync(fd)  # the deletion is promised once this line is on disk
            finally:
                os.close(fd)
            self._pending = True

    def _do_pending(self):
        """Delete the rows of every pending user, checkpoint, then clear log.pending; returns
        {user_hash: rows deleted}. QueryLogError (log busy): everything stays pending."""
        with self._lock, self._failing_as_named_error():
            hashes = self.pending_deletions()
            if not hashes:
                self._pending = False
                return {}
            counts = {}
            conn = self.db.conn
            conn.execute("begin immediate")
            try:
                for user_hash in hashes:
                    ids = [r[0] for r in conn.execute("select id from queries where user_hash = ?", [user_hash])]
                    self._delete(ids)
                    counts[user_hash] = len(ids)
                conn.execute("commit")
            except BaseException:
                conn.execute("rollback")
                raise
            if not self._checkpoint():
                log.warning("deleted questions may remain in the WAL until the next checkpoint; retried")
                return counts  # stays pending: the next attempt deletes nothing and checkpoints again
            tmp = self.pending_path.with_name(f".{self.pending_path.name}.{os.getpid()}")
            rest = [h for h in self.pending_deletions() if h not in counts]  # added by another process meanwhile
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write("".join(h + "\n" for h in rest))
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

    def _checkpoint(self):
        """Copy the WAL into the database and truncate it, so deleted text leaves the WAL; False
        when a reader kept it from completing."""
        busy, _, _ = self.db.conn.execute("pragma wal_checkpoint(TRUNCATE)").fetchone()
        return busy == 0

    def purge(self, days, now=None):
        """Delete questions (and their feedback) older than `days` days; returns questions deleted."""
        cutoff = time.strftime(TIME_FORMAT, time.localtime((time.time() if now is None else now) - days * 86400))
        with self._lock, self._failing_as_named_error():
            self._purged_at = time.monotonic()  # a failing purge is retried tomorrow, not at every question
            ids = [r["id"] for r in self.db.query("select id from queries where time < ?", [cutoff])]
            self._delete(ids)
            if ids:
                self._checkpoint()
        self._retry_pending()
        return len(ids)

    def _maybe_purge(self):
        if not self.retention_days:
            return
        if self._purged_at is not None and time.monotonic() - self._purged_at < PURGE_INTERVAL:
            return
        self.purge(self.retention_days)

    def _delete(self, ids):
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            self.db.execute(f"delete from feedback where query_id in ({marks})", chunk)
            self.db.execute(f"delete from queries where id in ({marks})", chunk)

    # -- reading ---------------------------------------------------------------------------
    def recent_declined(self, limit=20):
        """The latest declined questions, newest first (admin page, report)."""
        with self._lock, self._failing_as_named_error():
            return list(self.db.query("select * from queries where kind != 'answer' order by id desc limit ?", [limit]))

    def recent_negative(self, limit=20):
        """The latest 👎 feedback with its question, newest first."""
        sql = (
            "select q.*, f.time as feedback_time, f.comment from feedback f join queries q on q.id = f.query_id "
            "where f.value < 0 order by f.id desc limit ?"
        )
        with self._lock, self._failing_as_named_error():
            return list(self.db.query(sql, [limit]))

    def unanswered(self, days=None, now=None):
        """Questions declined or given 👎 (in the last `days` days), oldest first.

        Each row: id, time, channel, question, kind, outcome, declined (0/1), down (number of 👎).
        """
        since = "" if days is None else time.strftime(TIME_FORMAT, time.localtime((time.time() if now is None else now) - days * 86400))
        sql = (
            "select q.id, q.time, q.channel, q.question, q.kind, q.outcome, (q.kind != 'answer') as declined, "
            "(select count(*) from feedback f where f.query_id = q.id and f.value < 0) as down "
            "from queries q where q.time >= ? and q.question is not null and q.question != '' "
            "and (q.kind != 'answer' or exists (select 1 from feedback f where f.query_id = q.id and f.value < 0)) "
            "order by q.id"
        )
        with self._lock, self._failing_as_named_error():
            return list(self.db.query(sql, [since]))

    def activity(self, since):
        """Questions logged at or after `since` (TIME_FORMAT, the log's clock), oldest first:
        id, time, channel, kind, outcome, question (the admin dashboard)."""
        sql = "select id, time, channel, kind, outcome, question from queries where time >= ? order by id"
        with self._lock, self._failing_as_named_error():
            return list(self.db.query(sql, [since]))

    def votes(self, since):
        """👍/👎 given at or after `since`: time and value (+1 / -1), oldest first."""
        with self._lock, self._failing_as_named_error():
            return list(self.db.query("select time, value from feedback where time >= ? order by id", [since]))

    def counts(self):
        with self._lock, self._failing_as_named_error():
            return {
                "queries": self.db["queries"].count,
                "declined": self.db.execute("select count(*) from queries where kind != 'answer'").fetchone()[0],
                "feedback_up": self.db.execute("select count(*) from feedback where value > 0").fetchone()[0],
                "feedback_down": self.db.execute("select count(*) from feedback where value < 0").fetchone()[0],
            }

    def close(self):
        # Under the write lock: closing a SQLite connection while another thread inserts through
        # it crashes the process (seen as a segfault when a slow WeChat answer outlived its test).
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _create_tables(db):
    db["queries"].create(
        {
            "id": int,
            "time": str,
            "channel": str,
            "user_hash": str,
            "question": str,
            "kind": str,
            "outcome": str,
            "faq_id": str,
            "source_ids": str,
            "latency_ms": float,
        },
        pk="id",
        if_not_exists=True,
    )
    if "outcome" not in db["queries"].columns_dict:  # a log written before the column existed
        db["queries"].add_column("outcome", str)
    db["feedback"].create(
        {"id": int, "query_id": int, "time": str, "value": int, "comment": str, "voter": str},
        pk="id",
        foreign_keys=[("query_id", "queries", "id")],
        if_not_exists=True,
    )
    if "voter" not in db["feedback"].columns_dict:  # a log written before one vote per user
        db["feedback"].add_column("voter", str)
    db["queries"].create_index(["user_hash"], if_not_exists=True)
    db["queries"].create_index(["time"], if_not_exists=True)
    db["feedback"].create_index(["query_id"], if_not_exists=True)


def reason(exc):
    """The OS or SQLite message of an error, without Python's decoration."""
    return getattr(exc, "strerror", None) or str(exc)
