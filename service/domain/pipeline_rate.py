"""The rate the sending pipeline reaches, which capacity-aware dispatch plans with beside `TEND_SMS_MPS`
(service/domain/dispatch.py; docs/decisions.md, "Dispatch")."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Protocol

PIPELINE_RATE = 100.0  # SMS/s the pipeline is assumed to reach until measured: below what 2 shared cores reach
PIPELINE_WEIGHT = 0.3  # of each tick's measure in the moving figure


class FigureStore(Protocol):
    """Where the pipeline's counts live: Redis (every worker and clock share it) or this process."""

    def incrby(self, name: str, amount: int) -> Any: ...

    def get(self, name: str) -> Any: ...

    def set(self, name: str, value: float) -> Any: ...


class ProcessFigures:
    """A FigureStore of this process alone (`tend up`, tests)."""

    def __init__(self) -> None:
        self._values: dict[str, float] = {}
        self._lock = threading.Lock()

    def incrby(self, name: str, amount: int) -> float:
        with self._lock:
            self._values[name] = self._values.get(name, 0) + amount
            return self._values[name]

    def get(self, name: str) -> float | None:
        return self._values.get(name)

    def set(self, name: str, value: float) -> None:
        self._values[name] = value


class PipelineRate:
    """The SMS/s the whole sending pipeline reaches (claim, compose, rate limit, send, record), across workers.

    Workers count the SMS they record as sent; at each tick the clock divides the count since its previous
    tick by the time between them and moves the figure PIPELINE_WEIGHT of the way there, but only when work
    was waiting at both ticks (otherwise the count measured demand, not capacity). Until measured, and after
    Redis forgot it, the figure is PIPELINE_RATE. A figure too low only starts reminders earlier, within the lead.
    """

    SENT, FIGURE = "tend:sms-sent", "tend:sms-pipeline-rate"

    def __init__(self, store: FigureStore):
        self.store = store
        self._last: tuple[datetime, int, bool] | None = None  # this clock's previous look: when, count, busy

    def count_sent(self, count: int) -> None:
        self.store.incrby(self.SENT, count)

    def observe(self, now: datetime, busy: bool) -> float:
        """The moving figure, updated with the count since this process's previous look."""
        sent = int(self.store.get(self.SENT) or 0)
        last, self._last = self._last, (now, sent, busy)
        figure = float(self.store.get(self.FIGURE) or PIPELINE_RATE)
        if busy and last is not None and last[2] and now > last[0] and sent >= last[1]:
            measured = (sent - last[1]) / (now - last[0]).total_seconds()
            figure += PIPELINE_WEIGHT * (measured - figure)
            self.store.set(self.FIGURE, figure)
        return figure
