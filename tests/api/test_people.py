"""Sign-up and sign-in by code, device tokens, and `me`."""

from sqlalchemy import select

from service.domain.models import DeviceSession, OutboundSms
from tests.builders import code_texted_to


def test_a_code_is_texted_and_traded_for_a_device_token(client, db, doorbell):
    response = client.post("/api/v1/codes", json={"phone": "+1 (212) 555-0101"})
    assert (response.status_code, response.get_json()) == (202, {"sent": True})
    with db.session() as s:
        sms = s.scalars(select(OutboundSms)).all()
    assert [(m.kind, m.to) for m in sms] == [("code", "+12125550101")]
    assert doorbell.sms == [[sms[0].id]]
    code = code_texted_to(db, "+12125550101")
    response = client.post(
        "/api/v1/sessions",
        json={"phone": "+12125550101", "code": code, "name": "Alice", "timezone": "America/New_York"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["person"] | {"id": 0} == {
        "id": 0,
        "name": "Alice",
        "phone": "+12125550101",
        "timezone": "America/New_York",
        "sms_status": "active",
    }
    assert len(body["token"]) >= 40
    with db.session() as s:
        stored = s.scalar(select(DeviceSession))
        code_sms = s.scalar(select(OutboundSms))
    assert stored.token_hash != body["token"] and body["token"] not in stored.token_hash
    assert code_sms.body is None or code_sms.state == "queued"  # a used code's text is not kept once sent


def test_signing_in_again_keeps_the_account_and_opens_another_session(client, people, db):
    first = people.create("Alice")
    second = people.create("Alice", timezone="Asia/Tokyo")  # name and timezone are ignored for an active account
    assert second["id"] == first["id"] and second["timezone"] == "America/New_York"
    assert second["token"] != first["token"]
    with db.session() as s:
        assert len(s.scalars(select(DeviceSession)).all()) == 2


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
