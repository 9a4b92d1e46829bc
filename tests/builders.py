"""The one place tests build people, circles, rituals and promises.

Two ways, for two kinds of test:

* **Through the API, as people do** (`People`, `couple`, `add_ritual`, `add_promise`):
  sign-up by the code Tend texts, a circle made and joined over HTTP. Most tests.
* **Straight into the database** (`stored_couple`, `stored_ritual`, `stored_promise`,
  `people_due_at`): histories for the streak rules, and hundreds of people whose
  reminders fall due at once for the crash and load tests. ORM rows, no HTTP.

`bench/seeding.py` seeds millions for the benchmarks with bulk SQL; tests do not
import it (nor bench imports this): the two answer different questions.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service import config as config_module
from service.domain import editing
from service.domain.accounts import new_person
from service.domain.db import Database
from service.domain.models import Circle, Membership, OutboundSms, Person, Promise, Ritual

# --- configuration -------------------------------------------------------------------------------

PUBLIC_URL = "http://tend.test"


def make_config(tmp_path: Path, **env: str) -> config_module.Config:
    """Tend's configuration as the tests run it; `env` adds or overrides variables."""
    base = {"TEND_SECRET_KEY": "test-secret-key-0123456789", "TEND_PUBLIC_URL": PUBLIC_URL}
    return config_module.load(base | env, var_dir=tmp_path)


# --- people, circles, rituals and promises through the API ----------------------------------------


def code_texted_to(db: Database, phone: str) -> str:
    """The test hook for sign-in codes: the 6 digits of the latest code SMS queued for `phone`."""
    with db.session() as s:
        body = s.scalar(
            select(OutboundSms.body)
            .where(OutboundSms.to == phone, OutboundSms.kind == "code", OutboundSms.body.is_not(None))
            .order_by(OutboundSms.id.desc())
            .limit(1)
        )
    assert body is not None, f"no code was texted to {phone}"
    found = re.search(r"\b(\d{6})\b", body)
    assert found, body
    return found[1]


class People:
    """Signs people up through the API, by code; `.headers(name)` gives their bearer header."""

    PHONES = {"Alice": "+14155550101", "Bob": "+14155550102", "Charlie": "+14155550103", "Dana": "+14155550104"}

    def __init__(self, client, db: Database) -> None:
        self.client = client
        self.db = db
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, int] = {}

    def create(self, name: str, timezone: str = "America/New_York") -> dict:
        """Sign `name` up (or in): ask for a code, read it, trade it for a session; returns the person."""
        phone = self.PHONES[name]
        response = self.client.post("/api/v1/codes", json={"phone": phone})
        assert response.status_code == 202, response.get_json()
        code = code_texted_to(self.db, phone)
        response = self.client.post(
            "/api/v1/sessions", json={"phone": phone, "code": code, "name": name, "timezone": timezone}
        )
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        self.tokens[name], self.ids[name] = body["token"], body["person"]["id"]
        return body["person"] | {"token": body["token"]}

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def add_circle(client, people: People, name: str = "Us", by: str = "Alice") -> int:
    """A new circle of `by`'s (signed up already); its id."""
    response = client.post("/api/v1/circles", json={"name": name}, headers=people.headers(by))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def activate(db: Database, *person_ids: int) -> None:
    """As if they had replied YES: active SMS status and joined circles."""
    with db.session() as s:
        s.execute(
            update(Person)
            .where(Person.id.in_(person_ids))
            .values(sms_status="active", consented_at=func.coalesce(Person.consented_at, Person.created_at))
        )
        s.execute(update(Membership).where(Membership.person_id.in_(person_ids)).values(status="active"))


def couple(client, people: People, db: Database, alice_tz="America/New_York", bob_tz="America/New_York") -> int:
    """Alice and Bob, both active, in one circle; returns the circle id."""
    people.create("Alice", alice_tz)
    people.create("Bob", bob_tz)
    circle = add_circle(client, people)
    response = client.post(
        f"/api/v1/circles/{circle}/members",
        headers=people.headers("Alice"),
        json={"name": "Bob", "phone": people.PHONES["Bob"], "timezone": bob_tz},
    )
    assert response.status_code == 201, response.get_json()
    activate(db, people.ids["Alice"], people.ids["Bob"])
    return circle


def ritual_body(**changes) -> dict:
    """The JSON of the default ritual (daily at 07:30 in New York from 2 December 2026), with `changes`."""
    return {
        "title": "Morning coffee talk",
        "starts": "2026-12-02T07:30",
        "timezone": "America/New_York",
        "rrule": "FREQ=DAILY",
        "duration_minutes": 20,
        "remind_before_minutes": 10,
    } | changes


# The default ritual's first occurrence, and its reminder 10 minutes before.
FIRST_REMINDER = datetime(2026, 12, 2, 12, 20, tzinfo=UTC)
FIRST_OCCURRENCE = datetime(2026, 12, 2, 12, 30, tzinfo=UTC)


def add_ritual(client, people: People, circle_id: int, by: str = "Alice", **changes) -> dict:
    """POST the default ritual (with `changes`) to the circle as `by`; the created ritual."""
    response = client.post(
        f"/api/v1/circles/{circle_id}/rituals", json=ritual_body(**changes), headers=people.headers(by)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def promise_body(circle_id: int, to: int, **changes) -> dict:
    """The JSON of the default promise (one-off, Friday 4 December 2026 18:00 in New York, reminded an hour before)."""
    return {
        "circle_id": circle_id,
        "to": to,
        "title": "Book the restaurant",
        "due": "2026-12-04T18:00",
        "timezone": "America/New_York",
        "remind_before_minutes": 60,
    } | changes


def add_promise(client, people: People, circle_id: int, by: str = "Alice", to: str = "Bob", **changes) -> dict:
    """POST a promise of `by` to `to` (with `changes`); the created promise."""
    body = promise_body(circle_id, people.ids[to], **changes)
    response = client.post("/api/v1/promises", json=body, headers=people.headers(by))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- straight into the database -------------------------------------------------------------------

STORED_AT = datetime(2026, 1, 5, 12, 30, tzinfo=UTC)  # when stored histories begin: 07:30 in New York
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)  # materialized "forever": no clock adds to these
STORED_PHONES = {"Alice": "+15005550101", "Bob": "+15005550102", "Charlie": "+15005550103"}


def stored_couple(session: Session, at: datetime = STORED_AT) -> tuple[Circle, Person, Person]:
    """Alice and Bob, active members of one circle, written as rows."""
    circle = Circle(name="Us", created_at=at)
    alice, bob = (
        new_person(phone=STORED_PHONES[name], now=at, name=name, timezone="America/New_York", status="active")
        for name in ("Alice", "Bob")
    )
    session.add_all(
        [
            Membership(circle=circle, person=person, status="active", joined_order=order, created_at=at)
            for order, person in enumerate((alice, bob), start=1)
        ]
    )
    session.flush()
    return circle, alice, bob


def stored_ritual(
    session: Session, circle: Circle, title: str = "Morning coffee talk", at: datetime = STORED_AT
) -> Ritual:
    """A daily everyone-ritual from `at`'s day at 07:mm New York time (mm: `at`'s minute), made as every door makes
    one (`editing`), then materialized for ever: its history is written as rows."""
    fields = editing.RitualFields(
        title, at.replace(hour=7, tzinfo=None), "America/New_York", "FREQ=DAILY", 20, remind_before_minutes=10
    )
    ritual = editing.create_ritual(session, circle, fields, at).subject
    ritual.materialized_until = FAR_FUTURE
    session.flush()
    return ritual


def stored_promise(
    session: Session, circle: Circle, keeper: Person, recipient: Person, at: datetime = STORED_AT
) -> Promise:
    """A daily promise due from `at`'s day at 18:mm New York time (mm: `at`'s minute), made as every door makes one
    (`editing`), then materialized for ever."""
    fields = editing.PromiseFields(
        recipient.id, "Call at 6", at.replace(hour=18, tzinfo=None), "America/New_York", "FREQ=DAILY", 10, 60
    )
    promise = editing.create_promise(session, keeper, circle, fields, at).subject
    promise.materialized_until = FAR_FUTURE
    session.flush()
    return promise


def due_phone(number: int) -> str:
    """The phone of the `number`th person of `people_due_at` (counting from 1)."""
    return f"+1{2_025_550_000 + number}"


def people_due_at(
    db: Database,
    count: int,
    *,
    due_at: datetime,
    created_at: datetime,
    rrule: str | None = None,
    remind_before_minutes: int = 10,
    follow_up_minutes: int | None = None,
) -> None:
    """`count` active people, each alone in a circle with one UTC ritual whose reminder is due at `due_at`.

    Into a fresh database: person n (phone `due_phone(n)`), circle n and ritual n
    share their id. Nothing is materialized yet; quiet hours are off, and each
    person's weekly digest is already scheduled days away, so a clock's ticks do
    only the reminders.
    """
    start_local = (due_at + timedelta(minutes=remind_before_minutes)).replace(tzinfo=None)
    with db.session() as session:
        for number in range(1, count + 1):
            person = Person(
                id=number,  # explicit: people's ids are otherwise random
                name=f"P{number}",
                phone=due_phone(number),
                timezone="UTC",
                sms_status="active",
                consented_at=created_at,
                quiet_start=None,
                quiet_end=None,
                digest_weekday=6,
                digest_time=time(18, 0),
                next_digest_at=due_at + timedelta(days=3),
                created_at=created_at,
            )
            circle = Circle(name=f"C{number}", created_at=created_at)
            session.add(
                Membership(circle=circle, person=person, status="active", joined_order=1, created_at=created_at)
            )
            session.add(
                Ritual(
                    circle=circle,
                    title="Check in",
                    start_local=start_local,
                    timezone="UTC",
                    rrule=rrule,
                    duration_minutes=15,
                    remind_before_minutes=remind_before_minutes,
                    grace_minutes=60,
                    follow_up_minutes=follow_up_minutes,
                    everyone=True,
                    sequence=0,
                    materialized_until=start_local.replace(tzinfo=due_at.tzinfo) - timedelta(seconds=1),
                    created_at=created_at,
                    updated_at=created_at,
                )
            )
