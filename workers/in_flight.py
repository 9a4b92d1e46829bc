"""How many requests to Twilio may be in flight at once (`TEND_TWILIO_CONCURRENCY`): per process, or across
every worker through Redis."""

from __future__ import annotations

import threading
import time
import uuid

from service.config import Config


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


def in_flight_limit(config: Config) -> InFlight | SharedInFlight:
    """TEND_TWILIO_CONCURRENCY across all workers when they share Redis, within this process otherwise."""
    if config.redis_url is None:
        return InFlight(config.twilio_concurrency)
    return SharedInFlight(config.twilio_concurrency, config.redis_url)
