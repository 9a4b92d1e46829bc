"""The real-process fixtures of the crash and latency tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.domain.runtime import utc_now
from tests.reminders.helpers import kill
from tests.texting import Texts


@pytest.fixture
def processes(pg_url, redis_url, fake_twilio, tmp_path):
    """Starts `tend clock` and Dramatiq workers as real processes; kills what is left at the end.

    Their output goes to files that are printed at teardown: pytest shows them
    beside a failure, so a process that could not start says why.
    """
    env = os.environ | {
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
        "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": fake_twilio.base_url,
        "TEND_PUBLIC_URL": "http://tend.test",
        "TEND_SECRET_KEY": "test-secret-key-0123456789",
        "TEND_SMS_MPS": "10000",
        "TEND_CLOCK_INTERVAL": "0.3",
        "TEND_CLAIM_TIMEOUT": "3",
        "TEND_LOG_LEVEL": "INFO",
    }
    started: list[tuple[subprocess.Popen, object]] = []
    commands = {
        "clock": [sys.executable, "-m", "service.entry.cli", "clock"],
        "worker": [sys.executable, "-m", "service.entry.cli", "worker", "--processes", "1", "--threads", "4"],
    }

    def start(name: str, **overrides: str) -> subprocess.Popen:
        log = (tmp_path / f"{name}-{len(started)}.log").open("wb")
        process = subprocess.Popen(
            commands[name], env=env | overrides, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
        )
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        kill(process)
        log.close()
        print(f"--- {log.name} (exit {process.returncode}) ---")
        print(Path(log.name).read_text(errors="replace")[-6000:])


@pytest.fixture
def phones(client, twilio_runtime, clock):
    """Seeded people texting the in-process web app, signed as Twilio signs; its clock follows the wall clock."""

    class WallClockTexts(Texts):
        def send(self, sender, body, sid=None, **extra):
            clock.set(utc_now())
            return super().send(sender, body, sid, **extra)

        def callback(self, fake, sid, status):
            clock.set(utc_now())
            url, params, signature = fake.status_callback(sid, status)
            path = url.removeprefix("http://tend.test")
            return self.client.post(path, data=params, headers={"X-Twilio-Signature": signature})

    return WallClockTexts(client, twilio_runtime.config.twilio_auth_token, {})
