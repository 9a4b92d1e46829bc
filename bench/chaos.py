"""Fault-injection soak: the production topology on an operator's worst day, and what it kept.

`tend web`, two `tend worker` (1 process × 8 threads each), two `tend clock`s,
PostgreSQL, Redis and a fake Twilio answering in 25–75 ms that posts status
callbacks. People in circles of two get a reminder each (due times spread over
a few seconds) and reply DONE 2–6 s after it arrives: 10 % replay the same
MessageSid at once, 10 % replay it later, 5 % text DONE twice. Meanwhile a
worker is SIGKILLed mid-request and restarted, a clock is SIGKILLed, Redis is
FLUSHDBed, and the web's whole process group is SIGKILLed and restarted.

Reports reminders lost and doubled, DONEs not recorded exactly once, replays
answered differently, 5xx answers, and reminder lateness.

    python -m bench.chaos [--people 300] [--spread 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import redis
import requests
from sqlalchemy import insert, text, update
from twilio.request_validator import RequestValidator

from bench.harness import Children, free_port, percentile, save, temporary_database, wait_until
from bench.seeding import fix_sequences, person_row
from service import config as config_module
from service.domain.db import Database
from service.domain.models import Circle, Membership, OutboundSms, Person, Ritual
from service.domain.runtime import Runtime, SilentDoorbell, utc_now
from workers import clock

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "chaos-auth-token"
TEND_NUMBER = "+15005550006"
PHONE_BASE = 2_025_570_000


def seed_couples(db: Database, people: int, due_at: datetime, spread: float) -> dict[int, datetime]:
    """`people` (even) active people in circles of two, one everyone-ritual per circle; returns due time by circle."""
    created = due_at - timedelta(hours=1)
    circles = people // 2
    due = {i: due_at + timedelta(seconds=spread * (i - 1) / max(circles - 1, 1)) for i in range(1, circles + 1)}
    with db.session() as session:
        session.execute(insert(Person), [person_row(p, PHONE_BASE, due_at, created) for p in range(1, 2 * circles + 1)])
        session.execute(insert(Circle), [{"id": c, "name": f"C{c}", "created_at": created} for c in due])
        session.execute(
            insert(Membership),
            [
                {
                    "circle_id": c,
                    "person_id": 2 * c - k,
                    "status": "active",
                    "joined_order": 2 - k,
                    "created_at": created,
                }
                for c in due
                for k in (1, 0)
            ],
        )
        session.execute(
            insert(Ritual),
            [
                {
                    "id": c,
                    "circle_id": c,
                    "title": "Check in",
                    "start_local": (due[c] + timedelta(minutes=10)).replace(tzinfo=None, microsecond=0),
                    "timezone": "UTC",
                    "rrule": None,
                    "duration_minutes": 15,
                    "remind_before_minutes": 10,
                    "grace_minutes": 60,
                    "everyone": True,
                    "sequence": 0,
                    "materialized_until": due_at - timedelta(hours=1),
                    "created_at": created,
                    "updated_at": created,
                }
                for c in due
            ],
        )
    fix_sequences(db)
    return due


@dataclass
class Phones:
    """The people: each answers their reminder with DONE, some with replays and repeats, through `tend web`."""

    web_url: str
    public_url: str
    rng: random.Random
    answers: dict[str, list[str]] = field(default_factory=dict)  # MessageSid → every answer it got
    by_person: dict[str, list[str]] = field(default_factory=dict)  # phone → MessageSids sent
    server_errors: list[tuple[float, int]] = field(default_factory=list)
    pending: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, phone: str, sid: str) -> None:
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": phone,
            "To": TEND_NUMBER,
            "Body": "DONE",
            "NumMedia": "0",
        }
        path = "/webhooks/twilio/sms"
        signature = RequestValidator(AUTH_TOKEN).compute_signature(self.public_url + path, params)
        while True:  # a web that is down is waited for, as Twilio's fallback would
            try:
                response = requests.post(
                    self.web_url + path, data=params, headers={"X-Twilio-Signature": signature}, timeout=20
                )
            except requests.RequestException:
                time.sleep(0.3)
                continue
            if response.status_code >= 500:
                with self.lock:
                    self.server_errors.append((time.monotonic(), response.status_code))
                time.sleep(0.3)
                continue
            with self.lock:
                self.answers.setdefault(sid, []).append(response.text)
            return

    def reply(self, phone: str) -> None:
        """One person's replies to their reminder, on their own thread."""
        try:
            time.sleep(self.rng.uniform(2, 6))
            sid = "SM" + uuid.uuid4().hex
            with self.lock:
                self.by_person.setdefault(phone, []).append(sid)
            roll = self.rng.random()
            if roll < 0.10:  # Twilio delivering the same webhook twice at once
                twins = [threading.Thread(target=self.post, args=(phone, sid)) for _ in range(2)]
                for twin in twins:
                    twin.start()
                for twin in twins:
                    twin.join()
            else:
                self.post(phone, sid)
            if 0.10 <= roll < 0.20:  # the same webhook again, later
                time.sleep(self.rng.uniform(1, 4))
                self.post(phone, sid)
            elif 0.20 <= roll < 0.25:  # DONE twice
                time.sleep(self.rng.uniform(0.5, 2))
                again = "SM" + uuid.uuid4().hex
                with self.lock:
                    self.by_person[phone].append(again)
                self.post(phone, again)
        finally:
            with self.lock:
                self.pending -= 1

    def watch(self, fake_url: str, stop: threading.Event) -> None:
        """Reply to each reminder as it reaches the fake Twilio."""
        seen: set[str] = set()
        while not stop.is_set():
            try:
                messages = requests.get(f"{fake_url}/_fake/messages", timeout=30).json()
            except requests.RequestException:
                messages = []
            for message in messages:
                if "Reply DONE" in message["body"] and message["to"] not in seen:
                    seen.add(message["to"])
                    with self.lock:
                        self.pending += 1
                    threading.Thread(target=self.reply, args=(message["to"],), daemon=True).start()
            stop.wait(0.3)


def run(
    people: int = 300,
    spread: float = 20.0,
    redis_url: str | None = None,
    faults: bool = True,
    timeout: float = 300.0,
    log=print,
) -> dict:
    redis_url = redis_url or os.environ.get("TEND_BENCH_REDIS", "redis://127.0.0.1:6379/13")
    rng = random.Random(15)
    redis.Redis.from_url(redis_url).flushdb()
    web_port = free_port()
    public_url = f"http://127.0.0.1:{web_port}"
    with temporary_database() as database_url, Children() as children:
        import subprocess

        fake = children.start(
            [sys.executable, "-m", "tests.fake_twilio", "--port", "0", "--auth-token", AUTH_TOKEN]
            + ["--latency-p50-ms", "50", "--latency-p99-ms", "75", "--callbacks"],
            os.environ.copy(),
            stdout=subprocess.PIPE,
            text=True,
        )
        fake_url = fake.stdout.readline().strip()
        fake.stdout.close()  # it prints nothing more
        env = os.environ | {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": TEND_NUMBER,
            "TWILIO_API_BASE_URL": fake_url,
            "TEND_PUBLIC_URL": public_url,
            "TEND_SECRET_KEY": "chaos-secret-key-0123456789",
            "TEND_SMS_MPS": "10000",
            "TEND_CLOCK_INTERVAL": "1",
            "TEND_LOG_LEVEL": "WARNING",
        }
        db = Database(database_url)
        cli = [sys.executable, "-m", "service.entry.cli"]
        commands = {
            "web": cli + ["web", "--workers", "2", "--threads", "8", "--bind", f"127.0.0.1:{web_port}"],
            "worker": cli + ["worker", "--processes", "1", "--threads", "8"],
            "clock": cli + ["clock"],
        }
        quiet = {"stdout": subprocess.DEVNULL}

        def start(name: str):
            return children.start(commands[name], env, **quiet)

        web = start("web")
        workers = [start("worker"), start("worker")]
        wait_until(lambda: _up(public_url), timeout=60)
        time.sleep(4)  # let the workers boot before the first reminder falls due
        due_at = utc_now().replace(microsecond=0) + timedelta(seconds=3)
        due = seed_couples(db, people, due_at, spread)
        runtime = Runtime(config=config_module.load(env), db=db, doorbell=SilentDoorbell())
        while clock.materialize(runtime, due_at, limit=2_000):
            pass
        with db.session() as session:  # the reminder at exactly its spread-out due time
            for circle, at in due.items():
                session.execute(
                    update(OutboundSms).where(OutboundSms.person_id.in_((2 * circle - 1, 2 * circle))).values(due_at=at)
                )
        clocks = [start("clock"), start("clock")]
        phones = Phones(web_url=public_url, public_url=public_url, rng=rng)
        stop = threading.Event()
        watcher = threading.Thread(target=phones.watch, args=(fake_url, stop), daemon=True)
        watcher.start()
        web_down: tuple[float, float] | None = None
        if faults:
            t0 = time.monotonic()
            base = max(0.0, (due_at - utc_now()).total_seconds())

            def at(fraction: float) -> None:
                time.sleep(max(0.0, t0 + base + spread * fraction - time.monotonic()))

            at(0.15)
            _kill_a_child(children, workers[0])  # mid-request: the fake answers in 25–75 ms
            log("fault: worker SIGKILLed")
            at(0.3)
            children.stop(clocks[0], signal.SIGKILL)
            log("fault: a clock SIGKILLed")
            at(0.45)
            workers[0] = start("worker")
            redis.Redis.from_url(redis_url).flushdb()
            log("fault: Redis FLUSHDB")
            at(0.6)
            down = time.monotonic()
            children.stop(web, signal.SIGKILL)
            log("fault: web process group SIGKILLed")
            time.sleep(2)
            web = start("web")
            wait_until(lambda: _up(public_url), timeout=60)
            web_down = (down, time.monotonic())
            log("web restarted")

        def settled() -> bool:
            with db.session() as session:
                unsent = session.scalar(
                    text("SELECT count(*) FROM outbound_sms WHERE kind = 'reminder' AND state IN ('queued', 'sending')")
                )
            return unsent == 0 and phones.pending == 0 and len(phones.by_person) >= people

        finished = wait_until(settled, timeout=timeout, poll=0.5)
        time.sleep(2)  # late replays and callbacks
        stop.set()
        watcher.join()
        messages = requests.get(f"{fake_url}/_fake/messages", timeout=60).json()
        with db.session() as session:
            checkins = Counter(
                phone
                for (phone,) in session.execute(
                    text("SELECT p.phone FROM checkins c JOIN people p ON p.id = c.person_id WHERE c.source = 'sms'")
                )
            )
            kept = Counter(
                phone
                for (phone,) in session.execute(
                    text(
                        "SELECT p.phone FROM occurrence_outcomes o JOIN people p ON p.id = o.person_id"
                        " WHERE o.outcome IN ('done', 'on_time', 'late')"
                    )
                )
            )
        db.dispose()
    reminders = Counter(m["to"] for m in messages if "Reply DONE" in m["body"])
    everyone = [f"+1{PHONE_BASE + p}" for p in range(1, people + 1)]
    due_by_phone = {f"+1{PHONE_BASE + p}": due[(p + 1) // 2] for p in range(1, people + 1)}
    first_sent = {}
    for m in messages:
        if "Reply DONE" in m["body"]:
            first_sent.setdefault(m["to"], datetime.fromisoformat(m["date_created"]))
    lateness = [(first_sent[p] - due_by_phone[p]).total_seconds() for p in first_sent]
    nothing_open = sum(
        1 for answers in phones.answers.values() if any("Nothing to check in" in answer for answer in answers)
    )
    replays_differing = sum(1 for answers in phones.answers.values() if len(set(answers)) > 1)
    errors_outside_web_kill = [
        status for at, status in phones.server_errors if web_down is None or not web_down[0] <= at <= web_down[1] + 5
    ]
    return {
        "people": people,
        "faults": faults,
        "settled": finished,
        "reminders_lost": sum(1 for p in everyone if reminders[p] == 0),
        "reminders_doubled": sum(1 for p in everyone if reminders[p] > 1),
        "dones_sent": sum(len(sids) for sids in phones.by_person.values()),
        "people_replying": len(phones.by_person),
        "checkins_not_recorded_once": sum(1 for p in phones.by_person if checkins[p] != 1 or kept[p] != 1),
        "answered_nothing_to_check_in": nothing_open,
        "replays_answered_differently": replays_differing,
        "server_errors_outside_web_kill": len(errors_outside_web_kill),
        "server_errors_total": len(phones.server_errors),
        "lateness_p50_s": round(percentile(lateness, 0.5), 2),
        "lateness_p99_s": round(percentile(lateness, 0.99), 2),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _kill_a_child(children: Children, worker) -> None:
    """SIGKILL the worker's whole process group (Dramatiq's parent and its worker process)."""
    children.stop(worker, signal.SIGKILL)


def _to_stderr(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300, help="an even number: circles of two")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds over which reminders fall due")
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for everything to settle")
    parser.add_argument(
        "--json", action="store_true", help="print the result as JSON (progress to stderr); save nothing"
    )
    args = parser.parse_args()
    if args.json:
        result = run(args.people, args.spread, faults=not args.no_faults, timeout=args.timeout, log=_to_stderr)
        print(json.dumps(result))
        return
    result = run(args.people, args.spread, faults=not args.no_faults, timeout=args.timeout)
    for key, value in result.items():
        print(f"{key:>32}: {value}")
    print(f"saved to {save('chaos', result)}")


if __name__ == "__main__":
    main()
