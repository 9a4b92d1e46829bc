"""The worker-side process context: runtime, SMS transport and the shared send-rate limiter.

Built lazily once per process from the environment; `tend up` and tests
install their own with `install()`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from service import config as config_module
from service.config import Config
from service.db import Database
from service.runtime import Runtime
from workers.sms_transport import ConsoleTransport, Transport, TwilioTransport


class SendRate:
    """At most `TEND_SMS_MPS` SMS segments per second across all workers: one counter per window, in Redis
    when `storage_uri` names it (every worker shares it), in this process otherwise.

    Each send takes one atomic increment-and-expire (a Lua script of the `limits` library). Dramatiq's
    BucketRateLimiter does a WATCH/MULTI round per take, which 16 worker threads contending for one key
    retried so often that it took about half of the workers' time in the reminder benchmark.
    """

    KEY = "tend-sms-send-rate"

    def __init__(self, messages_per_second: float, storage_uri: str | None = None):
        amount, seconds = (max(1, round(messages_per_second)), 1) if messages_per_second >= 1 \
            else (1, round(1 / messages_per_second))
        self.window = RateLimitItemPerSecond(amount, seconds)
        self.limiter = FixedWindowRateLimiter(storage_from_string(limits_uri(storage_uri)))

    def try_take(self) -> bool:
        """One send, if this window has room for it."""
        return self.limiter.hit(self.window, self.KEY)

    def wait(self, segments: int = 1) -> None:
        """Block until `segments` sends are allowed."""
        for _ in range(segments):
            while not self.try_take():
                reset_at = self.limiter.get_window_stats(self.window, self.KEY).reset_time
                time.sleep(max(reset_at - time.time(), 0.0) + 0.001)


def limits_uri(redis_url: str | None) -> str:
    """REDIS_URL as the `limits` library names the same server (it spells a socket `redis+unix://`)."""
    if redis_url is None:
        return "memory://"
    return "redis+" + redis_url if redis_url.startswith("unix://") else redis_url


def make_transport(config: Config) -> Transport:
    if not config.uses_twilio:
        return ConsoleTransport()
    return TwilioTransport(
        config.twilio_account_sid, config.twilio_auth_token,
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
_lock = threading.Lock()


def install(context: WorkerContext | None) -> None:
    global _context
    _context = context


def context() -> WorkerContext:
    global _context
    with _lock:
        if _context is None:
            config = config_module.load()
            runtime = Runtime(config=config, db=Database(config.database_url))
            from workers.doorbell import DramatiqDoorbell

            runtime.doorbell = DramatiqDoorbell()
            _context = WorkerContext(runtime, make_transport(config), SendRate(config.sms_mps, config.redis_url))
        return _context


def for_runtime(runtime: Runtime) -> WorkerContext:
    return WorkerContext(runtime, make_transport(runtime.config), SendRate(runtime.config.sms_mps, runtime.config.redis_url))
