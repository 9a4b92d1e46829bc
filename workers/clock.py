"""`tend clock`: find what is due in the database and ring the workers for it. Safe with any number of replicas.

The clock only decides: it follows a new tz database, prepares occurrences,
and rings for ended windows, due SMS, stale claims, forgotten feeds and due
digests. Anything slow or remote (closing a window and folding its streaks, a
Twilio look-up, a feed render, a digest) is an actor it rings, so nothing
behind a slow render or a hanging Twilio waits. It writes no outcome and no
streak figure: occurrences it creates already ended (a catch-up) are open
rows like any other, closed by the worker it rings for ended windows. Each
step claims its rows with `FOR UPDATE SKIP LOCKED` and changes them in the
same transaction, so concurrent clocks split the work instead of doubling it,
and a missed or repeated tick is harmless. Every query walks an index on "when
is this next due", and every step is bounded per tick, but one: following a
new tz database (a few times a year) re-plans every open occurrence in one
transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from service.core import zones
from service.domain import delivery_reports, digests, dispatch, feed_changes, occurrences, unit_of_work, zone_updates
from service.domain.models import BULK_KINDS, Circle, OutboundSms, Promise, Ritual, SmsState, Subject
from service.domain.runtime import RING_CHUNK, Runtime

log = logging.getLogger(__name__)

RITUAL_PRELOAD = (
    selectinload(Ritual.participant_links),
    selectinload(Ritual.pauses),
    selectinload(Ritual.circle).selectinload(Circle.memberships),
)
TICK_BUDGET_SECONDS = 10.0  # a step stops looping after this; the next tick goes on
RING_AGAIN_AFTER_TICKS = 2  # a doorbell lost with nothing waiting in the queue is rung again by the third tick


@dataclass
class TickReport:
    replanned: int = 0
    materialized: int = 0
    rung: int = 0
    ended: int = 0
    reconciling: int = 0
    started_early: int = 0
    reports: int = 0
    feeds: int = 0
    digests: int = 0
    caught_up: int = 0


def tick(runtime: Runtime, now: datetime | None = None, batch: int = 500) -> TickReport:
    now = now or runtime.now()
    claim_timeout = timedelta(seconds=runtime.config.claim_timeout)
    report = TickReport()
    report.replanned = follow_tz_database(runtime, now)
    report.materialized = materialize(runtime, now, batch)
    report.reconciling = ring_stale_claims(runtime, now, claim_timeout, batch)
    report.reports = apply_held_reports(runtime, now, batch)
    report.started_early = start_crowded_minutes(runtime, now)
    ring_timeout = timedelta(seconds=RING_AGAIN_AFTER_TICKS * runtime.config.clock_interval)
    report.rung = ring_due(runtime, now, batch * 10, ring_timeout, claim_timeout)
    report.feeds = ring_forgotten_feeds(runtime, now, batch)
    report.digests = ring_due_digests(runtime, now, batch)
    report.caught_up = materialize(runtime, now, batch // 10, behind=True)  # after due reminders went out
    report.ended = ring_ended(runtime, now, batch * 4)  # after the catch-up, so its ended occurrences are rung too
    return report


def describe(report: TickReport) -> str:
    return " ".join(f"{f.name}={getattr(report, f.name)}" for f in fields(report))


def run_forever(runtime: Runtime, stop: threading.Event) -> None:
    interval = runtime.config.clock_interval
    log.info("clock ticking every %ss", interval)
    while not stop.is_set():
        started = time.monotonic()
        try:
            report = tick(runtime)
            took = time.monotonic() - started
            if any(getattr(report, f.name) for f in fields(report)):
                log.info("tick in %.3f s: %s", took, describe(report))
            else:
                log.debug("tick in %.3f s: nothing due", took)
        except Exception:  # a failed tick is retried by the next one; the database stays the truth
            log.exception("clock tick failed")
        stop.wait(interval)


def follow_tz_database(runtime: Runtime, now: datetime) -> int:
    """When the tz database in use is not the one the clock last planned with: re-plan stored occurrences
    from their local wall time and ring every feed (service/domain/zone_updates.py). Returns occurrences moved."""
    version = zones.current().version
    moved = unit_of_work.run(
        runtime.db,
        runtime.doorbell,
        lambda session: zone_updates.follow(session, version, now),
        what="following the tz database",
    )
    return moved or 0


def materialize(runtime: Runtime, now: datetime, limit: int, behind: bool = False) -> int:
    """Create occurrences, pending outcomes and reminder rows up to the horizon for schedules running low;
    with `behind`, a chunk of the past for schedules catching up (after the tick rang what is due), left
    open for `ring_ended` to ring the worker that closes them.

    Works in transactions of `limit` schedules until none is left or the tick's time budget is spent.
    """
    lag = now - occurrences.BEHIND_BY
    created = 0
    deadline = time.monotonic() + TICK_BUDGET_SECONDS
    for model, preload in ((Ritual, RITUAL_PRELOAD), (Promise, ())):
        while True:
            with runtime.db.session() as session:
                subjects = session.scalars(
                    select(model)
                    .where(
                        model.materialized_until < lag
                        if behind
                        else model.materialized_until.between(lag, now + occurrences.REFILL_BELOW)
                    )
                    .order_by(model.materialized_until)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                    .options(*preload)
                ).all()
                created += occurrences.materialize(session, cast(Sequence[Subject], subjects), now)
            # Catching up, a schedule may need several passes (one chunk each): go on while any is behind.
            if (not subjects if behind else len(subjects) < limit) or time.monotonic() > deadline:
                break
    return created


def ring_ended(runtime: Runtime, now: datetime, limit: int) -> int:
    """Ring the streak worker for occurrences whose window ended (it marks them missed and folds the figures).

    Nothing is marked here: an occurrence stays open until a worker closes it, so a lost doorbell is rung
    again by the next tick, and a repeated one finds it closed and does nothing.
    """
    with runtime.db.session() as session:
        ids = occurrences.ended(session, now, limit)
    if ids:
        runtime.doorbell.close_occurrences(ids)
    return len(ids)


def ring_stale_claims(runtime: Runtime, now: datetime, stale_after: timedelta, limit: int) -> int:
    """Ring the reconciler for claims left `sending` longer than `stale_after` (their worker vanished)."""
    with runtime.db.session() as session:
        ids = list(
            session.scalars(
                select(OutboundSms.id)
                .where(OutboundSms.state == SmsState.SENDING, OutboundSms.claimed_at < now - stale_after)
                .order_by(OutboundSms.claimed_at)
                .limit(limit)
            )
        )
    if ids:
        runtime.doorbell.reconcile_sms(ids)
    return len(ids)


def apply_held_reports(runtime: Runtime, now: datetime, batch: int) -> int:
    """Delivery reports that arrived before their SID was recorded (service/domain/delivery_reports.py)."""
    with runtime.db.session() as session:
        return delivery_reports.apply_held(session, now, batch)


def start_crowded_minutes(runtime: Runtime, now: datetime) -> int:
    """Start early the reminders a slow sender, or a slower pipeline, could not send on time
    (service/domain/dispatch.py)."""
    config = runtime.config
    with runtime.db.session() as session:
        waiting = dispatch.backlog(session, now)
        return dispatch.start_early(
            session,
            now,
            waiting,
            mps=min(config.sms_mps, runtime.pipeline_rate.observe(now, busy=waiting > 0)),
            lead=timedelta(seconds=config.dispatch_lead),
            margin=timedelta(seconds=2 * config.clock_interval + 5),
        )


def ring_due(
    runtime: Runtime, now: datetime, limit: int, ring_timeout: timedelta, backlog_timeout: timedelta | None = None
) -> int:
    """Enqueue due SMS that no worker has taken: the doorbell re-derived from the outbox.

    A row rung more than `ring_timeout` ago (a few ticks) and still queued lost
    its message (flushed Redis, a dead worker's prefetch) when no SMS doorbell
    waits in the broker: it is rung again. While doorbells do wait (a backlog
    the workers are still working through), only rows rung more than
    `backlog_timeout` ago are, so a long backlog is not rung over and over.
    """
    waiting = runtime.doorbell.sms_waiting()
    if waiting and backlog_timeout is not None:
        ring_timeout = max(ring_timeout, backlog_timeout)
    rering_after = ring_timeout
    # While bulk doorbells (a slot's digests) wait, their rows are in hand: none is rung again until the lane
    # is empty, so a backlog of minutes is not rung over and over ahead of the reminders due meanwhile.
    lanes = [OutboundSms.kind.not_in(BULK_KINDS)] if runtime.doorbell.sms_waiting(bulk=True) else []
    rung = 0
    deadline = time.monotonic() + TICK_BUDGET_SECONDS
    while True:
        with runtime.db.session() as session:
            rows = session.execute(
                select(OutboundSms.id, OutboundSms.person_id, OutboundSms.kind)
                .where(
                    OutboundSms.state == SmsState.QUEUED,
                    OutboundSms.due_at <= now,
                    or_(OutboundSms.rung_at.is_(None), OutboundSms.rung_at < now - rering_after),
                    *lanes,
                )
                .order_by(OutboundSms.due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            if rows:
                session.execute(update(OutboundSms).where(OutboundSms.id.in_([r.id for r in rows])).values(rung_at=now))
        ring(runtime, rows)
        rung += len(rows)
        if len(rows) < limit or time.monotonic() > deadline:
            return rung


def ring(runtime: Runtime, rows) -> None:
    """Ring for these outbox rows, the bulk kinds on their own lane (reminders first)."""
    for bulk in (False, True):
        by_person: dict[int, list[int]] = defaultdict(list)
        for row in rows:
            if (row.kind in BULK_KINDS) == bulk:
                by_person[row.person_id].append(row.id)
        chunk: list[int] = []
        for ids in by_person.values():  # a person's rows travel together, so one minute's reminders batch into one SMS
            if chunk and len(chunk) + len(ids) > RING_CHUNK:
                runtime.doorbell.send_sms(chunk, bulk=bulk)
                chunk = []
            chunk.extend(ids)
        if chunk:
            runtime.doorbell.send_sms(chunk, bulk=bulk)


def ring_forgotten_feeds(runtime: Runtime, now: datetime, limit: int) -> int:
    """Ring for feeds left dirty longer than a worker needs: their doorbell was lost (or the worker died)."""
    with runtime.db.session() as session:
        feed_ids = feed_changes.forgotten(session, now, limit)
    if feed_ids:
        runtime.doorbell.render_feeds(feed_ids)
    return len(feed_ids)


def ring_due_digests(runtime: Runtime, now: datetime, limit: int) -> int:
    """Give up to `limit` new people their digest slot, then ring the digest worker for those due.

    A slot may be everyone's (Sunday 18:00): up to `limit` × RING_CHUNK due people are rung at once, and
    nothing again while digest doorbells still wait in the broker, so a slot's digests are rung once, not
    every tick; the people a lost or unfinished doorbell named are still due and rung once the queue is empty.
    """
    with runtime.db.session() as session:
        digests.schedule_unscheduled(session, now, limit)
        due = [] if runtime.doorbell.digests_waiting() else digests.due_people(session, now, limit * RING_CHUNK)
    if due:
        runtime.doorbell.make_digests(due)
    return len(due)
