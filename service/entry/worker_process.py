"""What `tend worker` hands to the Dramatiq CLI: `dramatiq service.entry.worker_process`.

Dramatiq imports this module in each worker process it starts: it takes
Tend's logging (`TEND_LOG_LEVEL`, numbers masked) over the handler Dramatiq
set up, chooses the broker from the configuration and declares the actors on
it; the worker context (database, transport, send rate) is built on first use,
inside the process that uses it.
"""

from __future__ import annotations

from service import config as config_module
from service.entry import broker as broker_setup
from service.entry import logs
from service.entry.wiring import runtime_on
from workers import actors
from workers import runtime as worker_runtime

logs.configure(logs.environment_level())
config = config_module.load()
broker = broker_setup.install(config.redis_url)
actors.declare(broker)
worker_runtime.install_factory(lambda: worker_runtime.for_runtime(runtime_on(config, broker)))
