"""A webhook Twilio (or anyone) sends again is recorded once, even when the copies race."""

from sqlalchemy import func, select

from service.domain.models import CheckIn, InboundMessage
from tests.checkins.helpers import checkin_count, reminded_couple, webhooks_at_once
from tests.texting import new_sid

COPIES = 20


def test_a_replayed_message_sid_is_answered_alike_and_recorded_once(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    sid = new_sid()
    first = texts.send("Alice", "DONE", sid=sid)
    clock.advance(minutes=1)
    assert texts.send("Alice", "DONE", sid=sid) == first
    assert checkin_count(db) == 1


def test_the_same_message_sid_from_20_threads_at_once_makes_exactly_one_checkin(
    app, people, db, clock, sms, fake_twilio, texts, client
):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    form = texts.inbound_form("Alice", "DONE")
    answers = webhooks_at_once(app, [form] * COPIES, texts.auth_token)
    assert [a.status_code for a in answers] == [200] * COPIES
    assert len({a.text for a in answers}) == 1 and "Kept!" in answers[0].text
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.message_sid == form["MessageSid"])) == 1
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 1
    assert checkin_count(db) == 1


def test_a_reply_aborted_by_a_deadlock_is_done_again_once(
    client, people, db, clock, sms, fake_twilio, texts, monkeypatch
):
    from psycopg.errors import DeadlockDetected
    from sqlalchemy.exc import OperationalError

    from service.domain import conversation

    reminded_couple(client, people, db, clock, sms, fake_twilio)
    handle_inbound = conversation.handle_inbound
    calls = []

    def deadlocked_once(session, inbound, now, links):
        answer = handle_inbound(session, inbound, now, links)  # the work is done, then PostgreSQL picks this victim
        calls.append(answer.reply)
        if len(calls) == 1:
            raise OperationalError("UPDATE streak_figures ...", {}, DeadlockDetected("deadlock detected"))
        return answer

    monkeypatch.setattr(conversation, "handle_inbound", deadlocked_once)
    reply = texts.send("Alice", "DONE")
    assert reply == calls[0] == calls[1] == "Kept! Morning coffee talk: a new streak begins."  # nothing left behind
    assert checkin_count(db) == 1
