"""POST /api/v1/checkins: the open or latest occurrence by default, back-fill of past ones, and who may."""

from sqlalchemy import select

from service.domain.models import OutboundSms
from tests.builders import add_promise, add_ritual, couple
from tests.checkins.helpers import outcome_of, reminded_couple, utc


def check_in(client, people, name, **body):
    return client.post("/api/v1/checkins", json={"outcome": "done"} | body, headers=people.headers(name))


def error_field(response):
    return response.get_json()["error"]["field"]


def test_it_checks_in_to_the_open_occurrence_by_default(client, people, db, clock, sms, fake_twilio):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    response = check_in(client, people, "Alice", ritual_id=ritual["id"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body | {"id": 0} == {
        "id": 0,
        "ritual_id": ritual["id"],
        "promise_id": None,
        "occurrence": "2026-12-02T12:30:00Z",
        "outcome": "done",
        "source": "api",
        "received_at": "2026-12-02T12:20:00Z",
        "note": None,
    }
    assert outcome_of(db, people.ids["Alice"], ritual_id=ritual["id"]) == "done"


def test_without_an_open_occurrence_it_takes_the_latest_that_began(client, people, db, clock, sms, fake_twilio):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=({"grace_minutes": 15},))
    clock.set(utc(2026, 12, 2, 20, 0))
    sms.tick()
    response = check_in(client, people, "Bob", ritual_id=ritual["id"], outcome="skip")
    assert response.get_json()["occurrence"] == "2026-12-02T12:30:00Z"
    assert outcome_of(db, people.ids["Bob"], ritual_id=ritual["id"]) == "skipped"


def test_a_missed_occurrence_can_be_back_filled(client, people, db, clock, sms):
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle, starts="2026-11-25T07:30")
    sms.tick()
    at = utc(2026, 11, 27, 12, 30)
    assert outcome_of(db, people.ids["Alice"], ritual_id=ritual["id"], at=at) == "missed"
    response = check_in(client, people, "Alice", ritual_id=ritual["id"], occurrence="2026-11-27T07:30:00-05:00")
    assert response.status_code == 201
    assert response.get_json()["occurrence"] == "2026-11-27T12:30:00Z"
    assert outcome_of(db, people.ids["Alice"], ritual_id=ritual["id"], at=at) == "done"


def test_an_instant_that_is_no_occurrence_is_refused_naming_occurrence(client, people, db, clock, sms):
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle, starts="2026-11-25T07:30")
    sms.tick()
    response = check_in(client, people, "Alice", ritual_id=ritual["id"], occurrence="2026-11-27T12:31:00Z")
    assert response.status_code == 422 and error_field(response) == "occurrence"
    before_start = check_in(client, people, "Alice", ritual_id=ritual["id"], occurrence="2026-11-24T12:30:00Z")
    assert before_start.status_code == 422 and error_field(before_start) == "occurrence"


def test_an_occurrence_not_yet_open_is_refused(client, people, db, clock, sms):
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle)
    sms.tick()
    for instant in ("2026-12-02T12:30:00Z", "2027-06-02T11:30:00Z"):
        response = check_in(client, people, "Alice", ritual_id=ritual["id"], occurrence=instant)
        assert response.status_code == 422 and error_field(response) == "occurrence", instant


def test_nothing_begun_yet_is_refused(client, people, db, sms):
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle)
    response = check_in(client, people, "Alice", ritual_id=ritual["id"])
    assert response.status_code == 422 and error_field(response) == "occurrence"


def test_a_back_fill_before_the_clock_ran_is_materialized_as_the_clock_would(
    client, people, db, clock, sms, fake_twilio
):
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle, starts="2026-11-25T07:30")
    response = check_in(client, people, "Alice", ritual_id=ritual["id"], occurrence="2026-11-26T12:30:00Z")
    assert response.status_code == 201
    sms.tick()  # the clock adds the other occurrences, not this one again
    assert outcome_of(db, people.ids["Alice"], ritual_id=ritual["id"], at=utc(2026, 11, 26, 12, 30)) == "done"
    assert outcome_of(db, people.ids["Bob"], ritual_id=ritual["id"], at=utc(2026, 11, 26, 12, 30)) == "missed"


def test_an_occurrence_of_an_edited_rule_can_be_back_filled(client, people, db, clock, sms):
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle, starts="2026-11-25T07:30")
    sms.tick()
    client.patch(
        f"/api/v1/rituals/{ritual['id']}", headers=people.headers("Alice"), json={"starts": "2026-11-25T08:00"}
    )
    sms.tick()
    response = check_in(client, people, "Alice", ritual_id=ritual["id"], occurrence="2026-11-26T13:00:00Z")
    assert response.status_code == 201
    sms.tick()
    assert outcome_of(db, people.ids["Alice"], ritual_id=ritual["id"], at=utc(2026, 11, 26, 13, 0)) == "done"


def test_the_api_may_correct_an_sms_check_in(client, people, db, clock, sms, fake_twilio, texts):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    texts.send("Alice", "DONE")
    response = check_in(
        client, people, "Alice", ritual_id=ritual["id"], occurrence="2026-12-02T12:30:00Z", outcome="skip"
    )
    assert response.get_json()["outcome"] == "skipped"
    assert outcome_of(db, people.ids["Alice"], ritual_id=ritual["id"]) == "skipped"


def test_a_promise_kept_through_the_api_notifies_its_recipient_while_open(client, people, db, clock, sms, fake_twilio):
    circle = couple(client, people, db)
    promise = add_promise(client, people, circle, title="book the table", due="2026-12-01T18:00")
    sms.tick()
    fake_twilio.reset()
    clock.set(utc(2026, 12, 1, 22, 30))
    response = check_in(client, people, "Alice", promise_id=promise["id"])
    assert response.status_code == 201 and response.get_json()["outcome"] == "on_time"
    sms.drain()
    assert fake_twilio.bodies_to(people.PHONES["Bob"]) == ["Tend: Alice kept their promise: book the table."]


def test_a_back_filled_promise_is_late_and_tells_nobody(client, people, db, clock, sms, fake_twilio):
    circle = couple(client, people, db)
    promise = add_promise(client, people, circle, title="book the table", due="2026-11-30T18:00")
    sms.tick()
    response = check_in(client, people, "Alice", promise_id=promise["id"], occurrence="2026-11-30T23:00:00Z")
    assert response.get_json()["outcome"] == "late"
    with db.session() as s:
        assert s.scalars(select(OutboundSms).where(OutboundSms.kind == "promise_kept")).all() == []


def test_only_the_keeper_checks_in_to_a_promise(client, people, db, clock, sms):
    circle = couple(client, people, db)
    promise = add_promise(client, people, circle, title="call", due="2026-12-01T08:00")
    sms.tick()
    response = check_in(client, people, "Bob", promise_id=promise["id"])
    assert response.status_code == 403


def test_a_member_who_is_not_a_participant_may_not_check_in(client, people, db, clock, sms, fake_twilio):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    solo = add_ritual(
        client, people, ritual["circle_id"], title="Run", participants=[people.ids["Alice"]], starts="2026-12-02T07:30"
    )
    sms.tick()
    assert check_in(client, people, "Bob", ritual_id=solo["id"]).status_code == 403
    assert check_in(client, people, "Alice", ritual_id=solo["id"]).status_code == 201


def test_an_outsider_gets_404(client, people, db, clock, sms, fake_twilio):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    people.create("Charlie")
    assert check_in(client, people, "Charlie", ritual_id=ritual["id"]).status_code == 404


def test_exactly_one_of_ritual_id_and_promise_id_is_required(client, people, db):
    people.create("Alice")
    for body in ({}, {"ritual_id": 1, "promise_id": 1}):
        response = check_in(client, people, "Alice", **body)
        assert response.status_code == 422 and error_field(response) == "ritual_id", body


def test_bad_input_is_a_422_naming_the_field(client, people, db):
    people.create("Alice")
    cases = [
        ({"ritual_id": 1, "outcome": "maybe"}, "outcome"),
        ({"ritual_id": 1, "occurrence": "2026-12-02T07:30"}, "occurrence"),  # no offset: which 07:30?
        ({"ritual_id": 1, "occurrence": "0001-01-01T00:00:00Z"}, "occurrence"),
        ({"ritual_id": 2**63}, "ritual_id"),
    ]
    for body, field in cases:
        response = check_in(client, people, "Alice", **body)
        assert response.status_code == 422 and error_field(response) == field, body


def test_it_needs_a_token(client):
    assert client.post("/api/v1/checkins", json={"ritual_id": 1, "outcome": "done"}).status_code == 401
