"""`tend up`: web, worker threads and clock in one process, for trying Tend and small self-hosting.

With no REDIS_URL the broker is Dramatiq's in-process StubBroker, drained
here by worker threads; the database and the clock work exactly as in
production, so nothing is lost on restart.
"""

from __future__ import annotations

import logging
import signal
import threading

import dramatiq
from werkzeug.serving import make_server

from service.app import create_app
from service.config import Config
from service.db import Database
from service.runtime import Runtime

log = logging.getLogger(__name__)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def run_embedded(config: Config, host: str = "127.0.0.1") -> None:
    from workers import clock, runtime as worker_runtime
    from workers.broker import broker
    from workers.doorbell import DramatiqDoorbell

    runtime = Runtime(config=config, db=Database(config.database_url), doorbell=DramatiqDoorbell())
    ctx = worker_runtime.for_runtime(runtime)
    worker_runtime.install(ctx)
    import workers.actors  # noqa: F401  (declares the actors on the broker)

    worker = dramatiq.Worker(broker, worker_threads=4)
    worker.start()
    stop = threading.Event()
    clock_thread = threading.Thread(target=clock.run_forever, args=(ctx, stop), name="tend-clock", daemon=True)
    clock_thread.start()
    server = make_server(host, config.port, create_app(runtime), threaded=True)
    signal.signal(signal.SIGTERM, _interrupt)
    log.info("Tend is up on http://%s:%s (SMS: %s)", host, config.port,
             "Twilio" if config.uses_twilio else "console")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        worker.stop()
        runtime.db.dispose()
