"""The floor for the reminder benchmark: a Dramatiq actor that does nothing but count itself."""

import os

import dramatiq
import redis

from service.entry import broker as broker_setup

broker = broker_setup.install(os.environ["REDIS_URL"])  # the same Redis broker as production actors

COUNTER_KEY = "tend-bench-noop-count"
_counter = redis.Redis.from_url(os.environ["REDIS_URL"])


@dramatiq.actor(queue_name="bench-noop", max_retries=0)
def noop() -> None:
    _counter.incr(COUNTER_KEY)
