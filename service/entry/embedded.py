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

from service.config import Config
from service.entry import logs
from service.entry.wiring import runtime_for
from service.web.app import create_app
from workers import clock
from workers import runtime as worker_runtime

log = logging.getLogger(__name__)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def run_embedded(config: Config, host: str = "127.0.0.1") -> None:
    runtime = runtime_for(config)
    worker_runtime.install(worker_runtime.for_runtime(runtime))
    worker = dramatiq.Worker(dramatiq.get_broker(), worker_threads=4)
    worker.start()
    stop = threading.Event()
    clock_thread = threading.Thread(target=clock.run_forever, args=(runtime, stop), name="tend-clock", daemon=True)
    clock_thread.start()
    port = config.port
    try:
        server = make_server(host, port, create_app(runtime), threaded=True, request_handler=logs.QuietRequestHandler)
    except OSError as exc:
        worker.stop()
        raise SystemExit(
            f"tend up: cannot listen on {host}:{port} ({exc.strerror}); choose another with --port (or --bind HOST:PORT, or TEND_PORT)"
        ) from None
    signal.signal(signal.SIGTERM, _interrupt)
    log.info("Tend is up on http://%s:%s (SMS: %s)", host, port, "Twilio" if config.uses_twilio else "console")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        worker.stop()
        runtime.db.dispose()
