"""`tend clock`: find what is due in the database and enqueue it. Safe with any number of replicas.

Each step claims its rows with `FOR UPDATE SKIP LOCKED` and changes them in
the same transaction, so concurrent clocks split the work instead of doubling
it, and a missed or repeated tick is harmless. Every query walks an index on
"when is this next due", so a tick costs O(due work), not O(all schedules).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from service import delivery_reports, digests, feed_store, occurrences
from service.models import Circle, OutboundSms, Promise, Ritual
from workers import dispatch, feed_publisher
from workers.runtime import WorkerContext

log = logging.getLogger(__name__)

DOORBELL_CHUNK = 200
RITUAL_PRELOAD = (selectinload(Ritual.participant_links), selectinload(Ritual.pauses),
                  selectinload(Ritual.circle).selectinload(Circle.memberships))
TICK_BUDGET_SECONDS = 10.0             # a step stops looping after this; the next tick goes on


@dataclass
class TickReport:
    materialized: int = 0
    rung: int = 0
    closed: int = 0
    reconciled: int = 0
    reports: int = 0
    feeds: int = 0
    digests: int = 0


def tick(ctx: WorkerContext, now: datetime | None = None, batch: int = 500) -> TickReport:
    now = now or ctx.runtime.now()
    report = TickReport()
    report.materialized = materialize(ctx, now, batch)
    report.closed = close_ended(ctx, now, batch * 4)
    claim_timeout = timedelta(seconds=ctx.runtime.config.claim_timeout)
    report.reconciled = dispatch.reconcile_stale(ctx, now, claim_timeout)
    report.reports = apply_held_reports(ctx, now, batch)
    report.rung = ring_due(ctx, now, batch * 10, claim_timeout)
    report.feeds = feed_publisher.render_dirty(ctx, now, batch)
    report.digests = digests.send_due(ctx.runtime, now, batch, deadline=time.monotonic() + TICK_BUDGET_SECONDS)
    return report


def apply_held_reports(ctx: WorkerContext, now: datetime, batch: int) -> int:
    """Delivery reports that arrived before their SID was recorded (service/delivery_reports.py)."""
    with ctx.runtime.db.session() as session:
        return delivery_reports.apply_held(session, now, batch)


def describe(report: TickReport) -> str:
    return " ".join(f"{f.name}={getattr(report, f.name)}" for f in fields(report))


def run_forever(ctx: WorkerContext, stop: threading.Event) -> None:
    interval = ctx.runtime.config.clock_interval
    log.info("clock ticking every %ss", interval)
    while not stop.is_set():
        try:
            report = tick(ctx)
            if any(getattr(report, f.name) for f in fields(report)):
                log.info("tick: %s", describe(report))
        except Exception:  # a failed tick is retried by the next one; the database stays the truth
            log.exception("clock tick failed")
        stop.wait(interval)


def materialize(ctx: WorkerContext, now: datetime, limit: int) -> int:
    """Create occurrences, outcomes and reminder rows up to the horizon for schedules running low.

    Works in transactions of `limit` schedules until none is left or the tick's time budget is spent.
    """
    created = 0
    deadline = time.monotonic() + TICK_BUDGET_SECONDS
    for model, preload in ((Ritual, RITUAL_PRELOAD), (Promise, ())):
        while True:
            with ctx.runtime.db.session() as session:
                subjects = session.scalars(
                    select(model).where(model.materialized_until < now + occurrences.REFILL_BELOW)
                    .order_by(model.materialized_until).limit(limit).with_for_update(skip_locked=True)
                    .options(*preload)
                ).all()
                created += occurrences.materialize(session, subjects, now)
            if len(subjects) < limit or time.monotonic() > deadline:
                break
    return created


def close_ended(ctx: WorkerContext, now: datetime, limit: int) -> int:
    """Close ended windows, then ring for the feeds whose outcomes changed."""
    with ctx.runtime.db.session() as session:
        closed = occurrences.close_ended(session, now, limit)
        feed_ids = feed_store.take_marked(session)
    if feed_ids:
        ctx.runtime.doorbell.render_feeds(feed_ids)
    return closed


def ring_due(ctx: WorkerContext, now: datetime, limit: int, rering_after: timedelta) -> int:
    """Enqueue due SMS that no worker has taken: the doorbell re-derived from the outbox.

    A row rung more than `rering_after` ago and still queued lost its message
    (flushed Redis, dead worker): it is rung again.
    """
    rung = 0
    deadline = time.monotonic() + TICK_BUDGET_SECONDS
    while True:
        with ctx.runtime.db.session() as session:
            rows = session.execute(
                select(OutboundSms.id, OutboundSms.person_id)
                .where(OutboundSms.state == "queued", OutboundSms.due_at <= now,
                       or_(OutboundSms.rung_at.is_(None), OutboundSms.rung_at < now - rering_after))
                .order_by(OutboundSms.due_at).limit(limit).with_for_update(skip_locked=True)
            ).all()
            if rows:
                session.execute(update(OutboundSms).where(OutboundSms.id.in_([r.id for r in rows])).values(rung_at=now))
        ring(ctx, rows)
        rung += len(rows)
        if len(rows) < limit or time.monotonic() > deadline:
            return rung


def ring(ctx: WorkerContext, rows) -> None:
    by_person: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        by_person[row.person_id].append(row.id)
    chunk: list[int] = []
    for ids in by_person.values():  # a person's rows travel together, so one minute's reminders batch into one SMS
        if chunk and len(chunk) + len(ids) > DOORBELL_CHUNK:
            ctx.runtime.doorbell.send_sms(chunk)
            chunk = []
        chunk.extend(ids)
    if chunk:
        ctx.runtime.doorbell.send_sms(chunk)
