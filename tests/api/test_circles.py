"""Circles, invitations, and that nobody sees another circle's data."""

from sqlalchemy import select

from service.domain.models import OutboundSms
from tests.builders import add_ritual


def make_circle(client, people, owner="Alice", name="Us"):
    response = client.post("/api/v1/circles", json={"name": name}, headers=people.headers(owner))
    assert response.status_code == 201
    return response.get_json()


def test_the_creator_is_the_first_member(client, people):
    alice = people.create("Alice")
    circle = make_circle(client, people)
    assert circle["name"] == "Us"
    assert circle["members"] == [{"id": alice["id"], "name": "Alice", "status": "active"}]


def test_a_member_added_by_phone_is_invited_by_sms(client, people, db):
    people.create("Alice")
    circle = make_circle(client, people)
    response = client.post(
        f"/api/v1/circles/{circle['id']}/members",
        json={"name": "Sam", "phone": "+12125550177", "timezone": "Europe/London"},
        headers=people.headers("Alice"),
    )
    assert response.status_code == 201
    assert response.get_json() | {"id": 0} == {
        "id": 0,
        "name": "Sam",
        "status": "invited",
        "invitation_at": "2026-12-01T12:00:00Z",
    }
    with db.session() as s:
        sms = s.scalars(select(OutboundSms).where(OutboundSms.kind == "invitation")).all()
    assert [m.to for m in sms] == ["+12125550177"] and "JOIN" in sms[0].body and "Alice" in sms[0].body


def test_an_existing_person_is_invited_not_duplicated(client, people):
    people.create("Alice")
    bob = people.create("Bob")
    circle = make_circle(client, people)
    url = f"/api/v1/circles/{circle['id']}/members"
    member = client.post(
        url, json={"name": "Bobby", "phone": bob["phone"], "timezone": "UTC"}, headers=people.headers("Alice")
    )
    assert member.status_code == 201 and member.get_json()["id"] == bob["id"]
    again = client.post(
        url, json={"name": "Bob", "phone": bob["phone"], "timezone": "UTC"}, headers=people.headers("Alice")
    )
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_member"


def test_a_circle_has_at_most_eight_members(client, people):
    people.create("Alice")
    circle = make_circle(client, people)
    url = f"/api/v1/circles/{circle['id']}/members"
    for n in range(7):
        payload = {"name": f"Member {'ABCDEFG'[n]}", "phone": f"+1212555{1000 + n}", "timezone": "UTC"}
        assert client.post(url, json=payload, headers=people.headers("Alice")).status_code == 201
    full = client.post(
        url, json={"name": "Member H", "phone": "+12125552000", "timezone": "UTC"}, headers=people.headers("Alice")
    )
    assert full.status_code == 409 and full.get_json()["error"]["code"] == "circle_full"


def test_an_outsider_gets_404_for_a_circle_and_its_parts(client, people):
    people.create("Alice")
    people.create("Charlie")
    circle = make_circle(client, people)
    ritual = add_ritual(client, people, circle["id"])
    charlie = people.headers("Charlie")
    assert client.get(f"/api/v1/circles/{circle['id']}", headers=charlie).status_code == 404
    assert (
        client.post(
            f"/api/v1/circles/{circle['id']}/members",
            headers=charlie,
            json={"name": "X", "phone": "+12125559999", "timezone": "UTC"},
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/circles/{circle['id']}/rituals",
            headers=charlie,
            json={
                "title": "Mine now",
                "starts": "2026-12-06T10:00",
                "timezone": "UTC",
                "rrule": None,
                "duration_minutes": 60,
                "remind_before_minutes": 30,
            },
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/rituals/{ritual['id']}", headers=charlie).status_code == 404
    assert (
        client.patch(f"/api/v1/rituals/{ritual['id']}", json={"title": "Hijacked"}, headers=charlie).status_code == 404
    )
    assert client.delete(f"/api/v1/rituals/{ritual['id']}", headers=charlie).status_code == 404
    assert (
        client.post(
            f"/api/v1/rituals/{ritual['id']}/pause", json={"until": "2026-12-20T00:00"}, headers=charlie
        ).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/rituals/{ritual['id']}", headers=people.headers("Alice")).get_json()["title"]
        == ritual["title"]
    )


def test_an_invited_member_cannot_see_the_circle_before_joining(client, people):
    people.create("Alice")
    bob = people.create("Bob")
    circle = make_circle(client, people)
    client.post(
        f"/api/v1/circles/{circle['id']}/members",
        json={"name": "Bob", "phone": bob["phone"], "timezone": "UTC"},
        headers=people.headers("Alice"),
    )
    assert client.get(f"/api/v1/circles/{circle['id']}", headers=people.headers("Bob")).status_code == 404
