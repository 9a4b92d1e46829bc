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

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, selectinload

from service.core import sms_text
from service.core.quiet_hours import quiet_until
from service.core.schedule import local_to_utc, occurrence_local, parse_timezone
from service.models import Membership, Occurrence, OccurrenceOutcome, OutboundSms, Person, Promise, Ritual
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
    taken_back: bool = False  # a reconciler took the rows back: never send it from here


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
    return Delivery(ctx, claim_time).run(outgoing)


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
    facts = ReminderFacts.load(session, [row for group in reminders.values() for row in group])
    for (person_id, _minute), group in reminders.items():
        sms = reminder_sms(facts, people[person_id], group, now)
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


@dataclass
class ReminderFacts:
    """Everything reminder texts need, loaded in a handful of queries for a whole batch."""

    occurrences: dict[int, Occurrence]
    decided: set[tuple[int, int]]                       # (occurrence id, person id) already checked in
    titles: dict[tuple[str, int], str]                  # ("ritual"|"promise", id) → title
    companions: dict[tuple[str, int], tuple[int, ...]]  # who else is in it: participants / the promise's recipient
    names: dict[int, str]

    @classmethod
    def load(cls, session: Session, rows: list[OutboundSms]) -> ReminderFacts:
        occurrences = {o.id: o for o in session.scalars(
            select(Occurrence).where(Occurrence.id.in_({r.occurrence_id for r in rows})))}
        decided = {(occurrence_id, person_id) for occurrence_id, person_id in session.execute(
            select(OccurrenceOutcome.occurrence_id, OccurrenceOutcome.person_id).where(
                OccurrenceOutcome.occurrence_id.in_(occurrences), OccurrenceOutcome.outcome != "pending"))}
        titles: dict[tuple[str, int], str] = {}
        companions: dict[tuple[str, int], tuple[int, ...]] = {}
        ritual_ids = {o.ritual_id for o in occurrences.values() if o.ritual_id is not None}
        for ritual in session.scalars(select(Ritual).where(Ritual.id.in_(ritual_ids))
                                      .options(selectinload(Ritual.participant_links))):
            titles["ritual", ritual.id] = ritual.title
            companions["ritual", ritual.id] = tuple(l.person_id for l in ritual.participant_links)
        everyone = [rid for rid in ritual_ids if not companions.get(("ritual", rid))]
        members = session.execute(select(Ritual.id, Membership.person_id).join(
            Membership, (Membership.circle_id == Ritual.circle_id) & (Membership.status == "active")
        ).where(Ritual.id.in_(everyone), Ritual.everyone.is_(True)).order_by(Membership.joined_order))
        grouped: dict[int, list[int]] = defaultdict(list)
        for ritual_id, person_id in members:
            grouped[ritual_id].append(person_id)
        companions.update({("ritual", rid): tuple(pids) for rid, pids in grouped.items()})
        promise_ids = {o.promise_id for o in occurrences.values() if o.promise_id is not None}
        for promise_id, title, recipient_id in session.execute(select(Promise.id, Promise.title, Promise.recipient_id)
                                                                .where(Promise.id.in_(promise_ids))):
            titles["promise", promise_id] = title
            companions["promise", promise_id] = (recipient_id,)
        wanted = {pid for pids in companions.values() for pid in pids}
        names = {pid: name for pid, name in session.execute(select(Person.id, Person.name).where(Person.id.in_(wanted)))}
        return cls(occurrences, decided, titles, companions, names)

    def item(self, person: Person, occurrence: Occurrence) -> sms_text.ReminderItem:
        key = ("ritual", occurrence.ritual_id) if occurrence.ritual_id is not None else ("promise", occurrence.promise_id)
        others = tuple(self.names[p] for p in self.companions.get(key, ()) if p != person.id and p in self.names)
        return sms_text.ReminderItem(self.titles[key], occurrence_local(occurrence.at, person.timezone), others, key[0])


def reminder_sms(facts: ReminderFacts, person: Person, rows: list[OutboundSms], now: datetime) -> OutgoingSms | None:
    """One numbered SMS for all of a person's reminders due in the same minute."""
    live = []
    for row in rows:
        occurrence = facts.occurrences.get(row.occurrence_id)
        if occurrence is None or occurrence.closed or occurrence.closes_at <= now \
                or (occurrence.id, person.id) in facts.decided:
            row.state = "cancelled"  # too late, or already checked in: a reminder now would be wrong
        else:
            live.append((occurrence, row))
    if not live:
        return None
    live.sort(key=lambda pair: (pair[0].at, pair[1].id))
    for number, (_, row) in enumerate(live, start=1):
        row.item = number
    items = [facts.item(person, occurrence) for occurrence, _ in live]
    return OutgoingSms(person, [row for _, row in live], sms_text.reminder_text(items))


class Delivery:
    """Sends a claimed batch, holding the claim as a lease and recording results in groups.

    The lease is renewed before it could look stale to a reconciler; an SMS
    whose rows were taken back meanwhile is left alone. Results are written
    every RECORD_EVERY sends or RECORD_WITHIN seconds, whichever comes first
    (status callbacks look rows up by SID): a crash before that is settled by
    reconciliation (Twilio has the message), so batching cannot double a send.
    """

    RECORD_EVERY = 50
    RECORD_WITHIN = 0.5

    def __init__(self, ctx: WorkerContext, claim_time: datetime):
        self.ctx = ctx
        self.lease = claim_time
        self.renew_after = timedelta(seconds=ctx.runtime.config.claim_timeout / 3)
        self.sent: list[dict[str, object]] = []
        self.first_unrecorded = 0.0

    def run(self, outgoing: list[OutgoingSms]) -> int:
        count = 0
        for position, sms in enumerate(outgoing):
            if self.ctx.runtime.now() - self.lease > self.renew_after and not self.renew(outgoing[position:]):
                continue
            count += self.deliver(sms)
        self.record_sent()
        return count

    def renew(self, remaining: list[OutgoingSms]) -> bool:
        """Extend the lease on every unsent row; returns whether the next SMS is still ours."""
        self.record_sent()
        renewed = self.ctx.runtime.now()
        ids = [row.id for sms in remaining if not sms.taken_back for row in sms.rows]
        with self.ctx.runtime.db.session() as session:
            kept = set(session.scalars(
                update(OutboundSms)
                .where(OutboundSms.id.in_(ids), OutboundSms.state == "sending", OutboundSms.claimed_at == self.lease)
                .values(claimed_at=renewed).returning(OutboundSms.id)
            ))
        self.lease = renewed
        for sms in remaining:
            sms.taken_back = sms.taken_back or not all(row.id in kept for row in sms.rows)
        return not remaining[0].taken_back

    def deliver(self, sms: OutgoingSms) -> int:
        """Send one SMS; a transient failure is retried briefly, then handed back to the outbox."""
        if sms.taken_back:
            return 0
        error: TransportError | None = None
        for attempt in range(IMMEDIATE_TRIES):
            self.ctx.send_rate.wait(sms_text.segment_count(sms.body))
            try:
                sid = self.ctx.transport.send(sms.person.phone, sms.body)
            except TransportError as exc:
                error = exc
                if exc.permanent:
                    break
                time.sleep(min(exc.retry_after or 0.2 * 2 ** attempt, 5.0))
                continue
            now = self.ctx.runtime.now()
            if not self.sent:
                self.first_unrecorded = time.monotonic()
            self.sent.extend({"row_id": row.id, "sid": sid, "sent_at": now} for row in sms.rows)
            if len(self.sent) >= self.RECORD_EVERY or time.monotonic() - self.first_unrecorded >= self.RECORD_WITHIN:
                self.record_sent()
            return 1
        assert error is not None
        self.record_sent()
        settle_failure(self.ctx, sms, [row.id for row in sms.rows], self.lease, error)
        return 0

    def record_sent(self) -> None:
        if not self.sent:
            return
        table = OutboundSms.__table__
        with self.ctx.runtime.db.session() as session:
            session.execute(
                table.update()
                .where(table.c.id == bindparam("row_id"), table.c.state == "sending", table.c.claimed_at == self.lease)
                .values(state="sent", sid=bindparam("sid"), sent_at=bindparam("sent_at")),
                self.sent,
            )
        self.sent = []


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
