"""Exactly once under concurrency and failure: two clocks, a worker killed with SIGKILL, Redis flushed.

The crash tests run the real `tend clock` and Dramatiq worker processes against
PostgreSQL, Redis and the fake Twilio, on the real wall clock.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import redis as redis_lib
from sqlalchemy import select, text, update

from service.domain.models import OutboundSms
from service.domain.runtime import utc_now
from tests.builders import due_phone, people_due_at
from tests.reminders.helpers import all_sent, kill, reminder_counts, seed_due_now, wait_until
from workers import clock as clock_module
from workers import delivery

pytestmark = pytest.mark.slow


def test_two_clocks_and_doubled_doorbells_send_each_reminder_once(db, clock, sms, fake_twilio):
    people_due_at(db, 200, due_at=clock(), created_at=clock() - timedelta(hours=1))
    start = threading.Barrier(2)

    def run_clock():
        start.wait()
        for _ in range(3):
            clock_module.tick(sms.ctx.runtime)

    clocks = [threading.Thread(target=run_clock) for _ in range(2)]
    for thread in clocks:
        thread.start()
    for thread in clocks:
        thread.join()
    rings = list(sms.doorbell.sms)
    assert sum(len(ids) for ids in rings) == 200  # each due row rung by exactly one of the clocks
    drain_start = threading.Barrier(2)

    def drain():  # every ring is delivered twice, concurrently, as an at-least-once broker may
        drain_start.wait()
        for ids in rings:
            delivery.send_batch(sms.ctx, ids)

    drainers = [threading.Thread(target=drain) for _ in range(2)]
    for thread in drainers:
        thread.start()
    for thread in drainers:
        thread.join()
    counts = reminder_counts(fake_twilio)
    assert len(counts) == 200 and set(counts.values()) == {1}


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(db, runtime, fake_twilio, processes):
    seed_due_now(db, 300, runtime)
    fake_twilio.reply_delay = 0.02  # Twilio has the message before the worker records it: the crash window
    processes("clock")
    worker = processes("worker")
    wait_until(lambda: len(fake_twilio.messages) >= 60, what="the first reminders")
    kill(worker)
    in_flight = len(fake_twilio.messages)
    assert in_flight < 300, "the worker finished before it could be killed; raise the count"
    fake_twilio.reply_delay = 0
    processes("worker")
    wait_until(all_sent(db, 300), what="every reminder to be recorded as sent")
    counts = reminder_counts(fake_twilio)
    assert len(counts) == 300 and set(counts.values()) == {1}


def test_a_redis_flush_mid_run_loses_nothing(db, runtime, redis_url, fake_twilio, processes):
    seed_due_now(db, 300, runtime)
    fake_twilio.reply_delay = 0.02
    processes("clock")
    processes("worker")
    wait_until(lambda: len(fake_twilio.messages) >= 60, what="the first reminders")
    redis_lib.Redis.from_url(redis_url).flushdb()
    fake_twilio.reply_delay = 0
    wait_until(all_sent(db, 300), what="every reminder to be recorded as sent")
    counts = reminder_counts(fake_twilio)
    assert len(counts) == 300 and set(counts.values()) == {1}


# --- crash windows, a slow Twilio, fast recovery (issue 15) ---


def reminder_rows(db) -> list[OutboundSms]:
    with db.session() as s:
        return list(s.scalars(select(OutboundSms).where(OutboundSms.kind == "reminder").order_by(OutboundSms.id)))


def test_a_done_sent_while_its_reminder_is_in_flight_counts_once(db, runtime, fake_twilio, processes, phones):
    seed_due_now(db, 1, runtime)
    fake_twilio.reply_delay = 30  # Twilio has the message; its answer (the SID) never reaches the worker
    processes("clock")
    worker = processes("worker")
    wait_until(lambda: len(fake_twilio.messages) == 1, what="the reminder at Twilio")
    kill(worker)
    [row] = reminder_rows(db)
    assert (row.state, row.sid) == ("sending", None)
    first = phones.send(due_phone(1), "DONE", sid="SM" + "1" * 32)
    assert first.startswith("Kept!"), first
    assert phones.send(due_phone(1), "DONE", sid="SM" + "1" * 32) == first  # Twilio retrying the webhook
    fake_twilio.reply_delay = 0
    processes("worker")
    [message] = fake_twilio.messages
    wait_until(lambda: reminder_rows(db)[0].sid == message["sid"], what="the SID adopted by reconciliation")
    assert "Already recorded" in phones.send(due_phone(1), "DONE")
    with db.session() as s:
        checkins = s.execute(text("SELECT outcome, message_sid FROM checkins WHERE person_id = 1")).all()
        outcomes = s.scalars(text("SELECT outcome FROM occurrence_outcomes WHERE person_id = 1")).all()
    assert [(c.outcome, c.message_sid) for c in checkins] == [(outcomes[0], "SM" + "1" * 32)]
    assert len(outcomes) == 1 and outcomes[0] in ("done", "on_time", "late")
    assert len(fake_twilio.messages) == 1


def test_twilio_answering_after_the_timeout_sends_each_reminder_once(db, runtime, fake_twilio, processes):
    seed_due_now(db, 40, runtime)
    slow = {due_phone(3), due_phone(17), due_phone(29)}
    for number in slow:
        fake_twilio.slow(number, 11)  # past the SDK's 10 s timeout: the worker cannot know Twilio took it
    processes("clock")
    processes("worker")
    wait_until(all_sent(db, 40), what="every reminder to be recorded as sent")
    messages = fake_twilio.messages
    counts = reminder_counts(fake_twilio)
    assert len(counts) == 40 and set(counts.values()) == {1}
    sids = {m["to"]: m["sid"] for m in messages}
    assert {row.to: row.sid for row in reminder_rows(db)} == sids  # the slow ones' SIDs adopted from Twilio
    # the rest of the batch went meanwhile: answered before Twilio answered any slow one
    wait_until(lambda: all(m.get("answered_at") for m in fake_twilio.messages), what="the slow answers")
    messages = fake_twilio.messages
    fast_done = max(m["answered_at"] for m in messages if m["to"] not in slow)
    assert fast_done < min(m["answered_at"] for m in messages if m["to"] in slow)


def test_a_status_callback_naming_the_row_settles_it_without_a_resend(db, runtime, fake_twilio, processes, phones):
    seed_due_now(db, 2, runtime)
    with db.session() as s:  # person 2's reminder comes later: it shows the restarted worker at work
        s.execute(update(OutboundSms).where(OutboundSms.person_id == 2).values(due_at=utc_now() + timedelta(hours=1)))
    fake_twilio.slow(due_phone(1), 30)
    processes("clock")
    worker = processes("worker")
    wait_until(lambda: len(fake_twilio.messages) == 1, what="the reminder at Twilio")
    kill(worker)
    [message] = fake_twilio.messages
    row = reminder_rows(db)[0]
    assert (row.state, row.sid) == ("sending", None) and message["status_callback"].endswith(f"?row={row.id}")
    assert phones.callback(fake_twilio, message["sid"], "delivered").status_code == 204
    row = reminder_rows(db)[0]
    assert (row.state, row.sid) == ("delivered", message["sid"])
    with db.session() as s:  # TEND_CLAIM_TIMEOUT is 3 s: a stale claim would be reconciled well before this
        s.execute(update(OutboundSms).where(OutboundSms.person_id == 2).values(due_at=utc_now() + timedelta(seconds=6)))
    processes("worker")
    wait_until(lambda: reminder_counts(fake_twilio)[due_phone(2)] == 1, what="the later reminder")
    time.sleep(1)
    assert reminder_counts(fake_twilio)[due_phone(1)] == 1


def test_a_killed_workers_batch_reaches_twilio_within_45_seconds(db, runtime, fake_twilio, processes):
    seed_due_now(db, 100, runtime)
    fake_twilio.reply_delay = 0.5
    processes("clock")
    # 20 SMS a second: the batch is still under way when the worker dies (unthrottled, it sends all 100 at once)
    worker = processes("worker", TEND_CLAIM_TIMEOUT="30", TEND_SMS_MPS="20")
    wait_until(lambda: len(fake_twilio.messages) >= 20, what="the first reminders")
    kill(worker)
    killed_at = time.monotonic()
    assert len(fake_twilio.messages) < 100, "the worker finished before it could be killed"
    fake_twilio.reply_delay = 0
    processes("worker", TEND_CLAIM_TIMEOUT="30")
    wait_until(lambda: len(reminder_counts(fake_twilio)) == 100, timeout=45, what="every reminder at Twilio")
    assert time.monotonic() - killed_at < 45
    wait_until(all_sent(db, 100), what="every reminder recorded")
    assert set(reminder_counts(fake_twilio).values()) == {1}
