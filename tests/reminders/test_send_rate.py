"""TEND_SMS_MPS is one budget shared by every worker, kept in Redis."""

from dramatiq.rate_limits.backends import RedisBackend

from workers.runtime import SendRate


def granted(rate: SendRate, tries: int) -> int:
    count = 0
    for _ in range(tries):
        with rate.limiter.acquire(raise_on_failure=False) as acquired:
            count += bool(acquired)
    return count


def test_two_workers_share_one_budget_through_redis(redis_url):
    # 0.05 per second: one send per 20-second bucket, so the test cannot straddle two buckets by chance
    first, second = (SendRate(0.05, backend=RedisBackend(url=redis_url)) for _ in range(2))
    assert granted(first, 3) + granted(second, 3) == 1


def test_the_budget_scales_with_the_setting(redis_url):
    rate = SendRate(1000, backend=RedisBackend(url=redis_url))
    assert (rate.limiter.limit, rate.bucket_ms) == (1000, 1000)
    slow = SendRate(0.5, backend=RedisBackend(url=redis_url))
    assert (slow.limiter.limit, slow.bucket_ms) == (1, 2000)
