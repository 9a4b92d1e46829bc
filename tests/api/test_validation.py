"""Bad input gets a clear error naming the field; never a 500 (SPEC §8)."""

import pytest

from tests.builders import add_circle, ritual_body

PERSON = {"name": "Alice", "phone": "+12125550101", "timezone": "America/New_York", "code": "123456"}


def error_of(response):
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    return body["error"]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"phone": "555 0101"}, "phone"),
        ({"phone": "+1 212"}, "phone"),
        ({"phone": "+999 123"}, "phone"),
        ({"phone": "call me"}, "phone"),
        ({"phone": 12125550101}, "phone"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"name": ""}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"extra": 1}, "extra"),
    ],
)
def test_person_fields_are_validated(client, change, field):
    response = client.post("/api/v1/sessions", json=PERSON | change)
    assert response.status_code == 422
    assert error_of(response)["field"] == field


def test_a_missing_field_is_named(client):
    response = client.post("/api/v1/sessions", json={"name": "Alice", "timezone": "UTC", "code": "123456"})
    assert response.status_code == 422 and error_of(response)["field"] == "phone"


def test_a_body_that_is_not_json_is_400(client):
    response = client.post("/api/v1/sessions", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_json"


def test_a_body_over_64_kib_is_413(client):
    response = client.post("/api/v1/sessions", json=PERSON | {"name": "x" * (65 * 1024)})
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"


def test_an_unknown_path_is_a_json_404(client):
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


def test_a_wrong_method_is_a_json_405(client):
    response = client.put("/api/v1/sessions", json=PERSON)
    assert response.status_code == 405 and error_of(response)["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"rrule": "FREQ=HOURLY"}, "rrule"),
        ({"rrule": "FREQ=MINUTELY;INTERVAL=5"}, "rrule"),
        ({"rrule": "FREQ=DAILY;BYHOUR=7,19"}, "rrule"),
        ({"rrule": "FREQ=DAILY;COUNT=0"}, "rrule"),
        ({"rrule": "FREQ=DAILY;UNTIL=20200101T000000Z"}, "rrule"),
        ({"rrule": "FREQ=FORTNIGHTLY"}, "rrule"),
        ({"rrule": "FREQ=DAILY\nDTSTART:20260101T000000"}, "rrule"),
        ({"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "rrule"),
        ({"starts": "2026-12-01T07:30:00+01:00"}, "starts"),
        ({"starts": "tomorrow"}, "starts"),
        ({"starts": "1900-01-01T07:30"}, "starts"),
        ({"timezone": "Nowhere/City"}, "timezone"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"title": 7}, "title"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": "30"}, "duration_minutes"),
        ({"remind_before_minutes": -5}, "remind_before_minutes"),
        ({"grace_minutes": 10**9}, "grace_minutes"),
        ({"participants": []}, "participants"),
        ({"participants": [999999]}, "participants"),
    ],
)
def test_ritual_fields_are_validated(client, people, change, field):
    people.create("Alice")
    circle = add_circle(client, people)
    body = ritual_body(starts="2026-12-01T07:30") | change
    response = client.post(f"/api/v1/circles/{circle}/rituals", json=body, headers=people.headers("Alice"))
    assert response.status_code == 422, response.get_json()
    assert error_of(response)["field"] == field


@pytest.mark.parametrize("name", ["Al\x00ice", "Al\nice", "\x7f"])
def test_control_characters_are_refused_not_stored(client, name):
    response = client.post("/api/v1/sessions", json=PERSON | {"name": name})
    assert response.status_code == 422 and error_of(response)["field"] == "name"


def test_an_id_beyond_the_database_range_is_404(client, people):
    people.create("Alice")
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(f"/api/v1/rituals/{2**64}", headers=people.headers("Alice"), json={})
        assert response.status_code == 404, method
        assert error_of(response)["code"] == "not_found"


def test_rrule_text_with_a_nul_is_refused(client, people):
    people.create("Alice")
    circle = add_circle(client, people)
    body = ritual_body(rrule="FREQ=DAILY\x00")
    response = client.post(f"/api/v1/circles/{circle}/rituals", json=body, headers=people.headers("Alice"))
    assert response.status_code == 422 and error_of(response)["field"] == "rrule"
