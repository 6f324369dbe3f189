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


# One token bucket per key, checked and spent in one step on the Redis server's clock, so N
# workers on any number of machines share one limit. The hash {tokens, last} expires once the
# bucket would be full again (a missing bucket is a full one).
TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local spend = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(state[1]) or capacity
local last = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - last) * rate)
local allowed = 0
if tokens >= 1 then
  allowed = 1
  tokens = tokens - spend
end
if spend > 0 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
end
local wait = 0
if tokens < 1 then wait = (1 - tokens) / rate end
return {allowed, tostring(wait)}
"""


class RedisRateLimiter:
    """RateLimiter's interface over one Redis token bucket per key (`name` keeps limits with the
    same keys apart); the in-process RateLimiter while Redis does not answer."""

    def __init__(self, link, name, per_minute):
        self.link = link
        self.name = name
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.local = RateLimiter(per_minute)
        self._script = link.client.register_script(TOKEN_BUCKET)

    def _bucket(self, key, spend):
        from .sharedstate import key as redis_key

        allowed, wait = self._script(keys=[redis_key("rate:" + self.name, *_parts(key))], args=[self.capacity, self.rate, spend])
        return bool(allowed), float(wait)

    def allow(self, key):
        """True and one token spent, or False when this user must wait."""
        if self.capacity <= 0:
            return True
        return self.link.run(lambda client: self._bucket(key, 1)[0], lambda: self.local.allow(key))

    def retry_after(self, key):
        """Seconds until `key` may ask again (0 when it may now)."""
        if self.capacity <= 0:
            return 0.0
        return self.link.run(lambda client: self._bucket(key, 0)[1], lambda: self.local.retry_after(key))


def _parts(key):
    return key if isinstance(key, tuple) else (key,)
