"""Attack 4: telling which numbers have accounts, and buying fresh rate-limit budgets (SPEC §3, §8)."""

from __future__ import annotations

import dataclasses
import secrets

from service.web.app import create_app
from tests.builders import People
from tests.security.helpers import ALICE


def test_inviting_a_registered_number_echoes_only_what_the_inviter_typed(client, people, mallory):
    headers, circle_id = mallory
    people.create("Bob", "Asia/Tokyo")
    unknown = client.post(
        f"/api/v1/circles/{circle_id}/members", json={"name": "Al", "phone": ALICE}, headers=headers
    ).get_json()
    known = client.post(
        f"/api/v1/circles/{circle_id}/members", json={"name": "Bobby", "phone": people.PHONES["Bob"]}, headers=headers
    ).get_json()
    assert set(unknown) == set(known) == {"id", "name", "status", "invitation_at"}
    assert unknown["invitation_at"] == known["invitation_at"]  # by the inviter's zone, never Bob's Asia/Tokyo
    assert (unknown["name"], unknown["status"]) == ("Al", "invited")
    assert (known["name"], known["status"]) == ("Bobby", "invited")  # not "Bob", not Asia/Tokyo
    members = client.get(f"/api/v1/circles/{circle_id}", headers=headers).get_json()["members"]
    assert [m["name"] for m in members] == ["Mallory", "Al", "Bobby"]


def test_code_requests_answer_the_same_for_known_and_unknown_numbers(client, people):
    people.create("Bob")
    known = client.post("/api/v1/codes", json={"phone": people.PHONES["Bob"]})
    unknown = client.post("/api/v1/codes", json={"phone": ALICE})
    assert (known.status_code, known.get_json()) == (unknown.status_code, unknown.get_json()) == (202, {"sent": True})


def test_made_up_tokens_count_against_their_address(runtime):
    runtime.config = dataclasses.replace(runtime.config, api_rate_limit="5 per minute")
    client = create_app(runtime).test_client()
    statuses = [
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]


def test_a_signed_in_person_keeps_their_own_budget(runtime):
    runtime.config = dataclasses.replace(runtime.config, api_rate_limit="5 per minute")
    client = create_app(runtime).test_client()
    people = People(client, runtime.db)
    people.create("Alice")
    assert client.get("/api/v1/me", headers=people.headers("Alice")).status_code == 200
    for _ in range(5):
        client.get("/api/v1/me", headers={"Authorization": "Bearer made-up"})
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer made-up"}).status_code == 429
    assert client.get("/api/v1/me", headers=people.headers("Alice")).status_code == 200


def test_failed_sign_in_attempts_count_against_the_limit(runtime):
    runtime.config = dataclasses.replace(runtime.config, signup_rate_limit="4 per hour")
    client = create_app(runtime).test_client()
    client.post("/api/v1/codes", json={"phone": ALICE})
    body = {"phone": ALICE, "code": "000000", "name": "A", "timezone": "UTC"}
    statuses = [client.post("/api/v1/sessions", json=body).status_code for _ in range(5)]
    assert statuses == [422, 422, 422, 422, 429]
