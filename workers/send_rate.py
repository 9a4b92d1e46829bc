"""The shared send rate: at most `TEND_SMS_MPS` SMS segments per second across all workers."""

from __future__ import annotations

import time

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter


class SendRate:
    """At most `TEND_SMS_MPS` SMS segments per second across all workers: one counter per window, in Redis
    when `storage_uri` names it (every worker shares it), in this process otherwise.

    Each send takes one atomic increment-and-expire (a Lua script of the `limits` library). Dramatiq's
    BucketRateLimiter does a WATCH/MULTI round per take, which 16 worker threads contending for one key
    retried so often that it took about half of the workers' time in the reminder benchmark.
    """

    KEY = "tend-sms-send-rate"

    def __init__(self, messages_per_second: float, storage_uri: str = "memory://"):
        amount, seconds = (
            (max(1, round(messages_per_second)), 1) if messages_per_second >= 1 else (1, round(1 / messages_per_second))
        )
        self.window = RateLimitItemPerSecond(amount, seconds)
        self.limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))

    def try_take(self) -> bool:
        """One send, if this window has room for it."""
        return self.limiter.hit(self.window, self.KEY)

    def wait(self, segments: int = 1) -> None:
        """Block until `segments` sends are allowed."""
        for _ in range(segments):
            while not self.try_take():
                reset_at = self.limiter.get_window_stats(self.window, self.KEY).reset_time
                time.sleep(max(reset_at - time.time(), 0.0) + 0.001)
