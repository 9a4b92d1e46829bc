"""How many requests to Twilio may be in flight at once (`TEND_TWILIO_CONCURRENCY`), each after its sends of
the send rate: per process, or across every worker through Redis in one round trip for the requests of a
process that wait at once."""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections import deque
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


class _Ask:
    """One thread's wait for a request slot: its token, the segments it still needs, and what it was handed."""

    def __init__(self, token: str, segments: int):
        self.token = token
        self.segments = segments
        self.answered = threading.Event()
        self.granted = False
        self.leads = False  # it asks Redis for every waiting thread of the process
        self.error: Exception | None = None


class SharedInFlight:
    """At most `limit` requests to Twilio in flight, and the send rate's segments per window, across every
    worker: a counting semaphore and a window counter in Redis, taken for many requests in one round trip.

    Each request holds one member of a sorted set scored by its deadline. The threads of a process that want a
    slot queue up, and one of them asks for all of them at once in one Lua script: give back the slots this
    process's finished requests left, drop the members past their deadline, then for each ask in order, only
    while there is a free slot, take its segments of the window and a slot (a window with too little room
    takes what it has and answers how long until it resets). The set never holds more than `limit` live
    members; a process that died mid-request frees its slots at their deadline (HOLD_AT_MOST, past any
    request's timeout). A finished request's slot goes back with the process's next take, or after RELEASE_AFTER
    when none comes (one call for all of them). Under load a round trip serves every thread that queued while
    the one before it was under way, where taking, counting and giving back were three per request. When the
    set is full, the asking thread asks again every POLL seconds. Only requests in flight across a FLUSHDB can
    exceed the limit (the flush forgets them).
    """

    HOLD_AT_MOST = 15.0  # seconds: past any request's 10 s timeout; a dead process's slots come back after this
    POLL = 0.003
    RELEASE_AFTER = 0.01  # seconds a finished request's slot may wait for the next take to give it back
    # KEYS: the slots, the window's counter; ARGV: limit, hold seconds, window amount, window seconds, the number
    # of asks n, then n tokens, n segment counts, then the tokens of finished requests to give back.
    # Answers {asks granted, segments taken for the first ask not granted, ms until the window resets or 0 when
    # the slots are all taken}.
    _TAKE = """
    local n = tonumber(ARGV[5])
    for i = 6 + 2 * n, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
    local now = redis.call('TIME')
    local seconds = tonumber(now[1]) + tonumber(now[2]) / 1000000
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', seconds)
    local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
    local used = tonumber(redis.call('GET', KEYS[2]) or '0')
    for i = 1, n do
      if free <= 0 then
        return {i - 1, 0, 0}
      end
      local wanted = tonumber(ARGV[5 + n + i])
      if wanted > 0 then
        local taken = math.max(math.min(wanted, tonumber(ARGV[3]) - used), 0)
        if taken > 0 then
          used = used + taken
          if redis.call('INCRBY', KEYS[2], taken) == taken then
            redis.call('EXPIRE', KEYS[2], ARGV[4])
          end
        end
        if taken < wanted then
          return {i - 1, taken, math.max(redis.call('PTTL', KEYS[2]), 1)}
        end
      end
      redis.call('ZADD', KEYS[1], seconds + tonumber(ARGV[2]), ARGV[5 + i])
      free = free - 1
    end
    return {n, 0, 0}
    """

    def __init__(self, limit: int, rate: SendRate, redis_url: str):
        import redis

        self.limit = limit
        self._window = (rate.window.amount, rate.window.get_expiry())
        # every asking thread, the actor threads that reconcile and the one giving slots back may ask at once:
        # a thread finding all connections busy waits for one (redis-py's default pool raises past 100)
        self._redis = redis.Redis(
            connection_pool=redis.BlockingConnectionPool.from_url(redis_url, max_connections=limit)
        )
        self._keys = ["tend:twilio-in-flight", f"tend:{rate.KEY}:{self._window[0]}:{self._window[1]}"]
        self._take = self._redis.register_script(self._TAKE)
        self._name, self._numbers = uuid.uuid4().hex, itertools.count()  # each request's token: unique, cheap
        self._asks: deque[_Ask] = deque()  # this process's threads waiting for a slot, in order
        self._asks_lock = threading.Lock()
        self._leading = False  # one waiting thread asks Redis for all of them
        self._finished: list[str] = []  # slots to give back with the next take
        self._finished_lock = threading.Condition()
        self._giver: threading.Thread | None = None

    @contextmanager
    def slot(self, segments: int = 0) -> Iterator[None]:
        """Hold a request slot, taken once `segments` sends of the shared window are allowed."""
        ask = _Ask(f"{self._name}:{next(self._numbers)}", segments)
        with self._asks_lock:
            self._asks.append(ask)
            if not self._leading:
                self._leading = ask.leads = True
        try:
            while not ask.granted:
                if ask.leads:
                    self._lead(ask)
                else:
                    ask.answered.wait()
                    ask.answered.clear()  # granted, failed, or handed the lead
                if ask.error is not None:
                    raise ask.error
        except BaseException:  # also Dramatiq's time limit and shutdown, raised into the thread at any point
            self._withdraw(ask)
            raise
        finally:
            self._hand_on(ask)
        try:
            yield
        finally:
            self._give_back(ask.token)

    def _lead(self, own: _Ask) -> None:
        """Ask Redis for the process's waiting threads, in order, until `own` is granted."""
        while not own.granted:
            with self._asks_lock:
                asks = list(itertools.islice(self._asks, self.limit))
            try:
                granted, taken, reset_ms = self._ask(asks)
            except Exception as exc:
                self._answer(asks, error=exc)  # every thread it asked for fails with it, none waits on
                raise
            self._answer(asks[:granted])
            if granted < len(asks):
                asks[granted].segments -= taken
                time.sleep(reset_ms / 1000 + 0.001 if reset_ms else self.POLL)

    def _hand_on(self, ask: _Ask) -> None:
        """If `ask` leads, hand the lead to the first thread still waiting."""
        with self._asks_lock:
            if not ask.leads:
                return
            ask.leads = False
            if self._asks:
                self._asks[0].leads = True
                self._asks[0].answered.set()
            else:
                self._leading = False

    def _withdraw(self, ask: _Ask) -> None:
        """A thread that stops waiting leaves the queue, and gives back any slot Redis may have granted it."""
        with self._asks_lock:
            if ask in self._asks:
                self._asks.remove(ask)
        self._give_back(ask.token)  # giving back a slot never taken changes nothing

    def _answer(self, asks: list[_Ask], error: Exception | None = None) -> None:
        """These asks are granted (or failed with `error`). One that withdrew while Redis answered (its thread
        was interrupted) is no longer waiting: it is skipped, and a slot granted to it is given back."""
        left: list[str] = []
        with self._asks_lock:
            for ask in asks:
                if ask not in self._asks:
                    left.append(ask.token)
                    continue
                self._asks.remove(ask)
                ask.granted, ask.error = error is None, error
                ask.answered.set()
        if left and error is None:
            self._give_back(*left)

    def _ask(self, asks: list[_Ask]) -> tuple[int, int, int]:
        with self._finished_lock:
            finished, self._finished = self._finished, []
        try:
            granted, taken, reset_ms = self._take(
                keys=self._keys,
                args=[
                    self.limit,
                    self.HOLD_AT_MOST,
                    *self._window,
                    len(asks),
                    *(ask.token for ask in asks),
                    *(ask.segments for ask in asks),
                    *finished,
                ],
            )
        except Exception:
            self._give_back(*finished)  # they are still held: the next call gives them back
            raise
        return int(granted), int(taken), int(reset_ms)

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
