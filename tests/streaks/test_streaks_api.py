"""GET /api/v1/streaks after real days: the clock closes occurrences, people check in and back-fill by API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.core.streaks import as_percent, recompute
from tests.builders import add_promise, add_ritual, couple

FIRST_OCCURRENCE = datetime(2026, 12, 2, 12, 30, tzinfo=UTC)  # 07:30 in New York
DAY = timedelta(days=1)


def live_days(clock, sms, client, people, ritual_id, plan):
    """From 2 December, one day per entry: Alice checks in ("done", "skip") or not (None); Bob never does.

    Ends at 01:30 New York time after the last day, when the clock has closed every one of them.
    """
    for day, outcome in enumerate(plan):
        clock.set(FIRST_OCCURRENCE + day * DAY + timedelta(minutes=5))
        sms.tick()
        if outcome:
            response = client.post(
                "/api/v1/checkins", headers=people.headers("Alice"), json={"ritual_id": ritual_id, "outcome": outcome}
            )
            assert response.status_code == 201, response.get_json()
    clock.set(FIRST_OCCURRENCE + len(plan) * DAY - timedelta(hours=6))
    sms.tick()


def streaks_of(client, people, name):
    response = client.get("/api/v1/streaks", headers=people.headers(name))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_streaks_follow_check_ins_and_closes(client, people, db, clock, sms):
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle)
    live_days(clock, sms, client, people, ritual["id"], ["done", "done", None, "done", "done"])
    alice = streaks_of(client, people, "Alice")
    outcomes = ["done", "done", "missed", "done", "done"]
    history = [(FIRST_OCCURRENCE + day * DAY, outcome) for day, outcome in enumerate(outcomes)]
    assert alice == {
        "person": {"reliability_30d": 0.8},
        "subjects": [
            {
                "kind": "ritual",
                "id": ritual["id"],
                "title": "Morning coffee talk",
                "current_streak": 2,
                "longest_streak": 2,
                "kept_rate_7d": 0.8,
                "kept_rate_30d": 0.8,
                "strength": as_percent(recompute(history).strength),
            }
        ],
    }
    bob = streaks_of(client, people, "Bob")
    assert bob["person"] == {"reliability_30d": 0.0}
    assert [(s["current_streak"], s["longest_streak"], s["kept_rate_7d"], s["strength"]) for s in bob["subjects"]] == [
        (0, 0, 0.0, 0.0)
    ]


def test_a_back_filled_check_in_repairs_the_streak(client, people, db, clock, sms):
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle)
    live_days(clock, sms, client, people, ritual["id"], ["done", "done", None, "done", "done"])
    response = client.post(
        "/api/v1/checkins",
        headers=people.headers("Alice"),
        json={"ritual_id": ritual["id"], "occurrence": "2026-12-04T12:30:00Z", "outcome": "done"},
    )
    assert response.status_code == 201, response.get_json()
    [subject] = streaks_of(client, people, "Alice")["subjects"]
    history = [(FIRST_OCCURRENCE + day * DAY, "done") for day in range(5)]
    assert (subject["current_streak"], subject["longest_streak"]) == (5, 5)
    assert (subject["kept_rate_7d"], subject["kept_rate_30d"]) == (1.0, 1.0)
    assert subject["strength"] == as_percent(recompute(history).strength)


def test_a_skip_keeps_the_streak_and_stays_out_of_the_rates(client, people, db, clock, sms):
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle)
    live_days(clock, sms, client, people, ritual["id"], ["done", "skip", "done"])
    [subject] = streaks_of(client, people, "Alice")["subjects"]
    assert (subject["current_streak"], subject["kept_rate_7d"]) == (2, 1.0)


def test_rates_are_rounded_fractions_and_strength_a_percentage(client, people, db, clock, sms):
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle)
    live_days(clock, sms, client, people, ritual["id"], ["done", None, None])
    body = streaks_of(client, people, "Alice")
    [subject] = body["subjects"]
    assert body["person"]["reliability_30d"] == subject["kept_rate_30d"] == 0.333
    history = [(FIRST_OCCURRENCE + day * DAY, outcome) for day, outcome in enumerate(["done", "missed", "missed"])]
    assert subject["strength"] == as_percent(recompute(history).strength) == 4.7


def test_promises_carry_an_on_time_rate_and_new_subjects_start_at_zero(client, people, db):
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle)
    promise = add_promise(client, people, circle)
    body = streaks_of(client, people, "Alice")
    assert body == {
        "person": {"reliability_30d": None},
        "subjects": [
            {
                "kind": "ritual",
                "id": ritual["id"],
                "title": "Morning coffee talk",
                "current_streak": 0,
                "longest_streak": 0,
                "kept_rate_7d": None,
                "kept_rate_30d": None,
                "strength": 0.0,
            },
            {
                "kind": "promise",
                "id": promise["id"],
                "title": "Book the restaurant",
                "current_streak": 0,
                "longest_streak": 0,
                "kept_rate_7d": None,
                "kept_rate_30d": None,
                "on_time_rate_30d": None,
                "strength": 0.0,
            },
        ],
    }
    assert [s["kind"] for s in streaks_of(client, people, "Bob")["subjects"]] == ["ritual"]  # Bob keeps no promise


def test_an_outsider_sees_none_of_the_couples_streaks(client, people, db, clock, sms):
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle)
    live_days(clock, sms, client, people, ritual["id"], ["done"])
    people.create("Charlie")
    assert streaks_of(client, people, "Charlie") == {"person": {"reliability_30d": None}, "subjects": []}
    assert client.get("/api/v1/streaks").status_code == 401
