"""The worker-side process context: the runtime, the SMS transport, the send rate, the in-flight limit and
the sending threads, one per process.

The entry points install it (`install`, or `install_factory` for processes
that Dramatiq starts); actors read it with `context()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from service.domain.runtime import Runtime
from workers.in_flight import InFlight, SharedInFlight, in_flight_limit
from workers.send_rate import SendRate
from workers.sending_pool import SendingPool
from workers.sms_transport import Transport, make_transport


@dataclass
class WorkerContext:
    runtime: Runtime
    transport: Transport
    send_rate: SendRate
    sending: SendingPool = None  # type: ignore[assignment]  # made from the runtime when not given
    in_flight: InFlight | SharedInFlight = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        concurrency = self.runtime.config.twilio_concurrency
        if self.sending is None:
            self.sending = SendingPool(self.runtime, concurrency)
        if self.in_flight is None:
            self.in_flight = InFlight(concurrency, self.send_rate)


_context: WorkerContext | None = None
_factory: Callable[[], WorkerContext] | None = None
_lock = threading.Lock()


def install(context: WorkerContext | None) -> None:
    """Use this context for the actors of this process (`tend up`, tests)."""
    global _context
    _context = context


def install_factory(factory: Callable[[], WorkerContext]) -> None:
    """Build the context on first use (`tend worker`: after Dramatiq has started its processes)."""
    global _factory
    _factory = factory


def context() -> WorkerContext:
    global _context
    with _lock:
        if _context is None:
            if _factory is None:
                raise RuntimeError("no worker context: start workers with `tend worker` or `tend up`")
            _context = _factory()
        return _context


def for_runtime(runtime: Runtime) -> WorkerContext:
    config = runtime.config
    rate = SendRate(config.sms_mps)
    return WorkerContext(runtime, make_transport(config), rate, in_flight=in_flight_limit(config, rate))
