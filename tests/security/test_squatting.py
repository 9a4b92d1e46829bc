"""Attack 3: squatting a number, and joining circles by accident (SPEC §3, §4, §8)."""

from __future__ import annotations

from sqlalchemy import select

from service.domain.models import Membership, Person
from tests.builders import FIRST_REMINDER, add_ritual, code_texted_to
from tests.security.helpers import ALICE
from tests.texting import Texts


def sign_in(client, db, phone, **details):
    client.post("/api/v1/codes", json={"phone": phone})
    return client.post("/api/v1/sessions", json={"phone": phone, "code": code_texted_to(db, phone)} | details)


def test_an_invited_number_is_claimed_by_its_owner_verifying_a_code(client, db, mallory):
    headers, circle_id = mallory
    client.post(f"/api/v1/circles/{circle_id}/members", json={"name": "Alicia", "phone": ALICE}, headers=headers)
    response = sign_in(client, db, ALICE, name="Alice", timezone="Europe/Paris")
    assert response.status_code == 201
    assert response.get_json()["person"] | {"id": 0} == {
        "id": 0,
        "name": "Alice",
        "phone": ALICE,
        "timezone": "Europe/Paris",
        "sms_status": "active",
    }
    # Consenting to Tend's texts is not joining Mallory's circle.
    invitations = client.get("/api/v1/invitations", headers={"Authorization": f"Bearer {response.get_json()['token']}"})
    assert invitations.get_json()["items"] == [{"id": circle_id, "circle": "Mallory's", "invited_by": "Mallory"}]


def test_someone_elses_sign_up_attempt_does_not_hold_a_number(client, db):
    client.post("/api/v1/codes", json={"phone": ALICE})  # Mallory asks, cannot read the code
    assert sign_in(client, db, ALICE, name="Alice", timezone="UTC").status_code == 201


def test_signing_up_without_a_name_keeps_the_code_valid(client, db):
    client.post("/api/v1/codes", json={"phone": ALICE})
    code = code_texted_to(db, ALICE)
    missing = client.post("/api/v1/sessions", json={"phone": ALICE, "code": code, "timezone": "UTC"})
    assert missing.status_code == 422 and missing.get_json()["error"]["field"] == "name"
    done = client.post("/api/v1/sessions", json={"phone": ALICE, "code": code, "name": "Alice", "timezone": "UTC"})
    assert done.status_code == 201


def test_a_code_has_five_tries(client, db):
    client.post("/api/v1/codes", json={"phone": ALICE})
    code = code_texted_to(db, ALICE)
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    body = {"phone": ALICE, "name": "Alice", "timezone": "UTC"}
    assert [client.post("/api/v1/sessions", json=body | {"code": wrong}).status_code for _ in range(5)] == [422] * 5
    assert client.post("/api/v1/sessions", json=body | {"code": code}).status_code == 422


def test_a_code_expires_after_ten_minutes(client, db, clock):
    client.post("/api/v1/codes", json={"phone": ALICE})
    code = code_texted_to(db, ALICE)
    clock.advance(minutes=10, seconds=1)
    body = {"phone": ALICE, "code": code, "name": "Alice", "timezone": "UTC"}
    assert client.post("/api/v1/sessions", json=body).status_code == 422


def membership(db, circle_id, phone):
    with db.session() as s:
        person = s.scalar(select(Person).where(Person.phone == phone))
        return s.get(Membership, (circle_id, person.id))


def test_yes_to_a_reminder_does_not_join_a_pending_invitation(client, db, people, mallory, sms, clock, texts):
    headers, mallory_circle = mallory
    people.create("Alice")
    people.create("Bob")
    ours = client.post("/api/v1/circles", json={"name": "Us"}, headers=people.headers("Alice")).get_json()
    client.post(
        f"/api/v1/circles/{ours['id']}/members",
        json={"name": "Bob", "phone": people.PHONES["Bob"]},
        headers=people.headers("Alice"),
    )
    client.post(
        f"/api/v1/circles/{mallory_circle}/members",
        json={"name": "A", "phone": people.PHONES["Alice"]},
        headers=headers,
    )
    add_ritual(client, people, ours["id"])
    sms.tick()  # the invitation goes out first
    clock.set(FIRST_REMINDER)
    sms.tick()  # then Alice's reminder
    assert texts.send("Alice", "YES").startswith("Kept!")
    assert membership(db, mallory_circle, people.PHONES["Alice"]).status == "invited"


def test_join_answers_the_invitation_and_no_blocks_the_inviter_for_30_days(
    client, db, mallory, sms, twilio_runtime, clock
):
    headers, circle_id = mallory
    texts = Texts(client, twilio_runtime.config.twilio_auth_token, {"Alice": ALICE})
    client.post(f"/api/v1/circles/{circle_id}/members", json={"name": "A", "phone": ALICE}, headers=headers)
    sms.tick()
    assert texts.send("Alice", "no").startswith("Declined")
    assert membership(db, circle_id, ALICE) is None
    again = client.post(f"/api/v1/circles/{circle_id}/members", json={"name": "A", "phone": ALICE}, headers=headers)
    assert again.status_code == 429 and again.get_json()["error"]["code"] == "too_many_messages"
    clock.advance(days=30, minutes=1)
    again = client.post(f"/api/v1/circles/{circle_id}/members", json={"name": "A", "phone": ALICE}, headers=headers)
    assert again.status_code == 201


def test_invitations_can_be_accepted_declined_and_circles_left_through_the_api(client, db, people, mallory):
    headers, circle_id = mallory
    people.create("Alice")
    client.post(
        f"/api/v1/circles/{circle_id}/members", json={"name": "A", "phone": people.PHONES["Alice"]}, headers=headers
    )
    alice = people.headers("Alice")
    assert client.post(f"/api/v1/invitations/{circle_id}/accept", headers=alice).status_code == 200
    assert membership(db, circle_id, people.PHONES["Alice"]).status == "active"
    assert client.delete(f"/api/v1/circles/{circle_id}/members/me", headers=alice).status_code == 204
    assert membership(db, circle_id, people.PHONES["Alice"]) is None
    assert client.get(f"/api/v1/circles/{circle_id}", headers=alice).status_code == 404
    other = client.post("/api/v1/circles", json={"name": "Other"}, headers=headers).get_json()
    client.post(
        f"/api/v1/circles/{other['id']}/members", json={"name": "A", "phone": people.PHONES["Alice"]}, headers=headers
    )
    assert client.post(f"/api/v1/invitations/{other['id']}/decline", headers=alice).status_code == 204
    assert client.get("/api/v1/invitations", headers=alice).get_json() == {"items": []}
