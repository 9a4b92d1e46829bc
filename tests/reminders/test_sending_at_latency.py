"""Sending at real-world Twilio latency: many requests in flight, never past the account's limit, exactly once.

Real `tend clock` and worker processes against a fake Twilio that answers in
200 ms and refuses requests past its concurrency limit with 429 / 20429.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.domain.models import Occurrence, OutboundSms
from service.domain.runtime import utc_now
from tests.builders import people_due_at
from tests.reminders.helpers import all_sent, kill, reminder_counts, seed_due_now, wait_until
from workers import clock as clock_module

pytestmark = pytest.mark.slow

LIMITED = {"TEND_TWILIO_CONCURRENCY": "20"}


def test_500_reminders_at_200_ms_keep_many_requests_in_flight_and_never_pass_the_limit(
    db, runtime, fake_twilio, processes
):
    seed_due_now(db, 500, runtime)
    fake_twilio.configure(latency_ms=200, concurrency=20)
    processes("clock")
    processes("worker", **LIMITED)
    wait_until(all_sent(db, 500), timeout=120, what="every reminder to be recorded as sent")
    counts = reminder_counts(fake_twilio)
    assert len(counts) == 500 and set(counts.values()) == {1}
    stats = fake_twilio.stats()
    assert stats["too_many_requests"] == 0
    assert stats["peak_in_flight"] > 16  # more than the 16 worker threads could ever have had in flight


def test_a_worker_killed_with_many_requests_in_flight_sends_each_reminder_once(db, runtime, fake_twilio, processes):
    seed_due_now(db, 300, runtime)
    fake_twilio.configure(latency_ms=200, concurrency=20)
    processes("clock")
    worker = processes("worker", **LIMITED)
    wait_until(lambda: len(fake_twilio.messages) >= 60, what="the first reminders")
    assert fake_twilio.stats()["in_flight"] > 1
    kill(worker)
    assert len(fake_twilio.messages) < 300, "the worker finished before it could be killed"
    processes("worker", **LIMITED)
    wait_until(all_sent(db, 300), timeout=120, what="every reminder to be recorded as sent")
    counts = reminder_counts(fake_twilio)
    assert len(counts) == 300 and set(counts.values()) == {1}
    assert fake_twilio.stats()["too_many_requests"] == 0


def test_100_reminders_due_in_one_minute_at_5_per_second_leave_within_a_minute(db, runtime, fake_twilio, processes):
    now = utc_now()
    due = now.replace(second=0, microsecond=0) + timedelta(minutes=1, seconds=20)
    people_due_at(db, 100, due_at=due, created_at=now - timedelta(hours=1))
    clock_module.materialize(runtime, now, limit=100)
    processes("clock", TEND_SMS_MPS="5")
    processes("worker", TEND_SMS_MPS="5")
    wait_until(all_sent(db, 100), timeout=240, what="every reminder to be recorded as sent")
    sent = {m["to"]: m["date_created"] for m in fake_twilio.messages if "Reply DONE" in m["body"]}
    assert set(reminder_counts(fake_twilio).values()) == {1} and len(sent) == 100  # one SMS per person
    with db.session() as s:
        opens = dict(
            s.execute(
                select(OutboundSms.to, Occurrence.opens_at).join(Occurrence, Occurrence.id == OutboundSms.occurrence_id)
            ).all()
        )
    for to, at in sent.items():
        assert due - timedelta(minutes=10) <= at <= due + timedelta(seconds=60), (to, at)
        assert at >= opens[to] - timedelta(seconds=1), (to, at, opens[to])  # the fake's dates have no lag
