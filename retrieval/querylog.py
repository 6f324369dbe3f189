"""The query log and feedback (SQLite, a file beside the store).

Per question: time, channel, a keyed hash of the user id (never the raw id), the question,
the answer kind, FAQ id, source ids and latency. Feedback rows point at a query id.
"""

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path

import sqlite_utils


class QueryLog:
    def __init__(self, path, key=""):
        self.path = Path(path)
        self._key = key.encode("utf-8") if key else None
        self._lock = threading.Lock()
        self._db = None

    @property
    def db(self):
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("pragma journal_mode=wal")
            db = sqlite_utils.Database(conn)
            if self._key is None:
                self._key = self._key_from_file()
            _create_tables(db)
            self._db = db
        return self._db

    def _key_from_file(self):
        key_file = self.path.with_suffix(".key")
        if not key_file.exists():
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return key_file.read_text().strip().encode("utf-8")

    def user_hash(self, channel, user):
        if user is None:
            return None
        self.db
        return hmac.new(self._key, f"{channel}:{user}".encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def record(self, channel, user, question, answer, latency_ms):
        """Store one answered question; returns its id (for feedback)."""
        row = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "channel": channel,
            "user_hash": self.user_hash(channel, user),
            "question": question,
            "kind": answer.kind,
            "faq_id": answer.faq_id,
            "source_ids": json.dumps([h.passage["id"] for h in answer.sources], ensure_ascii=False),
            "latency_ms": round(latency_ms, 2),
        }
        with self._lock:
            return self.db["queries"].insert(row).last_pk

    def feedback(self, query_id, value, comment=None):
        """Store 👍 (+1) or 👎 (-1) for a logged question; False when the query id is unknown."""
        with self._lock:
            if not list(self.db.query("select 1 from queries where id = ?", [query_id])):
                return False
            self.db["feedback"].insert({"query_id": query_id, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "value": int(value), "comment": comment})
            return True

    def recent_declined(self, limit=20):
        """The latest declined questions, newest first (admin page, report)."""
        with self._lock:
            return list(self.db.query("select * from queries where kind != 'answer' order by id desc limit ?", [limit]))

    def recent_negative(self, limit=20):
        """The latest 👎 feedback with its question, newest first."""
        sql = (
            "select q.*, f.time as feedback_time, f.comment from feedback f join queries q on q.id = f.query_id "
            "where f.value < 0 order by f.id desc limit ?"
        )
        with self._lock:
            return list(self.db.query(sql, [limit]))

    def forget(self, channel, user):
        """Delete every row of one user (WeChat unsubscribe, Telegram /forget); returns rows deleted."""
        user_hash = self.user_hash(channel, user)
        with self._lock:
            ids = [r["id"] for r in self.db.query("select id from queries where user_hash = ?", [user_hash])]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self.db.execute(f"delete from feedback where query_id in ({marks})", chunk)
            self.db.execute("delete from queries where user_hash = ?", [user_hash])
            return len(ids)

    def counts(self):
        with self._lock:
            return {
                "queries": self.db["queries"].count,
                "declined": self.db.execute("select count(*) from queries where kind != 'answer'").fetchone()[0],
                "feedback_up": self.db.execute("select count(*) from feedback where value > 0").fetchone()[0],
                "feedback_down": self.db.execute("select count(*) from feedback where value < 0").fetchone()[0],
            }

    def close(self):
        if self._db is not None:
            self._db.close()
            self._db = None


def _create_tables(db):
    db["queries"].create(
        {"id": int, "time": str, "channel": str, "user_hash": str, "question": str, "kind": str, "faq_id": str, "source_ids": str, "latency_ms": float},
        pk="id",
        if_not_exists=True,
    )
    db["feedback"].create(
        {"id": int, "query_id": int, "time": str, "value": int, "comment": str},
        pk="id",
        foreign_keys=[("query_id", "queries", "id")],
        if_not_exists=True,
    )
    db["queries"].create_index(["user_hash"], if_not_exists=True)
    db["feedback"].create_index(["query_id"], if_not_exists=True)
