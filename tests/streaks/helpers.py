"""Histories written straight into the database, and decided as the clock and check-ins decide them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from service.core.streaks import StreakState
from service.domain import streak_figures
from service.domain.models import Circle, Membership, Occurrence, OccurrenceOutcome, Person, Promise, Ritual

FIRST = datetime(2026, 1, 5, 12, 30, tzinfo=UTC)  # 07:30 in New York
DAY = timedelta(days=1)
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)  # materialized "forever": no clock adds to these
PHONES = {"Alice": "+15005550101", "Bob": "+15005550102", "Charlie": "+15005550103"}


def couple(session: Session) -> tuple[Circle, Person, Person]:
    """Alice and Bob, active members of one circle."""
    circle = Circle(name="Us", created_at=FIRST)
    alice, bob = (
        Person(name=name, phone=PHONES[name], timezone="America/New_York", sms_status="active", created_at=FIRST)
        for name in ("Alice", "Bob")
    )
    session.add_all([circle, alice, bob])
    session.flush()
    session.add_all(
        [
            Membership(circle_id=circle.id, person_id=p.id, status="active", joined_order=i, created_at=FIRST)
            for i, p in enumerate((alice, bob), start=1)
        ]
    )
    session.flush()
    return circle, alice, bob


def daily_ritual(session: Session, circle: Circle, title: str = "Morning coffee talk") -> Ritual:
    ritual = Ritual(
        circle_id=circle.id,
        title=title,
        start_local=FIRST.replace(hour=7, tzinfo=None),
        timezone="America/New_York",
        rrule="FREQ=DAILY",
        duration_minutes=20,
        remind_before_minutes=10,
        grace_minutes=None,
        everyone=True,
        sequence=0,
        materialized_until=FAR_FUTURE,
        created_at=FIRST,
        updated_at=FIRST,
    )
    session.add(ritual)
    session.flush()
    return ritual


def daily_promise(session: Session, circle: Circle, keeper: Person, recipient: Person) -> Promise:
    promise = Promise(
        circle_id=circle.id,
        keeper_id=keeper.id,
        recipient_id=recipient.id,
        title="Call at 6",
        due_local=FIRST.replace(hour=18, tzinfo=None),
        timezone="America/New_York",
        rrule="FREQ=DAILY",
        remind_before_minutes=10,
        grace_minutes=60,
        sequence=0,
        materialized_until=FAR_FUTURE,
        created_at=FIRST,
        updated_at=FIRST,
    )
    session.add(promise)
    session.flush()
    return promise


def occurrence(session: Session, subject: Ritual | Promise, at: datetime, people: list[Person]) -> Occurrence:
    """An occurrence with a pending outcome for each person."""
    row = Occurrence(
        at=at,
        local=at.replace(tzinfo=None),
        opens_at=at,
        closes_at=at + timedelta(hours=1),
        closed=False,
        outcomes=[OccurrenceOutcome(person_id=p.id, outcome="pending") for p in people],
    )
    if isinstance(subject, Ritual):
        row.ritual_id = subject.id
    else:
        row.promise_id = subject.id
    session.add(row)
    session.flush()
    return row


def decide(session: Session, row: Occurrence, person: Person, outcome: str, now: datetime = FIRST) -> None:
    """What the clock and check-ins do: set the outcome, then tell the streak figures."""
    decided = session.get(OccurrenceOutcome, (row.id, person.id))
    decided.outcome, decided.decided_at = outcome, now
    session.flush()
    streak_figures.outcome_decided(session, row, person.id, now)


def stored(session: Session, subject: Ritual | Promise, person: Person) -> StreakState:
    kind = "ritual" if isinstance(subject, Ritual) else "promise"
    return streak_figures.stored_state(session, streak_figures.FigureKey(kind, subject.id, person.id))
