"""Streak upkeep cost: one check-in's update with 10 years of daily history vs 1 week, and a full recompute.

    python -m bench.streaks

Issue 5's goal: the update costs the same whatever the history (ratio ≤ 1.5),
because a decision after the latest counted occurrence advances the stored
figures without reading the history. Each timed update decides a fresh latest
occurrence inside a transaction that is then rolled back, so every run starts
from the same stored state. Results go to bench/results/streaks.json.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text

from bench.harness import percentile, save, temporary_database
from bench.seeding import seed_rituals
from service.core.streaks import recompute
from service.domain import streak_figures
from service.domain.db import Database
from service.domain.models import Occurrence, OccurrenceOutcome

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HISTORIES = {"10 years": 3650, "1 week": 7}
UPDATE_RUNS = 200
RECOMPUTE_RUNS = 10
GOAL_RATIO = 1.5


def seed_history(db: Database, ritual_id: int, person_id: int, days: int, rng: random.Random) -> datetime:
    """`days` closed daily occurrences before NOW, mostly kept; returns the instant of the latest."""
    first = NOW - days * DAY
    instants = [first + i * DAY for i in range(days)]
    with db.session() as session:
        ids = session.scalars(
            insert(Occurrence).returning(Occurrence.id, sort_by_parameter_order=True),
            [
                {
                    "ritual_id": ritual_id,
                    "at": at,
                    "local": at.replace(tzinfo=None),
                    "opens_at": at - timedelta(minutes=10),
                    "closes_at": at + timedelta(hours=1),
                    "closed": True,
                }
                for at in instants
            ],
        ).all()
        session.execute(
            insert(OccurrenceOutcome),
            [
                {
                    "occurrence_id": occurrence_id,
                    "person_id": person_id,
                    "decided_at": NOW,
                    "outcome": rng.choices(("done", "missed", "skipped"), weights=(85, 10, 5))[0],
                }
                for occurrence_id in ids
            ],
        )
    with db.session() as session:
        streak_figures.recompute_figure(session, streak_figures.FigureKey("ritual", ritual_id, person_id))
    return instants[-1]


def time_next_update(db: Database, ritual_id: int, person_id: int, at: datetime) -> float:
    """Seconds for outcome_decided (and its write) on a new latest occurrence; the transaction is rolled back."""
    with db.sessions() as session:
        occurrence = Occurrence(
            ritual_id=ritual_id,
            at=at,
            local=at.replace(tzinfo=None),
            opens_at=at,
            closes_at=at,
            closed=True,
            outcomes=[OccurrenceOutcome(person_id=person_id, outcome="done", decided_at=NOW)],
        )
        session.add(occurrence)
        session.flush()
        started = time.perf_counter()
        streak_figures.outcome_decided(session, occurrence, person_id, NOW)
        session.flush()
        elapsed = time.perf_counter() - started
        session.rollback()
    return elapsed


def time_recompute(db: Database, key: streak_figures.FigureKey) -> float:
    with db.sessions() as session:
        started = time.perf_counter()
        streak_figures.recompute_figure(session, key)
        session.flush()
        elapsed = time.perf_counter() - started
        session.rollback()
    return elapsed


def check_incremental_equals_recompute(db: Database, key: streak_figures.FigureKey, at: datetime) -> None:
    """Sanity: the timed O(1) path leaves what a full recompute gives."""
    with db.sessions() as session:
        occurrence = Occurrence(
            ritual_id=key.subject_id,
            at=at,
            local=at.replace(tzinfo=None),
            opens_at=at,
            closes_at=at,
            closed=True,
            outcomes=[OccurrenceOutcome(person_id=key.person_id, outcome="done", decided_at=NOW)],
        )
        session.add(occurrence)
        session.flush()
        streak_figures.outcome_decided(session, occurrence, key.person_id, NOW)
        history = session.execute(
            select(Occurrence.at, OccurrenceOutcome.outcome)
            .join(OccurrenceOutcome)
            .where(Occurrence.ritual_id == key.subject_id)
        ).all()
        assert streak_figures.stored_state(session, key) == recompute(history), "incremental figures drifted"
        session.rollback()


def main() -> int:
    rng = random.Random(5)
    with temporary_database() as url:
        db = Database(url)
        seed_rituals(db, len(HISTORIES), due_at=NOW - 3651 * DAY, created_at=NOW - 3651 * DAY, rrule="FREQ=DAILY")
        keys, latest = {}, {}
        for number, (name, days) in enumerate(HISTORIES.items(), start=1):  # seeding: ritual n belongs to person n
            keys[name] = streak_figures.FigureKey("ritual", number, number)
            latest[name] = seed_history(db, number, number, days, rng)
        for name, key in keys.items():
            check_incremental_equals_recompute(db, key, latest[name] + DAY)
        samples: dict[str, list[float]] = {name: [] for name in HISTORIES}
        for run in range(UPDATE_RUNS + 10):  # interleaved, so drift in the machine's load hits both alike
            for name, key in keys.items():
                elapsed = time_next_update(db, key.subject_id, key.person_id, latest[name] + DAY)
                if run >= 10:  # warm-up
                    samples[name].append(elapsed)
        recompute_ms = [1000 * time_recompute(db, keys["10 years"]) for _ in range(RECOMPUTE_RUNS)]
        with db.engine.connect() as connection:
            server = connection.execute(text("SHOW server_version")).scalar()
        db.dispose()

    median_ms = {name: 1000 * statistics.median(values) for name, values in samples.items()}
    p95_ms = {name: 1000 * percentile(values, 0.95) for name, values in samples.items()}
    ratio = median_ms["10 years"] / median_ms["1 week"]
    result = {
        "what": "streak figure update for one decided outcome (outcome_decided + flush), PostgreSQL, "
        "median of interleaved runs; full recompute of one 10-year daily figure",
        "history_occurrences": HISTORIES,
        "update_runs": UPDATE_RUNS,
        "update_median_ms": {name: round(value, 3) for name, value in median_ms.items()},
        "update_p95_ms": {name: round(value, 3) for name, value in p95_ms.items()},
        "ratio_10y_to_1w": round(ratio, 3),
        "goal_ratio": GOAL_RATIO,
        "goal_met": ratio <= GOAL_RATIO,
        "full_recompute_10y_ms": {"median": round(statistics.median(recompute_ms), 2), "runs": RECOMPUTE_RUNS},
        "postgresql": server,
        "python": sys.version.split()[0],
    }
    path = save("streaks", result)
    print(f"{'streak update (one check-in)':<34}{'median ms':>10}{'p95 ms':>10}")
    for name in HISTORIES:
        print(f"  with {name} of daily history{'':<{12 - len(name)}}{median_ms[name]:>10.3f}{p95_ms[name]:>10.3f}")
    verdict = "met" if ratio <= GOAL_RATIO else "MISSED"
    print(f"{'ratio 10 years / 1 week':<34}{ratio:>10.2f}   (goal ≤ {GOAL_RATIO}: {verdict})")
    print(f"{'full recompute, 10 years (3650)':<34}{statistics.median(recompute_ms):>10.2f} ms")
    print(f"written to {path}")
    return 0 if ratio <= GOAL_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
