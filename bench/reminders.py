"""Benchmark: N reminders due in the same minute, through `tend clock` and 2 Dramatiq worker processes.

Reports the time until every reminder was handed to (a fake, unthrottled)
Twilio, duplicates, and lateness p50/p99, beside the floors measured in the
same run: raw Dramatiq no-op throughput with the same workers and Redis, and
the official SDK alone against the same fake.

    python -m bench.reminders [--count 100000] [--processes 2] [--threads 8]     # … lateness_p99_s last
    python -m bench.reminders --count N --latency-ms 200 --concurrency 100   # … ratio_to_zero_latency last
    python -m bench.reminders --count 3000 --mps 10 [--lead 0]               # … lateness_p99_s last
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import redis
import requests
from sqlalchemy import func, select, update

from bench.harness import Children, percentile, save, temporary_database, wait_until
from bench.seeding import seed_rituals
from service import config as config_module
from service.domain.db import Database
from service.domain.models import OutboundSms
from service.domain.pipeline_rate import PIPELINE_RATE
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


def fake_twilio(children: Children, latency_ms: float, concurrency: int | None) -> str:
    """The fake Twilio in its own process, answering after `latency_ms`, refusing past `concurrency` in flight."""
    args = [sys.executable, "-m", "tests.fake_twilio", "--port", "0", "--latency-ms", str(latency_ms)]
    if concurrency:
        args += ["--concurrency", str(concurrency)]
    process = children.start(args, os.environ.copy(), stdout=subprocess.PIPE, text=True)
    url = process.stdout.readline().strip()
    process.stdout.close()  # it prints nothing more
    return url


def pipeline_env(database_url: str, fake_url: str, mps: float | None = None) -> dict[str, str]:
    """The environment of the clock and workers a pipeline benchmark runs: the fake Twilio, a one-second tick."""
    return os.environ | {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "test-auth-token",
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": fake_url,
        "TEND_PUBLIC_URL": "http://127.0.0.1:8000",
        "TEND_SECRET_KEY": "bench-secret-key-0123456789",
        "TEND_SMS_MPS": str(mps or 100000),
        "TEND_CLOCK_INTERVAL": "1",
        "TEND_LOG_LEVEL": "WARNING",
    }


def pipeline(
    count: int,
    processes: int,
    threads: int,
    *,
    latency_ms: float = 0.0,
    concurrency: int | None = None,
    mps: float | None = None,
    lead_seconds: float | None = None,
    floors: bool = True,
) -> dict:
    """One run: seed `count` reminders due in the same minute, start the clock and workers, wait until all sent."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    os.environ["REDIS_URL"] = REDIS_URL  # bench.noop_actors, imported below, puts its actor on this Redis
    with temporary_database() as database_url, Children() as children:
        fake_url = fake_twilio(children, latency_ms, concurrency)
        env = pipeline_env(database_url, fake_url, mps)
        if concurrency:
            env["TEND_TWILIO_CONCURRENCY"] = str(concurrency)
        if lead_seconds is not None:
            env["TEND_DISPATCH_LEAD"] = str(lead_seconds)
        config = config_module.load(env)
        floor = sdk = None
        if floors:
            floor = noop_floor(children, env, max(2_000, count // 5), processes, threads)
            print(f"floor: Dramatiq no-op {floor:,.0f} messages/s", flush=True)
            sdk = sdk_floor(fake_url, max(2_000, count // 10), processes, threads)
            print(f"floor: twilio SDK to the fake {sdk:,.0f} SMS/s", flush=True)

        db = Database(database_url)
        now = utc_now()
        print(f"seeding {count:,} people and rituals…", flush=True)
        seed_rituals(db, count, due_at=now + timedelta(hours=1), created_at=now - timedelta(hours=1))
        runtime = Runtime(config=config, db=db, doorbell=SilentDoorbell())
        started = time.monotonic()
        while clock.materialize(runtime, now, limit=2_000):
            pass
        print(f"materialized {count:,} occurrences in {time.monotonic() - started:.1f} s", flush=True)

        children.start(worker_command("service.entry.worker_process", processes, threads), env)
        time.sleep(3)  # let the workers boot before the minute starts
        # the minute lies far enough ahead (within the lead) for the clock to start it early at the slower of
        # the sender's rate and the pipeline's, which it assumes until it has measured it
        ahead = timedelta(seconds=min(config.dispatch_lead, count / min(mps or PIPELINE_RATE, PIPELINE_RATE) + 30))
        due = utc_now().replace(microsecond=0) + ahead
        with db.session() as session:
            session.execute(update(OutboundSms).where(OutboundSms.kind == "reminder").values(due_at=due))
        children.start([sys.executable, "-m", "service.entry.cli", "clock"], env)

        def sent() -> int:
            with db.session() as session:
                return session.scalar(select(func.count()).where(OutboundSms.state == "sent"))

        finished = wait_until(lambda: sent() >= count, timeout=600 + ahead.total_seconds(), poll=1.0)
        messages = requests.get(f"{fake_url}/_fake/messages", timeout=120).json()
        stats = requests.get(f"{fake_url}/_fake/stats", timeout=30).json()
        created = [datetime.fromisoformat(m["date_created"]) for m in messages]
        lateness = [(at - due).total_seconds() for at in created]
        duplicates = sum(n - 1 for n in Counter(m["to"] for m in messages).values())
        first = min(created) if created else due
        span = (max(created) - min(first, due)).total_seconds() if created else float("nan")
        db.dispose()
    result = {
        "reminders": count,
        "worker_processes": processes,
        "threads_per_process": threads,
        "fake_latency_ms": latency_ms,
        "fake_concurrency_limit": concurrency,
        "sms_mps": mps,
        "all_handed_to_twilio": finished,
        "handed_to_twilio": len(messages),
        "seconds_until_all_handed_over": round(span, 2),
        "duplicates": duplicates,
        "twilio_20429_answers": stats["too_many_requests"],
        "peak_requests_in_flight": stats["peak_in_flight"],
        "lateness_p50_s": round(percentile(lateness, 0.5), 2),
        "lateness_p99_s": round(percentile(lateness, 0.99), 2),
        "sms_per_second": round(len(messages) / span, 1) if span else None,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if floors:
        result |= {
            "floor_noop_messages_per_second": round(floor, 1),
            "ratio_sms_to_noop": round(len(messages) / span / floor, 3) if span else None,
            "floor_sdk_sms_per_second": round(sdk, 1),
            "ratio_sms_to_sdk": round(len(messages) / span / sdk, 3) if span else None,
        }
    return result


def run(
    count: int,
    processes: int,
    threads: int,
    latency_ms: float | None = None,
    concurrency: int | None = None,
    mps: float | None = None,
    lead_seconds: float | None = None,
) -> dict:
    """The plain run, or with `mps` the capacity-aware case (`lateness_p99_s` last); with `latency_ms`, the
    plain run beside a 0 ms one (`ratio_to_zero_latency` last)."""
    if latency_ms is None:
        result = pipeline(
            count, processes, threads, concurrency=concurrency, mps=mps, lead_seconds=lead_seconds, floors=mps is None
        )
        result["lateness_p99_s"] = result.pop("lateness_p99_s")
        return result
    zero = pipeline(count, processes, threads, concurrency=concurrency)
    slow = pipeline(count, processes, threads, latency_ms=latency_ms, concurrency=concurrency, floors=False)
    result = {f"zero_ms_{key}": value for key, value in zero.items()} | slow
    result["ratio_to_zero_latency"] = (
        round(slow["sms_per_second"] / zero["sms_per_second"], 3)
        if slow["sms_per_second"] and zero["sms_per_second"]
        else None
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, help="fake Twilio latency; also runs 0 ms beside it")
    parser.add_argument("--concurrency", type=int, help="fake Twilio's account limit and TEND_TWILIO_CONCURRENCY")
    parser.add_argument("--mps", type=float, help="TEND_SMS_MPS: the capacity-aware dispatch case")
    parser.add_argument("--lead", type=float, help="TEND_DISPATCH_LEAD in seconds (0: no early start)")
    args = parser.parse_args()
    result = run(args.count, args.processes, args.threads, args.latency_ms, args.concurrency, args.mps, args.lead)
    name = "reminders" + ("_latency" if args.latency_ms is not None else "") + ("_mps" if args.mps else "")
    path = save(name, result)
    for key, value in result.items():
        print(f"{key:>40}: {value}")
    print(f"saved to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
