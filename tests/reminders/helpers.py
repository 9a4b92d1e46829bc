"""Setting up a couple with a ritual, for reminder tests."""

from sqlalchemy import update

from service.domain.models import Membership, Person


def activate(db, *person_ids):
    """As if they had replied YES: active SMS status and joined circles."""
    with db.session() as s:
        s.execute(update(Person).where(Person.id.in_(person_ids)).values(sms_status="active"))
        s.execute(update(Membership).where(Membership.person_id.in_(person_ids)).values(status="active"))


def couple(client, people, db, alice_tz="America/New_York", bob_tz="America/New_York"):
    """Alice and Bob, both active, in one circle; returns the circle id."""
    people.create("Alice", alice_tz)
    people.create("Bob", bob_tz)
    circle = client.post("/api/v1/circles", json={"name": "Us"}, headers=people.headers("Alice")).get_json()
    client.post(
        f"/api/v1/circles/{circle['id']}/members",
        headers=people.headers("Alice"),
        json={"name": "Bob", "phone": people.PHONES["Bob"], "timezone": bob_tz},
    )
    activate(db, people.ids["Alice"], people.ids["Bob"])
    return circle["id"]


def add_ritual(client, people, circle_id, **changes):
    ritual = {
        "title": "Morning coffee talk",
        "starts": "2026-12-02T07:30",
        "timezone": "America/New_York",
        "rrule": "FREQ=DAILY",
        "duration_minutes": 20,
        "remind_before_minutes": 10,
    } | changes
    response = client.post(f"/api/v1/circles/{circle_id}/rituals", json=ritual, headers=people.headers("Alice"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()
