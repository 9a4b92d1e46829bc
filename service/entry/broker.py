"""The Dramatiq broker of this process, chosen once from `Config` before any actor is declared.

With REDIS_URL (or REDIS_URL_FILE) set: Redis, shared by any number of web,
worker and clock processes. Without it: an in-process StubBroker that `tend up`
drains with worker threads. Actors are declared on the chosen broker by
`workers.actors.declare`, so nothing depends on import order (dramatiq #214).
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker


def make_broker(redis_url: str | None) -> dramatiq.Broker:
    if redis_url:
        return RedisBroker(url=redis_url)
    broker = StubBroker()
    broker.emit_after("process_boot")
    return broker


def install(redis_url: str | None) -> dramatiq.Broker:
    """Make the broker for `redis_url` this process's global one (the Dramatiq CLI and middleware read it)."""
    broker = make_broker(redis_url)
    dramatiq.set_broker(broker)
    return broker


def queue_length(broker: dramatiq.Broker, queue_name: str) -> int:
    """Messages waiting in a queue: the Redis list of its message ids, or the in-process queue."""
    if isinstance(broker, RedisBroker):
        return broker.client.llen(f"{broker.namespace}:{queue_name}")
    return broker.queues[queue_name].qsize() if queue_name in broker.queues else 0


def ping(broker: dramatiq.Broker) -> None:
    """Raise when the broker cannot be reached (the in-process one always can)."""
    if isinstance(broker, RedisBroker):
        broker.client.ping()
