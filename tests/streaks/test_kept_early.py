"""One rule for what counts (issue 22): a promise kept before its start counts at once in the streak,
the kept-rates, reliability, the /streaks heatmap and a digest sample, all alike."""

from __future__ import annotations

from datetime import UTC, datetime

from service.domain import digests
from service.domain.models import Person
from tests.builders import add_promise, couple
from tests.pages.helpers import Pages

MORNING = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 10:00 in New York; the promise is due at 18:00


def test_a_promise_kept_early_counts_everywhere_at_once(app, client, people, db, clock, config):
    circle = couple(client, people, db)
    promise = add_promise(client, people, circle)
    clock.set(MORNING)
    kept = client.post(
        "/api/v1/checkins", headers=people.headers("Alice"), json={"promise_id": promise["id"], "outcome": "done"}
    )
    assert kept.status_code == 201, kept.get_json()

    figures = client.get("/api/v1/streaks", headers=people.headers("Alice")).get_json()
    assert figures["person"] == {"reliability_30d": 1.0}
    (subject,) = figures["subjects"]
    assert (subject["current_streak"], subject["kept_rate_7d"], subject["kept_rate_30d"]) == (1, 1.0, 1.0)

    alice = Pages(app, db)
    alice.sign_in(people.PHONES["Alice"], "Alice")
    page = alice.text("/streaks")
    assert "Fri 4 Dec: kept" in page and "nothing counted yet" not in page
    assert "<dt>Kept, 7 days</dt><dd>100%</dd>" in page

    with db.session() as session:
        person = session.get(Person, people.ids["Alice"])
        sample = digests.send_sample(session, person, config.public_url, MORNING, secret=config.secret_key)
        assert [(s["title"], s["kept"], s["expected"]) for s in sample.payload["subjects"]] == [
            ("Book the restaurant", 1, 1)
        ]
        assert sample.payload["reliability"] == 1.0
