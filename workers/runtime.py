"""The worker-side process context: runtime, SMS transport and the shared send-rate limiter.

The entry points install it (`install`, or `install_factory` for processes
that Dramatiq starts); actors read it with `context()`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from service.config import Config
from service.domain.runtime import Runtime
from workers.sms_transport import ConsoleTransport, Transport, TwilioTransport


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


def make_transport(config: Config) -> Transport:
    if config.twilio_account_sid is None or config.twilio_auth_token is None:
        return ConsoleTransport()
    return TwilioTransport(
        config.twilio_account_sid,
        config.twilio_auth_token,
        from_number=config.twilio_from_number,
        messaging_service_sid=config.twilio_messaging_service_sid,
        status_callback=f"{config.public_url}/webhooks/twilio/status",
        api_base_url=config.twilio_api_base_url,
    )


@dataclass
class WorkerContext:
    runtime: Runtime
    transport: Transport
    send_rate: SendRate


_context: WorkerContext | None = None
_factory: Callable[[], WorkerContext] | None = None
_lock = threading.Lock()


def install(context: WorkerContext | None) -> None:
    """Use this context for the actors of this process (`tend up`, tests)."""
    global _context
    _context = context


def install_factory(factory: Callable[[], WorkerContext]) -> None:
    """Build the context on first use (`tend worker`: after Dramatiq has started its processes)."""
    global _factory
    _factory = factory


def context() -> WorkerContext:
    global _context
    with _lock:
        if _context is None:
            if _factory is None:
                raise RuntimeError("no worker context: start workers with `tend worker` or `tend up`")
            _context = _factory()
        return _context


def for_runtime(runtime: Runtime) -> WorkerContext:
    config = runtime.config
    return WorkerContext(runtime, make_transport(config), SendRate(config.sms_mps, config.limits_storage_uri))
