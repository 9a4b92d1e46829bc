"""Incremental figures equal a full recompute on SQLite too: the upsert that advances them is dialect-specific."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from service.core.streaks import recompute
from service.domain import streak_figures
from service.domain.db import Database
from service.domain.migrate import upgrade
from service.domain.models import OccurrenceOutcome
from tests.builders import stored_couple, stored_ritual
from tests.streaks.helpers import DAY, FIRST, check_incremental_equals_recompute, decide, decision_orders, occurrence


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
    check_incremental_equals_recompute(sqlite_db, case)


def test_fold_returns_what_it_stores_on_sqlite(sqlite_db):
    session = sqlite_db.sessions()
    try:
        circle, alice, _ = stored_couple(session)
        ritual = stored_ritual(session, circle)
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
