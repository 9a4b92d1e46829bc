"""Incremental figures equal a full recompute, whatever order outcomes are decided in (PostgreSQL)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from tests.streaks.helpers import check_incremental_equals_recompute, decision_orders


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(decision_orders())
def test_incremental_figures_equal_a_full_recompute(db, case):
    check_incremental_equals_recompute(db, case)
