"""The send rate: at most `TEND_SMS_MPS` SMS segments per second (across all workers through Redis: see
workers/in_flight.py, which counts the same window in the round trip that takes a request slot)."""

from __future__ import annotations

import time

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter


class SendRate:
    """At most `TEND_SMS_MPS` SMS segments per second: one counter per fixed window.

    This process's own counter serves without Redis; with Redis, SharedInFlight counts the same window there
    for every worker, in the round trip that takes a request slot.
    """

    KEY = "tend-sms-send-rate"

    def __init__(self, messages_per_second: float):
        amount, seconds = (
            (max(1, round(messages_per_second)), 1) if messages_per_second >= 1 else (1, round(1 / messages_per_second))
        )
        self.window = RateLimitItemPerSecond(amount, seconds)
        self.limiter = FixedWindowRateLimiter(storage_from_string("memory://"))

    def try_take(self) -> bool:
        """One send, if this window has room for it."""
        return self.limiter.hit(self.window, self.KEY)

    def wait(self, segments: int = 1) -> None:
        """Block until `segments` sends are allowed."""
        for _ in range(segments):
            while not self.try_take():
                reset_at = self.limiter.get_window_stats(self.window, self.KEY).reset_time
                time.sleep(max(reset_at - time.time(), 0.0) + 0.001)
