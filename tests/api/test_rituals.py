"""Rituals and promises through the API."""

from tests.builders import add_circle, add_ritual, promise_body

TODAY = "2026-12-01T07:30"  # the clock stands at 2026-12-01 12:00 UTC = 07:00 in New York


def setup_circle(client, people) -> int:
    people.create("Alice")
    return add_circle(client, people)


def test_a_ritual_reports_its_next_occurrence_in_utc(client, people, clock):
    circle = setup_circle(client, people)
    ritual = add_ritual(client, people, circle, starts=TODAY)
    assert ritual["next_occurrence"] == "2026-12-01T12:30:00Z"
    assert ritual["participants"] == [people.ids["Alice"]] and ritual["grace_minutes"] is None
    assert (ritual["rrule"], ritual["starts"], ritual["sequence"]) == ("FREQ=DAILY", "2026-12-01T07:30", 0)


def test_a_ritual_that_started_in_the_past_points_to_the_next_instant(client, people):
    circle = setup_circle(client, people)
    ritual = add_ritual(client, people, circle, starts="2026-11-01T06:00")
    assert ritual["next_occurrence"] == "2026-12-02T11:00:00Z"


def test_editing_a_ritual_raises_its_sequence(client, people):
    circle = setup_circle(client, people)
    ritual = add_ritual(client, people, circle, starts=TODAY)
    edited = client.patch(
        f"/api/v1/rituals/{ritual['id']}",
        json={"title": "Coffee", "rrule": "freq=weekly;byday=tu"},
        headers=people.headers("Alice"),
    )
    assert edited.status_code == 200
    body = edited.get_json()
    assert (body["title"], body["rrule"], body["sequence"]) == ("Coffee", "FREQ=WEEKLY;BYDAY=TU", 1)
    bad = client.patch(
        f"/api/v1/rituals/{ritual['id']}", json={"rrule": "FREQ=SECONDLY"}, headers=people.headers("Alice")
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "rrule"


def test_a_paused_ritual_resumes_after_until(client, people):
    circle = setup_circle(client, people)
    ritual = add_ritual(client, people, circle, starts=TODAY)
    paused = client.post(
        f"/api/v1/rituals/{ritual['id']}/pause", json={"until": "2026-12-05T00:00"}, headers=people.headers("Alice")
    )
    assert paused.status_code == 200
    assert paused.get_json()["paused_until"] == "2026-12-05T05:00:00Z"
    assert paused.get_json()["next_occurrence"] == "2026-12-05T12:30:00Z"
    past = client.post(
        f"/api/v1/rituals/{ritual['id']}/pause", json={"until": "2026-11-05T00:00"}, headers=people.headers("Alice")
    )
    assert past.status_code == 422 and past.get_json()["error"]["field"] == "until"


def test_a_deleted_ritual_is_gone(client, people):
    circle = setup_circle(client, people)
    ritual = add_ritual(client, people, circle, starts=TODAY)
    assert client.delete(f"/api/v1/rituals/{ritual['id']}", headers=people.headers("Alice")).status_code == 204
    assert client.get(f"/api/v1/rituals/{ritual['id']}", headers=people.headers("Alice")).status_code == 404


def test_a_promise_goes_to_another_member(client, people, db):
    from service.domain.models import Membership

    circle = setup_circle(client, people)
    bob = people.create("Bob")
    client.post(
        f"/api/v1/circles/{circle}/members",
        json={"name": "Bob", "phone": bob["phone"], "timezone": "UTC"},
        headers=people.headers("Alice"),
    )
    with db.session() as s:
        s.get(Membership, (circle, bob["id"])).status = "active"
    promise = promise_body(circle, bob["id"], due="2026-12-01T18:00")
    response = client.post("/api/v1/promises", json=promise, headers=people.headers("Alice"))
    assert response.status_code == 201
    body = response.get_json()
    assert (body["to"], body["keeper_id"], body["grace_minutes"], body["next_occurrence"]) == (
        bob["id"],
        people.ids["Alice"],
        60,
        "2026-12-01T23:00:00Z",
    )
    to_self = client.post(
        "/api/v1/promises", json=promise | {"to": people.ids["Alice"]}, headers=people.headers("Alice")
    )
    assert to_self.status_code == 422 and to_self.get_json()["error"]["field"] == "to"
    assert client.get(f"/api/v1/promises/{body['id']}", headers=people.headers("Bob")).status_code == 200
