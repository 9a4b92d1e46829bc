"""GET /api/v1/{rituals|promises}/{id}/occurrences: stored past with outcomes, computed future, bounded windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.builders import add_promise, add_ritual, couple


def occurrences(client, people, path, name="Alice", **window):
    response = client.get(f"/api/v1/{path}/occurrences", query_string=window, headers=people.headers(name))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["occurrences"]


@pytest.fixture
def planned(client, people, db):
    """Alice and Bob's daily 07:30 New York coffee from 2 December, before the clock has run."""
    circle = couple(client, people, db)
    return circle, add_ritual(client, people, circle)


@pytest.fixture
def lived(client, people, clock, sms, planned):
    """The coffee after its first two days: Alice checked in on the 2nd; now 4 December 01:00 local."""
    circle, ritual = planned
    clock.set(datetime(2026, 12, 2, 12, 35, tzinfo=UTC))
    sms.tick()
    client.post(
        "/api/v1/checkins", json={"ritual_id": ritual["id"], "outcome": "done"}, headers=people.headers("Alice")
    )
    clock.set(datetime(2026, 12, 4, 6, 0, tzinfo=UTC))
    sms.tick()
    return circle, ritual


def test_past_occurrences_carry_outcomes_and_future_ones_are_pending(client, people, lived):
    _, ritual = lived
    alice, bob = str(people.ids["Alice"]), str(people.ids["Bob"])
    found = occurrences(client, people, f"rituals/{ritual['id']}", **{"from": "2026-12-01", "to": "2026-12-10"})
    assert [o["at"] for o in found] == [f"2026-12-{day:02}T12:30:00Z" for day in range(2, 10)]
    assert {o["local"] for o in found} == {f"2026-12-{day:02}T07:30" for day in range(2, 10)}
    assert found[0]["outcomes"] == {alice: "done", bob: "missed"}
    assert found[1]["outcomes"] == {alice: "missed", bob: "missed"}
    assert all(o["outcomes"] == {alice: "pending", bob: "pending"} for o in found[2:])


def test_an_edit_reaches_future_occurrences_while_past_ones_keep_their_outcomes(client, people, lived):
    _, ritual = lived
    alice, bob = str(people.ids["Alice"]), str(people.ids["Bob"])
    client.patch(
        f"/api/v1/rituals/{ritual['id']}", json={"participants": [people.ids["Alice"]]}, headers=people.headers("Alice")
    )
    found = occurrences(client, people, f"rituals/{ritual['id']}", **{"from": "2026-12-01", "to": "2026-12-08"})
    assert [o["outcomes"] for o in found[:2]] == [{alice: "done", bob: "missed"}, {alice: "missed", bob: "missed"}]
    assert all(o["outcomes"] == {alice: "pending"} for o in found[2:]) and len(found) == 6


def test_future_occurrences_keep_their_local_time_across_a_dst_change(client, people, planned):
    _, ritual = planned
    found = occurrences(client, people, f"rituals/{ritual['id']}", **{"from": "2027-03-13", "to": "2027-03-15"})
    assert [(o["at"], o["local"]) for o in found] == [
        ("2027-03-13T12:30:00Z", "2027-03-13T07:30"),
        ("2027-03-14T11:30:00Z", "2027-03-14T07:30"),
    ]


def test_a_window_bound_with_an_offset_is_an_instant_and_from_is_inclusive(client, people, lived):
    _, ritual = lived
    found = occurrences(
        client, people, f"rituals/{ritual['id']}", **{"from": "2026-12-02T07:30-05:00", "to": "2026-12-03T12:30:00Z"}
    )
    assert [o["at"] for o in found] == ["2026-12-02T12:30:00Z"]


def test_the_default_window_is_the_last_30_days_and_the_next_7(client, people, lived):
    _, ritual = lived
    found = occurrences(client, people, f"rituals/{ritual['id']}")
    assert (found[0]["at"], found[-1]["at"]) == ("2026-12-02T12:30:00Z", "2026-12-10T12:30:00Z")


def test_a_promise_lists_its_keepers_outcome(client, people, lived):
    circle, _ = lived
    promise = add_promise(client, people, circle, due="2026-12-05T18:00")
    found = occurrences(client, people, f"promises/{promise['id']}", name="Bob")
    assert found == [
        {
            "at": "2026-12-05T23:00:00Z",
            "local": "2026-12-05T18:00",
            "outcomes": {str(people.ids["Alice"]): "pending"},
            "notes": {},
        }
    ]


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({"from": "2026-01-01", "to": "2027-01-03"}, "to"),  # 367 days
        ({"from": "2026-12-05", "to": "2026-12-05"}, "to"),
        ({"from": "2026-12-05", "to": "2026-12-04"}, "to"),
        ({"from": "2019-01-01"}, "to"),  # far from the default end
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "9999-12-31T23:59:59-23:59"}, "from"),
    ],
)
def test_a_bad_window_is_refused_naming_the_field(client, people, planned, window, field):
    _, ritual = planned
    response = client.get(
        f"/api/v1/rituals/{ritual['id']}/occurrences", query_string=window, headers=people.headers("Alice")
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field


def test_a_window_of_366_days_is_allowed(client, people, planned):
    _, ritual = planned
    found = occurrences(client, people, f"rituals/{ritual['id']}", **{"from": "2026-12-02", "to": "2027-12-03"})
    assert len(found) == 366


def test_an_outsider_cannot_see_the_occurrences(client, people, lived):
    circle, ritual = lived
    promise = add_promise(client, people, circle, title="Call", due="2026-12-05T18:00")
    people.create("Charlie")
    for path in (f"rituals/{ritual['id']}", f"promises/{promise['id']}", "rituals/999999"):
        response = client.get(f"/api/v1/{path}/occurrences", headers=people.headers("Charlie"))
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/rituals/{ritual['id']}/occurrences").status_code == 401
