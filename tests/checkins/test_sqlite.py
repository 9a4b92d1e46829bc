"""The SMS conversation on SQLite, the embedded default: its upserts are dialect-specific."""

from sqlalchemy import func, select

from service.core.streaks import recompute
from service.domain.models import CheckIn, InboundMessage, OutboundSms, StreakFigure
from tests import sqlite_database
from tests.builders import FIRST_OCCURRENCE, FIRST_REMINDER
from tests.checkins.helpers import checkin_count, reminded_couple, reminded_promise, utc

pg_url, db = sqlite_database.pg_url, sqlite_database.db  # this module runs on SQLite


def figure(db, person_id):
    with db.session() as s:
        row = s.scalar(select(StreakFigure).where(StreakFigure.person_id == person_id))
        return None if row is None else (row.current_streak, row.longest_streak, row.strength, row.last_counted_at)


def test_done_skip_replays_and_streaks_on_sqlite(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    sid = texts.inbound_form("Alice", "DONE")["MessageSid"]
    assert texts.send("Alice", "DONE", sid=sid) == "Kept! Morning coffee talk: a new streak begins."
    assert texts.send("Alice", "DONE", sid=sid) == "Kept! Morning coffee talk: a new streak begins."  # a replay
    assert texts.send("Alice", "DONE").startswith("Already recorded for Morning coffee talk")
    assert texts.send("Bob", "SKIP") == "Skipped Morning coffee talk."
    assert checkin_count(db) == 2
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 3  # the replay added none
        assert s.scalar(select(CheckIn.message_sid).where(CheckIn.person_id == people.ids["Alice"])) == sid
    assert figure(db, people.ids["Alice"]) == astuple(recompute([(FIRST_OCCURRENCE, "done")]))
    assert figure(db, people.ids["Bob"]) == astuple(recompute([(FIRST_OCCURRENCE, "skipped")]))

    clock.set(FIRST_REMINDER.replace(day=3))  # the next day's reminder: the streak goes on
    sms.tick()
    assert texts.send("Alice", "D") == "Kept! Morning coffee talk: 2 in a row."
    assert figure(db, people.ids["Alice"]) == astuple(
        recompute([(FIRST_OCCURRENCE, "done"), (FIRST_OCCURRENCE.replace(day=3), "done")])
    )
    assert texts.send("Alice", "STREAK") == "Your streaks: Morning coffee talk 2"


def test_a_kept_promise_tells_its_recipient_once_on_sqlite(client, people, db, clock, sms, fake_twilio, texts):
    reminded_promise(client, people, db, clock, sms, fake_twilio)
    clock.set(utc(2026, 12, 1, 23, 20))
    assert texts.send("Alice", "DONE") == "Kept, a bit late! call at 6: a new streak begins."
    assert texts.send("Alice", "DONE").startswith("Already recorded")
    sms.tick()
    sms.tick()
    assert fake_twilio.bodies_to(people.PHONES["Bob"]) == ["Tend: Alice kept their promise, a little late: call at 6."]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboundSms).where(OutboundSms.kind == "promise_kept")) == 1


def astuple(state):
    return (state.current_streak, state.longest_streak, state.strength, state.last_counted_at)
