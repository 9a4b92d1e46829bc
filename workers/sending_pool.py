"""The threads of a worker process that talk to Twilio."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from service.domain.runtime import Runtime
from workers.lease_heartbeat import Heartbeat

T = TypeVar("T")


class SendingPool:
    """The threads of this process that talk to Twilio, shared by every batch, and their lease heartbeat."""

    def __init__(self, runtime: Runtime, threads: int):
        self.heartbeat = Heartbeat(runtime, runtime.config.claim_timeout)
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        with self._lock:
            if self._executor is None:  # started on first use: after Dramatiq has forked its processes
                self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="tend-send")
        return self._executor.submit(fn, *args)
