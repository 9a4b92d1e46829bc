"""Capacity-aware dispatch: a crowded minute starts early enough to be on time at the sender's rate (moved clock)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update

from service.domain.dispatch import Pending, early_starts
from service.domain.models import Occurrence, OutboundSms
from service.domain.pipeline_rate import PIPELINE_RATE, PipelineRate, ProcessFigures
from tests.builders import people_due_at
from workers import clock as clock_module

T = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
LEAD = timedelta(minutes=10)
MARGIN = timedelta(seconds=35)


def test_nothing_starts_early_while_the_sender_keeps_up():
    due = T + timedelta(minutes=5)
    pending = [Pending(i, i, due, due - LEAD) for i in range(100)]  # 20 s of sending at 5/s
    assert early_starts(pending, backlog=0, now=T, mps=5, margin=MARGIN) == []
    assert early_starts(pending, backlog=0, now=due - timedelta(seconds=1), mps=5, margin=MARGIN) == []


def test_a_crowded_minute_starts_when_waiting_would_make_its_last_reminder_late():
    due = T + timedelta(minutes=5)
    pending = [Pending(i, i, due, due - LEAD) for i in range(600)]  # 120 s of sending at 5/s
    assert early_starts(pending, backlog=0, now=T, mps=5, margin=MARGIN) == []
    started = early_starts(pending, backlog=0, now=due - timedelta(seconds=90), mps=5, margin=MARGIN)
    assert [p.id for p in started] == list(range(600))


def test_the_tightest_go_first_and_a_persons_minute_starts_together():
    soon, later = T + timedelta(minutes=1), T + timedelta(minutes=3)
    pending = [Pending(1, 1, later, T), Pending(2, 2, soon, T), Pending(3, 1, later, T), Pending(4, 3, later, T)]
    # a backlog of 90 s: the reminder due soonest must start now, the later ones need not yet
    started = early_starts(pending, backlog=450, now=T, mps=5, margin=MARGIN)
    assert [p.id for p in started] == [2]
    started = early_starts(pending, backlog=1100, now=T, mps=5, margin=MARGIN)
    assert [p.id for p in started] == [2, 1, 3, 4]  # due order; person 1's minute together


def test_a_reminder_never_starts_before_it_may():
    due = T + timedelta(minutes=5)
    pending = [Pending(1, 1, due, due - timedelta(minutes=1)), Pending(2, 2, due, due - LEAD)]
    started = early_starts(pending, backlog=2000, now=T, mps=5, margin=MARGIN)
    assert [p.id for p in started] == [2]


def test_the_pipeline_rate_moves_only_with_what_was_sent_while_work_waited():
    workers, clock = PipelineRate(figures := ProcessFigures()), PipelineRate(figures)
    assert clock.observe(T, busy=True) == PIPELINE_RATE  # nothing measured yet: the conservative default
    workers.count_sent(3000)
    assert clock.observe(T + timedelta(seconds=10), busy=True) == PIPELINE_RATE + 0.3 * (300 - PIPELINE_RATE)
    moved = clock.observe(T + timedelta(seconds=20), busy=True)  # nothing sent while work waited: slower
    assert moved < PIPELINE_RATE + 0.3 * (300 - PIPELINE_RATE)
    workers.count_sent(5)
    assert clock.observe(T + timedelta(seconds=30), busy=False) == moved  # an idle stretch measures demand
    assert clock.observe(T + timedelta(seconds=40), busy=True) == moved  # it started idle: still demand


def model_sender(rung: list[int], sent: dict[int, datetime], start: datetime, seconds: float, mps: float) -> None:
    """Sends the rung rows in ring order at `mps` for `seconds` from `start` (a worker at the shared rate)."""
    budget = int(seconds * mps)
    for k, row_id in enumerate(rung[:budget]):
        sent[row_id] = start + timedelta(seconds=(k + 1) / mps)
    del rung[:budget]


def test_600_reminders_in_one_minute_at_5_per_second_each_leave_within_a_minute_of_due(
    db, runtime, clock, doorbell, tmp_path
):
    import dataclasses

    runtime.config = dataclasses.replace(runtime.config, sms_mps=5.0, dispatch_lead=600.0)
    due = T + timedelta(minutes=20)
    clock.set(T)
    people_due_at(db, 600, due_at=due, created_at=T - timedelta(days=1))
    clock_module.materialize(runtime, T, limit=1000)
    with db.session() as s:  # rituals 1–50 had an occurrence whose window closes 30 s before this reminder is due
        s.execute(
            insert(Occurrence),
            [
                {
                    "ritual_id": r,
                    "at": due - timedelta(minutes=30),
                    "local": (due - timedelta(minutes=30)).replace(tzinfo=None),
                    "opens_at": due - timedelta(minutes=40),
                    "closes_at": due - timedelta(seconds=30),
                    "closed": False,
                }
                for r in range(1, 51)
            ],
        )
        original = dict(s.execute(select(OutboundSms.id, OutboundSms.due_at)).all())
        person_of = dict(s.execute(select(OutboundSms.id, OutboundSms.person_id)).all())
    rung: list[int] = []
    sent: dict[int, datetime] = {}
    while clock() < due + timedelta(minutes=5):
        clock_module.tick(runtime)
        for ring in doorbell.sms:
            rung.extend(i for i in ring if i not in sent and i not in rung)
        doorbell.sms.clear()
        model_sender(rung, sent, clock(), runtime.config.clock_interval, 5.0)
        with db.session() as s:
            s.execute(update(OutboundSms).where(OutboundSms.id.in_(list(sent))).values(state="sent"))
        clock.advance(seconds=runtime.config.clock_interval)
    assert len(sent) == 600 and len({person_of[i] for i in sent}) == 600
    for row_id, at in sent.items():
        assert original[row_id] - LEAD <= at <= original[row_id] + timedelta(seconds=60), row_id
    with db.session() as s:
        opens = dict(
            s.execute(
                select(OutboundSms.id, Occurrence.opens_at).join(Occurrence, Occurrence.id == OutboundSms.occurrence_id)
            ).all()
        )
    assert all(opens[i] <= at for i, at in sent.items())  # the window opens with its reminder, not after
    late_openers = [i for i, p in person_of.items() if p <= 50]
    assert all(sent[i] >= due - timedelta(seconds=30) for i in late_openers)  # not before the previous one closed
    assert min(sent.values()) < due - timedelta(seconds=30)  # the others did start early
