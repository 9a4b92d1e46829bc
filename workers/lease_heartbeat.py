"""The lease heartbeat: one thread per process that keeps the claims of live deliveries fresh."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from service.domain.runtime import Runtime

log = logging.getLogger(__name__)


class Heartbeat:
    """One thread per process renewing the leases of the deliveries in progress (`Delivery.renew`).

    A lease is renewed once a third of `lease_seconds` old, so a live worker's claims never look stale,
    however long one request takes; a dead worker's run out after `lease_seconds`.
    """

    def __init__(self, runtime: Runtime, lease_seconds: float):
        self.runtime = runtime
        self.renew_after = timedelta(seconds=lease_seconds / 3)
        self.every = max(lease_seconds / 10, 0.05)
        self._deliveries: set = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, delivery) -> None:
        with self._lock:
            self._deliveries.add(delivery)
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="tend-lease-heartbeat", daemon=True)
                self._thread.start()

    def discard(self, delivery) -> None:
        with self._lock:
            self._deliveries.discard(delivery)

    def _beat(self) -> None:
        while True:
            time.sleep(self.every)
            with self._lock:
                deliveries = list(self._deliveries)
                if not deliveries:  # idle: the next delivery starts a new beat
                    self._thread = None
                    return
            for delivery in deliveries:
                if self.runtime.now() - delivery.lease >= self.renew_after:
                    try:
                        delivery.renew()
                    except Exception:  # the database is away: the next beat tries again
                        log.exception("could not renew a lease")
