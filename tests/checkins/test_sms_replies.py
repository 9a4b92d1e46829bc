"""Replying to Tend by SMS: check-ins on the latest reminder, and the other commands (SPEC §4)."""

from datetime import timedelta

from sqlalchemy import func, select, update

from service.core import sms_text
from service.domain.models import CheckIn, InboundMessage, Membership, Person
from tests.builders import FIRST_OCCURRENCE, activate, add_circle
from tests.checkins.helpers import checkin_count, outcome_of, reminded_couple, utc

STRETCH = {"title": "Stretch", "starts": "2026-12-02T07:40", "remind_before_minutes": 20}  # 10 minutes after coffee


def person(db, person_id: int) -> Person:
    with db.session() as s:
        return s.get(Person, person_id)


def test_done_checks_in_the_item_of_the_latest_reminder(client, people, db, clock, sms, fake_twilio, texts):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    clock.advance(minutes=12)
    assert texts.send("Alice", "Done!") == "Kept! Morning coffee talk: a new streak begins."
    assert outcome_of(db, people.ids["Alice"], ritual_id=ritual["id"]) == "done"
    assert outcome_of(db, people.ids["Bob"], ritual_id=ritual["id"]) == "pending"
    with db.session() as s:
        checkin = s.scalars(select(CheckIn)).one()
    assert (checkin.source, checkin.person_id, checkin.received_at) == ("sms", people.ids["Alice"], clock())


def test_yes_means_done_once_active(client, people, db, clock, sms, fake_twilio, texts):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    assert texts.send("Bob", "y").startswith("Kept!")
    assert outcome_of(db, people.ids["Bob"], ritual_id=ritual["id"]) == "done"


def test_skip_records_skipped(client, people, db, clock, sms, fake_twilio, texts):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    assert texts.send("Alice", "skip today") == "Skipped Morning coffee talk."
    assert outcome_of(db, people.ids["Alice"], ritual_id=ritual["id"]) == "skipped"


def test_done_2_checks_in_the_second_item_of_a_multi_item_reminder(client, people, db, clock, sms, fake_twilio, texts):
    # 07:30 reminded 10 minutes before and 07:40 reminded 20 before: both due 07:20, one numbered SMS
    _, (coffee, stretch) = reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=({}, STRETCH))
    (reminder,) = fake_twilio.bodies_to(people.PHONES["Alice"])
    assert reminder.startswith("Tend: 1) Morning coffee talk with Bob at 7:30 2) Stretch with Bob at 7:40.")
    assert texts.send("Alice", "DONE 2") == "Kept! Stretch: a new streak begins."
    stretch_at = FIRST_OCCURRENCE + timedelta(minutes=10)
    assert outcome_of(db, people.ids["Alice"], ritual_id=stretch["id"], at=stretch_at) == "done"
    assert outcome_of(db, people.ids["Alice"], ritual_id=coffee["id"]) == "pending"
    assert texts.send("Alice", "d2").startswith("Already recorded for Stretch")
    assert texts.send("Alice", "DONE 3").startswith("Your last reminder has no item 3.")
    assert checkin_count(db) == 1


def test_plain_done_on_a_multi_item_reminder_checks_in_every_open_item(
    client, people, db, clock, sms, fake_twilio, texts
):
    _, (coffee, stretch) = reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=({}, STRETCH))
    texts.send("Alice", "skip 1")
    reply = texts.send("Alice", "all done", sid="SM" + "a" * 32)
    assert reply == "Kept! Stretch: a new streak begins."
    assert outcome_of(db, people.ids["Alice"], ritual_id=coffee["id"]) == "skipped"
    with db.session() as s:
        sids = s.scalars(select(CheckIn.message_sid).order_by(CheckIn.id)).all()
    assert len(sids) == 2 and sids[1] == "SM" + "a" * 32


def test_plain_done_confirms_each_item_it_records(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=({}, STRETCH))
    assert texts.send("Alice", "DONE") == (
        "Kept! Morning coffee talk: a new streak begins. Kept! Stretch: a new streak begins."
    )
    assert checkin_count(db) == 2


def test_a_reply_with_nothing_open_gets_a_helpful_answer_and_records_nothing(client, people, db, texts):
    people.create("Alice")
    activate(db, people.ids["Alice"])
    assert texts.send("Alice", "DONE") == sms_text.nothing_open_text()
    assert checkin_count(db) == 0


def test_a_reply_after_the_window_closed_records_nothing(client, people, db, clock, sms, fake_twilio, texts):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=({"grace_minutes": 30},))
    clock.set(utc(2026, 12, 2, 13, 0))  # 08:00 in New York: 07:30 + 30 minutes, closed
    assert texts.send("Alice", "DONE").startswith("Too late to check in for Morning coffee talk")
    assert checkin_count(db) == 0
    sms.tick()
    assert outcome_of(db, people.ids["Alice"], ritual_id=ritual["id"]) == "missed"


def test_a_later_reminder_replaces_the_earlier_one(client, people, db, clock, sms, fake_twilio, texts):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    clock.set(utc(2026, 12, 3, 12, 20))  # the next day's reminder
    sms.tick()
    texts.send("Alice", "DONE")
    assert outcome_of(db, people.ids["Alice"], ritual_id=ritual["id"], at=utc(2026, 12, 3, 12, 30)) == "done"
    assert outcome_of(db, people.ids["Alice"], ritual_id=ritual["id"]) == "missed"


def test_an_unknown_sender_gets_a_polite_reply_and_nothing_is_stored(
    client, people, db, clock, sms, fake_twilio, texts
):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    assert texts.send("+15005550199", "DONE") == sms_text.unknown_sender_text()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 0
    assert checkin_count(db) == 0


def test_an_opted_out_sender_is_told_how_to_come_back_and_nothing_is_recorded(
    client, people, db, clock, sms, fake_twilio, texts
):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    assert texts.send("Alice", "STOP") == sms_text.opted_out_text()
    assert person(db, people.ids["Alice"]).sms_status == "opted_out"
    assert texts.send("Alice", "DONE") == sms_text.opted_out_text()
    assert checkin_count(db) == 0
    assert texts.send("Alice", "START") == sms_text.opted_in_text()
    assert person(db, people.ids["Alice"]).sms_status == "active"
    assert texts.send("Alice", "DONE").startswith("Kept!")


def test_twilios_other_opt_out_words_opt_out(client, people, db, texts):
    people.create("Alice")
    activate(db, people.ids["Alice"])
    for word in ("unsubscribe", "Cancel please", "QUIT", "stopall", "opt out"):
        texts.send("Alice", "START")
        texts.send("Alice", word)
        assert person(db, people.ids["Alice"]).sms_status == "opted_out", word


def test_advanced_opt_out_keywords_are_honoured_by_their_type(client, people, db, texts):
    """A Messaging Service may define its own keywords; Twilio tells us their class in OptOutType."""
    people.create("Alice")
    activate(db, people.ids["Alice"])
    texts.send("Alice", "ARRET", OptOutType="STOP")
    assert person(db, people.ids["Alice"]).sms_status == "opted_out"
    texts.send("Alice", "REPRENDRE", OptOutType="START")
    assert person(db, people.ids["Alice"]).sms_status == "active"


def test_yes_from_a_number_that_has_not_consented_changes_nothing(client, people, db, texts):
    """Only a verified code or JOIN (or YES to the invitation just sent) is consent; a stray YES is not."""
    people.create("Alice")
    with db.session() as s:
        s.execute(update(Person).where(Person.id == people.ids["Alice"]).values(sms_status="invited"))
    assert texts.send("Alice", "Yes!") == sms_text.help_text()
    assert person(db, people.ids["Alice"]).sms_status == "invited"


def test_yes_from_an_opted_out_person_opts_them_back_in(client, people, db, texts):
    """Twilio counts YES as an opt-in keyword and unblocks the number, so Tend does too."""
    people.create("Alice")
    texts.send("Alice", "STOP")
    assert texts.send("Alice", "YES") == sms_text.opted_in_text()
    assert person(db, people.ids["Alice"]).sms_status == "active"


def test_yes_joins_the_circle_an_invitation_asked_about(client, people, db, texts, sms):
    people.create("Alice")
    circle = client.post("/api/v1/circles", json={"name": "Us"}, headers=people.headers("Alice")).get_json()
    client.post(
        f"/api/v1/circles/{circle['id']}/members",
        headers=people.headers("Alice"),
        json={"name": "Bob", "phone": people.PHONES["Bob"], "timezone": "America/New_York"},
    )
    sms.tick()  # the invitation is the latest SMS Tend sent Bob
    assert texts.send("Bob", "yes").startswith('You joined "Us"!')
    with db.session() as s:
        bob = s.scalar(select(Person).where(Person.phone == people.PHONES["Bob"]))
        membership = s.get(Membership, (circle["id"], bob.id))
    assert bob.sms_status == "active" and membership.status == "active"


def test_an_active_member_invited_to_another_circle_joins_it_with_yes(client, people, db, texts, sms):
    people.create("Alice")
    people.create("Bob")
    activate(db, people.ids["Alice"], people.ids["Bob"])
    circle = client.post("/api/v1/circles", json={"name": "Book club"}, headers=people.headers("Alice")).get_json()
    client.post(
        f"/api/v1/circles/{circle['id']}/members",
        headers=people.headers("Alice"),
        json={"name": "Bob", "phone": people.PHONES["Bob"], "timezone": "America/New_York"},
    )
    sms.tick()
    assert texts.send("Bob", "YES").startswith('You joined "Book club"!')
    with db.session() as s:
        assert s.get(Membership, (circle["id"], people.ids["Bob"])).status == "active"


def test_join_takes_the_newest_pending_invitation_whatever_came_last(client, people, db, texts):
    people.create("Alice")
    people.create("Bob")
    circle = client.post("/api/v1/circles", json={"name": "Book club"}, headers=people.headers("Alice")).get_json()
    client.post(
        f"/api/v1/circles/{circle['id']}/members",
        headers=people.headers("Alice"),
        json={"name": "Bob", "phone": people.PHONES["Bob"]},
    )
    assert texts.send("Bob", "NO") == sms_text.not_joined_text()  # the invitation was not sent yet
    assert texts.send("Bob", "join").startswith('You joined "Book club"!')
    assert texts.send("Bob", "join") == sms_text.not_joined_text()


def test_pause_and_resume(client, people, db, clock, texts):
    people.create("Alice")
    activate(db, people.ids["Alice"])
    assert texts.send("Alice", "pause 3") == (
        "Paused for 3 days. Reminders start again Fri 4 Dec. Reply RESUME to restart sooner."
    )
    assert person(db, people.ids["Alice"]).paused_until == clock() + timedelta(days=3)
    assert texts.send("Alice", "PAUSE").startswith("Paused for 7 days.")
    assert texts.send("Alice", "resume") == sms_text.resumed_text()
    assert person(db, people.ids["Alice"]).paused_until is None


def test_streak_lists_the_current_streaks(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=({}, STRETCH))
    texts.send("Alice", "DONE 1")
    assert texts.send("Alice", "STREAK") == "Your streaks: Morning coffee talk 1, Stretch 0"


def test_help_and_anything_unknown_get_the_help_text_and_record_nothing(
    client, people, db, clock, sms, fake_twilio, texts
):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    assert texts.send("Alice", "HELP") == sms_text.help_text()
    assert texts.send("Alice", "2 done") == sms_text.help_text()
    assert texts.send("Alice", "what is this?") == sms_text.help_text()
    assert checkin_count(db) == 0


def test_a_multi_item_reply_takes_streak_figures_in_subject_order_and_confirms_in_item_order(
    client, people, db, clock, sms, fake_twilio, texts
):
    """Locks in one order (see streak_figures.figure_order): the clock closing occurrences takes them alike."""
    from sqlalchemy import event

    _, (stretch, coffee) = reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=(STRETCH, {}))
    assert stretch["id"] < coffee["id"]  # but coffee is item 1
    folded: list[int] = []

    def record_fold(_conn, _cursor, statement, parameters, *_rest):
        if statement.lstrip().upper().startswith("INSERT INTO STREAK_FIGURES"):
            folded.append(parameters["subject_id"])

    event.listen(db.retrying_engine, "before_cursor_execute", record_fold)
    try:
        reply = texts.send("Alice", "DONE")
    finally:
        event.remove(db.retrying_engine, "before_cursor_execute", record_fold)
    assert folded == [stretch["id"], coffee["id"]]
    assert reply == "Kept! Morning coffee talk: a new streak begins. Kept! Stretch: a new streak begins."


def invited_bob(client, people) -> int:
    """Alice's circle with Bob's number invited (he never joined, never verified a code); the circle's id."""
    people.create("Alice")
    circle = add_circle(client, people)
    answer = client.post(
        f"/api/v1/circles/{circle}/members",
        json={"name": "Bob", "phone": people.PHONES["Bob"]},
        headers=people.headers("Alice"),
    )
    assert answer.status_code == 201, answer.get_json()
    return circle


def bob_now(db, people) -> tuple[str, str]:
    """Bob's SMS status and his membership's status."""
    with db.session() as s:
        bob = s.scalars(select(Person).where(Person.phone == people.PHONES["Bob"])).one()
        return bob.sms_status, s.scalars(select(Membership.status).where(Membership.person_id == bob.id)).one()


def test_start_from_a_number_that_was_only_invited_is_no_consent(client, people, db, texts):
    """SPEC §3: only a verified code or JOIN (or YES to the invitation) is consent; START only undoes a STOP."""
    invited_bob(client, people)
    assert texts.send("Bob", "START") == sms_text.opted_in_not_joined_text()
    assert bob_now(db, people) == ("invited", "invited")
    assert texts.send("Bob", "STOP") == sms_text.opted_out_text()
    assert bob_now(db, people) == ("opted_out", "invited")
    assert texts.send("Bob", "start") == sms_text.opted_in_not_joined_text()
    assert bob_now(db, people) == ("invited", "invited")
    assert texts.send("Bob", "DONE") == sms_text.help_text()  # nothing to check in before consent
    assert texts.send("Bob", "JOIN") == sms_text.joined_text("Us")
    assert bob_now(db, people) == ("active", "active")
    texts.send("Bob", "STOP")
    assert texts.send("Bob", "START") == sms_text.opted_in_text()
    assert bob_now(db, people) == ("active", "active")


def test_twilios_start_type_and_yes_after_stop_are_no_consent_either(client, people, db, texts):
    invited_bob(client, people)
    texts.send("Bob", "STOP")
    texts.send("Bob", "REPRENDRE", OptOutType="START")
    assert bob_now(db, people) == ("invited", "invited")
    texts.send("Bob", "STOP")
    assert texts.send("Bob", "YES") == sms_text.opted_in_not_joined_text()
    assert bob_now(db, people) == ("invited", "invited")
