"""Benchmark: N reminders due in the same minute, through `tend clock` and 2 Dramatiq worker processes.

Reports the time until every reminder was handed to (a fake, unthrottled)
Twilio, duplicates, and lateness p50/p99, beside the floor measured in the
same run: raw Dramatiq no-op throughput with the same workers and Redis.

    python -m bench.reminders [--count 100000] [--processes 2] [--threads 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import redis
import requests
from sqlalchemy import func, select, update

from bench.harness import Children, percentile, save, start_fake_twilio, temporary_database, wait_until
from bench.seeding import seed_rituals
from service import config as config_module
from service.domain.db import Database
from service.domain.models import OutboundSms
from service.domain.runtime import Runtime, SilentDoorbell, utc_now
from workers import clock

REDIS_URL = os.environ.get("TEND_BENCH_REDIS", "redis://127.0.0.1:6379/14")


def worker_command(module: str, processes: int, threads: int) -> list[str]:
    return [sys.executable, "-m", "dramatiq", module, "--processes", str(processes), "--threads", str(threads)]


def noop_floor(children: Children, env: dict[str, str], messages: int, processes: int, threads: int) -> float:
    """Raw Dramatiq throughput (messages/s) for an actor that does nothing, same workers and Redis."""
    client = redis.Redis.from_url(REDIS_URL)
    from bench import noop_actors

    def counted() -> int:
        return int(client.get(noop_actors.COUNTER_KEY) or 0)

    worker = children.start(worker_command("bench.noop_actors", processes, threads), env)
    noop_actors.noop.send()
    wait_until(lambda: counted() >= 1, timeout=60)  # the workers are up
    client.set(noop_actors.COUNTER_KEY, 0)
    started = time.monotonic()
    for _ in range(messages):
        noop_actors.noop.send()
    wait_until(lambda: counted() >= messages, timeout=300, poll=0.05)
    elapsed = time.monotonic() - started
    children.stop(worker)
    return messages / elapsed


def _send_many(fake_url: str, count: int, threads: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from workers.sms_transport import TwilioTransport

    transport = TwilioTransport("AC" + "0" * 32, "test-auth-token", from_number="+15005550006", api_base_url=fake_url)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: transport.send(f"+1202555{i % 10_000:04d}", f"Tend: floor {i}"), range(count)))


def sdk_floor(fake_url: str, messages: int, processes: int, threads: int) -> float:
    """Raw throughput (SMS/s) of the official SDK against the same fake, same processes and threads, no Tend."""
    from concurrent.futures import ProcessPoolExecutor

    started = time.monotonic()
    with ProcessPoolExecutor(processes) as pool:
        list(pool.map(_send_many, [fake_url] * processes, [messages // processes] * processes, [threads] * processes))
    elapsed = time.monotonic() - started
    requests.post(f"{fake_url}/_fake/reset", timeout=30)
    return messages / elapsed


def run(count: int, processes: int, threads: int) -> dict:
    redis.Redis.from_url(REDIS_URL).flushdb()
    os.environ["REDIS_URL"] = REDIS_URL  # bench.noop_actors, imported below, puts its actor on this Redis
    with temporary_database() as database_url, Children() as children:
        fake_url = start_fake_twilio(children)
        env = os.environ | {
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "test-auth-token",
            "TWILIO_FROM_NUMBER": "+15005550006",
            "TWILIO_API_BASE_URL": fake_url,
            "TEND_PUBLIC_URL": "http://127.0.0.1:8000",
            "TEND_SECRET_KEY": "bench-secret-key-0123456789",
            "TEND_SMS_MPS": "100000",
            "TEND_CLOCK_INTERVAL": "1",
            "TEND_LOG_LEVEL": "WARNING",
        }
        floor = noop_floor(children, env, max(2_000, count // 5), processes, threads)
        print(f"floor: Dramatiq no-op {floor:,.0f} messages/s", flush=True)
        sdk = sdk_floor(fake_url, max(2_000, count // 10), processes, threads)
        print(f"floor: twilio SDK to the fake {sdk:,.0f} SMS/s", flush=True)

        db = Database(database_url)
        now = utc_now()
        print(f"seeding {count:,} people and rituals…", flush=True)
        seed_rituals(db, count, due_at=now + timedelta(hours=1), created_at=now - timedelta(hours=1))
        config = config_module.load(env)
        runtime = Runtime(config=config, db=db, doorbell=SilentDoorbell())
        started = time.monotonic()
        while clock.materialize(runtime, now, limit=2_000):
            pass
        print(f"materialized {count:,} occurrences in {time.monotonic() - started:.1f} s", flush=True)

        children.start(worker_command("service.entry.worker_process", processes, threads), env)
        time.sleep(3)  # let the workers boot before the minute starts
        due = utc_now().replace(microsecond=0) + timedelta(seconds=2)
        with db.session() as session:
            session.execute(update(OutboundSms).where(OutboundSms.kind == "reminder").values(due_at=due))
        children.start([sys.executable, "-m", "service.entry.cli", "clock"], env)

        def sent() -> int:
            with db.session() as session:
                return session.scalar(select(func.count()).where(OutboundSms.state == "sent"))

        finished = wait_until(lambda: sent() >= count, timeout=600, poll=1.0)
        messages = requests.get(f"{fake_url}/_fake/messages", timeout=120).json()
        created = [datetime.fromisoformat(m["date_created"]) for m in messages]
        lateness = [(at - due).total_seconds() for at in created]
        duplicates = sum(n - 1 for n in Counter(m["to"] for m in messages).values())
        all_in = max(lateness) if lateness else float("nan")
        db.dispose()
    return {
        "reminders": count,
        "worker_processes": processes,
        "threads_per_process": threads,
        "all_handed_to_twilio": finished,
        "handed_to_twilio": len(messages),
        "seconds_until_all_handed_over": round(all_in, 2),
        "duplicates": duplicates,
        "lateness_p50_s": round(percentile(lateness, 0.5), 2),
        "lateness_p99_s": round(percentile(lateness, 0.99), 2),
        "sms_per_second": round(len(messages) / all_in, 1) if all_in else None,
        "floor_noop_messages_per_second": round(floor, 1),
        "ratio_sms_to_noop": round(len(messages) / all_in / floor, 3) if all_in else None,
        "floor_sdk_sms_per_second": round(sdk, 1),
        "ratio_sms_to_sdk": round(len(messages) / all_in / sdk, 3) if all_in else None,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    result = run(args.count, args.processes, args.threads)
    for key, value in result.items():
        print(f"{key:>32}: {value}")
    print(f"saved to {save('reminders', result)}")


if __name__ == "__main__":
    main()
