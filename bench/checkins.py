"""Signed inbound check-ins through gunicorn, PostgreSQL and Redis, against a bare signature-checking endpoint.

    python -m bench.checkins [--people 5000]

The goal (issue 21; 0.6 before it): POST /webhooks/twilio/sms runs at ≥ 0.3× the requests/s of a
bare Flask endpoint that only validates X-Twilio-Signature and answers TwiML,
both served by gunicorn with the same settings in the same run and loaded by
the same keep-alive clients, taking turns; and, driven at half the bare
endpoint's rate by an open-loop paced client, its p99 latency stays under 50 ms.

Every seeded person is active in a circle with a ritual whose occurrence is
open and whose reminder Twilio accepted, so a DONE records a real check-in.
Outcomes are reopened before each round, so every round (and the paced run)
does the same work: nearly every request is someone's first reply, which is
the common case and the heaviest path (check-in, outcome, streak figure).
A round stops after ROUND_SECONDS, so a slow webhook is measured on fewer
requests rather than for minutes. Latency is counted from the instant a
request was due to be sent, so a server that falls behind shows it (no
coordinated omission); a second paced run at half the webhook's own rate shows
its latency when not overloaded. Results go to bench/results/checkins.json.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from flask import Flask, Response, abort, request
from sqlalchemy import String, cast, delete, func, select, text, update
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bench.harness import GUNICORN, Children, percentile, save, serve, temporary_database
from bench.seeding import seed_rituals
from service.domain import occurrences
from service.domain.db import Database, make_engine
from service.domain.models import CheckIn, OccurrenceOutcome, OutboundSms, Person, Ritual, StreakFigure
from workers.clock import RITUAL_PRELOAD

SECRET = "bench-secret-key-0123456789"
AUTH_TOKEN = "bench-twilio-auth-token-0123456"
ACCOUNT_SID = "AC" + "0" * 32
TEND_NUMBER = "+15005550006"
# What Twilio signs is the public address (a proxy's), not where gunicorn listens: one for both apps.
PUBLIC_URL = "https://tend.bench"
REDIS_URL = os.environ.get("TEND_BENCH_REDIS_CHECKINS", "redis://127.0.0.1:6379/13")
WEBHOOK = "/webhooks/twilio/sms"
# Mostly DONE, as replies to reminders are; 85% DONE, 5% each SKIP, a numbered DONE and STREAK.
BODY_MIX = ("DONE",) * 17 + ("SKIP", "done 1", "STREAK")
CHECK_IN_BODIES = {"DONE", "SKIP", "done 1"}
PEOPLE = 5_000
CONCURRENCY = 8
WARM_UP = 300
WARM_UP_SECONDS = 3.0
REQUESTS = 3_000
ROUND_SECONDS = 8.0  # a slow webhook is measured on fewer requests, so the run stays within minutes
ROUNDS = 3
PACED_SECONDS = 10.0
PACED_CONNECTIONS = 16
PACED_GRACE = 2.0  # the paced client gives up sending once this many times PACED_SECONDS have passed
GOAL_RATIO = 0.3
GOAL_P99_MS = 50.0


def bare_app() -> Flask:
    """The baseline: validate Twilio's signature as Tend does and answer TwiML, touching nothing else."""
    public_url, auth_token = os.environ["TEND_PUBLIC_URL"], os.environ["TWILIO_AUTH_TOKEN"]
    app = Flask("bare_webhook")
    app.add_url_rule("/healthz", "healthz", lambda: "ok")

    @app.post(WEBHOOK)
    def inbound_sms() -> Response:
        url = public_url + request.full_path.removesuffix("?")
        if not RequestValidator(auth_token).validate(url, request.form, request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        reply = MessagingResponse()
        reply.message("ok")
        return Response(str(reply), mimetype="text/xml")

    return app


def bare_transaction_app() -> Flask:
    """The floor of any recorded reply: the bare endpoint plus one durable transaction of its own (a pool checkout
    without pre-ping, BEGIN, the MessageSid's INSERT, COMMIT) through SQLAlchemy, nothing of Tend's domain."""
    app = bare_app()
    engine = make_engine(os.environ["DATABASE_URL"], pre_ping=False)
    claim = text(
        "INSERT INTO inbound_messages (message_sid, body, reply, received_at)"
        " VALUES (:sid, :body, '', now()) ON CONFLICT DO NOTHING"
    )
    answer = app.view_functions["inbound_sms"]

    def inbound_sms() -> Response:
        with engine.begin() as connection:
            connection.execute(claim, {"sid": request.form["MessageSid"], "body": request.form.get("Body", "")})
        return answer()

    app.view_functions["inbound_sms"] = inbound_sms
    return app


@dataclass(frozen=True)
class SignedSms:
    """One inbound SMS as Twilio would post it, encoded and signed ahead of the clock."""

    body: bytes
    headers: dict[str, str]
    sender: str
    text: str


def seed(db: Database, count: int, now: datetime) -> list[str]:
    """`count` people, each with an open ritual occurrence and a reminder Twilio accepted; returns their phones."""
    seed_rituals(db, count, due_at=now - timedelta(minutes=5), created_at=now - timedelta(hours=1))
    with db.session() as session:
        occurrences.materialize(session, session.scalars(select(Ritual).options(*RITUAL_PRELOAD)).all(), now)
    with db.session() as session:  # as dispatch leaves a one-item reminder once Twilio accepted it
        session.execute(
            update(OutboundSms)
            .where(OutboundSms.kind == "reminder")
            .values(
                state="sent",
                item=1,
                sent_at=now - timedelta(minutes=4),
                sid=func.concat("SM", func.md5(cast(OutboundSms.id, String))),
            )
        )
        phones = list(session.scalars(select(Person.phone).order_by(Person.id)))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
    return phones


def reopen(db: Database) -> None:
    """Back to every outcome pending, so the next batch of replies records check-ins again."""
    with db.session() as session:
        session.execute(delete(CheckIn))
        session.execute(delete(StreakFigure))
        session.execute(update(OccurrenceOutcome).values(outcome="pending", decided_at=None))


def check_ins(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(CheckIn))


def expected_check_ins(batch: list[SignedSms]) -> int:
    """People in the batch who sent at least one check-in reply (all outcomes pending beforehand)."""
    return len({sms.sender for sms in batch if sms.text in CHECK_IN_BODIES})


def signed_batch(phones: list[str], count: int, bodies: tuple[str, ...] = BODY_MIX) -> list[SignedSms]:
    """`count` inbound SMS with fresh MessageSids, one per person in turn, their bodies taking turns from `bodies`."""
    validator = RequestValidator(AUTH_TOKEN)
    batch = []
    for i in range(count):
        sid = "SM" + uuid.uuid4().hex
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": phones[i % len(phones)],
            "To": TEND_NUMBER,
            "Body": bodies[i % len(bodies)],
            "NumMedia": "0",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(PUBLIC_URL + WEBHOOK, params),
        }
        batch.append(SignedSms(urlencode(params).encode(), headers, params["From"], params["Body"]))
    return batch


def post(connection: http.client.HTTPConnection, sms: SignedSms) -> str | None:
    """Send one SMS; None when it was answered 200 with TwiML, else what went wrong."""
    connection.request("POST", WEBHOOK, sms.body, sms.headers)
    response = connection.getresponse()
    answer = response.read()
    if response.status != 200 or not (response.getheader("Content-Type") or "").startswith("text/xml"):
        return f"{response.status} {response.getheader('Content-Type')} {answer[:200]!r}"
    return None


@dataclass
class Run:
    """What one load run sent (all answered 200 with TwiML) and how long it took; latencies when paced."""

    sent: list[SignedSms]
    elapsed: float
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return len(self.sent) / self.elapsed


def drive(port: int, connections: int, send: Callable[[http.client.HTTPConnection, int, Run, list[str]], None]) -> Run:
    """Run `send(connection, k, run, failures)` on `connections` keep-alive clients at once; fail on any bad answer."""
    run, failures = Run([], 0.0), []
    threads = [
        threading.Thread(
            target=send, args=(http.client.HTTPConnection("127.0.0.1", port, timeout=60), k, run, failures)
        )
        for k in range(connections)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(run.sent)} webhooks answered wrongly, e.g. {failures[:3]}")
    return run


def closed_loop(port: int, batch: list[SignedSms], seconds: float = ROUND_SECONDS) -> Run:
    """CONCURRENCY clients send the batch between them as fast as it is answered, stopping early after `seconds`."""
    deadline = time.perf_counter() + seconds

    def send(connection: http.client.HTTPConnection, k: int, run: Run, failures: list[str]) -> None:
        for sms in batch[k::CONCURRENCY]:
            if time.perf_counter() > deadline:
                return
            if problem := post(connection, sms):
                failures.append(problem)
            run.sent.append(sms)

    return drive(port, CONCURRENCY, send)


def open_loop(port: int, batch: list[SignedSms], rate: float) -> Run:
    """Send the batch at `rate` per second whatever the answers do; each latency runs from its due instant.

    A server that cannot keep up falls behind; sending stops once PACED_GRACE
    times the planned duration has passed, and what was not sent shows in the result.
    """
    start = time.perf_counter() + 0.2
    give_up = start + PACED_GRACE * len(batch) / rate

    def send(connection: http.client.HTTPConnection, k: int, run: Run, failures: list[str]) -> None:
        for i in range(k, len(batch), PACED_CONNECTIONS):
            due = start + i / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            if time.perf_counter() > give_up:
                return
            if problem := post(connection, batch[i]):
                failures.append(problem)
            run.latencies_ms.append((time.perf_counter() - due) * 1000)
            run.sent.append(batch[i])

    return drive(port, PACED_CONNECTIONS, send)


def environment(database_url: str) -> dict[str, str]:
    """The same settings for both apps, Twilio's included."""
    return os.environ | {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "TEND_SECRET_KEY": SECRET,
        "TEND_PUBLIC_URL": PUBLIC_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": TEND_NUMBER,
    }


def throughputs(db: Database, phones: list[str], ports: dict[str, int]) -> dict[str, float]:
    """Best requests/s of each app over ROUNDS, taking turns; every real round must record its check-ins."""
    for port in ports.values():
        closed_loop(port, signed_batch(phones, WARM_UP), seconds=WARM_UP_SECONDS)
    best = dict.fromkeys(ports, 0.0)
    for _ in range(ROUNDS):
        for name, port in ports.items():
            batch = signed_batch(phones, REQUESTS)
            if name == "checkins":
                reopen(db)
                best[name] = max(best[name], verified(db, closed_loop(port, batch)).rps)
            else:
                best[name] = max(best[name], closed_loop(port, batch).rps)
    return best


def paced(db: Database, phones: list[str], port: int, rate: float) -> Run:
    """Tend's webhook at `rate` requests/s for PACED_SECONDS, from reopened outcomes."""
    batch = signed_batch(phones, round(rate * PACED_SECONDS))
    reopen(db)
    return verified(db, open_loop(port, batch, rate))


def verified(db: Database, run: Run) -> Run:
    """The webhook answered 200 to all, but did it record what it should have? (Else we measured nothing.)"""
    recorded, expected = check_ins(db), expected_check_ins(run.sent)
    if recorded != expected:
        raise RuntimeError(f"{recorded} check-ins recorded, {expected} expected: the benchmark is not measuring them")
    return run


def latency(run: Run, rate: float) -> dict:
    """Latency figures of a paced run; `kept_up` is False when some requests were never sent."""
    scheduled = round(rate * PACED_SECONDS)
    p99 = percentile(run.latencies_ms, 0.99)
    return {
        "rate": round(rate),
        "scheduled": scheduled,
        "sent": len(run.sent),
        "achieved_rps": round(run.rps),
        "p50_ms": round(percentile(run.latencies_ms, 0.5), 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(max(run.latencies_ms), 1),
        "kept_up": len(run.sent) == scheduled,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=PEOPLE)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    with temporary_database() as url, Children() as children:
        db = Database(url)
        started = time.perf_counter()
        phones = seed(db, args.people, now)
        print(
            f"seeded {len(phones):,} people with an open reminder in {time.perf_counter() - started:.1f} s", flush=True
        )
        env = environment(url)
        real_port = serve(children, "service.entry.wsgi:create_app()", "/healthz", env)
        ports = {
            "bare": serve(children, "bench.checkins:bare_app()", "/healthz", env),
            "bare_transaction": serve(children, "bench.checkins:bare_transaction_app()", "/healthz", env),
            "checkins": real_port,
        }
        rps = throughputs(db, phones, ports)
        at_half_bare = latency(paced(db, phones, real_port, rps["bare"] / 2), rps["bare"] / 2)
        at_half_own = latency(paced(db, phones, real_port, rps["checkins"] / 2), rps["checkins"] / 2)
        db.dispose()
    ratio = rps["checkins"] / rps["bare"]
    latency_met = at_half_bare["kept_up"] and at_half_bare["p99_ms"] < GOAL_P99_MS
    result = {
        "gunicorn": " ".join(GUNICORN),
        "client": f"{CONCURRENCY} keep-alive threads, {REQUESTS} requests or {ROUND_SECONDS:.0f} s, "
        f"best of {ROUNDS} alternating rounds",
        "paced_client": f"open loop over {PACED_CONNECTIONS} keep-alive connections for {PACED_SECONDS:.0f} s, "
        "latency from each request's due instant",
        "people": len(phones),
        "body_mix": {text: BODY_MIX.count(text) / len(BODY_MIX) for text in set(BODY_MIX)},
        "bare_rps": round(rps["bare"]),
        "bare_transaction_rps": round(rps["bare_transaction"]),
        "checkins_rps": round(rps["checkins"]),
        "ratio_to_bare_transaction": round(rps["checkins"] / rps["bare_transaction"], 2),
        "bare_transaction_ratio": round(rps["bare_transaction"] / rps["bare"], 2),
        "ratio": round(ratio, 2),
        "goal_ratio": GOAL_RATIO,
        "ratio_goal_met": ratio >= GOAL_RATIO,
        "latency_at_half_bare_rate": at_half_bare,
        "goal_p99_ms": GOAL_P99_MS,
        "latency_goal_met": latency_met,
        "latency_at_half_own_rate": at_half_own,  # not a goal: how the webhook answers when it is not overloaded
        "cpus": os.cpu_count(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"{'POST sms, bare (signature + TwiML)':<40}{rps['bare']:>9.0f} req/s")
    print(
        f"{'POST sms, bare + one transaction':<40}{rps['bare_transaction']:>9.0f} req/s   "
        f"ratio {rps['bare_transaction'] / rps['bare']:.2f} (the floor of any recorded reply)"
    )
    print(
        f"{'POST sms, Tend (check-ins)':<40}{rps['checkins']:>9.0f} req/s   ratio {ratio:.2f} "
        f"(goal ≥ {GOAL_RATIO}: {'met' if ratio >= GOAL_RATIO else 'MISSED'})"
    )
    for label, figures in (("half the bare rate", at_half_bare), ("half its own rate", at_half_own)):
        print(
            f"{'Tend at ' + str(figures['rate']) + ' req/s (' + label + ')':<40}p50 {figures['p50_ms']:>7.1f} ms   "
            f"p99 {figures['p99_ms']:>7.1f} ms   sent {figures['sent']:,} of {figures['scheduled']:,}"
        )
    print(f"p99 goal (< {GOAL_P99_MS:.0f} ms at half the bare rate): {'met' if latency_met else 'MISSED'}")
    print(f"saved {save('checkins', result)}")
    return 0 if result["ratio_goal_met"] and latency_met else 1


if __name__ == "__main__":
    sys.exit(main())
