"""A second nudge to whoever is still pending N minutes after the start (SPEC §3, Follow-up)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.domain.models import OutboundSms
from service.domain.runtime import utc_now
from tests.builders import FIRST_OCCURRENCE, FIRST_REMINDER, add_promise, add_ritual, couple, people_due_at
from tests.checkins.helpers import PROMISE_DUE, outcome_of, reminded_couple
from tests.reminders.helpers import kill, wait_until
from workers import clock as clock_module

NUDGED = {"follow_up_minutes": 30}
FOLLOW_UP_AT = FIRST_OCCURRENCE + timedelta(minutes=30)
ALICE_DONE = "Tend: Still time for Morning coffee talk? Alice has done theirs. Reply DONE or SKIP."


def follow_ups(fake_twilio, phone: str) -> list[str]:
    return [body for body in fake_twilio.bodies_to(phone) if body.startswith("Tend: Still time")]


def test_the_follow_up_goes_once_at_start_plus_n_only_to_the_pending_person(
    client, people, db, clock, sms, fake_twilio, texts
):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=(NUDGED,))
    assert ritual["follow_up_minutes"] == 30
    clock.advance(minutes=5)
    assert texts.send("Alice", "DONE").startswith("Kept!")
    clock.set(FOLLOW_UP_AT - timedelta(seconds=1))
    sms.tick()
    assert follow_ups(fake_twilio, people.PHONES["Bob"]) == []
    clock.set(FOLLOW_UP_AT)
    sms.tick()
    clock.advance(minutes=1)
    sms.tick()
    assert follow_ups(fake_twilio, people.PHONES["Bob"]) == [ALICE_DONE]
    assert follow_ups(fake_twilio, people.PHONES["Alice"]) == []
    assert texts.send("Bob", "DONE") == "Kept! Morning coffee talk: a new streak begins."  # answers the follow-up
    assert outcome_of(db, people.ids["Bob"], ritual_id=ritual["id"]) == "done"


def test_it_names_only_those_who_checked_in_done(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=(NUDGED,))
    texts.send("Alice", "SKIP")
    clock.set(FOLLOW_UP_AT)
    sms.tick()
    assert follow_ups(fake_twilio, people.PHONES["Bob"]) == [
        "Tend: Still time for Morning coffee talk? Reply DONE or SKIP."
    ]


def test_none_after_a_check_in(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=(NUDGED,))
    texts.send("Alice", "DONE")
    texts.send("Bob", "SKIP")
    clock.set(FOLLOW_UP_AT)
    sms.tick()
    assert follow_ups(fake_twilio, people.PHONES["Alice"]) + follow_ups(fake_twilio, people.PHONES["Bob"]) == []


def test_not_me_brings_back_the_follow_up_a_together_check_in_cancelled(
    client, people, db, clock, sms, fake_twilio, texts
):
    reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=(NUDGED | {"mode": "together"},))
    assert texts.send("Alice", "DONE").startswith("Kept!")
    sms.drain()
    assert texts.send("Bob", "NOT ME").startswith("OK,")  # pending again, so the nudge is his again
    clock.set(FOLLOW_UP_AT)
    sms.tick()
    assert follow_ups(fake_twilio, people.PHONES["Bob"]) == [ALICE_DONE]


def test_none_in_quiet_hours_and_none_later(client, people, db, clock, sms, fake_twilio):
    # Bob in Brisbane: 13:00 UTC is 23:00 there; the follow-up is dropped, not kept for his morning
    circle = couple(client, people, db, bob_tz="Australia/Brisbane")
    add_ritual(client, people, circle, **NUDGED)
    sms.tick()
    for at in (FIRST_REMINDER, FOLLOW_UP_AT, FIRST_OCCURRENCE.replace(hour=21, minute=5)):
        clock.set(at)
        sms.tick()
    assert len(follow_ups(fake_twilio, people.PHONES["Alice"])) == 1
    assert follow_ups(fake_twilio, people.PHONES["Bob"]) == []
    assert any("Morning coffee talk" in body for body in fake_twilio.bodies_to(people.PHONES["Bob"]))  # his reminder


def test_none_after_the_window_closes(client, people, db, clock, sms, fake_twilio):
    circle = couple(client, people, db)
    add_ritual(client, people, circle, title="Late nudge", grace_minutes=20, **NUDGED)  # closes before start + 30
    add_ritual(client, people, circle, title="Clock was down", starts="2026-12-02T07:31", grace_minutes=40, **NUDGED)
    sms.tick()
    clock.set(FIRST_OCCURRENCE + timedelta(minutes=72))  # the clock was down past both windows
    sms.tick()
    assert follow_ups(fake_twilio, people.PHONES["Alice"]) == []


def test_a_promise_is_followed_up_for_its_keeper(client, people, db, clock, sms, fake_twilio):
    circle = couple(client, people, db)
    add_promise(client, people, circle, title="call at 6", due="2026-12-01T18:00", follow_up_minutes=15)
    sms.tick()
    clock.set(PROMISE_DUE + timedelta(minutes=15))
    sms.tick()
    assert follow_ups(fake_twilio, people.PHONES["Alice"]) == ["Tend: Still time for call at 6? Reply DONE or SKIP."]
    assert follow_ups(fake_twilio, people.PHONES["Bob"]) == []


@pytest.mark.slow
def test_two_clocks_and_a_killed_worker_send_each_follow_up_exactly_once(db, runtime, fake_twilio, processes):
    """Real `tend clock` ×2 and Dramatiq workers: follow-ups due now, the worker SIGKILLed mid-run."""
    count = 150
    now = utc_now()
    # reminders were due 20 minutes ago (and go now, late but inside the window); follow-ups are due now
    people_due_at(
        db, count, due_at=now - timedelta(minutes=20), created_at=now - timedelta(hours=1), follow_up_minutes=10
    )
    clock_module.materialize(runtime, now, limit=count)
    fake_twilio.reply_delay = 0.02  # Twilio has the message before the worker records it: the crash window
    processes("clock")
    processes("clock")
    worker = processes("worker")
    wait_until(lambda: len(fake_twilio.messages) >= 60, what="the first texts")
    kill(worker)
    assert len(fake_twilio.messages) < 2 * count, "the worker finished before it could be killed; raise the count"
    fake_twilio.reply_delay = 0
    processes("worker")

    def all_followed_up() -> bool:
        with db.session() as s:
            sent = select(func.count()).where(OutboundSms.kind == "follow_up", OutboundSms.state == "sent")
            return s.scalar(sent) == count

    wait_until(all_followed_up, what="every follow-up to be recorded as sent")
    counts = Counter(m["to"] for m in fake_twilio.messages if m["body"].startswith("Tend: Still time"))
    assert len(counts) == count and set(counts.values()) == {1}
