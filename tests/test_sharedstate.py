"""The Redis stores against a real redis-server (tests/redis_server.py): one limit, one memory and
one conversation for every worker; TTLs equal to the windows; bounded keys and values; the
in-process twin while Redis is away, and Redis again once it is back."""

import threading
from dataclasses import replace

import pytest

from channels.web import wechat
from channels.web.auth import CredentialLimiter
from channels.web.shared_memories import RedisCredentialLimiter, RedisPushes, RedisReplayGuard
from retrieval.assistant import Assistant
from retrieval.edge import RATE_LIMITED, Edge
from retrieval.errors import SettingsError
from retrieval.ratelimit import RedisRateLimiter
from retrieval.sharedstate import PREFIX, Local, RedisLink, Shared, open_shared


def at_once(n, call):
    """call(i) from n threads released together; the results in order."""
    barrier, results = threading.Barrier(n), [None] * n

    def run(i):
        barrier.wait()
        results[i] = call(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def keys(redis):
    return sorted(k.decode() for k in redis.client().keys(PREFIX + "*"))


def test_no_redis_url_means_this_process_and_a_bad_one_is_refused(settings):
    assert isinstance(open_shared(settings), Local)
    with pytest.raises(SettingsError, match="MINZHENG_REDIS_URL must start with redis://, rediss:// or unix://"):
        open_shared(replace(settings, redis_url="http://localhost:6379"))


def test_thirty_threads_of_three_workers_get_exactly_the_per_minute_limit(redis):
    workers = [RedisRateLimiter(RedisLink(redis.url), "user", 12) for _ in range(3)]
    allowed = at_once(30, lambda i: workers[i % 3].allow(("wechat", "openid-1")))
    assert allowed.count(True) == 12
    assert 4.0 < workers[0].retry_after(("wechat", "openid-1")) <= 5.0  # one token comes back every 5 s
    assert workers[1].allow(("wechat", "openid-2"))  # another user has a bucket of their own
    [bucket, _other] = keys(redis)
    assert bucket.startswith(PREFIX + "rate:user:") and len(bucket) == len(PREFIX + "rate:user:") + 32
    # The bucket expires once it would be full again (12 tokens at 0.2/s: 60 s, plus a second).
    assert 59_000 < redis.client().pttl(bucket) <= 61_000


def test_a_huge_user_id_makes_a_key_of_the_same_size(redis):
    limiter = RedisRateLimiter(RedisLink(redis.url), "address", 60)
    assert limiter.allow(("web", "x" * 100_000))
    assert [len(k) for k in keys(redis)] == [len(PREFIX + "rate:address:") + 32]


def test_redis_gone_means_per_process_limits_and_health_says_so_then_redis_again(redis):
    link = RedisLink(redis.url, retry_seconds=0.2)
    shared = Shared(link)
    limiter = shared.limiter("user", 2)
    assert shared.health() == {"shared_state": "redis"}
    assert [limiter.allow(("web", "u")) for _ in range(3)] == [True, True, False]
    redis.stop()
    # This process's own bucket: full, so two more (the per-process limit), then no.
    assert [limiter.allow(("web", "u")) for _ in range(3)] == [True, True, False]
    assert shared.health() == {"shared_state": "per-process", "redis": "unreachable"}
    redis.start()
    import time

    time.sleep(0.25)
    assert shared.health() == {"shared_state": "redis"}
    assert limiter.allow(("web", "u")) is True  # a fresh server: a full bucket in Redis again
    assert len(keys(redis)) == 1


def shared_assistant(settings, tmp_path, redis, name):
    return Assistant(replace(settings, log_path=tmp_path / f"{name}.db"), Shared(RedisLink(redis.url)))


def test_a_follow_up_reaching_another_worker_is_read_in_context(library, settings, tmp_path, redis):
    """Two Assistants over one Redis stand for two workers: the first question on one, the
    follow-up on the other, read with the first (followup.previous names it)."""
    one, two = (shared_assistant(settings, tmp_path, redis, n) for n in ("one", "two"))
    first = Edge.over(one, one.shared.limiter("user", 12)).ask("web", "visitor", "在杭州怎么办理结婚登记")
    follow = Edge.over(two, two.shared.limiter("user", 12)).ask("web", "visitor", "那要带什么材料?")
    assert first.kind == "answer"
    assert follow.followup == "在杭州怎么办理结婚登记"
    [key] = [k for k in keys(redis) if ":conversation:" in k]
    assert 590 < redis.client().ttl(key) <= 600  # MINZHENG_FOLLOWUP_SECONDS
    stored = redis.client().get(key)
    assert len(stored) < 2048 and stored.startswith(b"{")  # JSON, never pickle


def test_a_guided_check_walks_on_whichever_worker_takes_each_reply(library, settings, tmp_path, redis):
    one, two = (shared_assistant(settings, tmp_path, redis, n) for n in ("one", "two"))
    edges = [Edge.over(a, a.shared.limiter("user", 12)) for a in (one, two)]
    started = edges[0].ask("web", "visitor", "我能不能申请低保")
    assert started.kind == "check" and started.check.number == 1
    second = edges[1].ask("web", "visitor", "1")
    assert second.kind == "check" and second.check.number == 2


def test_a_context_too_large_to_keep_is_not_kept(library, settings, tmp_path, redis):
    assistant = shared_assistant(settings, tmp_path, redis, "one")
    assistant.conversations.codec.max_bytes = 10
    Edge.over(assistant, assistant.shared.limiter("user", 12)).ask("web", "visitor", "在杭州怎么办理结婚登记")
    assert [k for k in keys(redis) if ":conversation:" in k] == []


def test_thirty_presentations_at_once_reserve_exactly_the_per_client_limit(redis):
    limiters = [RedisCredentialLimiter(RedisLink(redis.url), CredentialLimiter(per_client=10, total=100, window=600, lockout=900)) for _ in range(3)]
    waits = at_once(30, lambda i: limiters[i % 3].reserve("10.0.0.1"))
    assert waits.count(0.0) == 10
    granted = [i for i, w in enumerate(waits) if w == 0.0]
    for i in granted:
        limiters[i % 3].release("10.0.0.1", failed=True)
    # Ten failures from three workers: the address is locked out on all of them for 900 s.
    assert 890 < limiters[2].reserve("10.0.0.1") <= 900
    assert limiters[0].reserve("10.0.0.2") == 0.0  # another address is not
    locked = [k for k in keys(redis) if ":login:locked:" in k]
    assert len(locked) == 1 and 890 < redis.client().ttl(locked[0]) <= 900


def test_failures_spread_over_many_addresses_lock_out_every_password(redis):
    limiter = RedisCredentialLimiter(RedisLink(redis.url), CredentialLimiter(per_client=10, total=5, window=600, lockout=900))
    for n in range(5):
        assert limiter.reserve(f"10.0.1.{n}") == 0.0
        limiter.release(f"10.0.1.{n}", failed=True)
    assert limiter.reserve("10.0.2.1") > 890  # a password from a new address waits too
    assert limiter.reserve("10.0.2.1", password=False) == 0.0  # a signed session is still checked


def test_a_replayed_nonce_with_another_body_is_forged_on_any_worker_until_the_window_ends(redis):
    import time

    now = int(time.time())
    guards = [RedisReplayGuard(RedisLink(redis.url), window=300) for _ in range(2)]
    assert guards[0].check(now, "nonce-1", b"<xml>a</xml>") == wechat.NEW
    assert guards[1].check(now, "nonce-1", b"<xml>a</xml>") == wechat.REPEAT
    assert guards[1].check(now, "nonce-1", b"<xml>b</xml>") == wechat.FORGED
    [key] = keys(redis)
    assert 298 <= redis.client().ttl(key) <= 300  # the push's timestamp + the signature window


def test_thirty_deliveries_of_one_push_are_claimed_once_and_all_read_its_reply(redis):
    import time

    now = int(time.time())
    pushes = [RedisPushes(RedisLink(redis.url)) for _ in range(3)]
    claims = at_once(30, lambda i: pushes[i % 3].claim("msg:123", now))
    assert claims.count(True) == 1
    assert pushes[1].outcome("msg:123") == (False, None)
    pushes[claims.index(True) % 3].publish("msg:123", "您好，答复见下。" * 60)
    assert pushes[2].outcome("msg:123") == (True, "您好，答复见下。" * 60)
    [key] = keys(redis)
    assert 298 <= redis.client().ttl(key) <= 300


def test_redis_full_refusing_writes_means_per_process_limits_not_failed_answers(redis):
    """At maxmemory with nothing evictable Redis answers "OOM command not allowed": the limiter
    falls back to this process's bucket instead of failing the question."""
    limiter = RedisRateLimiter(RedisLink(redis.url), "user", 2)
    admin = redis.client()
    admin.set("someone-elses-key", "x" * 100_000)  # no TTL: volatile-ttl cannot evict it
    admin.config_set("maxmemory", "1mb")
    try:
        assert [limiter.allow(("web", "full")) for _ in range(3)] == [True, True, False]
        assert keys(redis) == []  # nothing was written: the buckets were this process's
    finally:
        admin.config_set("maxmemory", "64mb")
