"""Workers compute streaks, the clock only decides (issue 18, item 9): occurrences the clock creates already
ended (a catch-up after it was down) are closed by the worker it rings, judged by the pauses of their own
time, so a clock that stopped gives the outcomes and streak figures of one that never did."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from service.core.streaks import recompute
from service.domain import editing, streak_figures
from service.domain.models import Occurrence, OccurrenceOutcome, Person, StreakFigure, SubjectKind
from tests.builders import add_circle, add_ritual, couple
from workers import clock as clock_module

CREATED = datetime(2027, 3, 6, 12, 0, tzinfo=UTC)  # 07:00 in New York; daylight saving starts on 14 March
BACK = datetime(2027, 3, 18, 14, 0, tzinfo=UTC)  # the stopped clock comes back, every window of the 18th closed
DAY = timedelta(days=1)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 3, day, hour, minute, tzinfo=UTC)


# (Alice, Bob) on each day of a daily 07:30 New York ritual with an hour's grace, as SPEC §3-§5 decide them:
# missed when nobody checked in, skipped when a pause of theirs overlapped the occurrence from start to close.
EXPECTED = {
    6: ("done", "missed"),
    7: ("done", "done"),
    8: ("missed", "missed"),
    9: ("done", "missed"),
    10: ("done", "missed"),  # checked in while the clock was down: the check-in stored the occurrence
    11: ("missed", "missed"),
    12: ("skipped", "missed"),  # Alice paused at 12:00 UTC, half an hour before it
    13: ("skipped", "missed"),  # ... and resumed that evening
    14: ("missed", "missed"),  # the first day of daylight saving time: 07:30 EDT is 11:30 UTC
    15: ("missed", "skipped"),  # Bob paused for a day at 07:00 local
    16: ("missed", "missed"),  # his pause ended at 07:00 local, before it
    17: ("missed", "missed"),  # Bob paused again after its window closed: not held for it
    18: ("missed", "skipped"),
}


def scenario(client, people, db, clock) -> tuple[int, list[tuple[datetime, Callable[[], None]]]]:
    """Alice and Bob's ritual from 6 March, and what they do until the 18th: (ritual id, timed actions)."""
    clock.set(CREATED)
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle, starts="2027-03-06T07:30", grace_minutes=60)["id"]

    def done(who: str) -> Callable[[], None]:
        def check_in() -> None:
            answer = client.post(
                "/api/v1/checkins", json={"ritual_id": ritual, "outcome": "done"}, headers=people.headers(who)
            )
            assert answer.status_code == 201, answer.get_json()

        return check_in

    def with_person(who: str, change: Callable[[Person, datetime], object]) -> Callable[[], None]:
        def act() -> None:
            with db.session() as s:
                change(s.get_one(Person, people.ids[who]), clock())

        return act

    def pause(who: str, days: int) -> Callable[[], None]:
        return with_person(who, lambda person, now: editing.pause_person(person, days, now))

    actions = [
        (utc(6, 12, 40), done("Alice")),
        (utc(7, 12, 40), done("Alice")),
        (utc(7, 12, 41), done("Bob")),
        (utc(9, 12, 40), done("Alice")),
        (utc(10, 12, 40), done("Alice")),
        (utc(12, 12), pause("Alice", 3)),
        (utc(13, 20), with_person("Alice", editing.resume_person)),
        (utc(15, 11), pause("Bob", 1)),
        (utc(17, 13), pause("Bob", 7)),
    ]
    return ritual, actions


def outcomes_by_day(db, ritual: int, alice: int, bob: int) -> dict[int, tuple[str, str]]:
    with db.session() as s:
        rows = s.execute(
            select(Occurrence.local, OccurrenceOutcome.person_id, OccurrenceOutcome.outcome)
            .join(OccurrenceOutcome)
            .where(Occurrence.ritual_id == ritual, Occurrence.at < BACK)
        ).all()
    assert {local.time().isoformat() for local, _, _ in rows} == {"07:30:00"}  # on both sides of the change
    found: dict[int, dict[int, str]] = {}
    for local, person_id, outcome in rows:
        found.setdefault(local.day, {})[person_id] = outcome
    return {day: (by[alice], by[bob]) for day, by in sorted(found.items())}


@pytest.mark.parametrize("stops", [False, True], ids=["never-stopped", "stopped-for-eight-days"])
def test_a_clock_that_was_down_closes_what_it_catches_up_as_one_that_never_stopped(
    client, people, db, clock, sms, stops
):
    ritual, actions = scenario(client, people, db, clock)
    sms.tick()  # the clock prepares four days ahead, then (stopped) is down from the 6th to the 18th
    ticks = [] if stops else [CREATED + timedelta(hours=n) for n in range(1, (BACK - CREATED) // timedelta(hours=1))]
    for at, act in sorted([(at, sms.tick) for at in ticks] + actions, key=lambda event: event[0]):
        clock.set(at)
        act()
    clock.set(BACK)
    sms.tick()
    sms.tick()  # a tick rings what the previous one caught up, if it came after ringing

    alice, bob = people.ids["Alice"], people.ids["Bob"]
    assert outcomes_by_day(db, ritual, alice, bob) == EXPECTED
    with db.session() as s:
        for index, person_id in enumerate((alice, bob)):
            history = [(utc(day, 12 if day < 14 else 11, 30), pair[index]) for day, pair in EXPECTED.items()]
            key = streak_figures.FigureKey(SubjectKind.RITUAL, ritual, person_id)
            stored = streak_figures.stored_state(s, key)
            expected = recompute(history)
            assert (stored.current_streak, stored.longest_streak, stored.last_counted_at) == (
                expected.current_streak,
                expected.longest_streak,
                expected.last_counted_at,
            )
            assert stored.strength == pytest.approx(expected.strength)
    assert (expected.current_streak, expected.longest_streak) == (0, 1)  # Bob's: one done, on the 7th


def test_the_clocks_tick_writes_no_outcome_or_streak_figure_for_what_it_catches_up(
    client, people, db, clock, runtime, doorbell
):
    """The tick inserts the ended occurrences pending and open, and rings the worker with their ids."""
    ritual, _ = scenario(client, people, db, clock)
    clock_module.tick(runtime)
    clock.set(BACK)
    report = clock_module.tick(runtime)
    with db.session() as s:
        ended = s.scalars(select(Occurrence.id).where(Occurrence.closes_at <= BACK).order_by(Occurrence.closes_at))
        ended_ids = list(ended)
        decided = s.scalar(select(func.count()).where(OccurrenceOutcome.outcome != "pending"))
        closed = s.scalar(select(func.count()).where(Occurrence.closed.is_(True)))
        figures = s.scalar(select(func.count()).select_from(StreakFigure))
    assert len(ended_ids) == 13 and report.caught_up == 13  # the 10th to the 22nd, the 18th the last one ended
    assert (decided, closed, figures) == (0, 0, 0)
    assert report.ended == 13 and [i for ring in doorbell.closings for i in ring] == ended_ids


def test_a_catch_up_rung_twice_is_closed_and_folded_once(client, people, db, clock, sms, doorbell):
    """A repeated doorbell (the next tick rang again before a worker ran) finds the occurrences closed."""
    ritual, _ = scenario(client, people, db, clock)
    sms.tick()
    clock.set(BACK)
    clock_module.tick(sms.ctx.runtime)
    clock.advance(seconds=15)
    clock_module.tick(sms.ctx.runtime)  # the worker has not run yet: the same ids are rung again
    first, again = doorbell.closings
    assert first == again and len(first) == 13
    doorbell.closings.clear()
    for rung, at in ((first, BACK + timedelta(minutes=1)), (again, BACK + timedelta(minutes=2))):
        clock.set(at)
        doorbell.closings.append(rung)
        sms.drain()

    alice = people.ids["Alice"]
    with db.session() as s:
        decided_at = set(
            s.scalars(
                select(OccurrenceOutcome.decided_at)
                .join(Occurrence)
                .where(OccurrenceOutcome.person_id == alice, Occurrence.at < BACK)
            )
        )
        stored = streak_figures.stored_state(s, streak_figures.FigureKey(SubjectKind.RITUAL, ritual, alice))
    assert decided_at == {BACK + timedelta(minutes=1)}  # the first ring decided every outcome, the repeat none
    missed = [(utc(day, 12 if day < 14 else 11, 30), "missed") for day in EXPECTED]
    assert stored == recompute(missed)
    assert clock_module.tick(sms.ctx.runtime).ended == 0


def test_someone_who_joins_before_a_catch_up_is_closed_gets_no_outcome_in_its_ended_windows(
    client, people, db, clock, runtime
):
    """Their windows had closed before the person joined: only open and coming occurrences expect them."""
    clock.set(BACK)
    people.create("Alice")
    people.create("Bob")
    circle = add_circle(client, people)
    add_ritual(client, people, circle, starts="2027-03-10T07:30", grace_minutes=60)
    clock_module.tick(runtime)  # the 10th to the 18th caught up, rung, not closed yet
    invited = client.post(
        f"/api/v1/circles/{circle}/members",
        json={"name": "Bob", "phone": people.PHONES["Bob"]},
        headers=people.headers("Alice"),
    )
    assert invited.status_code == 201, invited.get_json()
    joined = client.post(f"/api/v1/invitations/{circle}/accept", headers=people.headers("Bob"))
    assert joined.status_code == 200, joined.get_json()
    with db.session() as s:
        bobs = s.scalars(
            select(Occurrence.closes_at)
            .join(OccurrenceOutcome)
            .where(OccurrenceOutcome.person_id == people.ids["Bob"])
            .order_by(Occurrence.at)
        ).all()
    assert bobs and min(bobs) > BACK
