"""Setting up by text, through the signed webhook and the fake Twilio (SPEC §4 "Setting up by text")."""

from datetime import UTC, datetime

import icalendar
from sqlalchemy import func, select

from service.core import sms_text
from service.domain.models import Membership, Promise, Ritual, TextedSetup
from tests.builders import activate, add_circle, add_promise, add_ritual, couple
from tests.checkins.helpers import joined_by_text, reminded_couple
from tests.feeds.helpers import events, new_feed

WALK = "NEW evening walk every weekday at 7pm"
WALK_ECHO = "New ritual for you and Alice: Evening walk, Mon-Fri at 7:00 PM, reminder 15 min before. Reply OK to save."
WALK_REMINDER = datetime(2026, 12, 1, 23, 45, tzinfo=UTC)  # 18:45 in New York, 15 minutes before the first walk


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def the_ritual(db) -> Ritual:
    with db.session() as s:
        ritual = s.scalars(select(Ritual)).one()
        ritual.participant_ids()  # loaded while in the session
        return ritual


def summaries(client, feed) -> list[str]:
    return [str(event["SUMMARY"]) for event in events(client, feed)]


def test_new_is_echoed_saved_on_ok_and_reaches_both_partners(client, people, db, clock, sms, fake_twilio, texts):
    couple(client, people, db)
    feeds = {name: new_feed(client, people, name) for name in ("Alice", "Bob")}
    assert texts.send("Bob", WALK) == WALK_ECHO
    assert count(db, Ritual) == 0  # nothing saved before OK
    assert texts.send("Bob", "ok") == "Saved: Evening walk, Mon-Fri at 7:00 PM."
    ritual = the_ritual(db)
    assert (ritual.title, ritual.rrule, ritual.start_local) == (
        "Evening walk",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        datetime(2026, 12, 1, 19, 0),
    )
    assert (ritual.duration_minutes, ritual.remind_before_minutes, ritual.timezone) == (30, 15, "America/New_York")
    assert sorted(ritual.participant_ids()) == sorted(people.ids.values())
    sms.tick()
    for name in ("Alice", "Bob"):
        assert summaries(client, feeds[name]).count("Evening walk") >= 1
    fake_twilio.reset()
    clock.set(WALK_REMINDER)
    sms.tick()
    for name, other in (("Alice", "Bob"), ("Bob", "Alice")):
        assert fake_twilio.bodies_to(people.PHONES[name]) == [
            f"Tend: Evening walk with {other} at 19:00. Reply DONE when you've had it, or SKIP."
        ]
    assert texts.send("Alice", "DONE") == "Kept! Evening walk: a new streak begins."


def test_ok_without_a_draft_or_after_30_minutes_saves_nothing(client, people, db, clock, texts):
    couple(client, people, db)
    assert texts.send("Bob", "OK").startswith("Nothing to save")
    assert texts.send("Bob", WALK) == WALK_ECHO
    clock.advance(minutes=30)
    assert texts.send("Bob", "OK").startswith("Nothing to save")
    assert count(db, Ritual) == 0


def test_a_draft_is_the_senders_own(client, people, db, texts):
    couple(client, people, db)
    assert texts.send("Bob", WALK) == WALK_ECHO
    assert texts.send("Alice", "OK").startswith("Nothing to save")
    assert count(db, Ritual) == 0
    assert texts.send("Bob", "OK").startswith("Saved")
    assert count(db, Ritual) == 1


def test_a_replayed_ok_saves_once(client, people, db, texts):
    couple(client, people, db)
    texts.send("Bob", WALK)
    first = texts.send("Bob", "OK", sid="SMreplayedok")
    assert texts.send("Bob", "OK", sid="SMreplayedok") == first
    assert count(db, Ritual) == 1


def test_what_cannot_be_read_is_asked_again_and_nothing_is_drafted(client, people, db, texts):
    couple(client, people, db)
    assert texts.send("Bob", "NEW evening walk every weekday") == (
        "What time? e.g. NEW evening walk every weekday at 7pm."
    )
    assert texts.send("Bob", "OK").startswith("Nothing to save")
    with db.session() as s:
        assert s.get(TextedSetup, people.ids["Bob"]).draft is None


def test_several_circles_are_asked_about_and_answered_by_number(client, people, db, texts):
    couple(client, people, db)
    family = add_circle(client, people, "Family", by="Bob")
    assert texts.send("Bob", WALK) == "Which circle? 1 Us 2 Family. Reply with its number."
    assert (
        texts.send("Bob", "2")
        == "New ritual for you: Evening walk, Mon-Fri at 7:00 PM, reminder 15 min before. Reply OK to save."
    )
    texts.send("Bob", "OK")
    assert the_ritual(db).circle_id == family


def test_a_title_the_circle_has_is_refused_at_new_not_echoed_and_refused_at_ok(client, people, db, texts):
    couple(client, people, db)
    texts.send("Bob", WALK)
    texts.send("Bob", "OK")
    taken = 'You already have "Evening walk" in Us. Text NEW with another title.'
    assert texts.send("Bob", "NEW EVENING WALK every day at 8pm") == taken
    assert texts.send("Bob", "OK").startswith("Nothing to save")
    add_circle(client, people, "Family", by="Bob")
    assert texts.send("Bob", WALK).startswith("Which circle?")
    assert texts.send("Bob", "1") == taken  # asked once the circle is chosen
    assert texts.send("Bob", "OK").startswith("Nothing to save")
    assert texts.send("Bob", WALK).startswith("Which circle?")
    assert texts.send("Bob", "2").startswith("New ritual for you: Evening walk")
    assert texts.send("Bob", "OK").startswith("Saved")
    assert count(db, Ritual) == 2


def list_once(client, people, db, texts) -> int:
    """Alice and Bob with the default ritual (daily 07:30), listed by Bob; its id."""
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle)
    assert texts.send("Bob", "LIST") == "1) Morning coffee talk, Wed 2 Dec at 7:30 AM. MOVE 1 8pm, DROP 1."
    return ritual["id"]


def test_list_then_move_1_8pm_then_ok_moves_it_and_the_feeds_follow(client, people, db, sms, texts):
    list_once(client, people, db, texts)
    feed = new_feed(client, people, "Alice")
    sms.tick()
    before = the_ritual(db).sequence
    assert (
        texts.send("Bob", "MOVE 1 8pm")
        == "Move Morning coffee talk to Every day at 8:00 PM? Alice will see it. Reply OK to save."
    )
    assert the_ritual(db).start_local.hour == 7  # not before OK
    assert texts.send("Bob", "OK") == "Saved: Morning coffee talk, Every day at 8:00 PM."
    moved = the_ritual(db)
    assert (moved.start_local, moved.rrule, moved.sequence) == (datetime(2026, 12, 2, 20, 0), "FREQ=DAILY", before + 1)
    sms.tick()
    (event,) = [e for e in events(client, feed) if str(e["SUMMARY"]) == "Morning coffee talk"]
    assert event["DTSTART"].dt.hour == 20
    assert event["SEQUENCE"] == before + 1


def test_move_to_other_days(client, people, db, texts):
    list_once(client, people, db, texts)
    assert texts.send("Bob", "MOVE 1 saturdays 10am").endswith(
        "to Every Sat at 10:00 AM? Alice will see it. Reply OK to save."
    )
    texts.send("Bob", "OK")
    moved = the_ritual(db)
    assert (moved.rrule, moved.start_local) == ("FREQ=WEEKLY;BYDAY=SA", datetime(2026, 12, 5, 10, 0))


def test_numbers_refer_to_the_latest_list(client, people, db, texts):
    couple(client, people, db)
    assert texts.send("Bob", "DROP 1") == "Your last LIST has no item 1. Reply LIST for a new one."
    assert texts.send("Bob", "LIST").startswith("Nothing to list yet.")
    assert texts.send("Bob", "MOVE 1 8pm") == "Your last LIST has no item 1. Reply LIST for a new one."


def test_drop_then_ok_deletes_it_and_tells_the_partner(client, people, db, sms, fake_twilio, texts):
    list_once(client, people, db, texts)
    sms.tick()
    fake_twilio.reset()
    assert texts.send("Bob", "DROP 1") == "Delete Morning coffee talk for you and Alice? Reply OK to delete."
    assert count(db, Ritual) == 1
    assert texts.send("Bob", "OK") == "Saved: Morning coffee talk is deleted."
    assert count(db, Ritual) == 0
    sms.drain()
    assert fake_twilio.bodies_to(people.PHONES["Alice"]) == [
        "Tend: Bob deleted Morning coffee talk. No more reminders for it."
    ]
    assert fake_twilio.bodies_to(people.PHONES["Bob"]) == []


def test_promise_to_a_member_by_name(client, people, db, texts):
    couple(client, people, db)
    assert texts.send("Bob", "PROMISE alice call the plumber by 5pm tomorrow") == (
        "New promise to Alice: Call the plumber, due Wed 2 Dec at 5:00 PM. Reply OK to save."
    )
    assert count(db, Promise) == 0
    texts.send("Bob", "OK")
    with db.session() as s:
        promise = s.scalars(select(Promise)).one()
    assert (promise.keeper_id, promise.recipient_id, promise.title, promise.due_local) == (
        people.ids["Bob"],
        people.ids["Alice"],
        "Call the plumber",
        datetime(2026, 12, 2, 17, 0),
    )


def test_promise_to_someone_not_in_a_circle_is_asked_about(client, people, db, texts):
    couple(client, people, db)
    assert texts.send("Bob", "PROMISE Sam call the plumber by 5pm tomorrow").startswith("Who is it for?")
    assert count(db, Promise) == 0


def test_invite_goes_through_the_domains_rules(client, people, db, sms, fake_twilio, texts):
    couple(client, people, db)
    dana = people.PHONES["Dana"]
    assert texts.send("Bob", f"INVITE Dana {dana}") == (
        "Invite Dana to Us? They get one text to join. Reply OK to send it."
    )
    assert texts.send("Bob", "OK") == "Saved: Dana is invited to Us."
    sms.drain()
    assert fake_twilio.bodies_to(dana)[0].startswith("Tend: Bob invited you")
    texts.send("Bob", f"INVITE Dana {dana}")
    assert texts.send("Bob", "OK") == "This number is already in the circle."
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Membership)) == 3


def test_invite_refuses_a_number_tend_cannot_text(client, people, db, texts):
    couple(client, people, db)
    assert "Tend can't text numbers of that country" in texts.send("Bob", "INVITE Dana +442079460000")
    assert texts.send("Bob", "OK").startswith("Nothing to save")


def test_feed_texts_a_working_calendar_link(client, people, db, texts):
    circle = couple(client, people, db)
    add_ritual(client, people, circle)
    answer = texts.send("Bob", "FEED")
    assert answer.startswith("Your calendar: http://tend.test/feeds/")
    path = answer.split()[2].removeprefix("http://tend.test")
    response = client.get(path)
    assert response.status_code == 200
    assert "Morning coffee talk" in [
        str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(response.data).walk("VEVENT")
    ]


def test_later_sends_the_reminder_again_within_its_window(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    (first,) = fake_twilio.bodies_to(people.PHONES["Alice"])
    assert texts.send("Alice", "LATER 30") == "OK, I'll remind you again in 30 min."
    clock.advance(minutes=29)
    sms.tick()
    assert fake_twilio.bodies_to(people.PHONES["Alice"]) == [first]
    clock.advance(minutes=1)
    sms.tick()
    assert fake_twilio.bodies_to(people.PHONES["Alice"]) == [first, first]
    assert texts.send("Alice", "DONE") == "Kept! Morning coffee talk: a new streak begins."


def test_later_never_after_the_window_closes(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=({"grace_minutes": 20},))  # closes 12:50
    assert texts.send("Alice", "LATER 30") == (
        "In 30 min it will be too late to check in, so no reminder then. Reply DONE or SKIP now."
    )
    assert texts.send("Alice", "LATER 29") == "OK, I'll remind you again in 29 min."
    assert texts.send("Alice", "DONE").startswith("Kept!")
    clock.advance(minutes=29)
    sms.tick()
    assert len(fake_twilio.bodies_to(people.PHONES["Alice"])) == 1  # checked in: not sent again
    clock.advance(minutes=60)
    sms.tick()
    assert len(fake_twilio.bodies_to(people.PHONES["Alice"])) == 1


def test_later_without_a_reminder(client, people, db, texts):
    couple(client, people, db)
    assert texts.send("Alice", "LATER 30") == sms_text.nothing_open_text()


def test_invite_keeps_the_limit_of_three_invitations_a_day_to_a_number(client, people, db, sms, fake_twilio, texts):
    us = couple(client, people, db)
    dana = people.PHONES["Dana"]
    for n in range(3):
        circle = add_circle(client, people, f"Club {n}")
        response = client.post(
            f"/api/v1/circles/{circle}/members", headers=people.headers("Alice"), json={"name": "Dana", "phone": dana}
        )
        assert response.status_code == 201
    sms.drain()
    fake_twilio.reset()
    assert texts.send("Bob", f"INVITE Dana {dana}").startswith("Invite Dana to Us?")
    assert texts.send("Bob", "OK") == "This number can't get another invitation now. Try again later."
    sms.drain()
    assert fake_twilio.bodies_to(dana) == []
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Membership).where(Membership.circle_id == us)) == 2


def test_a_member_in_several_shared_circles_is_asked_about(client, people, db, texts):
    couple(client, people, db)
    family = add_circle(client, people, "Family", by="Bob")
    response = client.post(
        f"/api/v1/circles/{family}/members",
        headers=people.headers("Bob"),
        json={"name": "Alice", "phone": people.PHONES["Alice"]},
    )
    assert response.status_code == 201
    activate(db, people.ids["Alice"])
    assert texts.send("Bob", "PROMISE Alice call the plumber by 5pm tomorrow") == (
        "Which Alice? 1 Alice (Us) 2 Alice (Family). Reply with its number."
    )
    assert texts.send("Bob", "2").startswith("New promise to Alice: Call the plumber")
    texts.send("Bob", "OK")
    with db.session() as s:
        assert s.scalars(select(Promise.circle_id)).one() == family


def test_only_active_people_set_up_by_text(client, people, db, texts):
    people.create("Alice")
    circle = add_circle(client, people)
    client.post(
        f"/api/v1/circles/{circle}/members",
        headers=people.headers("Alice"),
        json={"name": "Bob", "phone": people.PHONES["Bob"]},
    )
    assert texts.send("Bob", WALK) == sms_text.help_text()  # invited, not joined: no consent yet
    assert texts.send("Bob", "OK") == sms_text.help_text()
    assert count(db, Ritual) == 0


def test_opt_out_words_keep_twilios_meaning_while_a_draft_waits(client, people, db, texts):
    couple(client, people, db)
    texts.send("Bob", WALK)
    assert texts.send("Bob", "CANCEL") == sms_text.opted_out_text()
    assert texts.send("Bob", "OK") == sms_text.opted_out_text()
    assert count(db, Ritual) == 0


def test_only_a_promises_keeper_moves_or_drops_it_and_its_recipient_is_told(
    client, people, db, sms, fake_twilio, texts
):
    couple(client, people, db)
    texts.send("Bob", "PROMISE Alice call the plumber by 5pm tomorrow")
    texts.send("Bob", "OK")
    assert texts.send("Alice", "LIST") == "1) Call the plumber, Wed 2 Dec at 5:00 PM. MOVE 1 8pm, DROP 1."
    assert texts.send("Alice", "DROP 1") == "Only the person who made a promise can change or cancel it."
    assert texts.send("Alice", "OK").startswith("Nothing to save")
    texts.send("Bob", "LIST")
    assert texts.send("Bob", "MOVE 1 tomorrow 6pm") == (
        "Move Call the plumber to Wed 2 Dec at 6:00 PM? Alice will see it. Reply OK to save."
    )
    assert texts.send("Bob", "OK") == "Saved: Call the plumber, due Wed 2 Dec at 6:00 PM."
    with db.session() as s:
        assert s.scalars(select(Promise.due_local)).one() == datetime(2026, 12, 2, 18, 0)
    sms.drain()
    fake_twilio.reset()
    assert texts.send("Bob", "DROP 1") == "Delete Call the plumber for you and Alice? Reply OK to delete."
    texts.send("Bob", "OK")
    sms.drain()
    assert fake_twilio.bodies_to(people.PHONES["Alice"]) == [
        "Tend: Bob deleted Call the plumber. No more reminders for it."
    ]
    assert count(db, Promise) == 0


def test_a_title_longer_than_the_pages_allow_is_asked_again(client, people, db, texts):
    couple(client, people, db)
    assert texts.send("Bob", "NEW " + "walk " * 30 + "every day at 7pm").startswith(
        "That is too long: at most 120 characters"
    )
    # a label is judged by the name rule, as at every door (tests/rules/test_door_parity.py)
    assert texts.send("Bob", "INVITE " + "Sam " * 30 + "+14155550104") == "A name is 1 to 40 characters."
    assert texts.send("Bob", "OK").startswith("Nothing to save")


def test_move_by_text_keeps_together_and_the_follow_up(client, people, db, texts):
    circle = couple(client, people, db)
    add_ritual(client, people, circle, mode="together", follow_up_minutes=20)
    texts.send("Bob", "LIST")
    texts.send("Bob", "MOVE 1 8pm")
    assert texts.send("Bob", "OK").startswith("Saved:")
    moved = the_ritual(db)
    assert (moved.start_local.hour, moved.mode, moved.follow_up_minutes) == (20, "together", 20)


def test_a_second_later_says_it_was_asked_already(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    assert texts.send("Alice", "LATER 10") == "OK, I'll remind you again in 10 min."
    clock.advance(minutes=10)
    sms.tick()
    assert len(fake_twilio.bodies_to(people.PHONES["Alice"])) == 2
    assert texts.send("Alice", "LATER 10") == "That reminder has come again once already. Reply DONE or SKIP."


def test_invite_reads_a_spaced_number(client, people, db, texts):
    couple(client, people, db)
    for spaced in ("+1 415 555 0104", "(415) 555-0104"):
        assert texts.send("Bob", f"INVITE Dana {spaced}") == (
            "Invite Dana to Us? They get one text to join. Reply OK to send it."
        )


def test_a_member_who_joined_by_text_is_named_by_their_label_and_cannot_invite_unnamed(
    client, people, db, sms, fake_twilio, texts
):
    """Dana joined by replying JOIN and never chose a name: texts show Alice's label for her, and she can't send an
    invitation (it must carry its inviter's chosen name)."""
    circle = couple(client, people, db)
    dana = joined_by_text(client, people, sms, texts, circle, "Dana")
    assert texts.send("Bob", WALK) == (
        "New ritual for you, Alice and Dana: Evening walk, Mon-Fri at 7:00 PM, reminder 15 min before. "
        "Reply OK to save."
    )
    texts.send(dana, f"INVITE Charlie {people.PHONES['Charlie']}")
    assert texts.send(dana, "OK").startswith("Choose your own name first")
    assert fake_twilio.bodies_to(people.PHONES["Charlie"]) == []


def test_a_draft_is_part_of_the_export(client, people, db, texts):
    couple(client, people, db)
    texts.send("Bob", f"INVITE Dana {people.PHONES['Dana']}")
    exported = client.get("/api/v1/export", headers=people.headers("Bob")).get_json()["texted_setup"]
    assert exported["draft"]["kind"] == "invite" and exported["draft"]["phone"] == people.PHONES["Dana"]


def test_list_shows_what_is_still_ahead_by_its_next_time(client, people, db, texts):
    """SPEC §4 LIST: rituals and *open* promises, with their next time: a promise already kept is not listed, and
    a 6 PM ritual comes before a 7 PM one whichever was made first."""
    circle = couple(client, people, db)
    add_ritual(client, people, circle, title="Evening walk", starts="2026-12-01T19:00")
    add_ritual(client, people, circle, title="Dinner", starts="2026-12-01T18:00")
    kept = add_promise(client, people, circle, by="Bob", to="Alice")
    answer = client.post(
        "/api/v1/checkins", json={"promise_id": kept["id"], "outcome": "done"}, headers=people.headers("Bob")
    )
    assert answer.status_code == 201
    assert texts.send("Bob", "LIST") == (
        "1) Dinner, Tue 1 Dec at 6:00 PM 2) Evening walk, Tue 1 Dec at 7:00 PM. MOVE 1 8pm, DROP 1."
    )
