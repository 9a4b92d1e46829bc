"""Shared fixtures: a fresh PostgreSQL database per session, Redis, a movable clock,
a Flask client, people with tokens (Alice, Bob; Charlie the outsider), and the fake Twilio.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import redis as redis_lib
from sqlalchemy import text
from werkzeug.serving import make_server

from service import config as config_module
from service.domain.db import Database
from service.domain.migrate import upgrade
from service.domain.models import Base
from service.domain.runtime import Runtime
from service.web.app import create_app
from tests.builders import People, add_circle, add_ritual, make_config
from tests.fake_twilio import FakeTwilio
from tests.texting import Texts
from workers import actors, delivery
from workers import clock as clock_module
from workers import runtime as worker_runtime
from workers.runtime import WorkerContext
from workers.send_rate import SendRate
from workers.sms_transport import make_transport

PG_ADMIN_URL = os.environ.get("TEND_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("TEND_TEST_REDIS", "redis://127.0.0.1:6379/15")
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class MovableClock:
    """`now` for the code under test; tests move it explicitly."""

    def __init__(self, start: datetime = T0):
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set(self, at: datetime) -> datetime:
        self.current = at
        return at


class RecordingDoorbell:
    """Collects rung SMS and feed ids; tests drain them through the real dispatcher and publisher."""

    def __init__(self) -> None:
        self.sms: list[list[int]] = []
        self.bulk: set[int] = set()  # ids rung on the bulk lane (they are in `sms` too)
        self.feeds: list[list[int]] = []
        self.reconciles: list[list[int]] = []
        self.digests: list[list[int]] = []
        self.closings: list[list[int]] = []
        self.broken = False

    def send_sms(self, outbound_ids, bulk=False) -> None:
        self.sms.append(list(outbound_ids))
        if bulk:
            self.bulk.update(outbound_ids)

    def render_feeds(self, feed_ids) -> None:
        self.feeds.append(list(feed_ids))

    def reconcile_sms(self, outbound_ids) -> None:
        self.reconciles.append(list(outbound_ids))

    def make_digests(self, person_ids) -> None:
        self.digests.append(list(person_ids))

    def close_occurrences(self, occurrence_ids) -> None:
        self.closings.append(list(occurrence_ids))

    def sms_waiting(self, bulk=False) -> int:
        if bulk:  # bulk ids still waiting
            return len(self.bulk.intersection(i for ids in self.sms for i in ids))
        return len(self.sms)

    def digests_waiting(self) -> int:
        return len(self.digests)

    def ping(self) -> None:
        if self.broken:
            raise ConnectionError("broker unreachable")


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    name = f"tend_test_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    upgrade(url)
    yield url
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    yield database
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    database.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = redis_lib.Redis.from_url(REDIS_TEST_URL)
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def config(tmp_path: Path, pg_url: str) -> config_module.Config:
    return make_config(tmp_path, DATABASE_URL=pg_url)


@pytest.fixture
def doorbell() -> RecordingDoorbell:
    return RecordingDoorbell()


@pytest.fixture
def runtime(config, db, clock, doorbell) -> Runtime:
    return Runtime(config=config, db=db, now=clock, doorbell=doorbell)


@pytest.fixture
def app(runtime: Runtime):
    app = create_app(runtime)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def people(client, db) -> People:
    return People(client, db)


@pytest.fixture
def live_api(app, people, client) -> Iterator[tuple[str, dict[str, str]]]:
    """The test app on a loopback port, with Alice (a circle, a weekly ritual) to act as: (base URL, her headers)."""
    people.create("Alice")
    circle = add_circle(client, people)
    add_ritual(
        client,
        people,
        circle,
        title="Walk",
        starts="2026-12-06T10:00",
        timezone="UTC",
        rrule="FREQ=WEEKLY",
        duration_minutes=60,
        remind_before_minutes=30,
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", people.headers("Alice")
    server.shutdown()


class SmsPipeline:
    """Clock + workers run synchronously: `tick()` does what `tend clock` and the workers do.

    Every ring is handed to the real actor, in this thread, with this pipeline's worker context.
    """

    def __init__(self, runtime: Runtime, doorbell: RecordingDoorbell, transport) -> None:
        self.ctx = WorkerContext(runtime, transport, SendRate(10_000))
        self.doorbell = doorbell

    def tick(self):
        report = clock_module.tick(self.ctx.runtime)
        self.drain()
        return report

    def drain(self) -> int:
        """Run everything rung so far (and whatever that rings); returns the SMS sent."""
        sent = 0
        worker_runtime.install(self.ctx)
        try:
            doorbell = self.doorbell
            while doorbell.closings or doorbell.sms or doorbell.reconciles or doorbell.digests or doorbell.feeds:
                while doorbell.closings:
                    actors.close_occurrences(doorbell.closings.pop(0))
                while self.doorbell.reconciles:
                    actors.reconcile_sms(self.doorbell.reconciles.pop(0))
                while self.doorbell.digests:
                    actors.make_digests(self.doorbell.digests.pop(0))
                while self.doorbell.sms:
                    sent += delivery.send_batch(self.ctx, self.doorbell.sms.pop(0))
                while self.doorbell.feeds:
                    for feed_id in self.doorbell.feeds.pop(0):
                        actors.render_feed(feed_id)
        finally:
            worker_runtime.install(None)
        return sent


@pytest.fixture
def twilio_runtime(runtime: Runtime, fake_twilio: FakeTwilio) -> Runtime:
    """The runtime with Twilio settings pointing at the fake server."""
    import dataclasses

    runtime.config = dataclasses.replace(
        runtime.config,
        twilio_account_sid=fake_twilio.account_sid,
        twilio_auth_token=fake_twilio.auth_token,
        twilio_from_number="+15005550006",
        twilio_api_base_url=fake_twilio.base_url,
    )
    return runtime


@pytest.fixture
def sms(twilio_runtime: Runtime, doorbell: RecordingDoorbell) -> SmsPipeline:
    """Real clock and dispatcher, real twilio SDK, fake Twilio server on loopback."""
    return SmsPipeline(twilio_runtime, doorbell, make_transport(twilio_runtime.config))


@pytest.fixture
def texts(client, twilio_runtime: Runtime, people: People) -> Texts:
    """People's phones texting the test app, signed as Twilio signs: `texts.send("Alice", "DONE")`."""
    return Texts(client, twilio_runtime.config.twilio_auth_token, people.PHONES)
