"""The query log's rows in PostgreSQL: the storage interface of retrieval/logstore.py.

Every worker on every machine writes into the same tables; query ids come from one sequence, so
they never collide (an id block a worker reserved and did not use leaves a gap). A statement
waits at most the log's BUSY_TIMEOUT for a lock (`lock_timeout`), as SQLite waits for a busy
file, and a server that is down or restarting makes the writer keep its rows queued and retry
(retrieval/querylog.py). A user's deletion request is a row of `deletions` that every writer
reads before it inserts: a question that waited in some process's queue while that user asked to
be forgotten elsewhere is dropped, not written after the deletion. One vote per answer per user
is a unique index, so two workers taking the same vote at once store one. Deleted rows are vacuumed at once; PostgreSQL may keep their
bytes in its WAL and in free space until they are reused (docs/operations.md).
"""

import logging
import time
from contextlib import contextmanager

from .errors import AlreadyVotedError, DatabaseError, QueryLogError
from .logstore import COLUMNS, TIME_FORMAT

log = logging.getLogger("retrieval.querylog")
_INSERT = f"insert into queries ({', '.join(COLUMNS)}) values ({', '.join(['%s'] * len(COLUMNS))})"


def _sql(text):
    """Our portable SQL (`?` placeholders) in psycopg's dialect (`%s`)."""
    return text.replace("%", "%%").replace("?", "%s")


class PostgresLogStorage:
    def __init__(self, database, busy_timeout):
        self.database_ = database  # retrieval.database.Database
        self.busy_timeout = busy_timeout  # a callable, as for SQLite
        self._reader = None

    @property
    def where(self):
        return self.database_.where

    def database(self):
        """A small reader over the tables with the part of sqlite-utils' interface reads use."""
        if self._reader is None:
            with self.database_.connection():  # reachable and migrated, or QueryLogError now
                pass
            self._reader = Reader(self.database_)
        return self._reader

    @contextmanager
    def failing(self):
        try:
            yield
        except DatabaseError as exc:
            raise QueryLogError(self.where, exc.reason) from exc
        except OSError as exc:
            raise QueryLogError(self.where, str(exc)) from exc

    @contextmanager
    def _transaction(self):
        with self.database_.connection() as conn, conn.transaction():
            conn.execute(f"set local lock_timeout = '{int(self.busy_timeout() * 1000)}ms'")
            yield conn

    def write(self, records, reserve, saving):
        numbered = [row for row in records if row["id"] is None]
        blocks = []
        try:
            with self._transaction() as conn:
                if reserve:
                    ids = [r[0] for r in conn.execute("select nextval('query_id_seq') from generate_series(1, %s)", [reserve])]
                    for row, query_id in zip(numbered, ids):
                        row["id"] = query_id
                    blocks = _ranges(ids[len(numbered) :])
                kept = _not_forgotten(conn, records)
                if kept:
                    with conn.cursor() as cur:
                        cur.executemany(_INSERT, [[row[c] for c in COLUMNS] for row in kept])
                if saving:
                    conn.execute("insert into dropped (time, questions) values (%s, %s)", [time.strftime(TIME_FORMAT), saving])
        except BaseException:
            for row in numbered:
                row["id"] = None
            raise
        return blocks

    def add_feedback(self, row, voter):
        import psycopg

        with self._transaction() as conn:
            if conn.execute("select 1 from queries where id = %s", [row["query_id"]]).fetchone() is None:
                return False
            try:
                with conn.transaction():
                    conn.execute(
                        "insert into feedback (query_id, time, value, comment, voter) values (%s, %s, %s, %s, %s)",
                        [row["query_id"], row["time"], row["value"], row["comment"], row["voter"]],
                    )
            except psycopg.errors.UniqueViolation:
                raise AlreadyVotedError(row["query_id"]) from None
        return True

    def delete_users(self, requests):
        """Record each request (user hash -> seconds since the epoch) for every writer, then
        delete that user's questions recorded up to it; later ones (asked again after the
        request, on any machine) stay."""
        counts = {}
        with self._transaction() as conn:
            # ROW EXCLUSIVE on deletions: waits for the writers holding SHARE (their rows are then
            # committed and deleted here); writers starting now wait for this commit and see it.
            for user_hash, requested_at in requests.items():
                conn.execute(
                    "insert into deletions (user_hash, requested_at) values (%s, %s) "
                    "on conflict (user_hash) do update set requested_at = greatest(deletions.requested_at, excluded.requested_at)",
                    [user_hash, requested_at],
                )
                up_to = time.strftime(TIME_FORMAT, time.localtime(requested_at))  # the rows' times have whole seconds
                # feedback goes with its question (on delete cascade)
                counts[user_hash] = conn.execute("delete from queries where user_hash = %s and time <= %s", [user_hash, up_to]).rowcount
        return counts

    def scrub(self):
        """Vacuum the two tables, so deleted rows' space is marked free and index entries go."""
        with self.database_.connection() as conn:
            conn.execute("vacuum queries, feedback")
        return True

    def purge_batch(self, cutoff, limit):
        with self._transaction() as conn:
            sql = "delete from queries where id in (select id from queries where time < %s order by time limit %s)"
            deleted = conn.execute(sql, [cutoff, limit]).rowcount
            # A request older than the retention has nothing left to guard: rows that old are purged anyway.
            conn.execute("delete from deletions where requested_at < %s", [time.mktime(time.strptime(cutoff, TIME_FORMAT))])
            return deleted

    def rows(self, sql, params=()):
        return self.database().query(sql, params)

    def scalar(self, sql, params=()):
        with self.database_.connection() as conn:
            return conn.execute(_sql(sql), list(params)).fetchone()[0]

    def finish(self, unsaved, ids):
        """Count what was dropped; reserved ids are not given back (a gap in the sequence)."""
        if unsaved:
            with self._transaction() as conn:
                conn.execute("insert into dropped (time, questions) values (%s, %s)", [time.strftime(TIME_FORMAT), unsaved])

    @property
    def is_open(self):
        return self._reader is not None

    def close(self):
        """The pool belongs to the Database (shared with the builds); it stays open."""
        self._reader = None


def _not_forgotten(conn, records):
    """The rows to insert: without those recorded before their user's deletion request (made
    on any machine while they waited in this process's queue). SHARE on deletions until the
    commit, so a request being recorded now is either seen here or deletes these rows after."""
    conn.execute("lock table deletions in share mode")
    users = sorted({row["user_hash"] for row in records if row["user_hash"] is not None})
    if not users:
        return records
    requested = dict(conn.execute("select user_hash, requested_at from deletions where user_hash = any(%s)", [users]).fetchall())
    if not requested:
        return records
    kept = [row for row in records if row["user_hash"] not in requested or row["recorded_at"] > requested[row["user_hash"]]]
    if len(kept) < len(records):
        log.info("%d queued questions of users who asked to be forgotten were not written", len(records) - len(kept))
    return kept


def _ranges(ids):
    """Consecutive runs of a sorted id list as (first, last)."""
    runs = []
    for query_id in ids:
        if runs and runs[-1][1] + 1 == query_id:
            runs[-1][1] = query_id
        else:
            runs.append([query_id, query_id])
    return [tuple(r) for r in runs]


class _Result:
    def __init__(self, rows, rowcount):
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self):
        return self._rows[0] if self._rows else None

    def fetchall(self):
        return list(self._rows)


class _Inserted:
    def __init__(self, last_pk):
        self.last_pk = last_pk


class Reader:
    """`QueryLog.db` on PostgreSQL: query/execute with `?` placeholders and tables by name
    (rows, rows_where, get, count, insert), as admin pages, tests and operators read the log."""

    def __init__(self, database):
        self._database = database

    def query(self, sql, params=()):
        from psycopg.rows import dict_row

        with self._database.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(_sql(sql), list(params))
            return cur.fetchall()

    def execute(self, sql, params=()):
        with self._database.connection() as conn, conn.cursor() as cur:
            cur.execute(_sql(sql), list(params))
            return _Result(cur.fetchall() if cur.description else [], cur.rowcount)

    def __getitem__(self, name):
        if name not in ("queries", "feedback", "dropped"):
            raise KeyError(name)
        return _Table(self, name)


class _Table:
    def __init__(self, reader, name):
        self._reader = reader
        self.name = name

    @property
    def rows(self):
        return iter(self._reader.query(f"select * from {self.name} order by id"))

    def rows_where(self, where, params=()):
        return iter(self._reader.query(f"select * from {self.name} where {where} order by id", params))

    def get(self, pk):
        rows = self._reader.query(f"select * from {self.name} where id = ?", [pk])
        if not rows:
            raise KeyError(pk)
        return rows[0]

    @property
    def count(self):
        return self._reader.execute(f"select count(*) from {self.name}").fetchone()[0]

    def insert(self, row):
        columns = list(row)
        sql = f"insert into {self.name} ({', '.join(columns)}) values ({', '.join('?' * len(columns))}) returning id"
        return _Inserted(self._reader.execute(sql, [row[c] for c in columns]).fetchone()[0])
