"""A kept promise: on time or late by when Tend hears of it, and its recipient told once."""

from sqlalchemy import select

from service.domain.models import OutboundSms
from tests.checkins.helpers import PROMISE_DUE, checkin_count, outcome_of, reminded_promise, utc


def test_a_promise_kept_on_time_notifies_its_recipient_once(client, people, db, clock, sms, fake_twilio, texts):
    promise = reminded_promise(client, people, db, clock, sms, fake_twilio)
    clock.set(utc(2026, 12, 1, 22, 55))
    assert texts.send("Alice", "DONE") == "Kept! call at 6: a new streak begins."
    assert texts.send("Alice", "DONE").startswith("Already recorded for call at 6")
    sms.tick()
    sms.tick()
    assert fake_twilio.bodies_to(people.PHONES["Bob"]) == ["Tend: Alice kept their promise: call at 6."]
    assert outcome_of(db, people.ids["Alice"], promise_id=promise["id"], at=PROMISE_DUE) == "on_time"
    assert checkin_count(db) == 1


def test_a_promise_kept_after_its_due_time_is_late(client, people, db, clock, sms, fake_twilio, texts):
    promise = reminded_promise(client, people, db, clock, sms, fake_twilio)
    clock.set(utc(2026, 12, 1, 23, 20))
    assert texts.send("Alice", "done") == "Kept, a bit late! call at 6: a new streak begins."
    sms.tick()
    assert fake_twilio.bodies_to(people.PHONES["Bob"]) == ["Tend: Alice kept their promise, a little late: call at 6."]
    assert outcome_of(db, people.ids["Alice"], promise_id=promise["id"], at=PROMISE_DUE) == "late"


def test_a_skipped_promise_tells_the_recipient_nothing(client, people, db, clock, sms, fake_twilio, texts):
    reminded_promise(client, people, db, clock, sms, fake_twilio)
    texts.send("Alice", "SKIP")
    sms.tick()
    assert fake_twilio.bodies_to(people.PHONES["Bob"]) == []
    with db.session() as s:
        assert s.scalars(select(OutboundSms).where(OutboundSms.kind == "promise_kept")).all() == []


def test_the_recipient_is_rung_for_at_once(client, people, db, clock, sms, fake_twilio, texts, doorbell):
    reminded_promise(client, people, db, clock, sms, fake_twilio)
    texts.send("Alice", "DONE")
    with db.session() as s:
        kept = s.scalars(select(OutboundSms.id).where(OutboundSms.kind == "promise_kept")).all()
    assert doorbell.sms == [kept]


def test_a_kept_promise_notice_waits_for_the_end_of_the_recipients_quiet_hours(
    client, people, db, clock, sms, fake_twilio, texts
):
    promise = reminded_promise(client, people, db, clock, sms, fake_twilio)
    response = client.patch("/api/v1/me", headers=people.headers("Bob"), json={"timezone": "Europe/Berlin"})
    assert response.status_code == 200, response.get_json()
    clock.set(utc(2026, 12, 1, 22, 55))  # 23:55 in Berlin: Bob's quiet hours (22:00–07:00)
    assert texts.send("Alice", "DONE") == "Kept! call at 6: a new streak begins."
    sms.tick()
    assert fake_twilio.bodies_to(people.PHONES["Bob"]) == []
    with db.session() as s:
        [notice] = s.scalars(select(OutboundSms).where(OutboundSms.kind == "promise_kept")).all()
    assert (notice.state, notice.due_at) == ("queued", utc(2026, 12, 2, 6, 0))  # 07:00 in Berlin
    clock.set(utc(2026, 12, 2, 6, 0))
    sms.tick()
    assert fake_twilio.bodies_to(people.PHONES["Bob"]) == ["Tend: Alice kept their promise: call at 6."]
    assert outcome_of(db, people.ids["Alice"], promise_id=promise["id"], at=PROMISE_DUE) == "on_time"
