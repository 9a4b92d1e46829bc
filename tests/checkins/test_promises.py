"""A kept promise: on time or late by when Tend hears of it, and its recipient told once."""

from sqlalchemy import select

from service.domain.models import OutboundSms
from tests.checkins.helpers import checkin_count, messages_to, outcome_of, utc
from tests.reminders.helpers import couple

DUE = utc(2026, 12, 1, 23, 0)  # 18:00 in New York


def promised_call(client, people, db, clock, sms, fake_twilio):
    """Alice promised Bob a call at 18:00 (reminded 17:30, grace 60 minutes); the reminder has gone out."""
    circle = couple(client, people, db)
    promise = client.post(
        "/api/v1/promises",
        headers=people.headers("Alice"),
        json={
            "circle_id": circle,
            "to": people.ids["Bob"],
            "title": "call at 6",
            "due": "2026-12-01T18:00",
            "timezone": "America/New_York",
            "remind_before_minutes": 30,
        },
    ).get_json()
    sms.tick()
    fake_twilio.reset()
    clock.set(utc(2026, 12, 1, 22, 30))
    sms.tick()
    assert messages_to(fake_twilio, people.PHONES["Alice"])[0].startswith("Tend: your promise to Bob: call at 6")
    return promise


def test_a_promise_kept_on_time_notifies_its_recipient_once(client, people, db, clock, sms, fake_twilio, texts):
    promise = promised_call(client, people, db, clock, sms, fake_twilio)
    clock.set(utc(2026, 12, 1, 22, 55))
    assert texts.send("Alice", "DONE") == "Kept! call at 6: a new streak begins."
    assert texts.send("Alice", "DONE").startswith("Already recorded for call at 6")
    sms.tick()
    sms.tick()
    assert messages_to(fake_twilio, people.PHONES["Bob"]) == ["Tend: Alice kept their promise: call at 6."]
    assert outcome_of(db, people.ids["Alice"], promise_id=promise["id"], at=DUE) == "on_time"
    assert checkin_count(db) == 1


def test_a_promise_kept_after_its_due_time_is_late(client, people, db, clock, sms, fake_twilio, texts):
    promise = promised_call(client, people, db, clock, sms, fake_twilio)
    clock.set(utc(2026, 12, 1, 23, 20))
    assert texts.send("Alice", "done") == "Kept, a bit late! call at 6: a new streak begins."
    sms.tick()
    assert messages_to(fake_twilio, people.PHONES["Bob"]) == [
        "Tend: Alice kept their promise, a little late: call at 6."
    ]
    assert outcome_of(db, people.ids["Alice"], promise_id=promise["id"], at=DUE) == "late"


def test_a_skipped_promise_tells_the_recipient_nothing(client, people, db, clock, sms, fake_twilio, texts):
    promised_call(client, people, db, clock, sms, fake_twilio)
    texts.send("Alice", "SKIP")
    sms.tick()
    assert messages_to(fake_twilio, people.PHONES["Bob"]) == []
    with db.session() as s:
        assert s.scalars(select(OutboundSms).where(OutboundSms.kind == "promise_kept")).all() == []


def test_the_recipient_is_rung_for_at_once(client, people, db, clock, sms, fake_twilio, texts, doorbell):
    promised_call(client, people, db, clock, sms, fake_twilio)
    texts.send("Alice", "DONE")
    with db.session() as s:
        kept = s.scalars(select(OutboundSms.id).where(OutboundSms.kind == "promise_kept")).all()
    assert doorbell.sms == [kept]


def test_a_kept_promise_notice_waits_for_the_end_of_the_recipients_quiet_hours(
    client, people, db, clock, sms, fake_twilio, texts
):
    promise = promised_call(client, people, db, clock, sms, fake_twilio)
    response = client.patch("/api/v1/me", headers=people.headers("Bob"), json={"timezone": "Europe/Berlin"})
    assert response.status_code == 200, response.get_json()
    clock.set(utc(2026, 12, 1, 22, 55))  # 23:55 in Berlin: Bob's quiet hours (22:00–07:00)
    assert texts.send("Alice", "DONE") == "Kept! call at 6: a new streak begins."
    sms.tick()
    assert messages_to(fake_twilio, people.PHONES["Bob"]) == []
    with db.session() as s:
        [notice] = s.scalars(select(OutboundSms).where(OutboundSms.kind == "promise_kept")).all()
    assert (notice.state, notice.due_at) == ("queued", utc(2026, 12, 2, 6, 0))  # 07:00 in Berlin
    clock.set(utc(2026, 12, 2, 6, 0))
    sms.tick()
    assert messages_to(fake_twilio, people.PHONES["Bob"]) == ["Tend: Alice kept their promise: call at 6."]
    assert outcome_of(db, people.ids["Alice"], promise_id=promise["id"], at=DUE) == "on_time"
