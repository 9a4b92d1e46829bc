"""Shared fixtures: a fresh PostgreSQL database per session, Redis, a movable clock,
a Flask client, people with tokens (Alice, Bob; Charlie the outsider), and the fake Twilio.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import redis as redis_lib
from sqlalchemy import select, text

from service import config as config_module
from service.domain.db import Database
from service.domain.migrate import upgrade
from service.domain.models import Base, OutboundSms
from service.domain.runtime import Runtime
from service.web.app import create_app
from tests.fake_twilio import FakeTwilio
from workers import actors, delivery
from workers import clock as clock_module
from workers import runtime as worker_runtime
from workers.runtime import SendRate, WorkerContext, make_transport

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
        self.feeds: list[list[int]] = []
        self.reconciles: list[list[int]] = []
        self.digests: list[list[int]] = []
        self.broken = False

    def send_sms(self, outbound_ids) -> None:
        self.sms.append(list(outbound_ids))

    def render_feeds(self, feed_ids) -> None:
        self.feeds.append(list(feed_ids))

    def reconcile_sms(self, outbound_ids) -> None:
        self.reconciles.append(list(outbound_ids))

    def make_digests(self, person_ids) -> None:
        self.digests.append(list(person_ids))

    def sms_waiting(self) -> int:
        return len(self.sms)

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


def make_config(tmp_path: Path, **env: str) -> config_module.Config:
    base = {"TEND_SECRET_KEY": "test-secret-key-0123456789", "TEND_PUBLIC_URL": "http://tend.test"}
    return config_module.load(base | env, var_dir=tmp_path)


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


def code_texted_to(db, phone: str) -> str:
    """The test hook for sign-in codes: the 6 digits of the latest code SMS queued for `phone`."""
    with db.session() as s:
        body = s.scalar(
            select(OutboundSms.body)
            .where(OutboundSms.to == phone, OutboundSms.kind == "code", OutboundSms.body.is_not(None))
            .order_by(OutboundSms.id.desc())
            .limit(1)
        )
    assert body is not None, f"no code was texted to {phone}"
    return re.search(r"\b(\d{6})\b", body)[1]


class People:
    """Signs people up through the API, by code; `.headers(name)` gives their bearer header."""

    PHONES = {"Alice": "+14155550101", "Bob": "+14155550102", "Charlie": "+14155550103", "Dana": "+14155550104"}

    def __init__(self, client, db) -> None:
        self.client = client
        self.db = db
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, int] = {}

    def create(self, name: str, timezone: str = "America/New_York") -> dict:
        """Sign `name` up (or in): ask for a code, read it, trade it for a session; returns the person."""
        phone = self.PHONES[name]
        response = self.client.post("/api/v1/codes", json={"phone": phone})
        assert response.status_code == 202, response.get_json()
        code = code_texted_to(self.db, phone)
        response = self.client.post(
            "/api/v1/sessions", json={"phone": phone, "code": code, "name": name, "timezone": timezone}
        )
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        self.tokens[name], self.ids[name] = body["token"], body["person"]["id"]
        return body["person"] | {"token": body["token"]}

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture
def people(client, db) -> People:
    return People(client, db)


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
            while self.doorbell.sms or self.doorbell.reconciles or self.doorbell.digests or self.doorbell.feeds:
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
