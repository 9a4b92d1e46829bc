"""Reminders go out once, at the right local time, to the right people."""

from datetime import UTC, datetime

from sqlalchemy import select

from service.domain.models import Occurrence, OccurrenceOutcome, OutboundSms
from tests.builders import add_ritual, couple


def reminders_to(fake, phone):
    return [m for m in fake.messages if m["to"] == phone and m["body"].startswith("Tend") and "Reply DONE" in m["body"]]


def test_a_daily_ritual_reminds_both_partners_once_at_the_local_time(client, people, db, clock, sms, fake_twilio):
    circle = couple(client, people, db)
    add_ritual(client, people, circle)
    sms.tick()
    fake_twilio.reset()  # forget the opt-in and invitation SMS
    clock.set(datetime(2026, 12, 2, 12, 19, tzinfo=UTC))  # 07:19 in New York: not yet
    sms.tick()
    assert fake_twilio.messages == []
    clock.set(datetime(2026, 12, 2, 12, 20, tzinfo=UTC))  # 07:20 = 07:30 − 10 minutes
    sms.tick()
    sms.tick()
    alice = reminders_to(fake_twilio, people.PHONES["Alice"])
    bob = reminders_to(fake_twilio, people.PHONES["Bob"])
    assert len(alice) == 1 and len(bob) == 1
    assert alice[0]["body"].startswith("Tend: Morning coffee talk with Bob at 7:30.")
    assert bob[0]["body"].startswith("Tend: Morning coffee talk with Alice at 7:30.")
    with db.session() as s:  # the callback names the outbox row, so Twilio's report finds it without a SID
        [row_id] = s.scalars(
            select(OutboundSms.id).where(OutboundSms.to == people.PHONES["Alice"], OutboundSms.sid == alice[0]["sid"])
        ).all()
    assert alice[0]["status_callback"] == f"http://tend.test/webhooks/twilio/status?row={row_id}"


def test_a_missed_occurrence_closes_as_missed(client, people, db, clock, sms):
    circle = couple(client, people, db)
    add_ritual(client, people, circle, grace_minutes=30)
    sms.tick()
    clock.set(datetime(2026, 12, 2, 13, 1, tzinfo=UTC))  # 08:01, after 07:30 + 30 minutes
    sms.tick()
    with db.session() as s:
        first = s.scalars(select(Occurrence).order_by(Occurrence.at)).first()
        outcomes = s.scalars(select(OccurrenceOutcome.outcome).where(OccurrenceOutcome.occurrence_id == first.id)).all()
    assert first.closed and outcomes == ["missed", "missed"]


def test_a_ritual_started_in_the_past_sends_nothing_for_past_occurrences(client, people, db, clock, sms, fake_twilio):
    circle = couple(client, people, db)
    add_ritual(client, people, circle, starts="2026-11-20T07:30")
    sms.tick()
    with db.session() as s:
        past = s.scalars(select(Occurrence).where(Occurrence.at < clock())).all()
        reminders = s.scalars(select(OutboundSms).where(OutboundSms.kind == "reminder")).all()
    assert len(past) == 11 and all(o.closed for o in past)
    assert {r.occurrence_id for r in reminders}.isdisjoint({o.id for o in past})
    assert not [m for m in fake_twilio.messages if "Reply DONE" in m["body"]]
