"""Quiet hours hold what Tend starts, not what a person just asked for, and follow the person's changes to them.

At 22:35 in New York (03:35 UTC, inside the default 22:00-07:00): a digest sample asked for on the settings page
goes at once (they are awake), a second one asked for before the first went replaces it (none sent twice), and a
reminder the quiet hours hold is planned again when the person changes them (off: now; narrower: their new end).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from service.domain.models import Circle, OutboundSms
from tests.builders import add_circle, add_ritual
from tests.pages.helpers import Pages

ALICE = "+14155550101"
EVENING = datetime(2026, 12, 2, 3, 35, tzinfo=UTC)  # 22:35 on 1 December in New York
NEXT_MORNING = datetime(2026, 12, 2, 12, 1, tzinfo=UTC)  # 07:01 in New York


def samples_to_alice(fake_twilio) -> list[str]:
    return [body for body in fake_twilio.bodies_to(ALICE) if body.startswith("Tend week")]


def test_a_sample_asked_for_in_quiet_hours_goes_at_once(app, db, clock, sms, fake_twilio):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    clock.set(EVENING)
    sent = alice.post("/settings/digest-sample", form_page="/settings", follow=True)
    assert "on its way" in sent.get_data(as_text=True)
    sms.drain()
    assert len(samples_to_alice(fake_twilio)) == 1


def test_a_second_sample_before_the_first_went_replaces_it(app, db, clock, sms, fake_twilio):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    sms.drain()
    clock.set(EVENING)
    alice.post("/settings/digest-sample", form_page="/settings")
    clock.advance(minutes=11)  # past the ten minutes within which a sample is asked for only once
    alice.post("/settings/digest-sample", form_page="/settings")
    sms.drain()
    clock.set(NEXT_MORNING)
    sms.tick()
    assert len(samples_to_alice(fake_twilio)) == 1


def held_reminder(client, people, clock, sms, fake_twilio) -> None:
    """Alice's 22:45 ritual: its 22:30 reminder, held by her default quiet hours until 07:00."""
    people.create("Alice")
    add_ritual(client, people, add_circle(client, people), starts="2026-12-01T22:45", remind_before_minutes=15)
    clock.set(EVENING)
    sms.tick()
    assert not [body for body in fake_twilio.bodies_to(ALICE) if "22:45" in body or "10:45" in body]


def reminder(db) -> OutboundSms:
    with db.session() as s:
        row = s.scalars(select(OutboundSms).where(OutboundSms.kind == "reminder").order_by(OutboundSms.due_at)).first()
        assert row is not None
        s.expunge(row)
        return row


def test_a_held_reminder_goes_at_once_when_quiet_hours_are_turned_off(client, people, db, clock, sms, fake_twilio):
    held_reminder(client, people, clock, sms, fake_twilio)
    assert reminder(db).due_at == NEXT_MORNING - timedelta(minutes=1)
    answer = client.patch("/api/v1/me", json={"quiet_hours": None}, headers=people.headers("Alice"))
    assert answer.status_code == 200
    sms.drain()
    assert reminder(db).state == "sent"


def test_a_held_reminder_goes_when_narrower_quiet_hours_end(client, people, db, clock, sms, fake_twilio):
    held_reminder(client, people, clock, sms, fake_twilio)
    narrower = {"quiet_hours": {"start": "22:00", "end": "06:00"}}
    assert client.patch("/api/v1/me", json=narrower, headers=people.headers("Alice")).status_code == 200
    sms.drain()
    row = reminder(db)
    assert (row.state, row.due_at) == ("queued", datetime(2026, 12, 2, 11, 0, tzinfo=UTC))  # 06:00 in New York


DAN = "+14155550177"


def test_an_invitation_at_night_goes_when_the_inviters_night_ends_and_the_answer_says_when(
    client, people, db, clock, sms, fake_twilio
):
    people.create("Alice")
    circle = add_circle(client, people)
    clock.set(EVENING)
    invite = {"name": "Dan", "phone": DAN}
    answer = client.post(f"/api/v1/circles/{circle}/members", json=invite, headers=people.headers("Alice"))
    assert answer.get_json()["invitation_at"] == "2026-12-02T12:00:00Z"  # 07:00 in Alice's New York
    sms.tick()
    assert fake_twilio.bodies_to(DAN) == []
    clock.set(NEXT_MORNING)
    sms.tick()
    assert len(fake_twilio.bodies_to(DAN)) == 1


def test_the_circle_page_says_when_the_invitation_goes(app, db, clock):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    alice.post("/circles/new", {"name": "Us"})
    with db.session() as s:
        circle = s.execute(select(Circle.id)).scalar_one()
    clock.set(EVENING)
    page = alice.post(f"/circles/{circle}/members", {"name": "Dan", "phone": DAN}, f"/circles/{circle}", follow=True)
    assert "They get one text inviting them at 07:00." in page.get_data(as_text=True)
    clock.set(NEXT_MORNING)
    page = alice.post(
        f"/circles/{circle}/members", {"name": "Eve", "phone": "+14155550178"}, f"/circles/{circle}", follow=True
    )
    assert "They get one text inviting them now." in page.get_data(as_text=True)
