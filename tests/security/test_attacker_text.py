"""Attack 1: attacker-written text reaching people who never joined (SPEC §3, Consent)."""

from __future__ import annotations

from tests.builders import promise_body, ritual_body
from tests.security.helpers import ALICE, outbox_to


def invite_alice(client, headers, circle_id, name="Alice"):
    return client.post(f"/api/v1/circles/{circle_id}/members", json={"name": name, "phone": ALICE}, headers=headers)


def test_a_ritual_cannot_name_an_invited_number_as_participant(client, mallory, db):
    headers, circle_id = mallory
    alice = invite_alice(client, headers, circle_id).get_json()
    response = client.post(
        f"/api/v1/circles/{circle_id}/rituals",
        json=ritual_body(title="URGENT: verify at evil.example", participants=[alice["id"]]),
        headers=headers,
    )
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "participants"
    assert [row.kind for row in outbox_to(db, ALICE)] == ["invitation"]


def test_a_promise_cannot_be_made_to_an_invited_number(client, mallory, db):
    headers, circle_id = mallory
    alice = invite_alice(client, headers, circle_id).get_json()
    response = client.post(
        "/api/v1/promises",
        json=promise_body(circle_id, alice["id"], title="Visit evil.example/login"),
        headers=headers,
    )
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "to"


def test_the_invitation_carries_only_the_inviters_verified_name(client, mallory, db, people):
    headers, _ = mallory
    spam = client.post("/api/v1/circles", json={"name": "Spam 0 call +1 900 555 0000"}, headers=headers).get_json()
    assert invite_alice(client, headers, spam["id"], name="Win a prize at evil.example").status_code == 201
    (invitation,) = outbox_to(db, ALICE)
    assert invitation.body.startswith("Tend: Mallory invited you")
    assert "Spam" not in invitation.body and "900" not in invitation.body and "evil" not in invitation.body


def test_new_circles_cannot_repeat_the_invitation_without_limit(client, mallory, db):
    headers, _ = mallory
    statuses = []
    for n in range(5):
        circle = client.post("/api/v1/circles", json={"name": f"Spam {n}"}, headers=headers).get_json()
        response = invite_alice(client, headers, circle["id"])
        statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 429, 429]
    assert response.get_json()["error"]["code"] == "too_many_messages"
    assert len(outbox_to(db, ALICE)) == 3


def test_the_invitation_limit_holds_whoever_invites(client, mallory, people, db):
    headers, circle_id = mallory
    for name in ("Bob", "Charlie", "Dana"):
        people.create(name)
        circle = client.post("/api/v1/circles", json={"name": "x"}, headers=people.headers(name)).get_json()
        assert invite_alice(client, people.headers(name), circle["id"]).status_code == 201
    assert invite_alice(client, headers, circle_id).status_code == 429
    assert len(outbox_to(db, ALICE)) == 3


def test_nothing_but_the_invitation_reaches_an_invited_number(client, mallory, db, sms, fake_twilio, clock):
    headers, circle_id = mallory
    invite_alice(client, headers, circle_id)
    client.post(f"/api/v1/circles/{circle_id}/rituals", json=ritual_body(), headers=headers)
    for _ in range(3):
        sms.tick()
        clock.advance(hours=12)
    to_alice = fake_twilio.bodies_to(ALICE)
    assert len(to_alice) == 1 and "invited you" in to_alice[0]
