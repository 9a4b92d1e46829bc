"""Incremental figures equal a full recompute on SQLite too: the upsert that advances them is dialect-specific."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from service import streak_figures
from service.core.streaks import StreakState, recompute
from service.db import Database
from service.migrate import upgrade
from service.models import OccurrenceOutcome
from tests.streaks.helpers import DAY, FIRST, couple, daily_promise, daily_ritual, decide, occurrence, stored
from tests.streaks.test_figures_property import decision_orders


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('figures')}/tend.db"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(decision_orders())
def test_incremental_figures_equal_a_full_recompute_on_sqlite(sqlite_db, case):
    kind, day_numbers, people, events = case
    session = sqlite_db.sessions()
    try:
        circle, alice, bob = couple(session)
        persons = (alice, bob)
        subject = daily_ritual(session, circle) if kind == "ritual" else daily_promise(session, circle, alice, bob)
        rows = {day: occurrence(session, subject, FIRST + day * DAY, [persons[who] for who in people])
                for day in day_numbers}
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


def test_fold_returns_what_it_stores_on_sqlite(sqlite_db):
    session = sqlite_db.sessions()
    try:
        circle, alice, _ = couple(session)
        ritual = daily_ritual(session, circle)
        first, second = (occurrence(session, ritual, FIRST + n * DAY, [alice]) for n in (0, 1))
        key = streak_figures.FigureKey("ritual", ritual.id, alice.id)
        decide(session, second, alice, "done")
        assert streak_figures.stored_state(session, key) == recompute([(second.at, "done")])
        session.get(OccurrenceOutcome, (first.id, alice.id)).outcome = "done"
        session.flush()
        backfilled = streak_figures.fold(session, key, first.at, "done")  # before the latest: a re-fold
        assert backfilled == recompute([(first.at, "done"), (second.at, "done")]) != recompute([(second.at, "done")])
        assert streak_figures.stored_state(session, key) == backfilled
        assert streak_figures.fold(session, key, second.at, "done") == backfilled  # a repeat changes nothing
    finally:
        session.rollback()
        session.close()
