"""Dramatiq actors: thin, idempotent, taking ids; all state lives in the database.

`declare(broker)` binds them to the broker the entry point chose, so no
module has to be imported before another (dramatiq #214). Each actor loads by
id, calls the domain or the delivery mechanics, and is safe to run twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import dramatiq

from service.domain import digests, feed_content, occurrences, unit_of_work
from workers import delivery
from workers.runtime import context


def send_sms(outbound_ids: list[int]) -> None:
    """Send the queued SMS among these ids; a repeat is harmless (claims make it a no-op)."""
    delivery.send_batch(context(), outbound_ids)


def reconcile_sms(outbound_ids: list[int]) -> None:
    """Settle these claims if they are still stale (Twilio is asked outside any row lock)."""
    ctx = context()
    delivery.reconcile(ctx, outbound_ids, timedelta(seconds=ctx.runtime.config.claim_timeout))


def render_feed(feed_id: int) -> None:
    """Re-render one feed if it is dirty; a repeat finds it clean and does nothing."""
    runtime = context().runtime
    with runtime.db.session() as session:
        feed_content.refresh(session, feed_id, now=runtime.now(), secret=runtime.config.secret_key)


def make_digests(person_ids: list[int]) -> None:
    """Make the weekly digests of these people that are still due; a repeat finds none due."""
    runtime = context().runtime
    unit_of_work.run(
        runtime.db,
        runtime.doorbell,
        lambda session: digests.make_due(
            session, person_ids, runtime.config.public_url, runtime.now(), secret=runtime.config.secret_key
        ),
        what="digests",
    )


def close_occurrences(occurrence_ids: list[int]) -> None:
    """Close these occurrences if their window ended (missed or skipped) and fold their streak figures;
    a repeat finds them closed and does nothing."""
    runtime = context().runtime
    unit_of_work.run(
        runtime.db,
        runtime.doorbell,
        lambda session: occurrences.close(session, occurrence_ids, runtime.now()),
        what="closing occurrences",
    )


@dataclass(frozen=True)
class Actors:
    send_sms: dramatiq.Actor[[list[int]], None]
    send_bulk_sms: dramatiq.Actor[[list[int]], None]  # the same sending, on the lane taken last
    reconcile_sms: dramatiq.Actor[[list[int]], None]
    render_feed: dramatiq.Actor[[int], None]
    make_digests: dramatiq.Actor[[list[int]], None]
    close_occurrences: dramatiq.Actor[[list[int]], None]


SECOND = 1_000  # Dramatiq counts milliseconds


@dataclass(frozen=True)
class Retries:
    """How an actor's failures are retried, and how long one run may take."""

    queue: str
    max_retries: int
    max_backoff: int
    time_limit: int
    min_backoff: int = SECOND
    priority: int = 0  # of messages a worker holds, the lower number goes first (Dramatiq's actor priority)


# Queues keep slow work (renders, Twilio look-ups) beside, not before, sends.
RETRIES = {
    # a batch at a slow sender's pace (TEND_SMS_MPS) may take long; its lease shows it is alive
    "send_sms": Retries("sms", 5, max_backoff=60 * SECOND, time_limit=6 * 3600 * SECOND),
    # SMS of BULK_KINDS (a slot's digests): after every reminder a worker holds, so none waits behind them
    "send_bulk_sms": Retries("sms_bulk", 5, max_backoff=60 * SECOND, time_limit=6 * 3600 * SECOND, priority=20),
    "reconcile_sms": Retries("reconcile", 3, 60 * SECOND, 300 * SECOND, min_backoff=5 * SECOND),
    "render_feed": Retries("feeds", 5, max_backoff=30 * SECOND, time_limit=120 * SECOND),
    "make_digests": Retries("digests", 5, max_backoff=60 * SECOND, time_limit=300 * SECOND, priority=10),
    "close_occurrences": Retries("streaks", 5, max_backoff=60 * SECOND, time_limit=300 * SECOND),
}


@cache
def declare(broker: dramatiq.Broker) -> Actors:
    """The actors, declared once on `broker` with their RETRIES."""
    functions: dict[str, Callable[..., None]] = {
        "send_sms": send_sms,
        "send_bulk_sms": send_sms,
        "reconcile_sms": reconcile_sms,
        "render_feed": render_feed,
        "make_digests": make_digests,
        "close_occurrences": close_occurrences,
    }
    declared = {
        name: dramatiq.actor(
            broker=broker,
            actor_name=name,
            priority=retries.priority,
            queue_name=retries.queue,
            max_retries=retries.max_retries,
            min_backoff=retries.min_backoff,
            max_backoff=retries.max_backoff,
            time_limit=retries.time_limit,
        )(functions[name])
        for name, retries in RETRIES.items()
    }
    return Actors(**declared)
