"""/today for a signed-in person with 10 rituals and 2 promises, against a bare Flask view rendering a Jinja template
of the same size, both through gunicorn with the same settings in the same run.

    python -m bench.pages

Issue 21's goal: /today at ≥ 0.5× the requests/s of Tend's view that only
checks the session row (below), and p99 ≤ 50 ms when paced at half its own
measured rate. The bare view renders the very HTML /today answered (as a Jinja
template with one variable), so the difference is what Tend does per page: the cookie session and its device
session row, then one statement for the person's circles, rituals, promises,
stored occurrences and check-ins, the CSRF token of its buttons, and the
security headers.

Two floors are measured in the same run, on Tend's own app (`floor_app`, two
views added for the benchmark only): the same HTML answered by a view that
does nothing (Tend's middleware, rate limiter and cookie session: what any
page costs), and by a view that only checks the device session row behind the
cookie (SPEC §11: what any signed-in page costs before it reads anything).
The session-row floor is also paced at /today's half rate, right after /today
(`floor_paced_at_same_rate`): on a shared machine its p99 shows how much of
/today's p99 the load sets rather than the page.
Results go to bench/results/pages.json.
"""

from __future__ import annotations

import http.client
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from bench.harness import CLIENTS, GUNICORN, Children, best_rates, get, percentile, save, serve, temporary_database
from service.domain import accounts, editing, occurrences
from service.domain.db import Database
from service.domain.models import Person, SessionDoor, Subject
from service.entry import demo

SECRET = "bench-secret-key-0123456789"
ZONE = "America/New_York"
RITUALS, PROMISES = 10, 2
WARM_UP = 200
REQUESTS = 1600
ROUNDS = 3
PACED_SECONDS = 20
PACED_CONNECTIONS = 16
GOAL_RATIO = 0.5  # of the session-checked floor (issue 21)
GOAL_P99_MS = 50  # paced at half /today's own rate


def bare_app() -> Flask:
    """The baseline: a Flask view rendering a Jinja template as large as /today's page (its file: TEND_BENCH_PAGE)."""
    app = Flask("bare")
    template = app.jinja_env.from_string(Path(os.environ["TEND_BENCH_PAGE"]).read_text())  # compiled once, as files are

    @app.get("/page")
    def bare_page() -> str:
        return template.render(name="Alice")

    return app


def floor_app() -> Flask:
    """Tend's app with two views that answer the stored /today HTML (TEND_BENCH_PAGE): the floors of a page."""
    from service.entry.wsgi import create_app
    from service.web.pages import auth

    app = create_app()
    html = Path(os.environ["TEND_BENCH_PAGE"]).read_text()

    def constant() -> str:
        return html

    def signed_in() -> tuple[str, int]:
        return (html, 200) if auth.signed_in() is not None else ("not signed in", 403)

    app.add_url_rule("/bench/constant", view_func=constant)
    app.add_url_rule("/bench/signed-in", view_func=signed_in)
    return app


def seed(db: Database, now: datetime) -> str:
    """Alice and Bob in one circle; 10 daily rituals and 2 promises, their occurrences stored as `tend clock`
    stores them (every 15 s, days ahead); returns a device session token of Alice's."""
    today = now.astimezone(__import__("zoneinfo").ZoneInfo(ZONE)).date()
    with db.session() as s:
        alice = demo.person(s, "Alice", "+14155550101", ZONE, now=now, countries=("US",))
        bob = demo.person(s, "Bob", "+14155550102", ZONE, now=now, countries=("US",))
        circle = demo.active_circle(s, "Alice & Bob", [alice, bob], now)
        made: list[Subject] = []
        for n in range(RITUALS):
            start = datetime.combine(today - timedelta(days=7), clock_time(7 + n, 30))
            fields = editing.RitualFields(f"Ritual number {n + 1}", start, ZONE, "FREQ=DAILY", 30, 15)
            made.append(editing.create_ritual(s, circle, fields, now).subject)
        for n in range(PROMISES):
            due = datetime.combine(today + timedelta(days=n), clock_time(18, 0))
            keeper, to = (alice, bob) if n == 0 else (bob, alice)
            fields = editing.PromiseFields(to.id, f"Promise {n + 1}", due, ZONE, None, 30)
            made.append(editing.create_promise(s, keeper, circle, fields, now).subject)
        occurrences.materialize(s, made, now)
        token = accounts.open_session(s, alice, now, SessionDoor.PAGE)
        s.commit()
    return token


def session_cookie(token: str) -> str:
    """The cookie a browser holds after signing in: Flask's signed session with the device token."""
    app = Flask("sign")
    app.secret_key = SECRET
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return "tend_session=" + serializer.dumps({"device": token, "_permanent": True})


def paced(port: int, path: str, headers: dict[str, str], rate: float) -> dict:
    """GETs at `rate` per second whatever the answers do; each latency runs from its due instant."""
    total = round(rate * PACED_SECONDS)
    start = time.perf_counter() + 0.2
    give_up = start + 2 * PACED_SECONDS
    latencies: list[float] = []
    errors: list[BaseException] = []

    def client(k: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(k, total, PACED_CONNECTIONS):
            due = start + i / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            if time.perf_counter() > give_up:
                return
            try:
                get(connection, path, headers)
            except Exception as error:
                errors.append(error)
                return
            latencies.append((time.perf_counter() - due) * 1000)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(PACED_CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(errors[0])
    return {
        "rate": round(rate),
        "scheduled": total,
        "sent": len(latencies),
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1),
        "kept_up": len(latencies) == total,
    }


def main() -> int:
    now = datetime.now(UTC).replace(microsecond=0)
    with temporary_database() as url, Children() as children, tempfile.TemporaryDirectory() as scratch:
        db = Database(url)
        token = seed(db, now)
        with db.session() as s:
            assert s.scalar(select(Person.id).where(Person.name == "Alice")) is not None
        db.dispose()
        env = os.environ | {"DATABASE_URL": url, "TEND_SECRET_KEY": SECRET, "TEND_PUBLIC_URL": "http://127.0.0.1"}
        env.pop("REDIS_URL", None)
        cookie = {"Cookie": session_cookie(token)}
        tend_port = serve(children, "service.entry.wsgi:create_app()", "/today", env, cookie)
        page = get(http.client.HTTPConnection("127.0.0.1", tend_port, timeout=10), "/today", cookie).decode()
        entries = page.count('class="entry')
        if entries < RITUALS:
            raise RuntimeError(f"/today shows {entries} occurrences: the benchmark is not measuring the page")
        stored = Path(scratch) / "today.html"
        stored.write_text(page)
        template = Path(scratch) / "today.jinja"
        template.write_text(page.replace("Hi Alice", "Hi {{ name }}", 1))
        bare_port = serve(children, "bench.pages:bare_app()", "/page", env | {"TEND_BENCH_PAGE": str(template)}, {})
        floor_env = env | {"TEND_BENCH_PAGE": str(stored)}
        floor_port = serve(children, "bench.pages:floor_app()", "/bench/signed-in", floor_env, cookie)
        targets = {
            "bare": (bare_port, "/page", {}),
            "tend_constant": (floor_port, "/bench/constant", cookie),
            "tend_signed_in": (floor_port, "/bench/signed-in", cookie),
            "today": (tend_port, "/today", cookie),
        }
        best = best_rates(targets, WARM_UP, REQUESTS, ROUNDS)
        half = paced(tend_port, "/today", cookie, best["today"] / 2)
        # The session-checked floor at the very same pace, right after: what this machine's load alone costs a p99.
        floor_half = paced(floor_port, "/bench/signed-in", cookie, best["today"] / 2)
    ratio = best["today"] / best["tend_signed_in"]
    floors = {name: round(best[name] / best["bare"], 2) for name in ("tend_constant", "tend_signed_in", "today")}
    met = ratio >= GOAL_RATIO and half["p99_ms"] <= GOAL_P99_MS
    result = {
        "gunicorn": " ".join(GUNICORN),
        "client": f"{CLIENTS} keep-alive threads, {REQUESTS} requests, best of {ROUNDS} alternating rounds",
        "page_bytes": len(page.encode()),
        "occurrences_shown": entries,
        "rps": {name: round(rate) for name, rate in best.items()},
        "ratios_to_bare": floors,
        "ratio": round(ratio, 2),
        "goal_ratio": GOAL_RATIO,
        "goal_p99_ms": GOAL_P99_MS,
        "goal_met": met,
        "paced_at_half": half,
        "floor_paced_at_same_rate": floor_half,
        "cpus": os.cpu_count(),
    }
    labels = {
        "bare": "bare Flask + Jinja (same size)",
        "tend_constant": "Tend app, constant page",
        "tend_signed_in": "Tend app, session row check only",
        "today": "GET /today (10 rituals, 2 promises)",
    }
    for name, label in labels.items():
        print(f"{label:<38}{best[name]:>7.0f} req/s   of bare {best[name] / best['bare']:.2f}")
    print(f"/today ÷ session row check only: {ratio:.2f} (goal ≥ {GOAL_RATIO})")
    print(
        f"paced at {half['rate']}/s: p50 {half['p50_ms']} ms, p99 {half['p99_ms']} ms (goal ≤ {GOAL_P99_MS}), kept up: {half['kept_up']}"
    )
    print(
        f"session-row floor paced at the same {floor_half['rate']}/s: p50 {floor_half['p50_ms']} ms, "
        f"p99 {floor_half['p99_ms']} ms, kept up: {floor_half['kept_up']}"
    )
    print(f"goal: {'met' if met else 'MISSED'}")
    print(f"saved {save('pages', result)}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
