"""Every rule of SPEC §3 holds the same through every door (issue 18): the JSON API, the pages, the SMS
conversation (setting up by text, SPEC §4) and the CLI (`tend sms in`, the conversation at a prompt).

Each test names its rule; `NO_DOOR` says, one line each, where a door has no way to act on a rule, and the
test runs through every other door expecting the same outcome (`tests/rules/doors.py`).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from service.domain.db import Database
from service.domain.editing import MAX_PAUSE_DAYS
from service.domain.models import Person, PersonStatus, Ritual, SmsKind
from service.entry import cli
from tests.builders import activate, add_circle
from tests.rules.doors import ACCEPTED, UNPROVEN, counts_of, door, person_of, refused, text_outcome, texts_to

DOORS = ("api", "pages", "sms", "cli")
NO_CODES = "codes are asked for on the web: a text from a number Tend does not know gets one fixed answer"
NO_NAMING = "nobody names themselves by text (JOIN takes no name) or at the command line"
NO_PARTICIPANTS = "NEW by text takes no participants: every member who joined takes part (SPEC §4)"
NO_ERASURE = "SPEC §4 and §9 give no erasure by text or command: STOP stops the texts and keeps the data"
NO_PAUSE_ALL = "SPEC §8 has no pause-all (a ritual's own pause is another rule)"
NO_OPT_OUT = "opting out is Twilio's keywords, by text only (SPEC §4); the pages and the API erase instead"
NO_DOOR: dict[str, dict[str, str]] = {
    "codes": {"sms": NO_CODES, "cli": NO_CODES + " (no `tend` command asks for one)"},
    "own name": {"sms": NO_NAMING, "cli": NO_NAMING},
    "participants": {"sms": NO_PARTICIPANTS, "cli": NO_PARTICIPANTS},
    "erasure": {"sms": NO_ERASURE, "cli": NO_ERASURE},
    "pause": {"api": NO_PAUSE_ALL},
    "opt out": {"api": NO_OPT_OUT, "pages": NO_OPT_OUT},
    "proof": {"cli": "the operator's shell is the proof: `tend` runs where the database's credentials are"},
    "sender": {
        "api": "no sender: a person is their bearer token",
        "pages": "no sender: a person is their cookie",
        "sms": "Twilio's `From` is always E.164, of a number Tend texted",
    },
    # invitations, labels, a ritual for everyone and a promise's recipient: every door. People a command
    # makes: `tend demo`, the only command that makes any (test_the_demo_makes_people_only_of_numbers_tend_may_text).
}


def through(rule: str):
    """Parametrise `via` with every door that can act on `rule`."""
    return pytest.mark.parametrize("via", [d for d in DOORS if d not in NO_DOOR.get(rule, {})], indirect=True)


NOT_TEXTABLE = [
    "+19005550100",  # premium rate
    "+18005550100",  # toll-free
    "+18885550100",  # toll-free
    "+17875550100",  # Puerto Rico: not a country Tend texts
    "+449055550100",  # premium rate, and not a country Tend texts
    "+88213100123",  # international networks
    "+33612345678",  # a French mobile: not a country Tend texts
]
NEW_NUMBER = "+14155550188"


@pytest.fixture
def via(request):
    return door(request.param, request)


def other_than(via, request):
    """A second door for the same person, to show that a limit counts across doors."""
    return door("pages" if via.name == "api" else "api", request)


@through("proof")
def test_a_request_without_its_proof_changes_nothing(via, client, people, db):
    """A bearer token (API), the CSRF token (pages), Twilio's signature (SMS): without it, no invitation."""
    circle = add_circle(client, people)
    assert via.invite_unproven(circle, "Sam", NEW_NUMBER) == UNPROVEN
    assert texts_to(db, NEW_NUMBER, SmsKind.INVITATION) == 0
    assert person_of(db, NEW_NUMBER) is None


@through("codes")
@pytest.mark.parametrize("phone", NOT_TEXTABLE)
def test_codes_go_only_to_numbers_tend_may_text(via, db, phone):
    assert via.ask_code(phone) == refused("phone")
    assert texts_to(db, phone, SmsKind.CODE) == 0


@through("invitations")
@pytest.mark.parametrize("phone", NOT_TEXTABLE)
def test_invitations_go_only_to_numbers_tend_may_text(via, client, people, db, phone):
    circle = add_circle(client, people)
    assert via.invite(circle, "Sam", phone) == refused("phone")
    assert texts_to(db, phone, SmsKind.INVITATION) == 0


@through("codes")
def test_a_national_number_asks_for_a_code_in_the_first_country(via, db):
    assert via.ask_code("415 555 0188") == ACCEPTED
    assert texts_to(db, NEW_NUMBER, SmsKind.CODE) == 1


@through("invitations")
def test_a_national_number_is_invited_in_the_first_country(via, client, people, db):
    circle = add_circle(client, people)
    assert via.invite(circle, "Sam", "(415) 555-0188") == ACCEPTED
    assert texts_to(db, NEW_NUMBER, SmsKind.INVITATION) == 1


@through("codes")
def test_codes_to_one_number_are_limited_across_doors(via, request, db):
    other = other_than(via, request)
    outcomes = [d.ask_code(NEW_NUMBER) for d in (via, other, via, other)]
    assert outcomes == [ACCEPTED, ACCEPTED, ACCEPTED, refused("phone")]
    assert texts_to(db, NEW_NUMBER, SmsKind.CODE) == 3


@through("invitations")
def test_invitations_to_one_number_are_limited_across_doors(via, request, client, people, db):
    other = other_than(via, request)
    circles = [add_circle(client, people, name=f"Circle {n}") for n in "ABCD"]
    outcomes = [d.invite(c, "Sam", NEW_NUMBER) for d, c in zip((via, other, via, other), circles, strict=True)]
    assert outcomes == [ACCEPTED, ACCEPTED, ACCEPTED, refused("phone")]
    assert texts_to(db, NEW_NUMBER, SmsKind.INVITATION) == 3


@through("invitations")
def test_a_number_gets_one_invitation_per_circle(via, client, people, db):
    circle = add_circle(client, people)
    assert via.invite(circle, "Sam", NEW_NUMBER) == ACCEPTED
    assert via.invite(circle, "Sammy", NEW_NUMBER) == refused("phone")
    assert texts_to(db, NEW_NUMBER, SmsKind.INVITATION) == 1


BAD_NAMES = [
    "You won $500! Claim: http://evil.example/c?id=1 now",
    "Call 415-555-0199",
    "sam@evil.example",
    "evil.example/win",
    "Prize: yes",
    "x" * 41,
    "x" * 81,
    "...",
]
GOOD_NAMES = ["Zoë", "Jean-Luc", "O'Brien", "Dr. Who", "李小龍", "Ана Мария"]


@through("own name")
@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_sign_up_name_must_be_a_name(via, db, name):
    assert via.sign_up(NEW_NUMBER, name) == refused("name")


@through("own name")
@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_new_name_must_be_a_name(via, client, people, name):
    assert via.rename(name) == refused("name")
    assert client.get("/api/v1/me", headers=people.headers("Alice")).get_json()["name"] == "Alice"


@through("labels")
@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_label_must_be_a_name(via, client, people, db, name):
    circle = add_circle(client, people)
    assert via.invite(circle, name, NEW_NUMBER) == refused("name")
    assert texts_to(db, NEW_NUMBER, SmsKind.INVITATION) == 0


@through("own name")
@pytest.mark.parametrize("name", GOOD_NAMES)
def test_names_of_any_script_are_names(via, client, people, name):
    assert via.rename(name) == ACCEPTED
    assert client.get("/api/v1/me", headers=people.headers("Alice")).get_json()["name"] == name


@through("labels")
@pytest.mark.parametrize("name", GOOD_NAMES)
def test_labels_of_any_script_are_labels(via, client, people, db, name):
    circle = add_circle(client, people)
    assert via.invite(circle, name, NEW_NUMBER) == ACCEPTED
    assert texts_to(db, NEW_NUMBER, SmsKind.INVITATION) == 1


@pytest.fixture
def bob_invited_charlie_joined(via, client, people, db) -> int:
    """Alice's circle: Charlie joined, Bob is only invited; its id."""
    people.create("Bob")
    people.create("Charlie")
    circle = add_circle(client, people)
    assert via.invite(circle, "Charlie", people.PHONES["Charlie"]) == ACCEPTED
    activate(db, people.ids["Charlie"])  # Charlie joined; Bob is only invited
    assert via.invite(circle, "Bob", people.PHONES["Bob"]) == ACCEPTED  # invited, not joined
    return circle


@through("participants")
def test_only_members_who_joined_take_part(via, bob_invited_charlie_joined, people):
    circle, bob = bob_invited_charlie_joined, people.ids["Bob"]
    everyone_offered = [people.ids["Alice"], people.ids["Charlie"]]
    assert via.add_ritual(circle, [*everyone_offered, bob]) == refused("participants")
    assert via.add_ritual(circle, [people.ids["Alice"], bob]) == refused("participants")


@through("everyone")
def test_a_ritual_for_everyone_takes_in_only_members_who_joined(via, bob_invited_charlie_joined, people, db):
    alice, charlie = people.ids["Alice"], people.ids["Charlie"]
    assert via.add_ritual_for_everyone(bob_invited_charlie_joined, [alice, charlie]) == ACCEPTED
    with db.session() as s:
        assert sorted(s.scalars(select(Ritual)).one().participant_ids()) == sorted([alice, charlie])
    activate(db, people.ids["Bob"])  # Bob joins: a ritual for everyone takes him in
    with db.session() as s:
        assert len(s.scalars(select(Ritual)).one().participant_ids()) == 3


@through("recipient")
def test_only_a_member_who_joined_is_promised_to(via, bob_invited_charlie_joined, people):
    circle = bob_invited_charlie_joined
    assert via.add_promise(circle, people.ids["Bob"]) == refused("to")
    assert via.add_promise(circle, people.ids["Charlie"]) == ACCEPTED


@through("erasure")
def test_erasure_forgets_the_numbers_codes_and_invitation_counts(via, client, people, db):
    alice = people.PHONES["Alice"]
    assert counts_of(db, alice) > 0  # the codes she signed in with
    assert via.erase() == ACCEPTED
    assert counts_of(db, alice) == 0
    with db.session() as s:
        assert s.scalar(select(Person).where(Person.phone == alice)) is None


@through("pause")
@pytest.mark.parametrize("days", [1, 7, MAX_PAUSE_DAYS])
def test_a_pause_lasts_its_days(via, people, db, clock, days):
    assert via.pause(days) == ACCEPTED
    assert person_of(db, people.PHONES["Alice"]).paused_until == clock() + timedelta(days=days)


@through("pause")
@pytest.mark.parametrize("days", [0, -3, MAX_PAUSE_DAYS + 1])
def test_a_pause_outside_its_range_is_refused(via, people, db, days):
    assert via.pause(days) == refused("days")
    assert person_of(db, people.PHONES["Alice"]).paused_until is None


@through("opt out")
def test_stop_opts_out_and_start_opts_back_in(via, people, db):
    assert via.text("STOP") == "Tend: You're opted out and won't get more messages. Reply START to opt back in."
    assert person_of(db, people.PHONES["Alice"]).sms_status == PersonStatus.OPTED_OUT
    assert via.text("START").startswith("Tend: You're in!")
    assert person_of(db, people.PHONES["Alice"]).sms_status == PersonStatus.ACTIVE


@through("sender")
def test_a_sender_is_read_as_every_door_reads_a_number(via, people, db):
    assert (
        via.send("(415) 555-0101", "PAUSE 3")
        == "Paused for 3 days. Reminders start again Fri 4 Dec. Reply RESUME to restart sooner."
    )
    assert person_of(db, people.PHONES["Alice"]).paused_until is not None
    for phone in NOT_TEXTABLE:
        assert text_outcome(via.send(phone, "STOP")) == refused("phone")


def test_the_demo_makes_people_only_of_numbers_tend_may_text(tmp_path, monkeypatch):
    """`tend demo`, the one command that makes people (active, as if verified), holds the destination rule as a
    sign-up does: its numbers are American, so with only Canada allowed it makes nobody and says why."""
    database = f"sqlite:///{tmp_path}/tend.db"
    for name, value in {"DATABASE_URL": database, "TEND_SECRET_KEY": "demo-test-secret-0123456789"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TEND_SMS_COUNTRIES", "CA")
    refused = CliRunner().invoke(cli.main, ["demo"])
    assert refused.exit_code == 1 and "Error: Tend can't text numbers of that country." in refused.output
    made = Database(database)
    with made.session() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 0
    made.dispose()
    monkeypatch.setenv("TEND_SMS_COUNTRIES", "US,CA")
    assert CliRunner().invoke(cli.main, ["demo"]).exit_code == 0
