"""The worker-side process context: runtime, SMS transport and the shared send-rate limiter.

Built lazily once per process from the environment; `tend up` and tests
install their own with `install()`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from dramatiq.brokers.redis import RedisBroker
from dramatiq.rate_limits import BucketRateLimiter
from dramatiq.rate_limits.backends import RedisBackend, StubBackend

from service import config as config_module
from service.config import Config
from service.db import Database
from service.runtime import Runtime
from workers.broker import broker
from workers.sms_transport import ConsoleTransport, Transport, TwilioTransport


class SendRate:
    """At most `TEND_SMS_MPS` SMS segments per second across all workers (Redis-backed when Redis is the broker)."""

    def __init__(self, messages_per_second: float, backend=None):
        if backend is None:
            backend = RedisBackend(client=broker.client) if isinstance(broker, RedisBroker) else StubBackend()
        limit, bucket_ms = (max(1, round(messages_per_second)), 1000) if messages_per_second >= 1 \
            else (1, round(1000 / messages_per_second))
        self.bucket_ms = bucket_ms
        self.limiter = BucketRateLimiter(backend, "tend-sms-send-rate", limit=limit, bucket=bucket_ms)

    def wait(self, segments: int = 1) -> None:
        """Block until `segments` sends are allowed."""
        for _ in range(segments):
            while True:
                with self.limiter.acquire(raise_on_failure=False) as acquired:
                    if acquired:
                        break
                now_ms = time.time() * 1000
                time.sleep((self.bucket_ms - now_ms % self.bucket_ms) / 1000 + 0.001)


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
            _context = WorkerContext(runtime, make_transport(config), SendRate(config.sms_mps))
        return _context


def for_runtime(runtime: Runtime) -> WorkerContext:
    return WorkerContext(runtime, make_transport(runtime.config), SendRate(runtime.config.sms_mps))
