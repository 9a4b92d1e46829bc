"""Dramatiq actors: thin, idempotent, taking ids; all state lives in the database."""

from __future__ import annotations

import dramatiq

from workers import broker as _broker  # noqa: F401  (sets the broker before actors bind to it)
from service import streak_figures
from service.models import Occurrence
from workers import dispatch, feed_publisher
from workers.runtime import context


@dramatiq.actor(queue_name="sms", max_retries=5, min_backoff=1_000, max_backoff=60_000, time_limit=300_000)
def send_sms(outbound_ids: list[int]) -> None:
    """Send the queued SMS among these ids; a repeat is harmless (claims make it a no-op)."""
    dispatch.send_batch(context(), outbound_ids)


@dramatiq.actor(queue_name="streaks", max_retries=5, min_backoff=1_000, max_backoff=60_000, time_limit=60_000)
def update_streaks(occurrence_id: int, person_id: int) -> None:
    """Fold one decided outcome into the stored streak figures; a repeat is harmless.

    Deciders normally call `streak_figures.outcome_decided` in their own
    transaction, so figures commit with the outcome and no lost message can
    leave them behind; this actor is for callers that cannot.
    """
    runtime = context().runtime
    with runtime.db.session() as session:
        occurrence = session.get(Occurrence, occurrence_id)
        if occurrence is not None:
            streak_figures.outcome_decided(session, occurrence, person_id, runtime.now())


@dramatiq.actor(queue_name="feeds", max_retries=5, min_backoff=1_000, max_backoff=30_000, time_limit=120_000)
def render_feed(feed_id: int) -> None:
    """Re-render one feed if it is dirty; a repeat finds it clean and does nothing."""
    feed_publisher.render_feed(context(), feed_id)
