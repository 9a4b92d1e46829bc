"""Twilio's status callbacks move an outbound SMS forward only, and 21610 opts its recipient out."""

from datetime import timedelta

from sqlalchemy import select, update

from service.domain.delivery_reports import HOLD_FOR
from service.domain.models import DeliveryReport, OutboundSms, Person
from tests.checkins.helpers import reminded_couple, sent_reminder_sid


def reminder_row(db, sid: str) -> OutboundSms:
    with db.session() as s:
        return s.scalars(select(OutboundSms).where(OutboundSms.sid == sid)).one()


def test_delivered_is_recorded_and_never_moves_back(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    sid = sent_reminder_sid(db, people.ids["Alice"])
    response = texts.status(sid, "delivered")
    assert response.status_code == 204 and response.get_data() == b""
    assert reminder_row(db, sid).state == "delivered"
    for late_news in ("sent", "queued", "undelivered", "failed"):
        assert texts.status(sid, late_news, "30003").status_code == 204
    row = reminder_row(db, sid)
    assert (row.state, row.error_code) == ("delivered", None)


def test_undelivered_records_the_error_code(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    sid = sent_reminder_sid(db, people.ids["Bob"])
    texts.status(sid, "undelivered", "30005")
    texts.status(sid, "undelivered", "30005")
    row = reminder_row(db, sid)
    assert (row.state, row.error_code) == ("undelivered", "30005")


def test_error_21610_marks_the_recipient_opted_out(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    sid = sent_reminder_sid(db, people.ids["Alice"])
    assert texts.status(sid, "failed", "21610").status_code == 204
    with db.session() as s:
        assert s.get(Person, people.ids["Alice"]).sms_status == "opted_out"
        assert s.get(Person, people.ids["Bob"]).sms_status == "active"
    assert reminder_row(db, sid).state == "failed"


def held_reports(db) -> list[tuple[str, str]]:
    with db.session() as s:
        return [(r.message_sid, r.status) for r in s.scalars(select(DeliveryReport))]


def test_a_report_before_the_sid_is_recorded_is_held_and_applied_by_the_clock(
    client, people, db, clock, sms, fake_twilio, texts
):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    sid = sent_reminder_sid(db, people.ids["Alice"])
    with db.session() as s:  # as the worker left it between Twilio's answer and writing its results down
        s.execute(update(OutboundSms).where(OutboundSms.sid == sid).values(sid=None, state="sending"))
    assert texts.status(sid, "failed", "21610").status_code == 204
    assert held_reports(db) == [(sid, "failed")]
    with db.session() as s:
        assert s.get(Person, people.ids["Alice"]).sms_status == "active"
        s.execute(
            update(OutboundSms)
            .where(
                OutboundSms.sid.is_(None), OutboundSms.state == "sending", OutboundSms.person_id == people.ids["Alice"]
            )
            .values(sid=sid, state="sent")
        )
    assert sms.tick().reports == 1
    assert reminder_row(db, sid).state == "failed" and held_reports(db) == []
    with db.session() as s:
        assert s.get(Person, people.ids["Alice"]).sms_status == "opted_out"


def test_a_report_for_a_message_tend_never_sent_is_forgotten_after_a_while(client, clock, sms, db, texts):
    stranger, early = "SM" + "f" * 32, "SM" + "e" * 32
    assert texts.status(stranger, "delivered").status_code == 204
    assert texts.status(early, "sent").status_code == 204  # not final: nothing to hold
    assert held_reports(db) == [(stranger, "delivered")]
    clock.set(clock() + HOLD_FOR - timedelta(minutes=1))
    assert sms.tick().reports == 0 and held_reports(db) == [(stranger, "delivered")]
    clock.set(clock() + timedelta(minutes=2))
    sms.tick()
    assert held_reports(db) == []
