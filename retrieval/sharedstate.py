"""Where workers keep what they share for a short while: in-process tables, or one Redis.

`open_shared(settings)` is called once at start and the result passed down: `Local()` with no
MINZHENG_REDIS_URL (one process, the tables it always had), else `Shared(RedisLink(url))`. Both
make the same stores - rate limiters, conversations, a "seen once" memory - so the code that
uses them never asks which it has.

Redis may go away. Every Redis store keeps its in-process twin and `RedisLink.run(command,
fallback)` decides per call: while Redis answers, the shared store; after a connection error,
a timeout or an error reply (such as maxmemory's OOM), the twin (per-process limits, per-process memories) until a retry `retry_seconds`
later finds Redis back. `health()` says which is in use, for GET /healthz: nothing in the
embedded default, `{"shared_state": "redis"}`, or `{"shared_state": "per-process", "redis":
"unreachable"}`.
"""

import hashlib
import logging
import threading
import time

from .conversation import Conversations
from .errors import SettingsError
from .ratelimit import RateLimiter

log = logging.getLogger(__name__)

PREFIX = "minzheng:"  # every key this project writes, so one Redis can hold other data too
SOCKET_TIMEOUT = 0.5  # seconds a Redis command may take before the process falls back
RETRY_SECONDS = 1.0  # after a failure, how long the process uses its own tables before trying Redis again
PER_PROCESS = "per-process"
REDIS = "redis"


def key(kind, *parts):
    """A bounded Redis key: the prefix, the kind, and a digest of whatever identifies the entry
    (user ids, openids and nonces are the client's to choose; their length must not be)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{PREFIX}{kind}:{digest}"


class RedisLink:
    """One redis-py client for the process, and whether Redis answered lately."""

    def __init__(self, url, retry_seconds=RETRY_SECONDS, socket_timeout=SOCKET_TIMEOUT, clock=time.monotonic):
        import redis  # here, not at import: the embedded default never needs it
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = url
        # Any Redis failure, not only a lost connection: an "OOM command not allowed" at maxmemory
        # must not stop the answers either (GET /healthz then says per-process).
        self._errors = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout, health_check_interval=0, retry=Retry(NoBackoff(), 0)  # no retries: the fallback is the retry
        )
        self.retry_seconds = retry_seconds
        self.clock = clock
        self._down_since = None  # clock() of the first failure of the current outage
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def run(self, command, fallback):
        """command(client) while Redis answers; fallback() while it does not (retried every
        `retry_seconds`)."""
        if self._down_since is not None and self.clock() < self._retry_at:
            return fallback()
        try:
            result = command(self.client)
        except self._errors as exc:
            self._failed(exc)
            return fallback()
        if self._down_since is not None:
            with self._lock:
                if self._down_since is not None:
                    log.warning("Redis at %s answers again: limits and memories are shared again", self.shown_url)
                    self._down_since = None
        return result

    def _failed(self, exc):
        now = self.clock()
        with self._lock:
            if self._down_since is None:
                self._down_since = now
                log.error("Redis at %s fails (%s): per-process limits until it answers again", self.shown_url, type(exc).__name__)
            self._retry_at = now + self.retry_seconds

    def ping(self):
        """Try Redis now (whatever the retry schedule says); True when it answered."""
        self._retry_at = 0.0
        return self.run(lambda client: bool(client.ping()), lambda: False)

    @property
    def up(self):
        return self._down_since is None

    @property
    def shown_url(self):
        return self.shown(self.url)

    @staticmethod
    def shown(url):
        """The URL without a password, for logs and `serve`'s lines."""
        scheme, sep, rest = url.partition("://")
        if "@" in rest:
            rest = "***@" + rest.rsplit("@", 1)[1]
        return scheme + sep + rest

    def close(self):
        self.client.close()


class Local:
    """The embedded default: every store in this process."""

    shared = False

    def limiter(self, name, per_minute):
        return RateLimiter(per_minute)

    def conversations(self, window, codec=None):
        return Conversations(window)

    def health(self):
        return {}  # nothing to report: GET /healthz stays {"status": "ok"}

    def close(self):
        pass


class Shared:
    """Every store in Redis (each with its in-process twin for when Redis is away)."""

    shared = True

    def __init__(self, link):
        self.link = link

    def limiter(self, name, per_minute):
        from .ratelimit import RedisRateLimiter

        return RedisRateLimiter(self.link, name, per_minute)

    def conversations(self, window, codec):
        from .conversation import RedisConversations

        return RedisConversations(self.link, window, codec)

    def health(self):
        if self.link.ping():  # now, not the last command's outcome: a health check notices an outage first
            return {"shared_state": REDIS}
        return {"shared_state": PER_PROCESS, "redis": "unreachable"}

    def close(self):
        self.link.close()


def open_shared(settings):
    """Local() without MINZHENG_REDIS_URL, else Shared over it; SettingsError for a URL redis-py
    cannot use (checked before any work)."""
    url = settings.redis_url.strip()
    if not url:
        return Local()
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"MINZHENG_REDIS_URL must start with redis://, rediss:// or unix:// (got {url.split(':', 1)[0]!r})")
    try:
        return Shared(RedisLink(url))
    except ValueError as exc:
        raise SettingsError(f"MINZHENG_REDIS_URL cannot be used: {exc}") from exc
