"""What the digest tests share: people with a lived week, written as rows, and a batch made for them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import event

from service.domain import digests, unit_of_work
from service.domain.accounts import new_person
from service.domain.models import Circle, Membership, Occurrence, OccurrenceOutcome, Ritual, StreakFigure

SLOT = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)  # a Sunday, 18:00 UTC: these people's digest slot
HISTORY_DAYS = 20  # more than the two weeks a digest reads


def people_with_a_week(db, first: int, count: int) -> list[int]:
    """`count` people due at SLOT, each alone in a circle with a daily ritual of their own, kept on even days
    and missed on odd ones for HISTORY_DAYS, and their stored streak figure."""
    ids = []
    with db.session() as s:
        for number in range(first, first + count):
            person = new_person(phone=f"+1202555{number:04d}", now=SLOT, name=f"P{number}", status="active")
            person.digest_weekday, person.digest_time, person.next_digest_at = 6, time(18, 0), SLOT
            circle = Circle(name=f"C{number}", created_at=SLOT)
            s.add(Membership(circle=circle, person=person, status="active", joined_order=1, created_at=SLOT))
            s.flush()
            ritual = Ritual(
                circle_id=circle.id,
                title=f"Walk {number}",
                start_local=(SLOT - timedelta(days=HISTORY_DAYS)).replace(hour=12, tzinfo=None),
                timezone="UTC",
                rrule="FREQ=DAILY",
                duration_minutes=20,
                remind_before_minutes=10,
                grace_minutes=60,
                everyone=True,
                sequence=0,
                materialized_until=SLOT + timedelta(days=1),
                created_at=SLOT,
                updated_at=SLOT,
            )
            s.add(ritual)
            s.flush()
            for day in range(HISTORY_DAYS, 0, -1):
                at = SLOT.replace(hour=12) - timedelta(days=day)
                occurrence = Occurrence(
                    ritual_id=ritual.id,
                    at=at,
                    local=at.replace(tzinfo=None),
                    opens_at=at - timedelta(minutes=10),
                    closes_at=at + timedelta(hours=1),
                    closed=True,
                )
                occurrence.outcomes.append(
                    OccurrenceOutcome(person_id=person.id, outcome="done" if day % 2 == 0 else "missed")
                )
                s.add(occurrence)
            s.add(
                StreakFigure(
                    subject_kind="ritual",
                    subject_id=ritual.id,
                    ritual_id=ritual.id,
                    person_id=person.id,
                    current_streak=number,
                    longest_streak=number,
                    strength=0.5,
                    last_counted_at=SLOT.replace(hour=12) - timedelta(days=1),
                )
            )
            ids.append(person.id)
        s.commit()
    return ids


def make_batch(db, runtime, person_ids) -> tuple[int, int]:
    """One batch of the digest worker for these people, committed and rung: digests made, SQL statements run."""
    statements = []

    def count(*_args) -> None:
        statements.append(1)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        with db.session() as s:
            made = digests.make_due(s, person_ids, runtime.config.public_url, SLOT, secret=runtime.config.secret_key)
            unit_of_work.commit_and_ring(s, runtime.doorbell)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return made, len(statements)
