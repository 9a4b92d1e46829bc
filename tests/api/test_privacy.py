"""A person can take all their data with them, or erase it."""

from sqlalchemy import func, select

from service.domain.models import Circle, Person
from tests.builders import add_ritual, couple


def test_export_holds_everything_about_the_person(client, people, db):
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle)
    response = client.get("/api/v1/export", headers=people.headers("Alice"))
    assert response.status_code == 200
    data = response.get_json()
    assert data["person"]["phone"] == people.PHONES["Alice"] and data["person"]["quiet_hours"] == {
        "start": "22:00",
        "end": "07:00",
    }
    assert [c["id"] for c in data["circles"]] == [circle]
    assert [r["id"] for r in data["rituals"]] == [ritual["id"]]
    assert data["rituals"][0]["next_occurrence"].endswith("Z")
    assert [m["kind"] for m in data["sms"]] == ["code"]
    assert set(data) == {
        "person",
        "circles",
        "rituals",
        "promises",
        "outcomes",
        "checkins",
        "feeds",
        "sms",
        "pauses",
        "texted_setup",
    }


def test_erasing_me_removes_me_and_my_token_but_not_my_partner(client, people, db):
    circle = couple(client, people, db)
    assert client.delete("/api/v1/me", headers=people.headers("Alice")).status_code == 204
    assert client.get("/api/v1/me", headers=people.headers("Alice")).status_code == 401
    with db.session() as s:
        assert s.get(Person, people.ids["Alice"]) is None
        assert s.get(Person, people.ids["Bob"]) is not None
        assert s.get(Circle, circle) is not None  # Bob is still in it


def test_erasing_the_last_member_removes_the_circle(client, people, db):
    people.create("Charlie")
    client.post("/api/v1/circles", json={"name": "Solo"}, headers=people.headers("Charlie"))
    assert client.delete("/api/v1/me", headers=people.headers("Charlie")).status_code == 204
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Circle)) == 0
