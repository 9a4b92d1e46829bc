"""The worker-side process context: runtime, SMS transport and the shared send-rate limiter.

The entry points install it (`install`, or `install_factory` for processes
that Dramatiq starts); actors read it with `context()`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from service.config import Config
from service.domain.runtime import Runtime
from workers.sms_transport import ConsoleTransport, Transport, TwilioTransport

log = logging.getLogger(__name__)
T = TypeVar("T")


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


class InFlight:
    """At most `limit` requests to Twilio in flight from this process (a context manager around each request)."""

    def __init__(self, limit: int):
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)

    def __enter__(self) -> InFlight:
        self._slots.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._slots.release()


class SharedInFlight:
    """At most `limit` requests to Twilio in flight across every worker: a counting semaphore in Redis.

    Each request holds one member of a sorted set scored by its deadline; taking one (a Lua script: drop the
    members past their deadline, count, add) is atomic, so the set never holds more than `limit` live members,
    and a process that died mid-request frees its slots at their deadline (HOLD_AT_MOST, past any request's
    timeout). When the set is full one thread per process asks again every POLL seconds while the process's
    other waiting threads queue behind it, so a saturated sender costs Redis a few hundred cheap calls a second.
    Only requests in flight across a FLUSHDB can exceed the limit (the flush forgets them).
    """

    HOLD_AT_MOST = 15.0  # seconds: past any request's 10 s timeout; a dead process's slots come back after this
    POLL = 0.003
    _TAKE = """
    local now = redis.call('TIME')
    local seconds = tonumber(now[1]) + tonumber(now[2]) / 1000000
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', seconds)
    if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
      redis.call('ZADD', KEYS[1], seconds + tonumber(ARGV[2]), ARGV[3])
      return 1
    end
    return 0
    """

    def __init__(self, limit: int, redis_url: str):
        import redis

        self.limit = limit
        self._redis = redis.Redis.from_url(redis_url)
        self._key = "tend:twilio-in-flight"
        self._take = self._redis.register_script(self._TAKE)
        self._waiting = threading.Lock()  # one thread per process asks Redis while the slots are all taken
        self._held = threading.local()

    def __enter__(self) -> SharedInFlight:
        token = uuid.uuid4().hex
        if not self._take(keys=[self._key], args=[self.limit, self.HOLD_AT_MOST, token]):
            with self._waiting:
                while not self._take(keys=[self._key], args=[self.limit, self.HOLD_AT_MOST, token]):
                    time.sleep(self.POLL)
        self._held.token = token
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._redis.zrem(self._key, self._held.token)


class Heartbeat:
    """One thread per process renewing the leases of the deliveries in progress (`Delivery.renew`).

    A lease is renewed once a third of `lease_seconds` old, so a live worker's claims never look stale,
    however long one request takes; a dead worker's run out after `lease_seconds`.
    """

    def __init__(self, runtime: Runtime, lease_seconds: float):
        self.runtime = runtime
        self.renew_after = timedelta(seconds=lease_seconds / 3)
        self.every = max(lease_seconds / 10, 0.05)
        self._deliveries: set = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, delivery) -> None:
        with self._lock:
            self._deliveries.add(delivery)
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="tend-lease-heartbeat", daemon=True)
                self._thread.start()

    def discard(self, delivery) -> None:
        with self._lock:
            self._deliveries.discard(delivery)

    def _beat(self) -> None:
        while True:
            time.sleep(self.every)
            with self._lock:
                deliveries = list(self._deliveries)
                if not deliveries:  # idle: the next delivery starts a new beat
                    self._thread = None
                    return
            for delivery in deliveries:
                if self.runtime.now() - delivery.lease >= self.renew_after:
                    try:
                        delivery.renew()
                    except Exception:  # the database is away: the next beat tries again
                        log.exception("could not renew a lease")


class SendingPool:
    """The threads of this process that talk to Twilio, shared by every batch, and their lease heartbeat."""

    def __init__(self, runtime: Runtime, threads: int):
        self.heartbeat = Heartbeat(runtime, runtime.config.claim_timeout)
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        with self._lock:
            if self._executor is None:  # started on first use: after Dramatiq has forked its processes
                self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="tend-send")
        return self._executor.submit(fn, *args)


@dataclass
class WorkerContext:
    runtime: Runtime
    transport: Transport
    send_rate: SendRate
    sending: SendingPool = None  # type: ignore[assignment]  # made from the runtime when not given
    in_flight: InFlight | SharedInFlight = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        concurrency = self.runtime.config.twilio_concurrency
        if self.sending is None:
            self.sending = SendingPool(self.runtime, concurrency)
        if self.in_flight is None:
            self.in_flight = InFlight(concurrency)


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
    return WorkerContext(
        runtime,
        make_transport(config),
        SendRate(config.sms_mps, config.limits_storage_uri),
        in_flight=in_flight_limit(config),
    )


def in_flight_limit(config: Config) -> InFlight | SharedInFlight:
    """TEND_TWILIO_CONCURRENCY across all workers when they share Redis, within this process otherwise."""
    if config.redis_url is None:
        return InFlight(config.twilio_concurrency)
    return SharedInFlight(config.twilio_concurrency, config.redis_url)
