"""Fast bulk seeding of people, circles and rituals straight into the database (for load tests and benchmarks)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert

from service.domain.db import Database
from service.domain.models import Circle, Membership, Person, Ritual


def person_row(person_id: int, phone_base: int, due_at: datetime, created_at: datetime) -> dict:
    """An active person in UTC for bulk inserts; their weekly digest already scheduled, days after `due_at`.

    Scheduled, because a clock would otherwise spend its first ticks scheduling every seeded person's digest at
    once, which only bulk seeding causes.
    """
    return {
        "id": person_id,
        "name": f"P{person_id}",
        "phone": f"+1{phone_base + person_id}",
        "timezone": "UTC",
        "sms_status": "active",
        "consented_at": created_at,
        "quiet_start": None,
        "quiet_end": None,
        "digest_weekday": 6,
        "digest_time": datetime.min.time().replace(hour=18),
        "next_digest_at": due_at + timedelta(days=3),
        "created_at": created_at,
    }


def seed_people(db: Database, ids: range, *, due_at: datetime, created_at: datetime, phone_base: int) -> None:
    """Active people `ids`, each alone in the circle of the same id (`person_row`), in one transaction."""
    with db.session() as session:
        session.execute(insert(Person), [person_row(i, phone_base, due_at, created_at) for i in ids])
        session.execute(insert(Circle), [{"id": i, "name": f"C{i}", "created_at": created_at} for i in ids])
        session.execute(
            insert(Membership),
            [
                {"circle_id": i, "person_id": i, "status": "active", "joined_order": 1, "created_at": created_at}
                for i in ids
            ],
        )


def seed_rituals(
    db: Database,
    count: int,
    *,
    due_at: datetime,
    created_at: datetime,
    rrule: str | None = None,
    remind_before_minutes: int = 10,
    phone_base: int = 2_025_550_000,
    chunk: int = 5_000,
) -> None:
    """`count` active people, each alone in a circle with one UTC ritual whose reminder is due at `due_at`.

    Rows are inserted in bulk (no ORM objects), so a million schedules take seconds, not hours.
    """
    start_local = (due_at + timedelta(minutes=remind_before_minutes)).replace(tzinfo=None)
    for offset in range(0, count, chunk):
        ids = range(offset + 1, min(count, offset + chunk) + 1)
        seed_people(db, ids, due_at=due_at, created_at=created_at, phone_base=phone_base)
        with db.session() as session:
            session.execute(
                insert(Ritual),
                [
                    {
                        "id": i,
                        "circle_id": i,
                        "title": "Check in",
                        "start_local": start_local,
                        "timezone": "UTC",
                        "rrule": rrule,
                        "duration_minutes": 15,
                        "remind_before_minutes": remind_before_minutes,
                        "grace_minutes": 60,
                        "everyone": True,
                        "sequence": 0,
                        "materialized_until": start_local.replace(tzinfo=due_at.tzinfo) - timedelta(seconds=1),
                        "created_at": created_at,
                        "updated_at": created_at,
                    }
                    for i in ids
                ],
            )
        fix_sequences(db)


def fix_sequences(db: Database) -> None:
    """Explicit ids leave PostgreSQL's sequences behind; move them past the rows."""
    if db.is_sqlite:
        return
    from sqlalchemy import text

    with db.session() as session:
        for table in ("people", "circles", "rituals"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
                )
            )
