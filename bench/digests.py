"""Benchmark: N people with the same weekly digest slot, and reminders due in the same minutes, through
`tend clock` and 2 Dramatiq worker processes against a fake, unthrottled Twilio (0 ms).

Every person has a year of history as their stored streak figures, and the occurrences and outcomes of the
last HISTORY_DAYS days (what a digest reads: its week and the week before). A twentieth of them also have a
reminder due in one of the slot's first REMINDER_MINUTES minutes. Reports how long after the slot the last
digest SMS was handed to Twilio (goal ≤ 300 s) and the reminders' lateness (goal p99 ≤ 20 s), beside the
floor measured in the same run: the official SDK alone sending as many SMS to the same fake.

    python -m bench.digests [--people 100000] [--reminders N]     # … digest_lateness_max_s last
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import redis
import requests
from sqlalchemy import func, select, text, update

from bench.harness import Children, percentile, save, temporary_database, wait_until
from bench.reminders import REDIS_URL, fake_twilio, pipeline_env, sdk_floor, worker_command
from bench.seeding import fix_sequences, seed_people, seed_rituals
from service import config as config_module
from service.domain.db import Database
from service.domain.models import OutboundSms, Person
from service.domain.runtime import Runtime, SilentDoorbell, utc_now
from workers import clock

HISTORY_DAYS = 15  # the digest's week and the week before, and the slot's day
REMINDER_MINUTES = 5
PHONE_BASE = 2_025_550_000
CHUNK = 5_000

# Each person's daily "Morning coffee" (ritual id = N + person id) with HISTORY_DAYS of closed occurrences
# before the slot, outcomes mostly done, some missed or skipped, and figures as after a year of it.
HISTORY_SQL = [
    """INSERT INTO rituals (id, circle_id, title, start_local, timezone, rrule, duration_minutes,
           remind_before_minutes, grace_minutes, everyone, mode, sequence, materialized_until, created_at, updated_at)
       SELECT :n + g, g, 'Morning coffee', :start, 'UTC', 'FREQ=DAILY', 20, 10, 60, true, 'each', 0,
           '9999-01-01 00:00+00', :created, :created
       FROM generate_series(1, :n) g""",
    """INSERT INTO occurrences (ritual_id, at, local, opens_at, closes_at, closed)
       SELECT :n + g, t, t AT TIME ZONE 'UTC', t - interval '10 minutes', t + interval '60 minutes', true
       FROM generate_series(1, :n) g,
            LATERAL (SELECT CAST(:slot AS timestamptz) - d * interval '1 day' - interval '6 hours' AS t
                     FROM generate_series(1, :days) d) days""",
    """INSERT INTO occurrence_outcomes (occurrence_id, person_id, outcome, decided_at)
       SELECT id, ritual_id - :n,
           CASE (ritual_id * 7 + CAST(extract(epoch FROM at) AS bigint) / 86400) % 5
               WHEN 3 THEN 'missed' WHEN 4 THEN 'skipped' ELSE 'done' END,
           closes_at
       FROM occurrences WHERE ritual_id > :n""",
    """INSERT INTO streak_figures (subject_kind, subject_id, ritual_id, promise_id, person_id, current_streak,
           longest_streak, strength, last_counted_at)
       SELECT 'ritual', :n + g, :n + g, NULL, g, g % 30, 30 + g % 300, 0.3 + (g % 60) / 100.0,
           CAST(:slot AS timestamptz) - interval '1 day 6 hours'
       FROM generate_series(1, :n) g""",
]


def seed(db: Database, people: int, reminders: int, slot: datetime, created_at: datetime) -> None:
    """`people` people with a year of history, the first `reminders` of them with a reminder due an hour
    before `slot` (moved to the slot's minutes once the workers are up)."""
    seed_rituals(db, reminders, due_at=slot - timedelta(hours=1), created_at=created_at, phone_base=PHONE_BASE)
    for offset in range(reminders, people, CHUNK):
        ids = range(offset + 1, min(people, offset + CHUNK) + 1)
        seed_people(db, ids, due_at=slot, created_at=created_at, phone_base=PHONE_BASE)
    start = (slot - timedelta(days=365)).replace(tzinfo=None)
    with db.session() as session:
        for statement in HISTORY_SQL:
            session.execute(
                text(statement),
                {"n": people, "start": start, "created": created_at, "slot": slot, "days": HISTORY_DAYS},
            )
    fix_sequences(db)
    with db.session() as session:
        session.execute(text("ANALYZE"))


def run(people: int, reminders: int, processes: int, threads: int) -> dict:
    """One run: seed, start the workers, put everyone's slot and the reminders in the next minutes, start the
    clock, and wait until every digest and reminder was handed to the fake Twilio."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    with temporary_database() as database_url, Children() as children:
        fake_url = fake_twilio(children, 0.0, None)
        env = pipeline_env(database_url, fake_url)
        config = config_module.load(env)
        floor_messages = max(2_000, people // 20)
        sdk = sdk_floor(fake_url, floor_messages, processes, threads)
        print(f"floor: twilio SDK to the fake {sdk:,.0f} SMS/s", flush=True)

        db = Database(database_url)
        planned = utc_now() + timedelta(hours=1)
        started = time.monotonic()
        print(f"seeding {people:,} people, {HISTORY_DAYS} days of outcomes each, {reminders:,} reminders…", flush=True)
        seed(db, people, reminders, planned, created_at=planned - timedelta(days=366))
        runtime = Runtime(config=config, db=db, doorbell=SilentDoorbell())
        while clock.materialize(runtime, utc_now(), limit=2_000):
            pass
        print(f"seeded in {time.monotonic() - started:.1f} s", flush=True)

        children.start(worker_command("service.entry.worker_process", processes, threads), env)
        time.sleep(3)  # let the workers boot before the slot
        slot = (utc_now() + timedelta(seconds=75)).replace(second=0, microsecond=0)
        with db.session() as session:
            session.execute(
                update(Person).values(
                    digest_weekday=slot.weekday(), digest_time=slot.time().replace(tzinfo=None), next_digest_at=slot
                )
            )
            session.execute(
                text(
                    "UPDATE outbound_sms SET due_at = CAST(:slot AS timestamptz) + (person_id % :minutes) "
                    "* interval '1 minute' WHERE kind = 'reminder'"
                ),
                {"slot": slot, "minutes": REMINDER_MINUTES},
            )
        children.start([sys.executable, "-m", "service.entry.cli", "clock"], env)

        def sent() -> int:
            with db.session() as session:
                return session.scalar(select(func.count()).where(OutboundSms.state == "sent"))

        finished = wait_until(lambda: sent() >= people + reminders, timeout=900 + 75, poll=1.0)
        messages = requests.get(f"{fake_url}/_fake/messages", timeout=120).json()
        with db.session() as session:
            made_by = session.scalar(text("SELECT max(created_at) FROM digests"))
        db.dispose()
    digest_lateness, reminder_lateness = [], []
    by_minute: dict[int, list[float]] = {minute: [] for minute in range(REMINDER_MINUTES)}
    for message in messages:
        created = datetime.fromisoformat(message["date_created"])
        if message["body"].startswith("Tend week"):
            digest_lateness.append((created - slot).total_seconds())
        else:
            person = int(message["to"].removeprefix("+1")) - PHONE_BASE
            due = slot + timedelta(minutes=person % REMINDER_MINUTES)
            reminder_lateness.append((created - due).total_seconds())
            by_minute[person % REMINDER_MINUTES].append(reminder_lateness[-1])
    duplicates = sum(n - 1 for n in Counter((m["to"], m["body"][:9]) for m in messages).values())
    return {
        "people": people,
        "reminders": reminders,
        "worker_processes": processes,
        "threads_per_process": threads,
        "all_handed_to_twilio": finished,
        "digests_handed_to_twilio": len(digest_lateness),
        "reminders_handed_to_twilio": len(reminder_lateness),
        "duplicates": duplicates,
        "digests_made_within_s": round((made_by - slot).total_seconds(), 2) if made_by else None,
        "digest_lateness_p50_s": round(percentile(digest_lateness, 0.5), 2),
        "floor_sdk_sms_per_second": round(sdk, 1),
        "floor_seconds_to_hand_over": round((people + reminders) / sdk, 1),
        "reminder_lateness_min_s": round(min(reminder_lateness, default=float("nan")), 2),
        "reminder_lateness_p50_s": round(percentile(reminder_lateness, 0.5), 2),
        "reminder_lateness_p99_by_minute_s": [round(percentile(late, 0.99), 1) for late in by_minute.values() if late],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reminder_lateness_p99_s": round(percentile(reminder_lateness, 0.99), 2),
        "digest_lateness_max_s": round(max(digest_lateness, default=float("nan")), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--reminders", type=int, help="reminders due in the slot's minutes (default: people / 20)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    result = run(args.people, args.reminders or args.people // 20, args.processes, args.threads)
    path = save("digests", result)
    for key, value in result.items():
        print(f"{key:>40}: {value}")
    print(f"saved to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
