"""Running the real `tend clock` and worker processes, and watching what reaches the fake Twilio."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from service.domain.models import OutboundSms
from service.domain.runtime import utc_now
from tests.builders import people_due_at
from workers import clock as clock_module


def reminder_counts(fake) -> Counter:
    return Counter(m["to"] for m in fake.messages if "Reply DONE" in m["body"])


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the whole process group: Dramatiq's worker children die with their parent."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def wait_until(condition, timeout: float = 90.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def seed_due_now(db, count: int, runtime) -> None:
    """`count` people alone in their circles, each with a reminder due now (wall clock), materialized."""
    now = utc_now()
    people_due_at(db, count, due_at=now, created_at=now - timedelta(hours=1))
    clock_module.materialize(runtime, now, limit=count)


def all_sent(db, count: int):
    def check() -> bool:
        with db.session() as s:
            return (
                s.scalar(select(func.count()).where(OutboundSms.kind == "reminder", OutboundSms.state == "sent"))
                == count
            )

    return check
