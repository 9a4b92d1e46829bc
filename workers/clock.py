"""`tend clock`: find what is due in the database and enqueue it. Safe with any number of replicas.

Each step claims its rows with `FOR UPDATE SKIP LOCKED` and changes them in
the same transaction, so concurrent clocks split the work instead of doubling
it, and a missed or repeated tick is harmless. Every query walks an index on
"when is this next due", so a tick costs O(due work), not O(all schedules).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from service.core.schedule import local_to_utc, next_occurrence, occurrence_local, occurrences_between, parse_timezone
from service import feed_store, streak_figures
from service.models import Occurrence, OccurrenceOutcome, OutboundSms, Person, Promise, Ritual
from service.outbox import queue_sms
from service.subjects import Subject, participant_ids, schedule_of
from workers import dispatch
from workers.runtime import WorkerContext

log = logging.getLogger(__name__)

HORIZON = timedelta(hours=48)          # occurrences exist this far ahead
REFILL_BELOW = timedelta(hours=24)     # extend a schedule when less than this is left
CATCH_UP_CHUNK = timedelta(days=366)   # a past start is filled in a year per tick
DOORBELL_CHUNK = 200
ENDED = datetime(9999, 1, 1, tzinfo=timezone.utc)  # materialized_until of a finished schedule


@dataclass
class TickReport:
    materialized: int = 0
    rung: int = 0
    closed: int = 0
    reconciled: int = 0


def tick(ctx: WorkerContext, now: datetime | None = None, batch: int = 500) -> TickReport:
    now = now or ctx.runtime.now()
    report = TickReport()
    report.materialized = materialize(ctx, now, batch)
    report.closed = close_ended(ctx, now, batch * 4)
    claim_timeout = timedelta(seconds=ctx.runtime.config.claim_timeout)
    report.reconciled = dispatch.reconcile_stale(ctx, now, claim_timeout)
    report.rung = ring_due(ctx, now, batch * 20, claim_timeout)
    return report


def describe(report: TickReport) -> str:
    return " ".join(f"{f.name}={getattr(report, f.name)}" for f in fields(report))


def run_forever(ctx: WorkerContext, stop: threading.Event) -> None:
    interval = ctx.runtime.config.clock_interval
    log.info("clock ticking every %ss", interval)
    while not stop.is_set():
        try:
            report = tick(ctx)
            if report.materialized or report.rung or report.closed or report.reconciled:
                log.info("tick: %s", describe(report))
        except Exception:  # a failed tick is retried by the next one; the database stays the truth
            log.exception("clock tick failed")
        stop.wait(interval)


def materialize(ctx: WorkerContext, now: datetime, limit: int) -> int:
    """Create occurrences, outcomes and reminder rows up to the horizon for schedules running low."""
    created = 0
    for model in (Ritual, Promise):
        with ctx.runtime.db.session() as session:
            subjects = session.scalars(
                select(model).where(model.materialized_until < now + REFILL_BELOW)
                .order_by(model.materialized_until).limit(limit).with_for_update(skip_locked=True)
            ).all()
            for subject in subjects:
                created += materialize_subject(session, subject, now)
    return created


def materialize_subject(session: Session, subject: Subject, now: datetime) -> int:
    schedule = schedule_of(subject)
    start = subject.materialized_until
    end = min(now + HORIZON, max(start, now - CATCH_UP_CHUNK) + CATCH_UP_CHUNK)
    instants = occurrences_between(schedule, start, end)
    for at in instants:
        add_occurrence(session, subject, at, now)
    subject.materialized_until = end if next_occurrence(schedule, end - timedelta(microseconds=1)) else ENDED
    return len(instants)


def add_occurrence(session: Session, subject: Subject, at: datetime, now: datetime) -> None:
    """One occurrence with a pending outcome per expected person, and their reminders.

    An occurrence whose window already closed is missed from the start; no
    reminder is sent for an occurrence that began before the schedule existed.
    """
    zone = parse_timezone(subject.timezone)
    local = occurrence_local(at, subject.timezone)
    if isinstance(subject, Ritual):
        people = participant_ids(subject)
        grace_end = at + timedelta(minutes=subject.grace_minutes) if subject.grace_minutes is not None \
            else local_to_utc(datetime.combine(local.date() + timedelta(days=1), datetime.min.time()), zone)
        occurrence = Occurrence(ritual_id=subject.id, at=at, local=local)
    else:
        people = [subject.keeper_id]
        grace_end = at + timedelta(minutes=subject.grace_minutes)
        occurrence = Occurrence(promise_id=subject.id, at=at, local=local)
    occurrence.opens_at = at - timedelta(minutes=subject.remind_before_minutes)
    occurrence.closes_at = max(grace_end, at)
    occurrence.closed = occurrence.closes_at <= now
    outcome = "missed" if occurrence.closed else "pending"
    occurrence.outcomes = [OccurrenceOutcome(person_id=p, outcome=outcome, decided_at=now if occurrence.closed else None)
                           for p in people]
    session.add(occurrence)
    session.flush()
    if occurrence.closed or at <= subject.created_at:
        return
    for person in session.scalars(select(Person).where(Person.id.in_(people))):
        queue_sms(session, person=person, kind="reminder", body=None, dedupe_key=f"reminder:{occurrence.id}:{person.id}",
                  due_at=max(occurrence.opens_at, subject.created_at), occurrence_id=occurrence.id)


def close_ended(ctx: WorkerContext, now: datetime, limit: int) -> int:
    """Occurrences whose check-in window ended: pending → missed (skipped while the person paused)."""
    with ctx.runtime.db.session() as session:
        occurrences = session.scalars(
            select(Occurrence).where(Occurrence.closed.is_(False), Occurrence.closes_at <= now)
            .order_by(Occurrence.closes_at).limit(limit).with_for_update(skip_locked=True)
        ).all()
        paused = {p.id: p.paused_until for p in session.scalars(select(Person).where(
            Person.id.in_({o.person_id for occ in occurrences for o in occ.outcomes}), Person.paused_until.is_not(None)))}
        circles: set[int] = set()
        for occurrence in occurrences:
            occurrence.closed = True
            for outcome in occurrence.outcomes:
                if outcome.outcome == "pending":
                    was_paused = paused.get(outcome.person_id) and paused[outcome.person_id] > occurrence.at
                    outcome.outcome = "skipped" if was_paused else "missed"
                    outcome.decided_at = now
                    session.flush()
                    streak_figures.outcome_decided(session, occurrence, outcome.person_id, now)
            circles.add(circle_of(session, occurrence))
        for circle_id in circles:
            feed_store.mark_dirty(session, circle_id=circle_id, now=now)
        return len(occurrences)


def circle_of(session: Session, occurrence: Occurrence) -> int:
    model, subject_id = (Ritual, occurrence.ritual_id) if occurrence.ritual_id else (Promise, occurrence.promise_id)
    return session.scalar(select(model.circle_id).where(model.id == subject_id))


def ring_due(ctx: WorkerContext, now: datetime, limit: int, rering_after: timedelta) -> int:
    """Enqueue due SMS that no worker has taken: the doorbell re-derived from the outbox.

    A row rung more than `rering_after` ago and still queued lost its message
    (flushed Redis, dead worker): it is rung again.
    """
    with ctx.runtime.db.session() as session:
        rows = session.execute(
            select(OutboundSms.id, OutboundSms.person_id)
            .where(OutboundSms.state == "queued", OutboundSms.due_at <= now,
                   or_(OutboundSms.rung_at.is_(None), OutboundSms.rung_at < now - rering_after))
            .order_by(OutboundSms.due_at).limit(limit).with_for_update(skip_locked=True)
        ).all()
        if rows:
            session.execute(update(OutboundSms).where(OutboundSms.id.in_([r.id for r in rows])).values(rung_at=now))
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
    return len(rows)
