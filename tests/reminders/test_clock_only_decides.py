"""The clock only decides: a slow feed render and a Twilio that hangs on reconciliation delay no reminder."""

import threading
import time
from datetime import timedelta

from dramatiq import Worker
from sqlalchemy import select, update

from service.domain import feed_content, occurrences
from service.domain.models import Feed, Occurrence, OutboundSms, SmsKind, SmsState, StreakFigure
from service.entry.broker import install as install_broker
from service.entry.wiring import runtime_on
from tests.builders import FIRST_OCCURRENCE, FIRST_REMINDER, add_ritual, couple
from tests.feeds.helpers import fetch, new_feed
from workers import clock as clock_module
from workers import runtime as worker_runtime
from workers.runtime import WorkerContext
from workers.send_rate import SendRate
from workers.sms_transport import make_transport


class Held:
    """A call that blocks until the test lets go, telling the test it has started."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.released = threading.Event()

    def wrap(self, function):
        def held(*args, **kwargs):
            self.entered.set()
            assert self.released.wait(timeout=60), "the test never let the held call go"
            return function(*args, **kwargs)

        return held


def wait_until(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_reminder_goes_out_while_a_render_and_a_reconciliation_hang(
    client, people, db, clock, twilio_runtime, fake_twilio, monkeypatch
):
    runtime = twilio_runtime
    circle_id = couple(client, people, db)
    add_ritual(client, people, circle_id)
    feed = new_feed(client, people)
    assert fetch(client, feed).status_code == 200  # rendered once

    render, lookup = Held(), Held()
    monkeypatch.setattr(feed_content, "render", render.wrap(feed_content.render))  # a render that takes its time
    transport = make_transport(runtime.config)
    transport.find_recent = lookup.wrap(transport.find_recent)  # a Twilio that does not answer the look-up
    broker = install_broker(None)
    runtime.doorbell = runtime_on(runtime.config, broker).doorbell
    worker_runtime.install(WorkerContext(runtime, transport, SendRate(10_000)))
    worker = Worker(broker, worker_threads=4, worker_timeout=50)
    worker.start()
    try:
        clock_module.tick(runtime)  # occurrences and reminder rows for the coming days
        broker.join("sms")  # the SMS that tick rang are sent before the clock moves on an hour
        worker.join()
        clock.set(FIRST_REMINDER)
        with db.session() as s:  # Bob's reminder was claimed long ago by a worker that died; the feed is dirty
            bob_row = s.scalar(
                select(OutboundSms.id).where(
                    OutboundSms.person_id == people.ids["Bob"],
                    OutboundSms.kind == SmsKind.REMINDER,
                    OutboundSms.due_at <= clock(),
                )
            )
            s.execute(
                update(OutboundSms)
                .where(OutboundSms.id == bob_row)
                .values(state=SmsState.SENDING, claimed_at=clock() - timedelta(hours=1), body="Tend: earlier")
            )
            s.execute(update(Feed).where(Feed.id == feed["id"]).values(dirty_since=clock() - timedelta(minutes=5)))

        report = clock_module.tick(runtime)
        assert (report.reconciling, report.feeds, report.rung) == (1, 1, 1)
        wait_until(lambda: render.entered.is_set() and lookup.entered.is_set(), "the render and the look-up to start")
        wait_until(lambda: any(m["to"] == people.PHONES["Alice"] for m in fake_twilio.messages), "Alice's reminder")
        assert not render.released.is_set() and not lookup.released.is_set()  # both still hanging meanwhile
    finally:
        render.released.set()
        lookup.released.set()
        broker.join("sms")
        worker.join()
        worker.stop()
        worker_runtime.install(None)


def test_the_clock_rings_for_ended_windows_and_a_worker_closes_them_and_folds_the_streaks(
    client, people, db, clock, sms, doorbell
):
    circle_id = couple(client, people, db)
    add_ritual(client, people, circle_id, grace_minutes=30)
    sms.tick()
    clock.set(FIRST_OCCURRENCE + timedelta(minutes=31))  # the first window ended a minute ago

    def first_occurrence():
        with db.session() as s:
            occurrence = s.scalars(select(Occurrence).order_by(Occurrence.at)).first()
            outcomes = sorted(o.outcome for o in occurrence.outcomes)
            figures = s.scalars(select(StreakFigure.last_counted_at)).all()
            return occurrence.id, occurrence.closed, outcomes, figures

    report = clock_module.tick(sms.ctx.runtime)
    occurrence_id, closed, outcomes, figures = first_occurrence()
    assert report.ended == 1 and doorbell.closings == [[occurrence_id]]
    assert (closed, outcomes, figures) == (False, ["pending", "pending"], [])  # the clock decided, changed nothing

    doorbell.closings.clear()  # the doorbell was lost: the next tick rings again, the occurrence still being open
    assert clock_module.tick(sms.ctx.runtime).ended == 1 and doorbell.closings == [[occurrence_id]]
    sms.drain()
    _, closed, outcomes, figures = first_occurrence()
    assert (closed, outcomes, figures) == (True, ["missed", "missed"], [FIRST_OCCURRENCE, FIRST_OCCURRENCE])

    with db.session() as s:  # a repeated doorbell finds the occurrence closed and changes nothing
        assert occurrences.close(s, [occurrence_id], clock()) == 0
    assert clock_module.tick(sms.ctx.runtime).ended == 0 and doorbell.closings == []
