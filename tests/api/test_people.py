"""Sign-up, tokens and `me`."""

from sqlalchemy import select

from service.domain.models import OutboundSms, Person


def test_it_signs_up_a_person_and_queues_the_opt_in_sms(client, db, doorbell):
    response = client.post(
        "/api/v1/people", json={"name": "Alice", "phone": "+1 (212) 555-0101", "timezone": "America/New_York"}
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body | {"token": "t"} == {
        "id": body["id"],
        "name": "Alice",
        "phone": "+12125550101",
        "timezone": "America/New_York",
        "sms_status": "pending",
        "token": "t",
    }
    assert len(body["token"]) >= 40
    with db.session() as s:
        sms = s.scalars(select(OutboundSms)).all()
        stored = s.scalar(select(Person))
    assert [(m.kind, m.to) for m in sms] == [("opt_in", "+12125550101")]
    assert "YES" in sms[0].body
    assert doorbell.sms == [[sms[0].id]]
    assert stored.token_hash != body["token"] and body["token"] not in stored.token_hash


def test_a_phone_number_signs_up_once(client):
    payload = {"name": "Alice", "phone": "+12125550101", "timezone": "UTC"}
    assert client.post("/api/v1/people", json=payload).status_code == 201
    again = client.post("/api/v1/people", json=payload | {"phone": "+1 212 555 0101"})
    assert again.status_code == 409
    assert again.get_json()["error"] == {
        "code": "phone_taken",
        "message": again.get_json()["error"]["message"],
        "field": "phone",
    }


def test_me_shows_settings_with_defaults(client, people):
    people.create("Alice")
    me = client.get("/api/v1/me", headers=people.headers("Alice")).get_json()
    assert me["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    assert me["digest"] == {"weekday": "sunday", "time": "18:00"}
    assert "token" not in me


def test_me_can_be_changed(client, people):
    people.create("Alice")
    patch = {
        "name": "Ally",
        "timezone": "Europe/London",
        "quiet_hours": None,
        "digest": {"weekday": "monday", "time": "08:15"},
    }
    response = client.patch("/api/v1/me", json=patch, headers=people.headers("Alice"))
    assert response.status_code == 200
    me = client.get("/api/v1/me", headers=people.headers("Alice")).get_json()
    assert (me["name"], me["timezone"], me["quiet_hours"], me["digest"]) == (
        "Ally",
        "Europe/London",
        None,
        patch["digest"],
    )
    client.patch(
        "/api/v1/me", json={"quiet_hours": {"start": "23:30", "end": "06:00"}}, headers=people.headers("Alice")
    )
    assert client.get("/api/v1/me", headers=people.headers("Alice")).get_json()["quiet_hours"] == {
        "start": "23:30",
        "end": "06:00",
    }


def test_a_missing_token_is_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_a_wrong_token_is_401(client, people):
    people.create("Alice")
    for header in ("Bearer nope", "Bearer " + people.tokens["Alice"] + "x", "Basic abc", people.tokens["Alice"]):
        assert client.get("/api/v1/me", headers={"Authorization": header}).status_code == 401
