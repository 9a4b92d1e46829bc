"""Stored figures follow each decided outcome: O(1) going forward, re-folded for back-fills and changes."""

from __future__ import annotations

import threading

from sqlalchemy import event, func, select

from service.core.streaks import StreakState, recompute
from service.domain import streak_figures
from service.domain.models import Occurrence, OccurrenceOutcome, Person, StreakFigure
from tests.builders import stored_couple, stored_promise, stored_ritual
from tests.streaks.helpers import DAY, FIRST, decide, occurrence, stored


def days(session, subject, people, count):
    return [occurrence(session, subject, FIRST + i * DAY, people) for i in range(count)]


def test_decisions_in_time_order_advance_the_figures(db):
    with db.session() as s:
        circle, alice, bob = stored_couple(s)
        ritual = stored_ritual(s, circle)
        rows = days(s, ritual, [alice], 4)
        for row, outcome in zip(rows, ["done", "done", "missed", "done"]):
            decide(s, row, alice, outcome)
        expected = recompute([(row.at, outcome) for row, outcome in zip(rows, ["done", "done", "missed", "done"])])
        assert stored(s, ritual, alice) == expected
        assert (expected.current_streak, expected.longest_streak, expected.last_counted_at) == (1, 2, FIRST + 3 * DAY)


def test_a_back_filled_miss_becomes_part_of_the_streak(db):
    with db.session() as s:
        circle, alice, _ = stored_couple(s)
        ritual = stored_ritual(s, circle)
        rows = days(s, ritual, [alice], 3)
        for row, outcome in zip(rows, ["done", "missed", "done"]):
            decide(s, row, alice, outcome)
        assert stored(s, ritual, alice).current_streak == 1
        decide(s, rows[1], alice, "done")
        assert stored(s, ritual, alice) == recompute([(row.at, "done") for row in rows])
        assert (stored(s, ritual, alice).current_streak, stored(s, ritual, alice).longest_streak) == (3, 3)


def test_a_changed_outcome_of_the_latest_occurrence_replaces_the_old_one(db):
    with db.session() as s:
        circle, alice, _ = stored_couple(s)
        ritual = stored_ritual(s, circle)
        first, latest = days(s, ritual, [alice], 2)
        decide(s, first, alice, "done")
        decide(s, latest, alice, "missed")
        decide(s, latest, alice, "done")
        assert stored(s, ritual, alice) == recompute([(first.at, "done"), (latest.at, "done")])


def test_deciding_the_same_outcome_again_counts_it_once(db):
    with db.session() as s:
        circle, alice, _ = stored_couple(s)
        ritual = stored_ritual(s, circle)
        rows = days(s, ritual, [alice], 2)
        for row in rows:
            decide(s, row, alice, "done")
            decide(s, row, alice, "done")
        streak_figures.outcome_decided(s, rows[0], alice.id, FIRST)
        assert stored(s, ritual, alice) == recompute([(row.at, "done") for row in rows])
        assert stored(s, ritual, alice).current_streak == 2


def test_a_pending_outcome_stores_nothing(db):
    with db.session() as s:
        circle, alice, _ = stored_couple(s)
        ritual = stored_ritual(s, circle)
        row = occurrence(s, ritual, FIRST, [alice])
        streak_figures.outcome_decided(s, row, alice.id, FIRST)
        streak_figures.outcome_decided(s, row, 999_999, FIRST)  # not expected there: no outcome row
        assert s.scalar(select(func.count()).select_from(StreakFigure)) == 0
        assert stored(s, ritual, alice) == StreakState()


def test_each_person_and_subject_keeps_separate_figures(db):
    with db.session() as s:
        circle, alice, bob = stored_couple(s)
        ritual = stored_ritual(s, circle)
        promise = stored_promise(s, circle, keeper=alice, recipient=bob)
        shared = occurrence(s, ritual, FIRST, [alice, bob])
        promised = occurrence(s, promise, FIRST + DAY, [alice])
        decide(s, shared, alice, "done")
        decide(s, shared, bob, "missed")
        decide(s, promised, alice, "late")
        assert stored(s, ritual, alice).current_streak == 1
        assert stored(s, ritual, bob) == StreakState(0, 0, 0.0, FIRST)
        assert stored(s, promise, alice) == recompute([(FIRST + DAY, "late")])
        assert stored(s, promise, bob) == StreakState()


def test_advancing_reads_no_history(db):
    """The O(1) path: the same few statements whatever the length of the history, none reading occurrences."""

    def statements_to_decide_the_next(count: int) -> list[str]:
        s = db.sessions()
        try:
            circle, alice, _ = stored_couple(s)
            ritual = stored_ritual(s, circle)
            rows = days(s, ritual, [alice], count + 1)
            for row in rows[:-1]:
                decide(s, row, alice, "done")
            s.get(OccurrenceOutcome, (rows[-1].id, alice.id)).outcome = "done"
            s.flush()
            seen: list[str] = []
            listener = lambda _conn, _cursor, statement, *rest: seen.append(statement)  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                streak_figures.outcome_decided(s, rows[-1], alice.id, FIRST)
                s.flush()
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
            assert stored(s, ritual, alice).current_streak == count + 1
            return seen
        finally:
            s.rollback()
            s.close()

    long, short = statements_to_decide_the_next(60), statements_to_decide_the_next(2)
    assert len(long) == len(short) <= 3
    assert not [statement for statement in long if "FROM occurrences" in statement]


def test_recompute_figure_repairs_a_wrong_figure_and_drops_an_orphan(db):
    with db.session() as s:
        circle, alice, _ = stored_couple(s)
        ritual = stored_ritual(s, circle)
        rows = days(s, ritual, [alice], 3)
        for row in rows:
            decide(s, row, alice, "done")
        right = stored(s, ritual, alice)
        key = streak_figures.FigureKey("ritual", ritual.id, alice.id)
        orphan = streak_figures.FigureKey("promise", 424242, alice.id)
        s.add(
            StreakFigure(
                subject_kind="promise",
                subject_id=424242,
                person_id=alice.id,
                current_streak=4,
                longest_streak=4,
                strength=0.2,
                last_counted_at=FIRST,
            )
        )
        s.get(StreakFigure, ("ritual", ritual.id, alice.id)).current_streak = 99
        s.flush()
        assert streak_figures.figure_keys(s) == [orphan, key]
        assert streak_figures.recompute_figure(s, key) is True
        assert streak_figures.recompute_figure(s, key) is False
        assert streak_figures.recompute_figure(s, orphan) is True
        assert stored(s, ritual, alice) == right
        assert streak_figures.figure_keys(s) == [key]


def test_concurrent_first_decisions_queue_on_one_row(db):
    """Two transactions create the same figure: the second waits for the first and then builds on it."""
    with db.session() as s:
        circle, alice, _ = stored_couple(s)
        ritual = stored_ritual(s, circle)
        first, second = days(s, ritual, [alice], 2)
    holder = db.sessions()
    decide(holder, second, alice, "done")  # inserted and locked, not committed
    failures: list[BaseException] = []

    def decide_the_earlier_one() -> None:
        try:
            with db.session() as other:
                decide(other, other.get(Occurrence, first.id), other.get(Person, alice.id), "missed")
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    waiter = threading.Thread(target=decide_the_earlier_one)
    waiter.start()
    waiter.join(timeout=0.5)
    assert waiter.is_alive(), "the second decider should wait for the first one's lock"
    holder.commit()
    holder.close()
    waiter.join(timeout=10)
    assert not failures
    with db.session() as s:
        assert stored(s, ritual, alice) == recompute([(first.at, "missed"), (second.at, "done")])
