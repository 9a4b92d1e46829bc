"""Feed serving throughput against a bare Flask "hello", and feed render time for 20 and 200 rituals.

    python -m bench.feeds

Issue 6's goal: GET /feeds/<token>.ics of a stored feed of 20 rituals runs at
≥ 0.7× the requests/s of a bare Flask app answering "hello", both served by
gunicorn with the same settings in the same run and loaded by the same
keep-alive client, taking turns. The seeded circle is a couple whose daily
rituals started 30 days ago (half the 60 days of outcomes a feed shows),
both outcomes decided for every past day, so the feed carries the
RECURRENCE-ID overrides a lived-in feed has. Render time is reading the
feed's contents and building its bytes (the worker's part; median of a few
runs). Results go to bench/results/feeds.json.

Issue 21's goal: rendering the 200-ritual feed takes at most 5× what
icalendar alone spends serialising the same calendar (the components parsed
back from Tend's bytes, so the very same events, overrides, alarms and
zones); `render_ratio_to_icalendar` is printed last.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from flask import Flask
from icalendar import Calendar
from sqlalchemy import insert, select

from bench.harness import CLIENTS, GUNICORN, Children, best_rates, save, serve, temporary_database
from service.core.schedule import local_to_utc, parse_timezone
from service.domain import feed_content, feed_store
from service.domain.db import Database
from service.domain.models import Circle, Feed, Membership, Occurrence, OccurrenceOutcome, Person, Ritual

SECRET = "bench-secret-key-0123456789"
ZONE = "America/New_York"
HISTORY_DAYS = 30
SERVED_RITUALS = 20
RENDERED_RITUALS = (20, 200)
RENDER_RUNS = 3
CLIENT_HEADERS = {"Accept-Encoding": "gzip"}  # as calendar clients send it; the same for both endpoints
WARM_UP = 300
REQUESTS = 2400
ROUNDS = 4
GOAL_RATIO = 0.7
GOAL_RENDER_RATIO = 5.0


def hello_app() -> Flask:
    """The baseline: the least a Flask app can do per request."""
    app = Flask("hello")
    app.add_url_rule("/hello", "hello", lambda: "hello")
    return app


def seed_couple(db: Database, rituals: int, now: datetime, tag: str) -> int:
    """A circle of two with `rituals` daily rituals and HISTORY_DAYS of decided outcomes; returns the circle id."""
    start = (
        (now - timedelta(days=HISTORY_DAYS))
        .astimezone(parse_timezone(ZONE))
        .replace(hour=7, minute=30, second=0, microsecond=0, tzinfo=None)
    )
    with db.session() as session:
        people = session.scalars(
            insert(Person).returning(Person.id, sort_by_parameter_order=True),
            [
                {
                    "name": name,
                    "phone": f"+1202555{tag}{i}",
                    "timezone": ZONE,
                    "sms_status": "active",
                    "consented_at": now,
                    "created_at": now,
                }
                for i, name in enumerate(("Alice", "Bob"))
            ],
        ).all()
        circle_id = session.scalar(insert(Circle).returning(Circle.id), {"name": f"Us {tag}", "created_at": now})
        session.execute(
            insert(Membership),
            [
                {
                    "circle_id": circle_id,
                    "person_id": person_id,
                    "status": "active",
                    "joined_order": order,
                    "created_at": now,
                }
                for order, person_id in enumerate(people, 1)
            ],
        )
        ritual_ids = session.scalars(
            insert(Ritual).returning(Ritual.id, sort_by_parameter_order=True),
            [
                {
                    "circle_id": circle_id,
                    "title": f"Ritual {n}",
                    "start_local": start + timedelta(minutes=n),
                    "timezone": ZONE,
                    "rrule": "FREQ=DAILY",
                    "duration_minutes": 20,
                    "remind_before_minutes": 10,
                    "everyone": True,
                    "sequence": 0,
                    "materialized_until": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(rituals)
            ],
        ).all()
        days = [start + timedelta(days=d) for d in range(HISTORY_DAYS)]
        occurrences = [
            (ritual_id, local_to_utc(local + timedelta(minutes=n), parse_timezone(ZONE)))
            for n, ritual_id in enumerate(ritual_ids)
            for local in days
        ]
        occurrence_ids = session.scalars(
            insert(Occurrence).returning(Occurrence.id, sort_by_parameter_order=True),
            [
                {
                    "ritual_id": ritual_id,
                    "at": at,
                    "local": at.replace(tzinfo=None),
                    "opens_at": at,
                    "closes_at": at,
                    "closed": True,
                }
                for ritual_id, at in occurrences
            ],
        ).all()
        session.execute(
            insert(OccurrenceOutcome),
            [
                {
                    "occurrence_id": occurrence_id,
                    "person_id": person_id,
                    "decided_at": now,
                    "outcome": "missed" if (i + k) % 7 == 0 else "done",
                }
                for i, occurrence_id in enumerate(occurrence_ids)
                for k, person_id in enumerate(people)
            ],
        )
    return circle_id


def circle_feed(db: Database, circle_id: int, now: datetime) -> tuple[int, str]:
    """A rendered circle feed: (id, token)."""
    with db.session() as session:
        owner_id = session.scalar(select(Membership.person_id).where(Membership.circle_id == circle_id))
        owner = session.get(Person, owner_id)
        feed, token = feed_store.create_feed(session, owner=owner, scope="circle", circle_id=circle_id, now=now)
        feed_content.refresh(session, feed.id, now=now, secret=SECRET)
        return feed.id, token


def render_ms(db: Database, feed_id: int, now: datetime) -> tuple[float, float, int]:
    """Median wall times of reading a feed's contents and building its bytes, and of icalendar alone
    serialising the same calendar, taking turns; and the size of those bytes."""
    renders, floors, size = [], [], 0
    for _ in range(RENDER_RUNS):
        with db.session() as session:
            feed = session.get(Feed, feed_id)
            started = time.perf_counter()
            body = feed_content.render(session, feed, now=now, secret=SECRET)
            renders.append((time.perf_counter() - started) * 1000)
        size, same_calendar = len(body), Calendar.from_ical(body)
        started = time.perf_counter()
        same_calendar.to_ical()
        floors.append((time.perf_counter() - started) * 1000)
    return statistics.median(renders), statistics.median(floors), size


def main() -> int:
    now = datetime.now(UTC).replace(microsecond=0)
    with temporary_database() as url, Children() as children:
        db = Database(url)
        renders, paths = {}, {}
        for count in RENDERED_RITUALS:
            feed_id, token = circle_feed(db, seed_couple(db, count, now, tag=f"{count:03d}"), now)
            renders[count], paths[count] = render_ms(db, feed_id, now), f"/feeds/{token}.ics"
        db.dispose()
        env = os.environ | {"DATABASE_URL": url, "TEND_SECRET_KEY": SECRET, "TEND_PUBLIC_URL": "http://127.0.0.1"}
        env.pop("REDIS_URL", None)
        feed_path = paths[SERVED_RITUALS]
        targets = {
            "hello": (serve(children, "bench.feeds:hello_app()", "/hello", env), "/hello", CLIENT_HEADERS),
            "feed": (serve(children, "service.entry.wsgi:create_app()", feed_path, env), feed_path, CLIENT_HEADERS),
        }
        rps = best_rates(targets, WARM_UP, REQUESTS, ROUNDS)
    hello, feed = rps["hello"], rps["feed"]
    ratio = feed / hello
    largest_ms, largest_floor_ms, _size = renders[RENDERED_RITUALS[-1]]
    render_ratio = largest_ms / largest_floor_ms
    result = {
        "gunicorn": " ".join(GUNICORN),
        "client": f"{CLIENTS} keep-alive threads, {REQUESTS} requests, best of {ROUNDS} alternating rounds",
        "hello_rps": round(hello),
        "feed_rps": round(feed),
        "ratio": round(ratio, 2),
        "goal_ratio": GOAL_RATIO,
        "goal_met": ratio >= GOAL_RATIO,
        "feed_bytes": renders[SERVED_RITUALS][2],
        "render_ms": {str(count): round(ms, 1) for count, (ms, _floor, _size) in renders.items()},
        "icalendar_ms": {str(count): round(floor, 1) for count, (_ms, floor, _size) in renders.items()},
        "render_bytes": {str(count): size for count, (_ms, _floor, size) in renders.items()},
        "render_ratio_to_icalendar": round(render_ratio, 2),
        "goal_render_ratio": GOAL_RENDER_RATIO,
        "history_days": HISTORY_DAYS,
        "cpus": os.cpu_count(),
    }
    print(f"{'GET /hello (bare Flask)':<34}{hello:>9.0f} req/s")
    print(
        f"{f'GET feed ({SERVED_RITUALS} rituals, stored)':<34}{feed:>9.0f} req/s"
        f"   ratio {ratio:.2f} (goal ≥ {GOAL_RATIO}: {'met' if ratio >= GOAL_RATIO else 'MISSED'})"
    )
    for count, (ms, floor, size) in renders.items():
        print(
            f"{f'render {count} rituals':<34}{ms:>9.1f} ms      {size / 1024:.0f} KiB, icalendar alone {floor:.1f} ms"
        )
    print(f"saved {save('feeds', result)}")
    render_met = render_ratio <= GOAL_RENDER_RATIO
    print(
        f"render_ratio_to_icalendar {render_ratio:.2f}"
        f" (goal ≤ {GOAL_RENDER_RATIO:g} for {RENDERED_RITUALS[-1]} rituals: {'met' if render_met else 'MISSED'})"
    )
    return 0 if ratio >= GOAL_RATIO and render_met else 1


if __name__ == "__main__":
    sys.exit(main())
