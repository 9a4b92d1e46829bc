"""Sending queued SMS exactly once: claim in the database, send, record; reconcile stale claims.

A row moves queued → sending (claimed, body fixed, committed) → sent before
and after the one call to Twilio. A worker that dies between the two leaves
the row `sending`; `reconcile_stale` later asks Twilio whether that exact
message went out before it is queued again, so a crash never sends twice.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.core import sms_text
from service.core.quiet_hours import quiet_until
from service.core.schedule import local_to_utc, occurrence_local, parse_timezone
from service.models import Occurrence, OccurrenceOutcome, OutboundSms, Person, Promise, Ritual
from service.subjects import participant_ids
from workers.runtime import WorkerContext
from workers.sms_transport import TransportError

log = logging.getLogger(__name__)

SENDABLE_WHILE_PENDING = frozenset({"opt_in", "invitation"})
IMMEDIATE_TRIES = 3
MAX_ATTEMPTS = 10


@dataclass
class OutgoingSms:
    person: Person
    rows: list[OutboundSms]
    body: str


def send_batch(ctx: WorkerContext, outbound_ids: Sequence[int]) -> int:
    """Claim the due rows among `outbound_ids`, send them, record the result; returns SMS sent."""
    claim_time = ctx.runtime.now()
    with ctx.runtime.db.session() as session:
        rows = session.scalars(
            select(OutboundSms)
            .where(OutboundSms.id.in_(outbound_ids), OutboundSms.state == "queued", OutboundSms.due_at <= claim_time)
            .order_by(OutboundSms.id)
            .with_for_update(skip_locked=True)
        ).all()
        outgoing = plan(session, rows, claim_time)
        for sms in outgoing:
            for row in sms.rows:
                row.state, row.claimed_at, row.body = "sending", claim_time, sms.body
                row.attempts += 1
    return sum(deliver(ctx, sms, claim_time) for sms in outgoing)


def plan(session: Session, rows: Iterable[OutboundSms], now: datetime) -> list[OutgoingSms]:
    """Decide what to send now: drop what must not go, delay what is in quiet hours, batch reminders."""
    rows = list(rows)
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_({r.person_id for r in rows})))}
    reminders: dict[tuple[int, datetime], list[OutboundSms]] = defaultdict(list)
    outgoing: list[OutgoingSms] = []
    for row in rows:
        person = people[row.person_id]
        if not may_receive(person, row, now):
            row.state = "cancelled"
        elif row.kind == "reminder":
            delay_to = quiet_end(person, now)
            if delay_to is not None:
                row.due_at, row.rung_at = delay_to, None
            else:
                reminders[(person.id, row.due_at.replace(second=0, microsecond=0))].append(row)
        else:
            outgoing.append(OutgoingSms(person, [row], row.body or ""))
    for (person_id, _minute), group in reminders.items():
        sms = reminder_sms(session, people[person_id], group, now)
        if sms is not None:
            outgoing.append(sms)
    return outgoing


def may_receive(person: Person, row: OutboundSms, now: datetime) -> bool:
    """Nothing but the opt-in request goes to a pending or opted-out number; a paused person gets no reminders."""
    if person.sms_status == "opted_out":
        return False
    if person.sms_status == "pending" and row.kind not in SENDABLE_WHILE_PENDING:
        return False
    if row.kind == "reminder" and person.paused_until is not None and person.paused_until > now:
        return False
    return True


def quiet_end(person: Person, now: datetime) -> datetime | None:
    zone = parse_timezone(person.timezone)
    until = quiet_until(now.astimezone(zone).replace(tzinfo=None), person.quiet_start, person.quiet_end)
    return None if until is None else local_to_utc(until, zone)


def reminder_sms(session: Session, person: Person, rows: list[OutboundSms], now: datetime) -> OutgoingSms | None:
    """One numbered SMS for all of a person's reminders due in the same minute."""
    occurrences = {o.id: o for o in session.scalars(
        select(Occurrence).where(Occurrence.id.in_({r.occurrence_id for r in rows})))}
    decided = set(session.scalars(select(OccurrenceOutcome.occurrence_id).where(
        OccurrenceOutcome.occurrence_id.in_(occurrences), OccurrenceOutcome.person_id == person.id,
        OccurrenceOutcome.outcome != "pending")))
    live = []
    for row in rows:
        occurrence = occurrences.get(row.occurrence_id)
        if occurrence is None or occurrence.closed or occurrence.closes_at <= now or occurrence.id in decided:
            row.state = "cancelled"  # too late, or already checked in: a reminder now would be wrong
        else:
            live.append((occurrence, row))
    if not live:
        return None
    live.sort(key=lambda pair: (pair[0].at, pair[1].id))
    items = [reminder_item(session, person, occurrence) for occurrence, _ in live]
    for number, (_, row) in enumerate(live, start=1):
        row.item = number
    return OutgoingSms(person, [row for _, row in live], sms_text.reminder_text(items))


def reminder_item(session: Session, person: Person, occurrence: Occurrence) -> sms_text.ReminderItem:
    at_local = occurrence_local(occurrence.at, person.timezone)
    if occurrence.ritual_id is not None:
        ritual = session.get(Ritual, occurrence.ritual_id)
        others = [pid for pid in participant_ids(ritual) if pid != person.id]
        names = tuple(session.scalars(select(Person.name).where(Person.id.in_(others)).order_by(Person.id)))
        return sms_text.ReminderItem(ritual.title, at_local, names, "ritual")
    promise = session.get(Promise, occurrence.promise_id)
    return sms_text.ReminderItem(promise.title, at_local, (promise.recipient.name,), "promise")


def deliver(ctx: WorkerContext, sms: OutgoingSms, claim_time: datetime) -> int:
    """Send one claimed SMS; a transient failure is retried briefly, then handed back to the outbox.

    The claim is renewed right before each call to Twilio; if a reconciler took
    the rows back meanwhile (this worker was too slow), the SMS is left to it.
    """
    ids = [row.id for row in sms.rows]
    error: TransportError | None = None
    for attempt in range(IMMEDIATE_TRIES):
        ctx.send_rate.wait(sms_text.segment_count(sms.body))
        renewed = ctx.runtime.now()
        if not renew_claim(ctx, ids, claim_time, renewed):
            log.info("SMS %s was taken back before sending; leaving it to the reconciler", ids)
            return 0
        claim_time = renewed
        try:
            sid = ctx.transport.send(sms.person.phone, sms.body)
        except TransportError as exc:
            error = exc
            if exc.permanent:
                break
            time.sleep(min(exc.retry_after or 0.2 * 2 ** attempt, 5.0))
            continue
        record(ctx, ids, claim_time, state="sent", sid=sid, sent_at=ctx.runtime.now())
        return 1
    assert error is not None
    settle_failure(ctx, sms, ids, claim_time, error)
    return 0


def renew_claim(ctx: WorkerContext, ids: list[int], held: datetime, renewed: datetime) -> bool:
    """Move our claim's timestamp forward; False if the rows are no longer ours."""
    with ctx.runtime.db.session() as session:
        result = session.execute(
            update(OutboundSms)
            .where(OutboundSms.id.in_(ids), OutboundSms.state == "sending", OutboundSms.claimed_at == held)
            .values(claimed_at=renewed)
        )
        if result.rowcount == len(ids):
            return True
        session.rollback()
        return False


def settle_failure(ctx: WorkerContext, sms: OutgoingSms, ids: list[int], claim_time: datetime,
                   error: TransportError) -> None:
    now = ctx.runtime.now()
    code = str(error.code or error.status or "transport")
    attempts = max(row.attempts for row in sms.rows)
    if error.permanent or attempts >= MAX_ATTEMPTS:
        log.warning("SMS %s to person %s failed for good: %s", ids, sms.person.id, error)
        record(ctx, ids, claim_time, state="failed", error_code=code)
        if error.opted_out:
            with ctx.runtime.db.session() as session:
                session.execute(update(Person).where(Person.id == sms.person.id).values(sms_status="opted_out"))
        return
    backoff = timedelta(seconds=min(30 * 2 ** attempts, 3600))
    log.info("SMS %s to person %s deferred %s after: %s", ids, sms.person.id, backoff, error)
    record(ctx, ids, claim_time, state="queued", error_code=code, due_at=now + backoff, rung_at=None, claimed_at=None)


def record(ctx: WorkerContext, ids: list[int], claim_time: datetime, **values: object) -> None:
    """Write the outcome, but only over our own claim (a reconciler may have taken the row since)."""
    with ctx.runtime.db.session() as session:
        session.execute(
            update(OutboundSms)
            .where(OutboundSms.id.in_(ids), OutboundSms.state == "sending", OutboundSms.claimed_at == claim_time)
            .values(**values)
        )


def reconcile_stale(ctx: WorkerContext, now: datetime, stale_after: timedelta, limit: int = 500) -> int:
    """Settle claims whose worker vanished: sent if Twilio has the message, queued again if not."""
    with ctx.runtime.db.session() as session:
        rows = session.scalars(
            select(OutboundSms)
            .where(OutboundSms.state == "sending", OutboundSms.claimed_at < now - stale_after)
            .order_by(OutboundSms.claimed_at).limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        groups: dict[tuple[str, str, datetime], list[OutboundSms]] = defaultdict(list)
        for row in rows:
            groups[(row.to, row.body or "", row.claimed_at)].append(row)
        for (to, body, claimed_at), group in groups.items():
            sid = ctx.transport.find_recent(to, body, claimed_at - timedelta(minutes=1))
            for row in group:
                if sid is not None:
                    row.state, row.sid, row.sent_at = "sent", sid, now
                else:
                    row.state, row.claimed_at, row.rung_at, row.due_at = "queued", None, None, now
        return len(rows)
