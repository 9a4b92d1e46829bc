"""Recovery without waiting out a long timeout: lost doorbells, leases, and SMS in doubt (moved clock)."""

from datetime import timedelta

from sqlalchemy import select, update

from service.domain.models import OutboundSms
from tests.builders import people_due_at
from workers import clock as clock_module
from workers import delivery


def seed_due(db, runtime, clock, count):
    people_due_at(db, count, due_at=clock(), created_at=clock() - timedelta(hours=1))
    clock_module.materialize(runtime, clock(), limit=count)


def rung_ids(doorbell) -> list[int]:
    ids = sorted(i for ring in doorbell.sms for i in ring)
    doorbell.sms.clear()
    return ids


def test_a_lost_doorbell_is_rung_again_by_the_third_tick(db, runtime, clock, doorbell):
    seed_due(db, runtime, clock, 3)
    interval = runtime.config.clock_interval
    clock_module.tick(runtime)
    assert rung_ids(doorbell) == [1, 2, 3]  # … and lost: nothing waits in the broker any more
    clock.advance(seconds=interval)
    clock_module.tick(runtime)
    assert rung_ids(doorbell) == []  # a worker may still be about to claim them
    clock.advance(seconds=interval + 0.5)  # ticks start a little later than planned
    clock_module.tick(runtime)
    assert rung_ids(doorbell) == [1, 2, 3]


def test_doorbells_still_waiting_in_the_broker_are_not_rung_over_and_over(db, runtime, clock, doorbell):
    seed_due(db, runtime, clock, 3)
    clock_module.tick(runtime)
    waiting = list(doorbell.sms)  # a backlog: the doorbells wait in the queue
    started = clock()
    while clock() + timedelta(seconds=runtime.config.clock_interval) <= started + timedelta(
        seconds=runtime.config.claim_timeout
    ):  # ticks past the ring timeout of two ticks, within the claim timeout
        clock.advance(seconds=runtime.config.clock_interval)
        clock_module.tick(runtime)
    assert doorbell.sms == waiting
    clock.set(started + timedelta(seconds=runtime.config.claim_timeout + 1))
    clock_module.tick(runtime)
    assert len(doorbell.sms) == 2 * len(waiting)  # past the claim timeout, rung again all the same


def test_a_live_workers_lease_is_renewed_and_a_dead_ones_runs_out(db, runtime, clock, sms):
    seed_due(db, runtime, clock, 2)
    with db.session() as s:
        rows = s.scalars(select(OutboundSms).order_by(OutboundSms.id)).all()
        s.execute(update(OutboundSms).values(state="sending", claimed_at=clock()))
    live = delivery.Delivery(sms.ctx, clock())
    live.in_hand = {rows[0].id: None}  # worker A holds row 1; row 2's worker died
    clock.advance(seconds=runtime.config.claim_timeout / 2)
    live.renew()
    clock.advance(seconds=runtime.config.claim_timeout / 2 + 1)
    assert clock_module.ring_stale_claims(
        runtime, clock(), timedelta(seconds=runtime.config.claim_timeout), 100
    ) == 1 and sms.doorbell.reconciles == [[rows[1].id]]
