"""Bringing a couple to the moment a reminder has gone out."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from service.domain.models import CheckIn, Occurrence, OccurrenceOutcome, OutboundSms
from tests.reminders.helpers import add_ritual, couple

# The default ritual of tests.reminders.helpers: daily 07:30 in New York, reminded 10 minutes before.
FIRST_REMINDER = datetime(2026, 12, 2, 12, 20, tzinfo=UTC)
FIRST_OCCURRENCE = datetime(2026, 12, 2, 12, 30, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=({},), at=FIRST_REMINDER):
    """Alice and Bob active in one circle with these rituals; the clock moved to `at` and reminders sent."""
    circle = couple(client, people, db)
    created = [add_ritual(client, people, circle, **changes) for changes in rituals]
    sms.tick()
    fake_twilio.reset()
    clock.set(at)
    sms.tick()
    return circle, created


def checkin_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(CheckIn))


def outcome_of(
    db, person_id: int, *, ritual_id: int | None = None, promise_id: int | None = None, at: datetime = FIRST_OCCURRENCE
) -> str | None:
    """The person's outcome of one occurrence of a ritual or promise."""
    column, subject_id = (Occurrence.ritual_id, ritual_id) if ritual_id else (Occurrence.promise_id, promise_id)
    with db.session() as s:
        return s.scalar(
            select(OccurrenceOutcome.outcome)
            .join(Occurrence, Occurrence.id == OccurrenceOutcome.occurrence_id)
            .where(OccurrenceOutcome.person_id == person_id, Occurrence.at == at, column == subject_id)
        )


def sent_reminder_sid(db, person_id: int) -> str:
    with db.session() as s:
        return s.scalar(
            select(OutboundSms.sid)
            .where(OutboundSms.person_id == person_id, OutboundSms.kind == "reminder", OutboundSms.sid.is_not(None))
            .order_by(OutboundSms.sent_at.desc())
        )


def messages_to(fake_twilio, phone: str) -> list[str]:
    return [m["body"] for m in fake_twilio.messages if m["to"] == phone]
