"""Twilio's status callbacks move an outbound SMS forward only, and 21610 opts its recipient out."""

from sqlalchemy import select

from service.models import OutboundSms, Person
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


def test_a_callback_for_an_unknown_message_is_accepted_and_ignored(texts):
    assert texts.status("SM" + "f" * 32, "delivered").status_code == 204
