"""`tend demo`: a couple's circle with two rituals and a promise, to see Tend without a phone.

Alex and Sam are created as if both had verified their numbers, and their
circle once: a second run reuses both and texts nobody. The command prints the
feed URL of the circle (its token derived from the install's secret key, so
every run prints the same link) and the SMS Tend would send them next.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import Config
from service.core import sms_text
from service.core.schedule import occurrence_local
from service.domain import accounts, editing, feed_store
from service.domain.db import Database
from service.domain.models import (
    Circle,
    FeedScope,
    Membership,
    MembershipStatus,
    Person,
    PersonStatus,
    Promise,
    Ritual,
    Subject,
)
from service.domain.runtime import utc_now
from service.domain.subjects import upcoming

ZONE = "America/New_York"
ALEX = ("Alex", "+12025550181", ZONE)
SAM = ("Sam", "+12025550182", ZONE)
CIRCLE_NAME = "Alex & Sam"


def create_demo(config: Config, now: datetime | None = None) -> list[str]:
    """Alex and Sam's circle and its feed (made once, reused by later runs); what Tend would send next."""
    now = now or utc_now()
    db = Database(config.database_url)
    try:
        with db.session() as session:
            countries = config.sms_countries
            alex, sam = (
                person(session, *ALEX, now=now, countries=countries),
                person(session, *SAM, now=now, countries=countries),
            )
            circle, subjects = circle_of(session, alex, sam, now)
            token = demo_feed_token(config.secret_key)
            if feed_store.feed_of_token(session, token) is None:
                feed_store.create_feed(
                    session, owner=alex, scope=FeedScope.CIRCLE, circle_id=circle.id, now=now, token=token
                )
            url = f"{config.public_url}/feeds/{token}.ics"
            lines = [
                f"Demo circle {circle.name!r} (id {circle.id}) with 2 rituals and a promise.",
                f"Calendar feed: {url}",
                f"  subscribe:   {urlsplit(url)._replace(scheme='webcal').geturl()}",
                "",
                "The SMS Tend would send next:",
            ]
            people = {alex.id: alex, sam.id: sam}
            names = accounts.names_in(session, [circle.id], people)  # as reminders name them (sending.ReminderFacts)
            for subject in subjects:
                at = upcoming(subject, now)
                if at is None:
                    continue
                for recipient in (people[person_id] for person_id in subject.expected_people()):
                    others = tuple(names.of(circle.id, p) for p in subject.involved() if p != recipient.id)
                    item = sms_text.ReminderItem(
                        subject.title, occurrence_local(at, recipient.timezone), others, subject.kind
                    )
                    lines.append(
                        f"  to {recipient.name} ({recipient.phone}), before {at:%Y-%m-%d %H:%M} UTC: "
                        f"{sms_text.reminder_text([item])}"
                    )
        return lines
    finally:
        db.dispose()


def demo_feed_token(secret_key: str) -> str:
    """The demo feed's token: the same on every run of one install, unguessable without its secret key."""
    digest = hmac.new(secret_key.encode(), b"tend demo feed", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def person(
    session: Session, name: str, phone: str, timezone: str, *, now: datetime, countries: tuple[str, ...]
) -> Person:
    """The demo person with this phone, created active (as if they had verified their number): no texts to ask.

    Its number and name pass the rules every door applies (SPEC §3): a number Tend may not text (not of
    `countries`) is refused, naming `phone`, as a sign-up would be."""
    phone = accounts.destination(phone, countries)
    existing = session.scalar(select(Person).where(Person.phone == phone))
    if existing is not None:
        return existing
    created = accounts.new_person(
        phone=phone, now=now, name=accounts.valid_name(name), timezone=timezone, status=PersonStatus.ACTIVE
    )
    session.add(created)
    session.flush()
    return created


def circle_of(session: Session, alex: Person, sam: Person, now: datetime) -> tuple[Circle, list[Subject]]:
    """Alex's demo circle with its rituals and promise; made, with both as members, on the first run."""
    circle = session.scalar(
        select(Circle).join(Membership).where(Circle.name == CIRCLE_NAME, Membership.person_id == alex.id).limit(1)
    )
    if circle is not None:
        rituals = session.scalars(select(Ritual).where(Ritual.circle_id == circle.id).order_by(Ritual.id))
        promises = session.scalars(select(Promise).where(Promise.circle_id == circle.id).order_by(Promise.id))
        return circle, [*rituals, *promises]
    circle = active_circle(session, CIRCLE_NAME, [alex, sam], now)
    tomorrow = (now + timedelta(days=1)).date()
    subjects: list[Subject] = [
        ritual(session, circle, "Morning coffee talk", datetime.combine(tomorrow, time(7, 30)), "FREQ=DAILY", 10, now),
        ritual(session, circle, "Sunday walk", next_weekday(tomorrow, 6, time(10, 0)), "FREQ=WEEKLY;BYDAY=SU", 60, now),
        promise(session, circle, sam, alex.id, "Book the restaurant", next_weekday(tomorrow, 4, time(18, 0)), now),
    ]
    return circle, subjects


def active_circle(session: Session, name: str, members: list[Person], now: datetime) -> Circle:
    """A circle whose members joined already (as if each had accepted), in this order; for demos and benchmarks."""
    circle = Circle(name=name, created_at=now)
    session.add(circle)
    session.flush()
    for order, member in enumerate(members, start=1):
        session.add(
            Membership(
                circle_id=circle.id,
                person_id=member.id,
                status=MembershipStatus.ACTIVE,
                joined_order=order,
                created_at=now,
            )
        )
    session.flush()
    session.refresh(circle)
    return circle


def next_weekday(start: date, weekday: int, at: time) -> datetime:
    return datetime.combine(start + timedelta(days=(weekday - start.weekday()) % 7), at)


def ritual(
    session: Session, circle: Circle, title: str, starts: datetime, rule: str, remind: int, now: datetime
) -> Ritual:
    """A ritual of the whole circle, made as every door makes one (service/domain/editing.py)."""
    fields = editing.RitualFields(title, starts, ZONE, rule, duration_minutes=30, remind_before_minutes=remind)
    return editing.create_ritual(session, circle, fields, now).subject


def promise(
    session: Session, circle: Circle, keeper: Person, recipient_id: int, title: str, due: datetime, now: datetime
) -> Promise:
    """A one-off promise, made as every door makes one."""
    fields = editing.PromiseFields(recipient_id, title, due, ZONE, None, remind_before_minutes=60, grace_minutes=60)
    return editing.create_promise(session, keeper, circle, fields, now).subject
