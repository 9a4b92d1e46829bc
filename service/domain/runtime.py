"""What a process needs at hand: its config, its database, its clock and its doorbell.

The clock (`now`) is injected so that tests can move time; nothing below the
adapters reads the wall clock itself. The doorbell enqueues worker messages
after a commit; it is only a hint, since the clock re-derives all due work
from the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from service.config import Config
from service.domain.db import Database
from service.domain.pipeline_rate import PipelineRate, ProcessFigures


def utc_now() -> datetime:
    return datetime.now(UTC)


RING_CHUNK = 200  # ids per doorbell message: small enough for a worker to finish one in seconds
# ids per bulk SMS doorbell (digests): a worker thread holding one is free again for a reminder within a second
BULK_RING_CHUNK = 50


class Doorbell(Protocol):
    def send_sms(self, outbound_ids: Sequence[int], bulk: bool = False) -> None:
        """Ring for these SMS; `bulk` ones (BULK_KINDS) on the lane workers take after everything else."""

    def render_feeds(self, feed_ids: Sequence[int]) -> None: ...

    def reconcile_sms(self, outbound_ids: Sequence[int]) -> None: ...

    def make_digests(self, person_ids: Sequence[int]) -> None: ...

    def close_occurrences(self, occurrence_ids: Sequence[int]) -> None: ...

    def sms_waiting(self, bulk: bool = False) -> int | None:
        """How many SMS doorbells of a lane wait in the broker for a worker; None when it cannot tell."""

    def digests_waiting(self) -> int | None:
        """How many digest doorbells wait in the broker for a worker; None when it cannot tell."""

    def ping(self) -> None:
        """Raise when the broker behind the doorbell cannot be reached (for /readyz)."""


class SilentDoorbell:
    """For processes with no broker: the next clock tick finds the work instead."""

    def send_sms(self, outbound_ids: Sequence[int], bulk: bool = False) -> None:
        return None

    def render_feeds(self, feed_ids: Sequence[int]) -> None:
        return None

    def reconcile_sms(self, outbound_ids: Sequence[int]) -> None:
        return None

    def make_digests(self, person_ids: Sequence[int]) -> None:
        return None

    def close_occurrences(self, occurrence_ids: Sequence[int]) -> None:
        return None

    def sms_waiting(self, bulk: bool = False) -> int | None:
        return None

    def digests_waiting(self) -> int | None:
        return None

    def ping(self) -> None:
        return None


@dataclass
class Runtime:
    config: Config
    db: Database
    now: Callable[[], datetime] = utc_now
    doorbell: Doorbell = field(default_factory=SilentDoorbell)
    pipeline_rate: PipelineRate = field(default_factory=lambda: PipelineRate(ProcessFigures()))
