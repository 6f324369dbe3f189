"""Per-user flood protection shared by every channel: a token bucket per (channel, user)."""

import threading
import time


class RateLimiter:
    """Allows `per_minute` questions a minute per user, with bursts up to that many."""

    def __init__(self, per_minute, clock=time.monotonic, max_users=100_000):
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.clock = clock
        self.max_users = max_users
        self._buckets = {}
        self._lock = threading.Lock()

    def allow(self, key):
        """True and one token spent, or False when this user must wait."""
        if self.capacity <= 0:
            return True
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > self.max_users:
                self._forget_full(now)
            return allowed

    def retry_after(self, key):
        """Seconds until `key` may ask again (0 when it may now)."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def _forget_full(self, now):
        """Drop users whose buckets have refilled; they are indistinguishable from new users."""
        full = [k for k, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.capacity]
        for k in full:
            del self._buckets[k]
