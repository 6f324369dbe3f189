"""Session cookies ended by logout before they expire, kept in a file so a restart keeps them ended.

A cookie is stateless (signed, valid 8-12 h), so logging out only asked the browser to forget
it; a copied cookie stayed valid. Each logout appends `<issued> <digest of the cookie>` to
`revoked-<realm>.txt` (0600, fsync'd); every process reads the file again when it changes, and
entries older than the realm's max_age are dropped when the file is rewritten.
"""

import hashlib
import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)


class RevokedSessions:
    def __init__(self, path, max_age, clock=time.time, max_entries=10_000):
        self.path = Path(path)
        self.max_age = max_age
        self.clock = clock
        self.max_entries = max_entries
        self._entries = {}  # digest -> issued
        self._seen = None  # (mtime_ns, size) of the file when last read
        self._lock = threading.Lock()

    @staticmethod
    def _digest(raw):
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]

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
