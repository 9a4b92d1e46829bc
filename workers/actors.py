"""Dramatiq actors: thin, idempotent, taking ids; all state lives in the database."""

from __future__ import annotations

import dramatiq

from workers import broker as _broker  # noqa: F401  (sets the broker before actors bind to it)
from workers import dispatch
from workers.runtime import context


@dramatiq.actor(queue_name="sms", max_retries=5, min_backoff=1_000, max_backoff=60_000, time_limit=300_000)
def send_sms(outbound_ids: list[int]) -> None:
    """Send the queued SMS among these ids; a repeat is harmless (claims make it a no-op)."""
    dispatch.send_batch(context(), outbound_ids)
