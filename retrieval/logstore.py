"""Where the query log keeps its rows: one small interface, a SQLite file or PostgreSQL.

retrieval/querylog.py owns the queue, the writer thread, masking, keyed hashes and the pending
deletions; a storage only runs statements. Every method is called under the log's lock, inside
`failing()`, which turns the backend's errors into QueryLogError. The interface:

    where                      what error messages name the log by (a path, a URL without password)
    database()                 open (once) and return the database; `QueryLog.db` hands it out to read
    write(records, reserve, saving)
                               in one transaction: take `reserve` query ids no other process has
                               (rows without an id get theirs from them), insert the rows, add
                               `saving` to the dropped count; returns the unused ids as a list of
                               (first, last) ranges
    add_feedback(row, voter)   False for an unknown query id; AlreadyVotedError for a second vote
    delete_users(requests)     {hash: questions deleted} in one transaction, then `scrub()`;
                               `requests` maps each user hash to when the deletion was asked
                               (seconds since the epoch): PostgreSQL records it for every writer
                               and deletes the rows recorded up to it
    scrub()                    make deleted text unreadable on disk; False when it must be retried
    purge_batch(cutoff, limit) delete at most `limit` questions older than cutoff; returns how many
    rows(sql, params)          a read: list of dicts (SQL written with `?` placeholders)
    scalar(sql, params)        a read of one value
    finish(unsaved, ids)       at close: count `unsaved` dropped questions, give back unused ids
    close()

Reads are written once in portable SQL (`?` placeholders, text times in TIME_FORMAT, 0/1 for
yes/no) and run on both; retrieval/pglog.py is the PostgreSQL storage.
"""

import logging
import os
import sqlite3
import stat
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import AlreadyVotedError, QueryLogError

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
COLUMNS = ("id", "time", "channel", "user_hash", "question", "kind", "outcome", "faq_id", "source_ids", "latency_ms")
_INSERT = f"insert into queries ({', '.join(COLUMNS)}) values ({', '.join('?' * len(COLUMNS))})"
_DELETE_CHUNK = 500
_querylog_log = logging.getLogger("retrieval.querylog")  # what the log's tests and operators watch


def reason(exc):
    """The OS or database message of an error, without Python's decoration."""
    return getattr(exc, "strerror", None) or str(exc).strip()


class SQLiteLogStorage:
    """The embedded default: var/log.db, WAL, secure_delete, private files."""

    def __init__(self, path, busy_timeout):
        self.path = Path(path)
        self.busy_timeout = busy_timeout  # a callable: tests lower querylog.BUSY_TIMEOUT at run time
        self._db = None
        self._open_lock = threading.Lock()

    @property
    def where(self):
        return self.path

    def database(self):
        if self._db is None:
            with self._open_lock:  # threads asking at once must open one connection, once
                if self._db is None:
                    self._db = self._open()
        return self._db

    def _open(self):
        import sqlite_utils  # here, not at import: `bot.py ask` never logs and starts faster without it

        self.path.parent.mkdir(parents=True, exist_ok=True)
        private_file(self.path)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=self.busy_timeout())
        try:
            conn.execute("pragma journal_mode=wal")
            conn.execute("pragma secure_delete=on")  # deleted questions are zeroed, not just unlinked
            for suffix in ("-wal", "-shm"):  # SQLite gives them the log's mode; older logs were 0644
                private_file(self.path.with_name(self.path.name + suffix), create=False)
            db = sqlite_utils.Database(conn)
            _create_tables(db)
        except BaseException:
            conn.close()
            raise
        return db

    @contextmanager
    def failing(self):
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

    @contextmanager
    def _transaction(self):
        conn = self.database().conn
        conn.execute("begin immediate")
        try:
            yield conn
            conn.execute("commit")
        except BaseException:
            if conn.in_transaction:
                conn.execute("rollback")
            raise

    def write(self, records, reserve, saving):
        numbered = [row for row in records if row["id"] is None]
        try:
            with self._transaction() as conn:
                block = _reserve(conn, reserve) if reserve else None
                for row, query_id in zip(numbered, range(block[0], block[1] + 1) if block else ()):
                    row["id"] = query_id
                _insert_rows(conn, records)
                if saving:
                    conn.execute("insert into dropped (time, questions) values (?, ?)", [time.strftime(TIME_FORMAT), saving])
        except BaseException:
            for row in numbered:
                row["id"] = None
            raise
        if block is None:
            return []
        first = block[0] + len(numbered)
        return [(first, block[1])] if first <= block[1] else []

    def add_feedback(self, row, voter):
        db = self.database()
        if not list(db.query("select 1 from queries where id = ?", [row["query_id"]])):
            return False
        if voter is not None and list(db.query("select 1 from feedback where query_id = ? and voter = ?", [row["query_id"], voter])):
            raise AlreadyVotedError(row["query_id"])
        db["feedback"].insert(row)
        return True

    def delete_users(self, requests):
        """Every question of each user in `requests` (user hash -> when asked): one file, one
        machine, so no other writer can hold rows recorded before the request."""
        counts = {}
        with self._transaction() as conn:
            for user_hash in requests:
                ids = [r[0] for r in conn.execute("select id from queries where user_hash = ?", [user_hash])]
                _delete(conn, ids)
                counts[user_hash] = len(ids)
        return counts

    def scrub(self):
        """Copy the WAL into the database and truncate it, so deleted text leaves the WAL; False
        when a reader kept it from completing."""
        busy, _, _ = self.database().conn.execute("pragma wal_checkpoint(TRUNCATE)").fetchone()
        return busy == 0

    def purge_batch(self, cutoff, limit):
        with self._transaction() as conn:
            ids = [r[0] for r in conn.execute("select id from queries where time < ? order by time limit ?", [cutoff, limit])]
            _delete(conn, ids)
        return len(ids)

    def rows(self, sql, params=()):
        return list(self.database().query(sql, params))

    def scalar(self, sql, params=()):
        return self.database().execute(sql, params).fetchone()[0]

    def finish(self, unsaved, ids):
        conn = self.database().conn
        if unsaved:
            conn.execute("insert into dropped (time, questions) values (?, ?)", [time.strftime(TIME_FORMAT), unsaved])
        if ids:  # the unused end of the last block, if nobody reserved after it
            conn.execute("update query_ids set upto = ? where upto = ?", [ids[-1][0] - 1, ids[-1][1]])

    @property
    def is_open(self):
        return self._db is not None

    def close(self):
        if self._db is not None:
            self._db.close()
            self._db = None


# -- SQL ---------------------------------------------------------------------------------------
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
    # The highest query id handed out to any process: ids are reserved in blocks.
    db["query_ids"].create({"upto": int}, if_not_exists=True)
    # Questions that could not be logged (queue full, left at a shutdown): one row per count.
    db["dropped"].create({"id": int, "time": str, "questions": int}, pk="id", if_not_exists=True)
    db["queries"].create_index(["user_hash"], if_not_exists=True)
    db["queries"].create_index(["time"], if_not_exists=True)
    db["feedback"].create_index(["query_id"], if_not_exists=True)


def _reserve(conn, count):
    """(first, last) of `count` query ids no other process has (inside a write transaction)."""
    (reserved,) = conn.execute("select max(upto) from query_ids").fetchone()
    (highest,) = conn.execute("select max(id) from queries").fetchone()
    first = max(reserved or 0, highest or 0) + 1
    conn.execute("delete from query_ids")
    conn.execute("insert into query_ids (upto) values (?)", [first + count - 1])
    return first, first + count - 1


def _insert_rows(conn, rows):
    """Insert question rows with their reserved ids; a row whose id another writer took (an
    older version inserting without reserving) gets the next free one."""
    conn.execute("savepoint rows")
    try:
        conn.executemany(_INSERT, [[row[c] for c in COLUMNS] for row in rows])
    except sqlite3.IntegrityError:
        conn.execute("rollback to rows")
        for row in rows:
            try:
                conn.execute(_INSERT, [row[c] for c in COLUMNS])
            except sqlite3.IntegrityError:
                taken = row["id"]
                row["id"] = conn.execute(_INSERT, [None, *[row[c] for c in COLUMNS[1:]]]).lastrowid
                _querylog_log.warning("query id %s was taken by another writer; the question got id %s", taken, row["id"])
    conn.execute("release rows")


def _delete(conn, ids):
    for start in range(0, len(ids), _DELETE_CHUNK):
        chunk = ids[start : start + _DELETE_CHUNK]
        marks = ",".join("?" * len(chunk))
        conn.execute(f"delete from feedback where query_id in ({marks})", chunk)
        conn.execute(f"delete from queries where id in ({marks})", chunk)


# -- files -------------------------------------------------------------------------------------
def private_file(path, create=True):
    """Make `path` readable by its owner only (0600), creating it empty when asked."""
    if create:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    try:
        if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
            os.chmod(path, 0o600)
    except FileNotFoundError:
        pass
