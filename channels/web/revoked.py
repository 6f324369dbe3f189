"""Session cookies ended by logout before they expire: in a file (one machine), or in PostgreSQL.

A cookie is stateless (signed, valid 8-12 h), so logging out only asked the browser to forget
it; a copied cookie stayed valid. `revocations(settings, database)` chooses once at start how
each realm remembers logouts, and the realms get the result:

- `RevokedSessions` (the embedded default): each logout appends `<issued> <digest of the cookie>`
  to `revoked-<realm>.txt` (0600, fsync'd); every process reads the file again when it changes,
  and entries older than the realm's max_age are dropped when the file is rewritten.
- `PostgresRevokedSessions` (MINZHENG_DATABASE_URL): one row per logout in `revoked_sessions`,
  so a logout through any worker on any machine ends the cookie everywhere; each process reads
  the realm's rows again at most REFRESH_SECONDS after it last did, and rows past max_age are
  purged. A server that is away never fails a request: a logout is kept in this process (and
  said so in the log) and written by a retry as soon as the server answers.
"""

import hashlib
import logging
import os
import threading
import time
from pathlib import Path

from retrieval.errors import DatabaseError

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0  # a logout through another worker or machine is honoured here within this
RETRY_SECONDS = 1.0  # while PostgreSQL is away: how often a background retry tries it again
PURGE_SECONDS = 600.0  # expired rows are deleted at most this often (and at every logout)


def revocations(settings, database=None, clock=time.time):
    """realm name, max_age -> where that realm's logouts are kept: files in
    MINZHENG_SESSION_REVOCATION_DIR, or PostgreSQL when a database is configured."""
    if database is None:
        return lambda realm, max_age: RevokedSessions(settings.session_revocation_folder / f"revoked-{realm}.txt", max_age, clock=clock)
    return lambda realm, max_age: PostgresRevokedSessions(database, realm, max_age, clock=clock)


def _digest(raw):
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


class RevokedSessions:
    def __init__(self, path, max_age, clock=time.time, max_entries=10_000):
        self.path = Path(path)
        self.max_age = max_age
        self.clock = clock
        self.max_entries = max_entries
        self._entries = {}  # digest -> issued
        self._seen = None  # (mtime_ns, size) of the file when last read
        self._lock = threading.Lock()

    _digest = staticmethod(_digest)

    def revoke(self, raw, issued):
        """End one session now and for good (until it would have expired anyway)."""
        digest = self._digest(raw)
        with self._lock:
            self._refresh()
            self._entries[digest] = int(issued)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    os.write(fd, f"{int(issued)} {digest}\n".encode("ascii"))
                    os.fsync(fd)
                finally:
                    os.close(fd)
                if len(self._entries) > self.max_entries:
                    self._compact()
                self._seen = self._stat()
            except OSError as exc:
                # Still ended in this process; a restart would bring it back, so say so.
                log.error("logout could not be recorded in %s (%s): the session ends only in this process", self.path, exc.strerror)

    def is_revoked(self, raw):
        with self._lock:
            self._refresh()
            return self._digest(raw) in self._entries

    def _stat(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _refresh(self):
        seen = self._stat()
        if seen == self._seen:
            return
        entries = {}
        if seen is not None:
            try:
                text = self.path.read_text(encoding="ascii", errors="replace")
            except OSError as exc:
                log.error("cannot read %s (%s): keeping the revocations already known", self.path, exc.strerror)
                return
            now = self.clock()
            for line in text.splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0].isdigit() and now - int(parts[0]) <= self.max_age:
                    entries[parts[1]] = int(parts[0])
        self._entries.update(entries)
        self._seen = seen

    def _compact(self):
        now = self.clock()
        self._entries = {d: issued for d, issued in self._entries.items() if now - issued <= self.max_age}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write("".join(f"{issued} {d}\n" for d, issued in self._entries.items()))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


class PostgresRevokedSessions:
    """RevokedSessions for every worker on every machine, in the `revoked_sessions` table."""

    def __init__(self, database, realm, max_age, clock=time.time, max_entries=10_000, refresh_seconds=REFRESH_SECONDS, monotonic=time.monotonic):
        self.database = database  # retrieval.database.Database
        self.realm = realm
        self.max_age = max_age
        self.clock = clock  # the cookies' clock: what `issued` is compared with
        self.max_entries = max_entries
        self.refresh_seconds = refresh_seconds
        self.monotonic = monotonic
        self._entries = {}  # digest -> issued: the rows last read, and this process's unwritten logouts
        self._unsaved = {}  # digest -> issued: logouts not written yet (the server was away)
        self._read_at = None  # monotonic() of the last read
        self._purged_at = None
        self._down = False  # the last attempt failed: retries run in the background
        self._retry_at = 0.0
        self._retrying = False
        self._lock = threading.Lock()  # the dicts and flags
        self._syncing = threading.Lock()  # one exchange with the server at a time

    def revoke(self, raw, issued):
        """End one session now, here at once and for every process once it is written."""
        digest = _digest(raw)
        with self._lock:
            self._entries[digest] = int(issued)
            self._unsaved[digest] = int(issued)
            down = self._down
        if not down:
            with self._syncing:
                if self._sync(purge=True):
                    return
        log.error("the %s logout could not be recorded in PostgreSQL %s: the session ends in this process now, "
                  "everywhere once it is written (retried every %g s)", self.realm, self.database.where, RETRY_SECONDS)
        self._retry_later()

    def is_revoked(self, raw):
        with self._lock:
            stale = self._read_at is None or self.monotonic() - self._read_at >= self.refresh_seconds
            down = self._down
        if stale:
            if down:
                self._retry_later()  # never wait for a server that is away
            elif self._syncing.acquire(blocking=False):  # else another thread is reading just now
                try:
                    self._sync()
                finally:
                    self._syncing.release()
        with self._lock:
            return _digest(raw) in self._entries

    def _sync(self, purge=False):
        """Write the unwritten logouts, purge expired rows, read the realm's rows; False when
        the server fails (the entries known stay). Called holding self._syncing."""
        now = self.clock()
        with self._lock:
            unsaved = dict(self._unsaved)
            purge = purge or self._purged_at is None or self.monotonic() - self._purged_at >= PURGE_SECONDS
        try:
            with self.database.connection() as conn:
                with conn.cursor() as cur:
                    cur.executemany(
                        "insert into revoked_sessions (realm, digest, issued) values (%s, %s, %s) on conflict do nothing",
                        [[self.realm, digest, issued] for digest, issued in unsaved.items()],
                    )
                if purge:
                    conn.execute("delete from revoked_sessions where realm = %s and issued < %s", [self.realm, int(now - self.max_age)])
                rows = conn.execute(
                    "select digest, issued from revoked_sessions where realm = %s and issued >= %s order by issued desc limit %s",
                    [self.realm, int(now - self.max_age), self.max_entries],
                ).fetchall()
        except DatabaseError as exc:
            with self._lock:
                first = not self._down
                self._down = True
                self._retry_at = self.monotonic() + RETRY_SECONDS
            if first:
                log.error("PostgreSQL %s fails (%s): %s logouts made here are kept in this process and written when it answers; "
                          "logouts through other machines meanwhile are not seen here", self.database.where, exc.reason, self.realm)
            return False
        with self._lock:
            for digest in unsaved:
                self._unsaved.pop(digest, None)
            entries = dict(rows)
            entries.update(self._unsaved)  # logged out meanwhile, written next time
            self._entries = entries
            self._read_at = self.monotonic()
            if purge:
                self._purged_at = self._read_at
            if self._down:
                self._down = False
                log.warning("PostgreSQL %s answers again: %d %s logouts made meanwhile are recorded", self.database.where, len(unsaved), self.realm)
        return True

    def _retry_later(self):
        """Start the background retry unless it runs: every RETRY_SECONDS until the server
        answers and every logout made here is written (no request has to come for it)."""
        with self._lock:
            if self._retrying:
                return
            self._retrying = True
        threading.Thread(target=self._retry, name=f"revoked-sessions {self.realm}", daemon=True).start()

    def _retry(self):
        try:
            while True:
                with self._lock:
                    wait = self._retry_at - self.monotonic()
                if wait > 0:
                    time.sleep(wait)
                with self._syncing:
                    done = self._sync(purge=True)
                with self._lock:
                    if done and not self._unsaved:
                        self._retrying = False
                        return
                    self._retry_at = self.monotonic() + RETRY_SECONDS
        except BaseException:
            with self._lock:
                self._retrying = False
            raise
