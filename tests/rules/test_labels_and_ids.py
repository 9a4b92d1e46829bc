"""Labels are one circle's names (SPEC §3), member ids tell nothing (SPEC §8), and numbers stay out of errors."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.domain import accounts
from service.domain.db import Database
from service.domain.migrate import upgrade
from service.domain.models import Person
from service.entry import logs
from tests.builders import FIRST_REMINDER, add_circle, add_ritual
from tests.security.helpers import MALLORY

NEW_NUMBER = "+14155550188"


def members(client, people, who: str, circle: int) -> dict[str, str]:
    answer = client.get(f"/api/v1/circles/{circle}", headers=people.headers(who)).get_json()
    return {m["name"]: m["status"] for m in answer["members"]}


def test_a_label_stays_in_its_circle_and_the_chosen_name_shows_once_they_join(
    client, people, db, clock, sms, texts, fake_twilio
):
    people.PHONES = people.PHONES | {"Mallory": MALLORY}
    people.create("Mallory")
    people.create("Alice")
    mallorys, alices = add_circle(client, people, name="Prizes", by="Mallory"), add_circle(client, people)
    for who, circle, label in (("Mallory", mallorys, "Prize Winner"), ("Alice", alices, "Sam")):
        url = f"/api/v1/circles/{circle}/members"
        answer = client.post(url, json={"name": label, "phone": NEW_NUMBER}, headers=people.headers(who))
        assert answer.status_code == 201, answer.get_json()
        sms.drain()
    with db.session() as s:
        assert s.scalar(select(Person.name).where(Person.phone == NEW_NUMBER)) == ""  # no label became a name

    assert texts.send(NEW_NUMBER, "JOIN").startswith('You joined "Us"')
    assert members(client, people, "Alice", alices) == {"Alice": "active", "Sam": "active"}
    assert members(client, people, "Mallory", mallorys) == {"Mallory": "active", "Prize Winner": "invited"}
    add_ritual(client, people, alices)  # everyone: Alice and the one who joined as Sam
    clock.set(FIRST_REMINDER)
    sms.tick()
    assert "Sam" in fake_twilio.bodies_to(people.PHONES["Alice"])[-1]  # texts name people as their circle does

    people.PHONES = people.PHONES | {"Samuel": NEW_NUMBER}
    people.create("Samuel")  # signs in; having no name yet, gives one
    assert members(client, people, "Alice", alices) == {"Alice": "active", "Samuel": "active"}
    assert members(client, people, "Mallory", mallorys) == {"Mallory": "active", "Prize Winner": "invited"}


def test_member_ids_do_not_tell_new_numbers_from_known_ones(client, people):
    for name in ("Alice", "Bob", "Charlie"):
        people.create(name)
    circle = add_circle(client, people)
    url = f"/api/v1/circles/{circle}/members"
    known = [people.PHONES["Bob"], people.PHONES["Charlie"]]
    new = ["+14155550188", "+14155550189", "+14155550190"]
    answers = [
        client.post(url, json={"name": "Member", "phone": phone}, headers=people.headers("Alice")).get_json()
        for phone in (known[0], new[0], known[1], new[1], new[2])
    ]
    assert {frozenset(a) for a in answers} == {frozenset({"id", "name", "status", "invitation_at"})}
    assert len({a["invitation_at"] for a in answers}) == 1  # from the inviter's side only, known number or not
    ids = sorted([people.ids["Alice"], *(a["id"] for a in answers)])
    assert all(b - a > 1_000_000 for a, b in zip(ids, ids[1:], strict=False)), ids  # not sequential
    assert max(ids) > 2**32 and max(ids) < 2**53  # drawn from 53 bits: exact in every JSON reader


@pytest.fixture(params=["postgresql", "sqlite"])
def any_db(request, tmp_path):
    if request.param == "postgresql":
        yield request.getfixturevalue("db")
        return
    url = f"sqlite:///{tmp_path}/tend.db"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def test_a_database_error_and_its_log_line_do_not_carry_the_number(any_db):
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(IntegrityError) as raised, any_db.session() as s:
        for _ in range(2):
            s.add(accounts.new_person(phone=NEW_NUMBER, now=now))
            s.flush()
    assert "SQL parameters hidden" in str(raised.value)
    error = raised.value
    record = logging.LogRecord("tend", logging.ERROR, __file__, 1, "failed", None, (type(error), error, None))
    line = logs.NumberMaskingFormatter(logs.FORMAT).format(record)
    assert "unique" in line.lower() and NEW_NUMBER not in line
