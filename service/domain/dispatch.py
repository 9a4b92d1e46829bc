"""Capacity-aware dispatch: start a crowded minute's reminders early, so that each leaves within a minute of its
due time although the sender sends only `TEND_SMS_MPS` segments a second (docs/decisions.md, "Dispatch").

The clock calls `start_early` each tick, before ringing what is due. It looks
at the queued reminders due within the next `TEND_DISPATCH_LEAD` seconds, in
due order (the tightest first), and models the sender: it works off what is
already due or in flight, then these, one after the other at `mps`. A reminder
that would leave more than ON_TIME after its due time if it waited for it is
started now, and with it every reminder due before it. Starting means its row
falls due now (ordered as they were due, so the workers keep the order) and its
occurrence's check-in window opens now: the window runs from the reminder
(SPEC §3). Never before:

- `lead` ahead of its due time;
- the close of the same subject's previous occurrence: two windows of one
  subject never overlap, so a DONE is never ambiguous;
- the end of the person's quiet hours, when they are in them now.

A person's reminders due in one minute start together, so they still go as one
numbered SMS (batching holds). Each tick plans again, so a reminder not started
now is looked at again before it would be too late (`margin`).

The sender is modelled at the slower of `TEND_SMS_MPS` and the rate the
pipeline itself reaches (service/domain/pipeline_rate.py: workers count what
they send, the clock folds each tick's count into a moving figure while work
was waiting).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from service.domain.models import BULK_KINDS, Occurrence, OutboundSms, Person, SmsKind, SmsState, table
from service.domain.sending import quiet_end

ON_TIME = timedelta(seconds=60)
PACE = 0.9  # the sender is modelled at 90 % of TEND_SMS_MPS: the rate limit's windows and the workers lose a little
MOST_ROWS = 50_000  # looked at per tick; more than a sender can send within any sensible lead


@dataclass(frozen=True)
class Pending:
    """A queued reminder not yet due: when it is due, and the earliest it may start."""

    id: int
    person_id: int
    due_at: datetime
    earliest: datetime


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def early_starts(
    pending: Sequence[Pending], backlog: int, now: datetime, mps: float, margin: timedelta
) -> list[Pending]:
    """The reminders to start now, in due order (see the module's docstring).

    `backlog`: SMS the sender must work off first (due already, or in flight). The sender is modelled as
    sending one SMS after another at `mps` (times PACE) from now; a reminder whose turn would come later than
    ON_TIME − `margin` after its due time must start now, and so must every reminder due before it.
    """
    order = sorted(pending, key=lambda p: (p.due_at, -p.earliest.timestamp(), p.id))
    cut = -1
    for position, row in enumerate(order):
        leaves = now + timedelta(seconds=(backlog + position + 1) / (mps * PACE))
        if leaves > row.due_at + ON_TIME - margin:
            cut = position
    groups = {(p.person_id, _minute(p.due_at)) for p in order[: cut + 1]}
    together = [p for p in order if (p.person_id, _minute(p.due_at)) in groups]
    held = {(p.person_id, _minute(p.due_at)) for p in together if p.earliest > now}
    return [p for p in together if (p.person_id, _minute(p.due_at)) not in held]


def backlog(session: Session, now: datetime) -> int:
    """SMS the sender must work off before anything not yet due: due already, or in flight.

    The bulk kinds (a slot's digests) are not counted: workers take them after every reminder.
    """
    return (
        session.scalar(
            select(func.count()).where(
                or_(
                    and_(OutboundSms.state == SmsState.QUEUED, OutboundSms.due_at <= now),
                    OutboundSms.state == SmsState.SENDING,
                ),
                OutboundSms.kind.not_in(BULK_KINDS),
            )
        )
        or 0
    )


def start_early(session: Session, now: datetime, waiting: int, mps: float, lead: timedelta, margin: timedelta) -> int:
    """Start the reminders that must start now to be on time (`early_starts`), `waiting` being the `backlog`;
    returns how many rows."""
    if lead <= timedelta(0):
        return 0
    previous = aliased(Occurrence)
    previous_close = (
        select(func.max(previous.closes_at))
        .where(Occurrence.same_subject(Occurrence, previous), previous.at < Occurrence.at)
        .correlate(Occurrence)
        .scalar_subquery()
    )
    rows = session.execute(
        select(OutboundSms.id, OutboundSms.person_id, OutboundSms.due_at, Person, previous_close.label("previous"))
        .join(Occurrence, Occurrence.id == OutboundSms.occurrence_id)
        .join(Person, Person.id == OutboundSms.person_id)
        .where(
            OutboundSms.state == SmsState.QUEUED,
            OutboundSms.kind == SmsKind.REMINDER,
            OutboundSms.due_at > now,
            OutboundSms.due_at <= now + lead,
        )
        .order_by(OutboundSms.due_at, OutboundSms.id)
        .limit(MOST_ROWS)
    ).all()
    if not rows:
        return 0
    quiet: dict[int, datetime | None] = {}
    pending = []
    for row in rows:
        if row.Person.id not in quiet:
            quiet[row.Person.id] = quiet_end(row.Person, now)
        bounds = [row.due_at - lead, row.previous, quiet[row.Person.id]]
        pending.append(Pending(row.id, row.person_id, row.due_at, max(b for b in bounds if b is not None)))
    started = early_starts(pending, waiting, now, mps, margin)
    if not started:
        return 0
    # due now, in their order: a group (a person's minute) shares one instant, earlier groups a little earlier
    groups: dict[tuple[int, datetime], int] = {}
    for p in started:
        groups.setdefault((p.person_id, _minute(p.due_at)), len(groups))
    outbox = table(OutboundSms)
    values = [
        {
            "row_id": p.id,
            "new_due": now - timedelta(microseconds=len(groups) - groups[(p.person_id, _minute(p.due_at))]),
        }
        for p in started
    ]
    session.execute(
        outbox.update()
        .where(outbox.c.id == bindparam("row_id"), outbox.c.state == SmsState.QUEUED)
        .values(due_at=bindparam("new_due")),
        values,
    )
    opened = select(OutboundSms.occurrence_id).where(OutboundSms.id.in_([p.id for p in started]))
    session.execute(update(Occurrence).where(Occurrence.id.in_(opened), Occurrence.opens_at > now).values(opens_at=now))
    return len(started)
