"""`tend demo`: a couple's circle with two rituals and a promise, to see Tend without a phone.

Alex and Sam are created (or reused) as if both had replied YES; the command
prints their circle's feed URL and the SMS Tend would send them next.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from service.config import Config
from service.core import sms_text
from service.core.schedule import occurrence_local
from service.domain import accounts, feed_store
from service.domain.db import Database
from service.domain.models import Person, Promise, Ritual
from service.domain.runtime import utc_now
from service.domain.subjects import first_instant, upcoming

ALEX = ("Alex", "+12025550181", "America/New_York")
SAM = ("Sam", "+12025550182", "America/New_York")


def create_demo(config: Config, now: datetime | None = None) -> list[str]:
    now = now or utc_now()
    db = Database(config.database_url)
    try:
        with db.session() as session:
            alex, sam, lines = person(session, *ALEX, now=now), person(session, *SAM, now=now), []
            circle = accounts.create_circle(session, owner=alex, name="Alex & Sam", now=now)
            membership = accounts.invite_member(
                session, circle=circle, inviter=alex, name=sam.name, phone=sam.phone, timezone=sam.timezone, now=now
            )
            membership.status = "active"
            tomorrow = (now + timedelta(days=1)).date()
            subjects = [
                ritual(
                    circle.id, "Morning coffee talk", datetime.combine(tomorrow, time(7, 30)), "FREQ=DAILY", 10, now
                ),
                ritual(
                    circle.id, "Sunday walk", next_weekday(tomorrow, 6, time(10, 0)), "FREQ=WEEKLY;BYDAY=SU", 60, now
                ),
                promise(circle.id, sam.id, alex.id, "Book the restaurant", next_weekday(tomorrow, 4, time(18, 0)), now),
            ]
            session.add_all(subjects)
            session.flush()
            feed, token = feed_store.create_feed(session, owner=alex, scope="circle", circle_id=circle.id, now=now)
            url = f"{config.public_url}/feeds/{token}.ics"
            lines += [
                f"Demo circle {circle.name!r} (id {circle.id}) with 2 rituals and a promise.",
                f"Calendar feed: {url}",
                f"  subscribe:   {urlsplit(url)._replace(scheme='webcal').geturl()}",
                "",
                "The SMS Tend would send next:",
            ]
            for subject in subjects:
                at = upcoming(subject, now)
                keeper = sam if isinstance(subject, Promise) else None
                for recipient in [keeper] if keeper else [alex, sam]:
                    other = alex if recipient is sam else sam
                    kind = "promise" if keeper else "ritual"
                    item = sms_text.ReminderItem(
                        subject.title, occurrence_local(at, recipient.timezone), (other.name,), kind
                    )
                    lines.append(
                        f"  to {recipient.name} ({recipient.phone}), before {at:%Y-%m-%d %H:%M} UTC: "
                        f"{sms_text.reminder_text([item])}"
                    )
        return lines
    finally:
        db.dispose()


def person(session, name: str, phone: str, timezone: str, *, now: datetime) -> Person:
    """The demo person with this phone, created active (as if they had replied YES)."""
    existing = session.scalar(select(Person).where(Person.phone == phone))
    if existing is not None:
        return existing
    created, _token = accounts.create_person(session, name=name, phone=phone, timezone=timezone, now=now)
    created.sms_status = "active"
    return created


def next_weekday(start: datetime.date, weekday: int, at: time) -> datetime:
    return datetime.combine(start + timedelta(days=(weekday - start.weekday()) % 7), at)


def ritual(circle_id: int, title: str, starts: datetime, rule: str, remind: int, now: datetime) -> Ritual:
    subject = Ritual(
        circle_id=circle_id,
        title=title,
        start_local=starts,
        timezone="America/New_York",
        rrule=rule,
        duration_minutes=30,
        remind_before_minutes=remind,
        grace_minutes=None,
        everyone=True,
        sequence=0,
        created_at=now,
        updated_at=now,
    )
    subject.materialized_until = first_instant(subject)
    return subject


def promise(circle_id: int, keeper_id: int, recipient_id: int, title: str, due: datetime, now: datetime) -> Promise:
    subject = Promise(
        circle_id=circle_id,
        keeper_id=keeper_id,
        recipient_id=recipient_id,
        title=title,
        due_local=due,
        timezone="America/New_York",
        rrule=None,
        remind_before_minutes=60,
        grace_minutes=60,
        sequence=0,
        created_at=now,
        updated_at=now,
    )
    subject.materialized_until = first_instant(subject)
    return subject
