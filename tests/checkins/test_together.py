"""Rituals done together (SPEC §3 Together or each, §4 NOT ME): the first participant's check-in counts for all."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from service.domain import streak_figures
from service.domain.models import CheckIn, Occurrence, OutboundSms
from tests.builders import FIRST_OCCURRENCE, FIRST_REMINDER, activate, add_ritual, couple
from tests.checkins.helpers import outcome_of, reminded_couple, webhooks_at_once
from tests.pages.helpers import Pages

TOGETHER = {"title": "Evening walk", "mode": "together"}
NOTICE = "Tend: Alice checked in Evening walk for you both. A new streak begins. Reply NOT ME if you didn't take part."


def first_reminder_state(db, person_id: int) -> str:
    """The state of the person's reminder of the first occurrence."""
    with db.session() as s:
        return s.scalar(
            select(OutboundSms.state)
            .join(Occurrence, Occurrence.id == OutboundSms.occurrence_id)
            .where(
                OutboundSms.person_id == person_id, OutboundSms.kind == "reminder", Occurrence.at == FIRST_OCCURRENCE
            )
        )


def checkins_of(db, person_id: int) -> list[CheckIn]:
    with db.session() as s:
        return list(s.scalars(select(CheckIn).where(CheckIn.person_id == person_id).order_by(CheckIn.id)))


def streak(db, ritual_id: int, person_id: int) -> int:
    with db.session() as s:
        return streak_figures.stored_state(s, streak_figures.FigureKey("ritual", ritual_id, person_id)).current_streak


def test_one_partners_done_checks_in_both_and_tells_the_other_once(client, people, db, clock, sms, fake_twilio, texts):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=(TOGETHER,))
    alice, bob = people.ids["Alice"], people.ids["Bob"]
    fake_twilio.reset()
    clock.advance(minutes=12)
    assert texts.send("Alice", "DONE") == "Kept! Evening walk: a new streak begins."
    assert outcome_of(db, alice, ritual_id=ritual["id"]) == outcome_of(db, bob, ritual_id=ritual["id"]) == "done"
    [bobs] = checkins_of(db, bob)
    assert (bobs.by_id, bobs.outcome, bobs.source) == (alice, "done", "sms")
    assert streak(db, ritual["id"], bob) == 1
    sms.drain()
    assert fake_twilio.bodies_to(people.PHONES["Bob"]) == [NOTICE]
    # Bob's own DONE now changes nothing and tells Alice nothing; a repeat of Alice's neither
    assert texts.send("Bob", "DONE").startswith("Already recorded for Evening walk")
    assert texts.send("Alice", "DONE").startswith("Already recorded for Evening walk")
    sms.tick()
    assert fake_twilio.bodies_to(people.PHONES["Bob"]) == [NOTICE]
    assert fake_twilio.bodies_to(people.PHONES["Alice"]) == []


def test_a_together_skip_skips_for_both(client, people, db, clock, sms, fake_twilio, texts):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=(TOGETHER,))
    fake_twilio.reset()
    assert texts.send("Bob", "SKIP") == "Skipped Evening walk."
    assert outcome_of(db, people.ids["Alice"], ritual_id=ritual["id"]) == "skipped"
    sms.drain()
    assert fake_twilio.bodies_to(people.PHONES["Alice"]) == [
        "Tend: Bob skipped Evening walk for you both. Reply NOT ME if that's not so."
    ]


def test_the_others_reminder_not_yet_sent_is_cancelled(client, people, db, clock, sms, fake_twilio, texts):
    # Bob is in Brisbane: 12:20 UTC is 22:20 there, so his reminder waits for the end of his quiet hours (21:00 UTC)
    circle = couple(client, people, db, bob_tz="Australia/Brisbane")
    ritual = add_ritual(client, people, circle, **TOGETHER)
    sms.tick()
    clock.set(FIRST_REMINDER)
    sms.tick()
    assert first_reminder_state(db, people.ids["Bob"]) == "queued"
    clock.advance(minutes=12)
    assert texts.send("Alice", "DONE").startswith("Kept!")
    assert first_reminder_state(db, people.ids["Bob"]) == "cancelled"
    fake_twilio.reset()
    clock.set(FIRST_OCCURRENCE.replace(hour=21, minute=1))
    sms.tick()
    walks = [body for body in fake_twilio.bodies_to(people.PHONES["Bob"]) if "Evening walk" in body]
    assert walks == [NOTICE]  # the news, not the reminder (his invitation waited for the morning too)
    assert outcome_of(db, people.ids["Bob"], ritual_id=ritual["id"]) == "done"


def test_not_me_puts_only_that_persons_outcome_back_to_pending(client, people, db, clock, sms, fake_twilio, texts):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=(TOGETHER,))
    alice, bob = people.ids["Alice"], people.ids["Bob"]
    texts.send("Alice", "DONE")
    sms.drain()
    assert texts.send("Bob", "not me") == "OK, Evening walk is open for you again. Reply DONE or SKIP when you know."
    assert outcome_of(db, bob, ritual_id=ritual["id"]) == "pending"
    assert outcome_of(db, alice, ritual_id=ritual["id"]) == "done"
    assert checkins_of(db, bob) == [] and streak(db, ritual["id"], bob) == 0
    assert streak(db, ritual["id"], alice) == 1
    assert texts.send("Bob", "NOT ME") == "Nobody checked in for you lately. Reply HELP for help."
    assert texts.send("Bob", "SKIP") == "Skipped Evening walk."  # his own answer, to the same occurrence
    assert outcome_of(db, alice, ritual_id=ritual["id"]) == "done"


def test_not_me_after_the_window_changes_nothing(client, people, db, clock, sms, fake_twilio, texts):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=(TOGETHER,))
    texts.send("Alice", "DONE")
    sms.drain()
    clock.set(FIRST_OCCURRENCE + timedelta(hours=17))  # 00:30 in New York: that day is over
    assert texts.send("Bob", "NOT ME").startswith("Nobody checked in for you")
    assert outcome_of(db, people.ids["Bob"], ritual_id=ritual["id"]) == "done"


def test_each_on_their_own_stays_the_default(client, people, db, clock, sms, fake_twilio, texts):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    assert (ritual["mode"], ritual["follow_up_minutes"]) == ("each", None)
    fake_twilio.reset()
    texts.send("Alice", "DONE")
    sms.tick()
    assert outcome_of(db, people.ids["Bob"], ritual_id=ritual["id"]) == "pending"
    assert fake_twilio.bodies_to(people.PHONES["Bob"]) == []


def test_two_partners_replying_done_at_once_make_one_outcome_each_and_no_double_notice(
    app, people, db, clock, sms, fake_twilio, texts, client
):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=(TOGETHER,))
    fake_twilio.reset()
    forms = [texts.inbound_form(name, "DONE") for name in ("Alice", "Bob")]
    answers = webhooks_at_once(app, forms, texts.auth_token)
    assert sorted("Kept!" in answer.text for answer in answers) == [False, True]
    alice, bob = people.ids["Alice"], people.ids["Bob"]
    assert outcome_of(db, alice, ritual_id=ritual["id"]) == outcome_of(db, bob, ritual_id=ritual["id"]) == "done"
    assert len(checkins_of(db, alice)) == len(checkins_of(db, bob)) == 1
    sms.tick()
    notices = fake_twilio.bodies_to(people.PHONES["Alice"]) + fake_twilio.bodies_to(people.PHONES["Bob"])
    assert len(notices) == 1 and "for you both" in notices[0]


def test_the_ritual_form_sets_together_and_the_follow_up(app, client, people, db):
    circle = couple(client, people, db)
    alice = Pages(app, db)
    alice.sign_in(people.PHONES["Alice"], "Alice")
    form = alice.text(f"/rituals/new?circle={circle}")
    assert "Together: one check-in counts for everyone" in form and "Nudge again if not done after" in form
    saved = alice.post(
        f"/rituals/new?circle={circle}",
        {
            "title": "Evening walk",
            "repeat": "daily",
            "time": "19:00",
            "start_date": "2026-12-02",
            "remind_before_minutes": "15",
            "duration_minutes": "30",
            "participants": [str(people.ids["Alice"]), str(people.ids["Bob"])],
            "mode": "together",
            "follow_up_minutes": "45",
        },
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    ritual_id = saved.headers["Location"].rsplit("/", 1)[1]
    ritual = client.get(f"/api/v1/rituals/{ritual_id}", headers=people.headers("Bob")).get_json()
    assert (ritual["mode"], ritual["follow_up_minutes"]) == ("together", 45)
    page = alice.text(f"/rituals/{ritual_id}")
    assert '<input checked id="mode-1" name="mode" type="radio" value="together">' in page
    assert re.search(r'<input[^>]*name="follow_up_minutes"[^>]*value="45">', page)


def test_a_later_done_does_not_undo_anothers_not_me(client, people, db, clock, sms, fake_twilio, texts):
    """Only the occurrence's first check-in counts for the others: Bob's own DONE after his NOT ME leaves Charlie's."""
    circle = couple(client, people, db)
    people.create("Charlie")
    response = client.post(
        f"/api/v1/circles/{circle}/members",
        headers=people.headers("Alice"),
        json={"name": "Charlie", "phone": people.PHONES["Charlie"]},
    )
    assert response.status_code == 201, response.get_json()
    activate(db, people.ids["Charlie"])
    ritual = add_ritual(client, people, circle, **TOGETHER)
    sms.tick()
    clock.set(FIRST_REMINDER)
    sms.tick()
    texts.send("Alice", "DONE")
    sms.drain()
    for name in ("Bob", "Charlie"):
        assert texts.send(name, "NOT ME").startswith("OK, Evening walk is open for you again")
    assert texts.send("Bob", "DONE").startswith("Kept!")
    outcomes = {name: outcome_of(db, people.ids[name], ritual_id=ritual["id"]) for name in ("Alice", "Bob", "Charlie")}
    assert outcomes == {"Alice": "done", "Bob": "done", "Charlie": "pending"}
