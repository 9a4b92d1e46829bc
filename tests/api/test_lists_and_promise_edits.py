"""What a new user missed: list endpoints, changing and cancelling a promise, keeping one early, an off-rule start."""

from __future__ import annotations

from tests.builders import add_promise, add_ritual, couple


def test_lists_show_what_each_person_can_see(client, people, db):
    circle_id = couple(client, people, db)
    ritual = add_ritual(client, people, circle_id)
    made = add_promise(client, people, circle_id)
    people.create("Charlie")
    for name, expected in (("Alice", 1), ("Bob", 1), ("Charlie", 0)):
        circles = client.get("/api/v1/circles", headers=people.headers(name)).get_json()["items"]
        rituals = client.get("/api/v1/rituals", headers=people.headers(name)).get_json()["items"]
        promises = client.get("/api/v1/promises", headers=people.headers(name)).get_json()["items"]
        assert [len(circles), len(rituals), len(promises)] == [expected] * 3, name
    assert client.get("/api/v1/rituals", headers=people.headers("Bob")).get_json()["items"][0]["id"] == ritual["id"]
    assert client.get("/api/v1/promises", headers=people.headers("Bob")).get_json()["items"][0]["id"] == made["id"]


def test_a_promise_is_changed_and_cancelled_by_its_keeper_only(client, people, db):
    circle_id = couple(client, people, db)
    made = add_promise(client, people, circle_id)
    url = f"/api/v1/promises/{made['id']}"
    assert client.patch(url, json={"title": "Nope"}, headers=people.headers("Bob")).status_code == 403
    changed = client.patch(
        url, json={"title": "Book the table", "due": "2026-12-05T19:00"}, headers=people.headers("Alice")
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["title"] == "Book the table" and changed.get_json()["due"] == "2026-12-05T19:00"
    assert client.delete(url, headers=people.headers("Bob")).status_code == 403
    assert client.delete(url, headers=people.headers("Alice")).status_code == 204
    assert client.get(url, headers=people.headers("Alice")).status_code == 404


def test_a_promise_kept_early_is_on_time(client, people, db, clock):
    circle_id = couple(client, people, db)
    made = add_promise(client, people, circle_id)  # due Friday 18:00, reminded 17:00; now is Tuesday
    kept = client.post(
        "/api/v1/checkins", json={"promise_id": made["id"], "outcome": "done"}, headers=people.headers("Alice")
    )
    assert kept.status_code == 201, kept.get_json()
    assert kept.get_json()["outcome"] == "on_time"


def test_a_ritual_early_is_still_refused(client, people, db):
    circle_id = couple(client, people, db)
    ritual = add_ritual(client, people, circle_id, starts="2026-12-03T07:30")
    early = client.post(
        "/api/v1/checkins", json={"ritual_id": ritual["id"], "outcome": "done"}, headers=people.headers("Alice")
    )
    assert early.status_code == 422


def test_an_off_rule_start_moves_to_the_rules_first_occurrence(client, people, db):
    circle_id = couple(client, people, db)
    # Saturday 5 December, weekdays only: it starts on Monday the 7th, at the same wall time
    ritual = add_ritual(client, people, circle_id, starts="2026-12-05T19:00", rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR")
    assert ritual["starts"] == "2026-12-07T19:00"
