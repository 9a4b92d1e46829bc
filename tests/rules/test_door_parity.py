"""Every rule of SPEC §3 holds the same through every door (issue 18): the JSON API and the pages.

The SMS conversation and the CLI neither send codes nor invite nor take names
today (INVITE by text comes later and calls the same domain functions); where
they act (JOIN), `test_labels_and_ids.py` drives them.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.domain.models import Person, SmsKind
from tests.builders import activate, add_circle
from tests.rules.doors import ACCEPTED, counts_of, door, refused, texts_to

DOORS = ["api", "pages"]
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


@pytest.fixture(params=DOORS)
def via(request, app, client, db, people):
    return door(request.param, app, client, db, people)


@pytest.mark.parametrize("phone", NOT_TEXTABLE)
def test_codes_go_only_to_numbers_tend_may_text(via, db, phone):
    assert via.ask_code(phone) == refused("phone")
    assert texts_to(db, phone, SmsKind.CODE) == 0


@pytest.mark.parametrize("phone", NOT_TEXTABLE)
def test_invitations_go_only_to_numbers_tend_may_text(via, client, people, db, phone):
    circle = add_circle(client, people)
    assert via.invite(circle, "Sam", phone) == refused("phone")
    assert texts_to(db, phone, SmsKind.INVITATION) == 0


def test_a_national_number_is_read_in_the_first_country(via, client, people, db):
    assert via.ask_code("415 555 0188") == ACCEPTED
    assert texts_to(db, NEW_NUMBER, SmsKind.CODE) == 1
    circle = add_circle(client, people)
    assert via.invite(circle, "Sam", "(415) 555-0188") == ACCEPTED
    assert texts_to(db, NEW_NUMBER, SmsKind.INVITATION) == 1


def test_codes_to_one_number_are_limited_across_doors(via, app, client, db, people):
    other = door("pages" if via.name == "api" else "api", app, client, db, people)
    outcomes = [d.ask_code(NEW_NUMBER) for d in (via, other, via, other)]
    assert outcomes == [ACCEPTED, ACCEPTED, ACCEPTED, refused("phone")]
    assert texts_to(db, NEW_NUMBER, SmsKind.CODE) == 3


def test_invitations_to_one_number_are_limited_across_doors(via, app, client, db, people):
    other = door("pages" if via.name == "api" else "api", app, client, db, people)
    circles = [add_circle(client, people, name=f"Circle {n}") for n in "ABCD"]
    outcomes = [d.invite(c, "Sam", NEW_NUMBER) for d, c in zip((via, other, via, other), circles, strict=True)]
    assert outcomes == [ACCEPTED, ACCEPTED, ACCEPTED, refused("phone")]
    assert texts_to(db, NEW_NUMBER, SmsKind.INVITATION) == 3


BAD_NAMES = [
    "You won $500! Claim: http://evil.example/c?id=1 now",
    "Call 415-555-0199",
    "sam@evil.example",
    "evil.example/win",
    "Prize: yes",
    "x" * 41,
    "...",
]
GOOD_NAMES = ["Zoë", "Jean-Luc", "O'Brien", "Dr. Who", "李小龍", "Ана Мария"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_sign_up_name_must_be_a_name(via, db, name):
    assert via.sign_up(NEW_NUMBER, name) == refused("name")


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_new_name_must_be_a_name(via, client, people, name):
    assert via.rename(name) == refused("name")
    assert client.get("/api/v1/me", headers=people.headers("Alice")).get_json()["name"] == "Alice"


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_label_must_be_a_name(via, client, people, db, name):
    circle = add_circle(client, people)
    assert via.invite(circle, name, NEW_NUMBER) == refused("name")
    assert texts_to(db, NEW_NUMBER, SmsKind.INVITATION) == 0


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_names_of_any_script_are_names(via, client, people, name):
    assert via.rename(name) == ACCEPTED
    assert client.get("/api/v1/me", headers=people.headers("Alice")).get_json()["name"] == name
    circle = add_circle(client, people)
    assert via.invite(circle, name, NEW_NUMBER) == ACCEPTED


def test_only_members_who_joined_take_part(via, client, people, db):
    people.create("Bob")
    people.create("Charlie")
    circle = add_circle(client, people)
    assert via.invite(circle, "Charlie", people.PHONES["Charlie"]) == ACCEPTED
    activate(db, people.ids["Charlie"])  # Charlie joined; Bob is only invited
    assert via.invite(circle, "Bob", people.PHONES["Bob"]) == ACCEPTED  # invited, not joined
    bob = people.ids["Bob"]
    everyone_offered = [people.ids["Alice"], people.ids["Charlie"]]
    assert via.add_ritual(circle, [*everyone_offered, bob]) == refused("participants")
    assert via.add_ritual(circle, [people.ids["Alice"], bob]) == refused("participants")
    assert via.add_promise(circle, bob) == refused("to")


def test_erasure_forgets_the_numbers_codes_and_invitation_counts(via, client, people, db):
    alice = people.PHONES["Alice"]
    assert counts_of(db, alice) > 0  # the codes she signed in with
    assert via.erase() == ACCEPTED
    assert counts_of(db, alice) == 0
    with db.session() as s:
        assert s.scalar(select(Person).where(Person.phone == alice)) is None
