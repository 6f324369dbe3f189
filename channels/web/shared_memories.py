"""The web service's memories in Redis when several workers share them (retrieval/sharedstate.py).

- `RedisCredentialLimiter`: CredentialLimiter's reserve/release over Redis (failure times per
  client and over all clients, lock-outs, presentations being checked), one Lua script per call.
- `RedisReplayGuard`: wechat.ReplayGuard's check over one `SET NX GET` per push, expiring when
  the push's signature stops being accepted.
- `RedisPushes`: which worker answers a WeChat push (MsgId or event key): the first to claim it;
  the others wait for its reply text in Redis and send it themselves (WeChat retries and
  duplicate deliveries reaching other workers get one answer and one log row).
- `RedisLastSources`: the passages each WeChat user's last answer cited, for 回复“原文”.

Each falls back to its in-process twin while Redis does not answer (RedisLink.run). With the
embedded default (`sharedstate.Local`) none of this is used: the factories return the
in-process classes, or None for the endpoint's own tables.
"""

import hashlib
import hmac
import secrets
import threading
import time

from retrieval.sharedstate import key as redis_key

from . import wechat
from .auth import CredentialLimiter

PUSH_WAIT_POLL = 0.02  # seconds between looks at another worker's reply
PENDING_TTL = 60  # seconds a reservation outlives a worker that died while checking it


def credential_limiter(shared, settings, clock=time.monotonic):
    """The app's one CredentialLimiter: in this process, or in Redis for every worker."""
    local = CredentialLimiter.from_settings(settings, clock=clock)
    if not shared.shared:
        return local
    return RedisCredentialLimiter(shared.link, local)


def push_memories(shared, clock=time.time):
    """(replay guard, pushes, last sources) in Redis for the WeChat endpoint, or None: its own tables."""
    if not shared.shared:
        return None
    return RedisReplayGuard(shared.link, clock=clock), RedisPushes(shared.link, clock=clock), RedisLastSources(shared.link)


def _seconds_left(timestamp, window, clock):
    """Seconds until a push signed at `timestamp` stops being accepted, by the endpoint's clock
    (at least 1: Redis refuses a TTL of 0)."""
    return max(int(timestamp) + window - int(clock()), 1)


RESERVE = """
local per_client, total, window, password, pending_ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1', tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = (tonumber(redis.call('GET', KEYS[2])) or 0) - now
if password then wait = math.max(wait, (tonumber(redis.call('GET', KEYS[5])) or 0) - now) end
if wait > 0 then return tostring(wait) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if per_client > 0 and redis.call('ZCARD', KEYS[1]) + (tonumber(redis.call('GET', KEYS[3])) or 0) >= per_client then return '1' end
if password and total > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
  if redis.call('ZCARD', KEYS[4]) + (tonumber(redis.call('GET', KEYS[6])) or 0) >= total then return '1' end
end
redis.call('INCR', KEYS[3]); redis.call('EXPIRE', KEYS[3], pending_ttl)
redis.call('INCR', KEYS[6]); redis.call('EXPIRE', KEYS[6], pending_ttl)
return '0'
"""

RELEASE = """
local per_client, total, window, lockout, failed, member = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1', ARGV[6]
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for _, pending in ipairs({KEYS[3], KEYS[6]}) do
  if (tonumber(redis.call('GET', pending)) or 0) > 1 then redis.call('DECR', pending) else redis.call('DEL', pending) end
end
if not failed then return 0 end
local function count(failures, lock, limit)
  redis.call('ZADD', failures, now, member)
  redis.call('ZREMRANGEBYSCORE', failures, '-inf', now - window)
  redis.call('ZREMRANGEBYRANK', failures, 0, -math.max(limit, 1) - 1)
  redis.call('EXPIRE', failures, math.ceil(window))
  if limit > 0 and redis.call('ZCARD', failures) >= limit then
    redis.call('SET', lock, tostring(now + lockout), 'EX', math.ceil(lockout))
    redis.call('DEL', failures)
  end
end
count(KEYS[1], KEYS[2], per_client)
count(KEYS[4], KEYS[5], total)
return 1
"""


class RedisCredentialLimiter:
    """CredentialLimiter's reserve/release for every worker: failure times in sorted sets (at
    most the limit's count each, expiring with the window), lock-outs as keys that expire with
    them, presentations being checked as counters (expiring after PENDING_TTL if a worker dies
    with one reserved)."""

    def __init__(self, link, local):
        self.link = link
        self.local = local  # the in-process limiter: its limits, and the fallback
        self._reserve = link.client.register_script(RESERVE)
        self._release = link.client.register_script(RELEASE)
        self._in_redis = {}  # client -> presentations reserved in Redis (released there too)
        self._lock = threading.Lock()

    def _keys(self, client):
        return [
            redis_key("login:failures", client),
            redis_key("login:locked", client),
            redis_key("login:pending", client),
            redis_key("login:failures", "*all*"),
            redis_key("login:locked", "*all*"),
            redis_key("login:pending", "*all*"),
        ]

    def reserve(self, client, password=True):
        """0 with one presentation reserved (end it with `release`), or the seconds to wait."""
        limits = self.local
        args = [limits.per_client, limits.total, limits.window, "1" if password else "0", PENDING_TTL]

        def in_redis(redis):
            wait = float(self._reserve(keys=self._keys(client), args=args))
            if wait == 0:
                with self._lock:
                    self._in_redis[client] = self._in_redis.get(client, 0) + 1
            return wait

        return self.link.run(in_redis, lambda: self.local.reserve(client, password))

    def release(self, client, failed):
        """End a reserved presentation: counted as a failure when it failed."""
        with self._lock:
            reserved = self._in_redis.get(client, 0)
            if reserved == 1:
                del self._in_redis[client]
            elif reserved:
                self._in_redis[client] = reserved - 1
        if not reserved:
            return self.local.release(client, failed)
        limits = self.local
        args = [limits.per_client, limits.total, limits.window, limits.lockout, "1" if failed else "0", f"{time.time():.6f}:{secrets.token_hex(4)}"]
        # Redis gone since the reservation: its counter expires; the failure counts here.
        self.link.run(lambda redis: self._release(keys=self._keys(client), args=args), lambda: failed and self.local.failed(client))


class RedisReplayGuard:
    """wechat.ReplayGuard.check for every worker: (timestamp, nonce) -> the body's digest, kept
    until the push's signature stops being accepted."""

    def __init__(self, link, window=300, clock=time.time):
        self.link = link
        self.window = window
        self.clock = clock
        self.local = wechat.ReplayGuard(window=window, clock=clock)

    def check(self, timestamp, nonce, body):
        digest = hashlib.sha256(body).hexdigest()
        ttl = _seconds_left(timestamp, self.window, self.clock)

        def in_redis(redis):
            earlier = redis.set(redis_key("wechat:nonce", timestamp, nonce), digest, nx=True, get=True, ex=ttl)
            if earlier is None:
                return wechat.NEW
            return wechat.REPEAT if hmac.compare_digest(earlier.decode("ascii", "replace"), digest) else wechat.FORGED

        return self.link.run(in_redis, lambda: self.local.check(timestamp, nonce, body))


CLAIMED, NO_REPLY, HANDED_OFF, REPLY = b"claimed", b"none", b"handed-off", b"reply:"


class RedisPushes:
    """Which worker answers a push, and its reply for the others (bounded: a reply fits WeChat's
    2048 bytes), until the push's signature stops being accepted."""

    def __init__(self, link, window=300, clock=time.time):
        self.link = link
        self.window = window
        self.clock = clock

    def claim(self, push_key, timestamp):
        """True when this worker answers the push (first to claim it, or Redis away: each worker
        then answers its own deliveries), False when another worker does."""
        ttl = _seconds_left(timestamp, self.window, self.clock)
        return self.link.run(lambda redis: bool(redis.set(redis_key("wechat:push", push_key), CLAIMED, nx=True, ex=ttl)), lambda: True)

    def extend(self, push_key, timestamp):
        """A later signed delivery carries this key: keep it until that one expires too."""
        ttl = _seconds_left(timestamp, self.window, self.clock)
        self.link.run(lambda redis: redis.expire(redis_key("wechat:push", push_key), ttl, gt=True), lambda: None)

    def publish(self, push_key, content, handed_off=False):
        """The claiming worker's outcome: the reply text, no reply, or handed off to 客服消息."""
        value = HANDED_OFF if handed_off else NO_REPLY if content is None else REPLY + content.encode("utf-8", "replace")
        self.link.run(lambda redis: redis.set(redis_key("wechat:push", push_key), value, xx=True, keepttl=True), lambda: None)

    def outcome(self, push_key):
        """(done, reply text or None): done once the claiming worker published; a reply of None
        means `success` (no reply, or handed off). Redis away: (True, None)."""

        def in_redis(redis):
            value = redis.get(redis_key("wechat:push", push_key))
            if value is None or value == CLAIMED:
                return False, None
            if value.startswith(REPLY):
                return True, value[len(REPLY):].decode("utf-8")
            return True, None

        return self.link.run(in_redis, lambda: (True, None))


LAST_SOURCES_SECONDS = 24 * 3600  # 回复“原文” refers to the last answer; a day is plenty
MAX_PASSAGE_IDS = 20


class RedisLastSources:
    """wechat_endpoint.LastSources for every worker: the passage ids cited in each user's last
    answer (at most MAX_PASSAGE_IDS, for a day), so "原文" works whichever worker takes it."""

    def __init__(self, link, seconds=LAST_SOURCES_SECONDS):
        from .wechat_endpoint import LastSources

        self.link = link
        self.seconds = seconds
        self.local = LastSources()

    def remember(self, user, passage_ids):
        ids = tuple(passage_ids)[:MAX_PASSAGE_IDS]
        self.local.remember(user, ids)
        value = "\n".join(ids).encode("utf-8", "replace")
        self.link.run(lambda redis: redis.set(redis_key("wechat:sources", user), value, ex=self.seconds), lambda: None)

    def get(self, user):
        value = self.link.run(lambda redis: redis.get(redis_key("wechat:sources", user)), lambda: _LOCAL)
        if value is _LOCAL:
            return self.local.get(user)
        return tuple(value.decode("utf-8").split("\n")) if value else ()

    def forget(self, user):
        self.local.forget(user)
        self.link.run(lambda redis: redis.delete(redis_key("wechat:sources", user)), lambda: None)


_LOCAL = object()  # Redis did not answer: this worker's own memory
