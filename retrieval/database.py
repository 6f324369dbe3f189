"""PostgreSQL (MINZHENG_DATABASE_URL): one connection pool per process, the schema and its migrations.

What must last across workers and machines lives here when it is configured: the query log and
feedback and the users' deletion requests (retrieval/pglog.py), the accepted builds
(retrieval/shared_builds.py), the web sessions ended by logout (channels/web/revoked.py). Nothing connects
at import or construction: the pool opens on first use, and the first connection a process
takes migrates the schema (`bot.py migrate` does the same explicitly). Migrations run under an
advisory lock, so workers starting together apply each one once; a database migrated by a newer
program is refused (SchemaTooNewError) rather than written with the wrong idea of its tables.

psycopg is imported only here and in pglog.py, and only when PostgreSQL is configured: the
embedded default never needs it.
"""

import logging
import math
import threading
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from .errors import DatabaseError, SchemaTooNewError

log = logging.getLogger(__name__)

_LOCK_KEY = 7_316_220_261  # pg_advisory_xact_lock key of our migrations
NOTIFY_CHANNEL = "minzheng_builds"  # retrieval/shared_builds.py: a build was accepted or withdrawn

# Each entry one schema version, applied in order, never edited once released (add a new one).
# Times are text in the query log's TIME_FORMAT, as in the SQLite log, so one set of reads
# (retrieval/querylog.py) runs on both.
MIGRATIONS = (
    # 1: the query log and feedback (retrieval/querylog.py, retrieval/pglog.py)
    """
    create sequence query_id_seq;
    create table queries (
        id bigint primary key default nextval('query_id_seq'),
        time text not null, channel text, user_hash text, question text, kind text, outcome text,
        faq_id text, source_ids text, latency_ms double precision
    );
    create index queries_user_hash on queries (user_hash);
    create index queries_time on queries (time);
    create table feedback (
        id bigserial primary key,
        query_id bigint not null references queries (id) on delete cascade,
        time text not null, value integer not null, comment text, voter text
    );
    create index feedback_query_id on feedback (query_id);
    create unique index feedback_one_vote on feedback (query_id, voter) where voter is not null;
    create table dropped (id bigserial primary key, time text not null, questions integer not null);
    """,
    # 2: the accepted builds, newest last; a rollback withdraws the newest (retrieval/shared_builds.py)
    """
    create table builds (
        id bigserial primary key,
        input_hash text, built_at text,
        accepted_at timestamptz not null default now(),
        withdrawn_at timestamptz,
        size bigint not null,
        store bytea
    );
    create index builds_current on builds (id) where withdrawn_at is null;
    """,
    # 3: web sessions ended by logout before they expire, per realm (channels/web/revoked.py)
    """
    create table revoked_sessions (
        realm text not null,
        digest text not null,
        issued bigint not null,
        revoked_at timestamptz not null default now(),
        primary key (realm, digest)
    );
    create index revoked_sessions_issued on revoked_sessions (realm, issued);
    """,
    # 4: users' deletion requests (unsubscribe, /forget): every writer drops that user's rows
    # recorded before the request (retrieval/pglog.py); requested_at in seconds since the epoch
    """
    create table deletions (user_hash text primary key, requested_at double precision not null);
    create index deletions_requested_at on deletions (requested_at);
    """,
)


def safe_url(url):
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}" if user else f"***@{netloc}"))


def reason(exc):
    """The server's or driver's message of an error, on one line, without the statement quoted."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = primary or (str(exc).strip().splitlines() or [""])[0]
    return " ".join(text.split()) or type(exc).__name__


class Database:
    def __init__(self, url, pool_size=4, timeout=2.0):
        self.url = url
        self.where = safe_url(url)
        self.pool_size = pool_size
        self.timeout = timeout  # seconds to wait for a connection or a lock before giving up
        self._pool = None
        self._pool_lock = threading.Lock()
        self._migrated = False

    def _open_pool(self):
        from psycopg_pool import ConnectionPool

        pool = ConnectionPool(
            self.url,
            min_size=1,
            max_size=self.pool_size,
            timeout=self.timeout,
            # After a restart of the server every pooled connection is dead: check before handing one out.
            check=ConnectionPool.check_connection,
            kwargs={"autocommit": True, "connect_timeout": max(1, math.ceil(self.timeout))},
            reconnect_timeout=24 * 3600,  # keep trying through a long outage
            name="minzheng",
            open=False,
        )
        pool.open(wait=False)
        return pool

    @property
    def pool(self):
        if self._pool is None:
            with self._pool_lock:
                if self._pool is None:
                    self._pool = self._open_pool()
        return self._pool

    @contextmanager
    def failing(self):
        """psycopg's errors (server gone, timeout, refused statement) become DatabaseError."""
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            raise DatabaseError(self.where, reason(exc)) from exc

    @contextmanager
    def connection(self):
        """A pooled connection (autocommit; use `conn.transaction()`), the schema migrated first."""
        with self.failing(), self.pool.connection() as conn:
            if not self._migrated:
                _migrate(conn, self.where)
                self._migrated = True
            yield conn

    def migrate(self):
        """Bring the schema to the newest version; returns (version before, version now)."""
        with self.failing(), self.pool.connection() as conn:
            done = _migrate(conn, self.where)
        self._migrated = True
        return done

    def version(self):
        with self.connection() as conn:
            return conn.execute("select coalesce(max(version), 0) from schema_version").fetchone()[0]

    def ping(self):
        """None when a statement runs; DatabaseError (named) otherwise."""
        with self.connection() as conn:
            conn.execute("select 1")

    def listener(self):
        """A connection of its own (not pooled) for LISTEN: it waits for notifications."""
        import psycopg

        with self.failing():
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, math.ceil(self.timeout)))
            conn.execute(f"listen {NOTIFY_CHANNEL}")
        return conn

    def close(self):
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


def _migrate(conn, where):
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        conn.execute("create table if not exists schema_version (version integer primary key, applied_at timestamptz not null default now())")
        before = conn.execute("select coalesce(max(version), 0) from schema_version").fetchone()[0]
        if before > len(MIGRATIONS):
            raise SchemaTooNewError(where, f"the schema is at version {before}; this program knows versions up to {len(MIGRATIONS)}")
        for version in range(before + 1, len(MIGRATIONS) + 1):
            conn.execute(MIGRATIONS[version - 1])
            conn.execute("insert into schema_version (version) values (%s)", [version])
            log.info("PostgreSQL schema migrated to version %d", version)
    return before, len(MIGRATIONS)
