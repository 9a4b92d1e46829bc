"""The Dramatiq broker, chosen once per process before any actor module is imported.

With REDIS_URL set: Redis (production, any number of workers). Without it:
an in-process StubBroker that `tend up` drains with worker threads. Every
actor module imports this module first (dramatiq #214).
"""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker


def make_broker(redis_url: str | None) -> dramatiq.Broker:
    if redis_url:
        return RedisBroker(url=redis_url)
    broker = StubBroker()
    broker.emit_after("process_boot")
    return broker


def ping(broker: dramatiq.Broker) -> None:
    """Raise when the broker cannot be reached (the in-process one always can)."""
    if isinstance(broker, RedisBroker):
        broker.client.ping()


broker = make_broker(os.environ.get("REDIS_URL", "").strip() or None)
dramatiq.set_broker(broker)
