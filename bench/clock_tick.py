"""Benchmark: does a clock tick cost O(due work) rather than O(all schedules)?

One tick with 1,000 reminders due among 10,000 schedules, then the same 1,000
among 1,000,000 schedules (the extra ones idle, materialized ahead like real
ones). Reports the median tick time of each and their ratio (goal ≤ 2).

    python -m bench.clock_tick [--small 10000] [--large 1000000] [--due 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import update

from bench.harness import save, temporary_database
from bench.seeding import fix_sequences, seed_rituals
from service import config as config_module
from service.domain.db import Database
from service.domain.models import OutboundSms
from service.domain.runtime import Runtime, SilentDoorbell, utc_now
from workers import clock


def add_idle_rituals(database_url: str, first_id: int, count: int, now: datetime) -> None:
    """Schedules that are materialized ahead and owe nothing now, bulk-loaded with COPY."""
    ahead = (now + timedelta(days=3, hours=12)).isoformat()
    created = now.isoformat()
    columns = (
        "id, circle_id, title, start_local, timezone, rrule, duration_minutes, remind_before_minutes, "
        "grace_minutes, everyone, sequence, materialized_until, created_at, updated_at"
    )
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor().copy(f"COPY rituals ({columns}) FROM STDIN") as copy:
            buffer = io.StringIO()
            for i in range(first_id, first_id + count):
                buffer.write(
                    f"{i}\t1\tIdle\t2026-01-01 07:30:00\tUTC\tFREQ=DAILY\t15\t10\t60\tt\t0\t{ahead}\t{created}\t{created}\n"
                )
                if buffer.tell() > 1 << 20:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        conn.commit()


def time_ticks(runtime, now: datetime, runs: int) -> list[float]:
    """Median-worthy tick times; between runs the due reminders are made due (un-rung) again."""
    from workers import clock

    times = []
    for _ in range(runs):
        with runtime.db.session() as session:
            session.execute(update(OutboundSms).values(rung_at=None))
        started = time.perf_counter()
        report = clock.tick(runtime, now)
        times.append(time.perf_counter() - started)
        assert report.rung > 0, "nothing was due: the benchmark measured an empty tick"
    return times


def run(small: int, large: int, due: int, runs: int) -> dict:
    now = utc_now().replace(microsecond=0)
    with temporary_database() as url:
        db = Database(url)
        config = config_module.load({"DATABASE_URL": url, "TEND_SECRET_KEY": "bench-secret-key-0123456789"})
        runtime = Runtime(config=config, db=db, doorbell=SilentDoorbell(), now=lambda: now)
        seed_rituals(db, due, due_at=now + timedelta(hours=1), created_at=now - timedelta(hours=1))
        while clock.materialize(runtime, now, limit=2_000):
            pass
        with db.session() as session:  # the reminders of the due schedules fall in this minute
            session.execute(update(OutboundSms).values(due_at=now))
        add_idle_rituals(url, due + 1, small - due, now)
        fix_sequences(db)
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        small_times = time_ticks(runtime, now, runs)
        print(f"{small:>9,} schedules: median tick {statistics.median(small_times) * 1000:.1f} ms", flush=True)
        started = time.perf_counter()
        add_idle_rituals(url, small + 1, large - small, now)
        fix_sequences(db)
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        print(f"loaded {large - small:,} more schedules in {time.perf_counter() - started:.0f} s", flush=True)
        large_times = time_ticks(runtime, now, runs)
        print(f"{large:>9,} schedules: median tick {statistics.median(large_times) * 1000:.1f} ms", flush=True)
        db.dispose()
    small_ms, large_ms = statistics.median(small_times) * 1000, statistics.median(large_times) * 1000
    return {
        "due_reminders": due,
        "runs": runs,
        "small_schedules": small,
        "small_tick_ms": round(small_ms, 1),
        "large_schedules": large,
        "large_tick_ms": round(large_ms, 1),
        "ratio_large_to_small": round(large_ms / small_ms, 3),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    result = run(args.small, args.large, args.due, args.runs)
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    print(f"saved to {save('clock_tick', result)}")


if __name__ == "__main__":
    main()
