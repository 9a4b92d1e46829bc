"""A person can take all their data with them, or erase it."""

import json

from sqlalchemy import func, select

from service.domain.models import Circle, Person
from tests.builders import add_promise, add_ritual, couple
from tests.pages.helpers import Pages


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


def test_the_settings_page_downloads_the_same_document_as_the_api(app, client, people, db):
    """One export (service/domain/privacy.py) behind both doors, every time spelled as the API spells it."""
    circle = couple(client, people, db)
    add_ritual(client, people, circle, grace_minutes=60)
    kept = {"promise_id": add_promise(client, people, circle)["id"], "outcome": "done", "note": "booked it"}
    assert client.post("/api/v1/checkins", json=kept, headers=people.headers("Alice")).status_code == 201
    assert client.post("/api/v1/feeds", json={"scope": "person"}, headers=people.headers("Alice")).status_code == 201
    pages = Pages(app, db)
    pages.sign_in(people.PHONES["Alice"], "Alice")

    download = pages.get("/settings/export")
    from_api = client.get("/api/v1/export", headers=people.headers("Alice")).get_json()

    assert download.headers["Content-Disposition"] == 'attachment; filename="tend-my-data.json"'
    assert json.loads(download.get_data(as_text=True)) == from_api
    ritual, promise = from_api["rituals"][0], from_api["promises"][0]
    assert (ritual["starts"], promise["due"]) == ("2026-12-02T07:30", "2026-12-04T18:00")
    assert from_api["person"]["digest"] == {"weekday": "sunday", "time": "18:00"}
    instants = [ritual["next_occurrence"], promise["next_occurrence"], from_api["person"]["created_at"]]
    instants.append(from_api["person"]["consented_at"])
    instants += [from_api["checkins"][0]["received_at"], from_api["feeds"][0]["created_at"]]
    assert all(len(moment) == 20 and moment.endswith("Z") for moment in instants), instants
    assert [c["note"] for c in from_api["checkins"]] == ["booked it"]
    assert [m["name"] for m in from_api["circles"][0]["members"]] == ["Alice", "Bob"]


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
