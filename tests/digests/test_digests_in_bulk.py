"""Digests at scale: a batch of people costs the same statements as one, and each gets only their own week."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import event, select

from service.domain import digests
from service.domain.accounts import new_person
from service.domain.models import Circle, Digest, Membership, Occurrence, OccurrenceOutcome, Ritual, StreakFigure

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


def statements_to_make(db, runtime, person_ids) -> int:
    """How many SQL statements one batch of the digest worker runs for these people (committed)."""
    statements = []

    def count(*_args) -> None:
        statements.append(1)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        with db.session() as s:
            made = digests.make_due(s, person_ids, runtime.config.public_url, SLOT, secret=runtime.config.secret_key)
            s.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert made == len(person_ids)
    return len(statements)


def test_making_twenty_digests_takes_the_statements_of_two(db, runtime):
    two = statements_to_make(db, runtime, people_with_a_week(db, 1, 2))
    twenty = statements_to_make(db, runtime, people_with_a_week(db, 100, 20))
    assert twenty == two


def test_each_digest_of_a_batch_holds_only_its_own_person_s_week(db, runtime):
    ids = people_with_a_week(db, 1, 3)
    statements_to_make(db, runtime, ids)
    with db.session() as s:
        payloads = {d.person_id: d.payload for d in s.scalars(select(Digest).where(Digest.person_id.in_(ids)))}
    for number, person_id in enumerate(ids, start=1):
        [subject] = payloads[person_id]["subjects"]
        # the week before the slot (18:00) holds the noons of days 6..1 before it, kept on the even ones
        assert (subject["title"], subject["kept"], subject["expected"]) == (f"Walk {number}", 3, 6)
        assert payloads[person_id]["best_streak"]["current_streak"] == number
        # the week before that: days 13..7, kept on 12, 10 and 8
        assert payloads[person_id]["reliability_change"] == round(0.5 - round(3 / 7, 3), 3)
