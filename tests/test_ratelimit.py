from retrieval.ratelimit import RateLimiter


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_burst_then_wait_then_refill_per_user():
    clock = Clock()
    limiter = RateLimiter(3, clock=clock)
    assert [limiter.allow("tg:1") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("tg:2") is True  # other users are not affected
    assert limiter.retry_after("tg:1") == 20.0
    clock.now = 20.0
    assert limiter.allow("tg:1") is True and limiter.allow("tg:1") is False


def test_zero_disables_the_limit():
    limiter = RateLimiter(0)
    assert all(limiter.allow("x") for _ in range(100))
