"""TEND_SMS_MPS is one budget shared by every worker, kept in Redis."""

import time

import pytest

from service.config import limits_uri
from workers.send_rate import SendRate


def granted(rate: SendRate, tries: int) -> int:
    return sum(rate.try_take() for _ in range(tries))


def test_two_workers_share_one_budget_through_redis(redis_url):
    # 0.05 per second: one send per 20-second window, so the test cannot straddle two windows by chance
    first, second = (SendRate(0.05, limits_uri(redis_url)) for _ in range(2))
    assert granted(first, 3) + granted(second, 3) == 1


def test_without_redis_the_budget_is_the_process_own():
    first, second = SendRate(0.05), SendRate(0.05)
    assert (granted(first, 3), granted(second, 3)) == (1, 1)


@pytest.mark.parametrize("mps, amount, seconds", [(1000, 1000, 1), (1, 1, 1), (2.4, 2, 1), (0.5, 1, 2), (0.05, 1, 20)])
def test_the_budget_scales_with_the_setting(mps, amount, seconds):
    window = SendRate(mps).window
    assert (window.amount, window.get_expiry()) == (amount, seconds)


def test_wait_holds_a_send_until_the_spent_window_resets(redis_url):
    rate = SendRate(1, limits_uri(redis_url))
    rate.wait()
    reset_at = rate.limiter.get_window_stats(rate.window, SendRate.KEY).reset_time
    rate.wait()  # the window's one send is spent
    assert time.time() >= reset_at


def test_redis_urls_map_to_the_limits_library_names():
    assert limits_uri(None) == "memory://"
    assert limits_uri("redis://h:6379/1") == "redis://h:6379/1"
    assert limits_uri("unix:///run/redis.sock") == "redis+unix:///run/redis.sock"
