"""How many requests to Twilio may be in flight at once (`TEND_TWILIO_CONCURRENCY`), each after its sends of
the send rate: per process, or across every worker through Redis in one round trip per request."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from service.config import Config
from workers.send_rate import SendRate

log = logging.getLogger(__name__)


class InFlight:
    """At most `limit` requests to Twilio in flight from this process, each after its sends of this process's
    send rate."""

    def __init__(self, limit: int, rate: SendRate):
        self.limit = limit
        self.rate = rate
        self._slots = threading.BoundedSemaphore(limit)

    @contextmanager
    def slot(self, segments: int = 0) -> Iterator[None]:
        """Hold a request slot, taken once `segments` sends of the rate are allowed."""
        self.rate.wait(segments)
        with self._slots:
            yield


class SharedInFlight:
    """At most `limit` requests to Twilio in flight, and the send rate's segments per window, across every
    worker: a counting semaphore and a window counter in Redis, taken together in one round trip.

    Each request holds one member of a sorted set scored by its deadline. Taking one is one Lua script: give
    back the slots this process's finished requests left, drop the members past their deadline, and only if
    there is a free slot take the request's segments of the window and the slot (a window with too little
    room takes what it has and answers how long until it resets). The set never holds more than `limit` live
    members; a process that died mid-request frees its slots at their deadline (HOLD_AT_MOST, past any
    request's timeout). A finished request's slot goes back with the process's next take, or after RELEASE_AFTER
    when none comes (one call for all of them): under load one round trip per SMS, where taking, counting and
    giving back were three. When the set is full one thread per process asks again every POLL seconds while
    the process's other waiting threads queue behind it. Only requests in flight across a FLUSHDB can exceed
    the limit (the flush forgets them).
    """

    HOLD_AT_MOST = 15.0  # seconds: past any request's 10 s timeout; a dead process's slots come back after this
    POLL = 0.003
    RELEASE_AFTER = 0.01  # seconds a finished request's slot may wait for the next take to give it back
    HELD, FULL, SPENT = 1, 0, 2
    # KEYS: the slots, the window's counter; ARGV: limit, hold seconds, segments, window amount, window
    # seconds, this request's token, then the tokens of finished requests to give back
    _TAKE = """
    for i = 7, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
    local now = redis.call('TIME')
    local seconds = tonumber(now[1]) + tonumber(now[2]) / 1000000
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', seconds)
    if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
      return {0, 0, 0}
    end
    local wanted = tonumber(ARGV[3])
    local taken = 0
    if wanted > 0 then
      taken = math.max(math.min(wanted, tonumber(ARGV[4]) - tonumber(redis.call('GET', KEYS[2]) or '0')), 0)
      if taken > 0 and redis.call('INCRBY', KEYS[2], taken) == taken then
        redis.call('EXPIRE', KEYS[2], ARGV[5])
      end
      if taken < wanted then
        return {2, taken, redis.call('PTTL', KEYS[2])}
      end
    end
    redis.call('ZADD', KEYS[1], seconds + tonumber(ARGV[2]), ARGV[6])
    return {1, taken, 0}
    """

    def __init__(self, limit: int, rate: SendRate, redis_url: str):
        import redis

        self.limit = limit
        self._window = (rate.window.amount, rate.window.get_expiry())
        # every sending thread, the actor threads that reconcile and the one giving slots back may ask at once:
        # a thread finding all connections busy waits for one (redis-py's default pool raises past 100)
        self._redis = redis.Redis(
            connection_pool=redis.BlockingConnectionPool.from_url(redis_url, max_connections=limit)
        )
        self._keys = ["tend:twilio-in-flight", f"tend:{rate.KEY}:{self._window[0]}:{self._window[1]}"]
        self._take = self._redis.register_script(self._TAKE)
        self._waiting = threading.Lock()  # one thread per process asks Redis while the slots are all taken
        self._finished: list[str] = []  # slots to give back with the next take
        self._finished_lock = threading.Condition()
        self._giver: threading.Thread | None = None

    @contextmanager
    def slot(self, segments: int = 0) -> Iterator[None]:
        """Hold a request slot, taken once `segments` sends of the shared window are allowed."""
        token = uuid.uuid4().hex
        status, taken, reset_ms = self._ask(token, segments)
        while status != self.HELD:
            segments -= taken
            if status == self.SPENT:
                time.sleep(max(reset_ms, 0) / 1000 + 0.001)
                status, taken, reset_ms = self._ask(token, segments)
                continue
            with self._waiting:
                while (answer := self._ask(token, segments))[0] == self.FULL:
                    time.sleep(self.POLL)
            status, taken, reset_ms = answer
        try:
            yield
        finally:
            self._give_back(token)

    def _ask(self, token: str, segments: int) -> tuple[int, int, int]:
        with self._finished_lock:
            finished, self._finished = self._finished, []
        try:
            status, taken, reset_ms = self._take(
                keys=self._keys, args=[self.limit, self.HOLD_AT_MOST, segments, *self._window, token, *finished]
            )
        except Exception:
            self._give_back(*finished)  # they are still held: the next call gives them back
            raise
        return int(status), int(taken), int(reset_ms)

    def _give_back(self, *tokens: str) -> None:
        with self._finished_lock:
            self._finished.extend(tokens)
            self._finished_lock.notify()
            if self._giver is None:
                self._giver = threading.Thread(target=self._give_back_unasked, name="tend-slots", daemon=True)
                self._giver.start()

    def _give_back_unasked(self) -> None:
        """Give back in one call the slots no take carried within RELEASE_AFTER."""
        while True:
            with self._finished_lock:
                while not self._finished:
                    self._finished_lock.wait()
            time.sleep(self.RELEASE_AFTER)
            with self._finished_lock:
                finished, self._finished = self._finished, []
            if finished:
                try:
                    self._redis.zrem(self._keys[0], *finished)
                except Exception:  # Redis away: they run out at their deadline
                    log.exception("could not give back %d request slots", len(finished))


def in_flight_limit(config: Config, rate: SendRate) -> InFlight | SharedInFlight:
    """TEND_TWILIO_CONCURRENCY and TEND_SMS_MPS across all workers when they share Redis, within this process
    otherwise."""
    if config.redis_url is None:
        return InFlight(config.twilio_concurrency, rate)
    return SharedInFlight(config.twilio_concurrency, rate, config.redis_url)
