"""The composition root: a process's runtime built from `Config`, read once by the entry point.

Every entry point (`tend web`, `tend worker`, `tend clock`, `tend up`) builds
its parts here: the broker from REDIS_URL, the actors declared on it, the
doorbell that rings them, and the database.
"""

from __future__ import annotations

import dramatiq
import redis

from service.config import Config
from service.domain.db import Database
from service.domain.pipeline_rate import PipelineRate
from service.domain.runtime import Runtime
from service.entry import broker as broker_setup
from service.entry.doorbell import DramatiqDoorbell
from workers import actors


def runtime_for(config: Config) -> Runtime:
    """Config, database and a doorbell on this process's broker (Redis, or in-process without REDIS_URL)."""
    return runtime_on(config, broker_setup.install(config.redis_url))


def runtime_on(config: Config, broker: dramatiq.Broker) -> Runtime:
    """The runtime of a process whose broker is already chosen; the actors are declared on it. The pipeline's
    rate is counted in Redis when there is one, so every worker and clock share it."""
    runtime = Runtime(
        config=config, db=Database(config.database_url), doorbell=DramatiqDoorbell(broker, actors.declare(broker))
    )
    if config.redis_url is not None:
        runtime.pipeline_rate = PipelineRate(redis.Redis.from_url(config.redis_url))
    return runtime
