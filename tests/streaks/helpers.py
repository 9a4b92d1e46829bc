"""Histories of the stored couple (tests/builders.py), decided as the clock and check-ins decide them, and the
property that incremental figures equal a recompute (run on PostgreSQL and on SQLite)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import strategies as st
from sqlalchemy.orm import Session

from service.core.streaks import StreakState, recompute
from service.domain import streak_figures
from service.domain.models import Occurrence, OccurrenceOutcome, Person, Promise, Ritual
from tests.builders import STORED_AT, stored_couple, stored_promise, stored_ritual

FIRST = STORED_AT  # the day stored histories begin: 07:30 in New York
DAY = timedelta(days=1)


def occurrence(session: Session, subject: Ritual | Promise, at: datetime, people: list[Person]) -> Occurrence:
    """An occurrence with a pending outcome for each person."""
    row = Occurrence.of(
        subject,
        at=at,
        local=at.replace(tzinfo=None),
        opens_at=at,
        closes_at=at + timedelta(hours=1),
        closed=False,
        outcomes=[OccurrenceOutcome(person_id=p.id, outcome="pending") for p in people],
    )
    session.add(row)
    session.flush()
    return row


def decide(session: Session, row: Occurrence, person: Person, outcome: str, now: datetime = FIRST) -> None:
    """What the clock and check-ins do: set the outcome, then tell the streak figures."""
    decided = session.get(OccurrenceOutcome, (row.id, person.id))
    decided.outcome, decided.decided_at = outcome, now
    session.flush()
    streak_figures.outcome_decided(session, row, person.id, now)


def stored(session: Session, subject: Ritual | Promise, person: Person) -> StreakState:
    return streak_figures.stored_state(session, streak_figures.FigureKey(subject.kind, subject.id, person.id))


RITUAL_OUTCOMES = ("done", "skipped", "missed")
PROMISE_OUTCOMES = ("on_time", "late", "skipped", "missed")


@st.composite
def decision_orders(draw):
    """Occurrences on distinct days, each decided zero or more times per person, in a random global order.

    A later decision of the same (occurrence, person) overrides the earlier one,
    as a back-fill or a corrected check-in does; some decisions are repeated.
    """
    kind = draw(st.sampled_from(("ritual", "promise")))
    outcomes = st.sampled_from(RITUAL_OUTCOMES if kind == "ritual" else PROMISE_OUTCOMES)
    people = (0, 1) if kind == "ritual" else (0,)
    day_numbers = draw(st.lists(st.integers(0, 120), unique=True, max_size=14))
    decisions = {(day, who): draw(st.lists(outcomes, max_size=2)) for day in day_numbers for who in people}
    slots = [slot for slot, values in decisions.items() for _ in values]
    order = draw(st.permutations(slots))
    nth = dict.fromkeys(decisions, 0)
    events = []
    for slot in order:  # the k-th time a slot comes up, it takes its k-th outcome, so each slot's last one is final
        events.append((*slot, decisions[slot][nth[slot]], draw(st.booleans())))
        nth[slot] += 1
    return kind, day_numbers, people, events


def check_incremental_equals_recompute(database, case) -> None:
    """Decide the case's events one by one; every stored figure must equal a recompute of the final outcomes."""
    session = database.sessions()
    kind, day_numbers, people, events = case
    try:
        circle, alice, bob = stored_couple(session)
        persons = (alice, bob)
        subject = stored_ritual(session, circle) if kind == "ritual" else stored_promise(session, circle, alice, bob)
        rows = {
            day: occurrence(session, subject, FIRST + day * DAY, [persons[who] for who in people])
            for day in day_numbers
        }
        final: dict[int, dict[int, str]] = {who: {} for who in people}
        for day, who, outcome, repeated in events:
            decide(session, rows[day], persons[who], outcome)
            if repeated:
                streak_figures.outcome_decided(session, rows[day], persons[who].id, FIRST)
            final[who][day] = outcome
        for who in people:
            expected = recompute([(FIRST + day * DAY, outcome) for day, outcome in final[who].items()])
            assert stored(session, subject, persons[who]) == expected
            key = streak_figures.FigureKey(kind, subject.id, persons[who].id)
            if expected != StreakState():
                assert streak_figures.recompute_figure(session, key) is False
    finally:
        session.rollback()
        session.close()
