"""The worker-side process context: runtime, SMS transport and the shared send-rate limiter.

The entry points install it (`install`, or `install_factory` for processes
that Dramatiq starts); actors read it with `context()`.
"""

from __future__ import annotations

import logging
import threading
import time
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
    if not config.uses_twilio:
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
    """At most `limit` requests to Twilio in flight across every worker: a semaphore of `limit` tokens in Redis.

    A request takes a token from a list with BLPOP (waiting in Redis, no polling) and notes it, with a deadline,
    in a sorted set of holders; it gives it back (one Lua call) only if it still holds it. Tokens of a process
    that died mid-request come back at their deadline, and a flushed Redis gets a fresh set of tokens: `repair`
    (every few seconds, by whichever worker waits) puts back tokens found in neither place twice in a row, and
    recreates the set when its marker key is gone. Only a request in flight across a FLUSHDB can exceed the limit.
    """

    HOLD_AT_MOST = 15.0  # seconds: past any request's 10 s timeout; a dead process's tokens come back after this
    REPAIR_EVERY = 5.0
    _RELEASE = """
    if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then redis.call('RPUSH', KEYS[1], ARGV[1]) end
    """
    _REPAIR = """
    local tokens, holders, missing, marker = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
    local limit, now = tonumber(ARGV[1]), tonumber(ARGV[2])
    if redis.call('SET', marker, limit, 'NX') then
      redis.call('DEL', tokens, holders, missing)
      for i = 1, limit do redis.call('RPUSH', tokens, i) end
      return limit
    end
    for _, token in ipairs(redis.call('ZRANGEBYSCORE', holders, '-inf', now)) do
      redis.call('ZREM', holders, token)
      redis.call('RPUSH', tokens, token)
    end
    local present = {}
    for _, token in ipairs(redis.call('LRANGE', tokens, 0, -1)) do present[token] = true end
    for _, token in ipairs(redis.call('ZRANGE', holders, 0, -1)) do present[token] = true end
    local restored = 0
    for i = 1, limit do
      local token = tostring(i)
      if present[token] then
        redis.call('HDEL', missing, token)
      elseif redis.call('HEXISTS', missing, token) == 1 then
        redis.call('HDEL', missing, token)
        redis.call('RPUSH', tokens, token)
        restored = restored + 1
      else
        redis.call('HSET', missing, token, now)
      end
    end
    return restored
    """

    def __init__(self, limit: int, redis_url: str):
        import redis

        self.limit = limit
        self._redis = redis.Redis.from_url(redis_url, max_connections=None)
        prefix = f"tend:twilio-in-flight:{limit}"
        self._keys = [f"{prefix}:tokens", f"{prefix}:holders", f"{prefix}:missing", f"{prefix}:marker"]
        self._release = self._redis.register_script(self._RELEASE)
        self._repair = self._redis.register_script(self._REPAIR)
        self._held = threading.local()
        self._next_repair = 0.0

    def repair(self) -> None:
        self._next_repair = time.monotonic() + self.REPAIR_EVERY
        self._repair(keys=self._keys, args=[self.limit, time.time()])

    def __enter__(self) -> SharedInFlight:
        if time.monotonic() >= self._next_repair:
            self.repair()
        while True:
            taken = self._redis.blpop(self._keys[0], timeout=1)
            if taken is not None:
                break
            if time.monotonic() >= self._next_repair:
                self.repair()
        token = taken[1]
        self._redis.zadd(self._keys[1], {token: time.time() + self.HOLD_AT_MOST})
        self._held.token = token
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release(keys=self._keys, args=[self._held.token])


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
