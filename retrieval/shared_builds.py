"""The accepted builds in PostgreSQL, so every worker on every machine serves the same one.

Each accepted build is a row of `builds` (id, input hash, built_at, the whole store file); the
current one is the newest not withdrawn. A reload or `bot.py build` publishes its store after
accepting it locally (retrieval/builds.py); a rollback withdraws the current row. Both send a
NOTIFY. Each process's watcher (retrieval/assistant.py) LISTENs, and also reads the one current
row every WATCH_POLL seconds (a notification sent while it was disconnected is not lost), then
installs the current build into its own var/ as its newest local accepted build
(retrieval/builds.py) and serves it. A process that starts takes the current build before
loading anything, never the tree in knowledge/ as it is.

The store bytes of builds older than the last builds.KEEP are dropped (the rows stay: the
history of what was accepted when).
"""

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from . import builds, store
from .database import NOTIFY_CHANNEL
from .errors import NoPreviousBuildError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SharedBuild:
    id: int
    input_hash: str
    built_at: str

    @property
    def build_id(self):
        return (self.input_hash, self.built_at)


_CURRENT = "select id, input_hash, built_at from builds where withdrawn_at is null and store is not null order by id desc limit 1"


class SharedBuilds:
    def __init__(self, database, store_path):
        self.database = database  # retrieval.database.Database
        self.store_path = Path(store_path)

    def current(self):
        """The build every worker should serve, or None when none was published."""
        with self.database.connection() as conn:
            row = conn.execute(_CURRENT).fetchone()
        return SharedBuild(*row) if row else None

    def publish(self, path=None):
        """Record the store file (default: the live store) as the newest accepted build and
        tell every worker; returns its SharedBuild. The same build as the current one is not
        recorded twice."""
        path = Path(path or self.store_path)
        metadata = store.read_metadata(path)
        data = path.read_bytes()
        with self.database.connection() as conn, conn.transaction():
            row = conn.execute(_CURRENT + " for update").fetchone()
            if row and (row[1], row[2]) == builds.build_id(metadata):
                return SharedBuild(*row)
            (build_id,) = conn.execute(
                "insert into builds (input_hash, built_at, size, store) values (%s, %s, %s, %s) returning id",
                [metadata.get("input_hash"), metadata.get("built_at"), len(data), data],
            ).fetchone()
            conn.execute(
                "update builds set store = null where store is not null and withdrawn_at is null and id not in "
                "(select id from builds where withdrawn_at is null and store is not null order by id desc limit %s)",
                [builds.KEEP],
            )
            conn.execute("select pg_notify(%s, %s)", [NOTIFY_CHANNEL, str(build_id)])
        log.info("published accepted build %d (%s) to PostgreSQL", build_id, metadata.get("built_at"))
        return SharedBuild(build_id, metadata.get("input_hash"), metadata.get("built_at"))

    def withdraw(self):
        """Rollback: withdraw the current build; returns (the build now current, builds still
        before it). NoPreviousBuildError when there is none before it."""
        with self.database.connection() as conn, conn.transaction():
            rows = conn.execute(
                "select id, input_hash, built_at from builds where withdrawn_at is null and store is not null order by id desc limit 2 for update"
            ).fetchall()
            if len(rows) < 2:
                raise NoPreviousBuildError(f"no accepted build before the current one in PostgreSQL {self.database.where}")
            conn.execute("update builds set withdrawn_at = now() where id = %s", [rows[0][0]])
            (earlier,) = conn.execute("select count(*) from builds where withdrawn_at is null and store is not null and id < %s", [rows[1][0]]).fetchone()
            conn.execute("select pg_notify(%s, %s)", [NOTIFY_CHANNEL, str(rows[1][0])])
        return SharedBuild(*rows[1]), earlier

    def install(self, build):
        """Make `build` the live store here (and the newest local accepted build); False when it
        already is. The file is fetched whole, written beside the store and linked into place."""
        with builds.locked(self.store_path):
            if builds.build_id(store.read_metadata(self.store_path)) == build.build_id:
                return False
            with self.database.connection() as conn:
                row = conn.execute("select store from builds where id = %s", [build.id]).fetchone()
            if row is None or row[0] is None:
                return False
            where = builds.folder(self.store_path)
            tmp = where / f".shared-{build.id}.{os.getpid()}.tmp"
            with builds.writing(where):
                where.mkdir(parents=True, exist_ok=True)
                try:
                    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    with os.fdopen(fd, "wb") as f:
                        f.write(row[0])
                        f.flush()
                        os.fsync(f.fileno())
                    entry = builds.add(self.store_path, tmp)
                    store.remove_stale(self.store_path)
                    builds.link_over(entry, self.store_path)
                    builds.prune(self.store_path)
                finally:
                    tmp.unlink(missing_ok=True)
        log.info("serving accepted build %d (%s) from PostgreSQL", build.id, build.built_at)
        return True
