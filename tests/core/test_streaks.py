from datetime import UTC, datetime, timedelta
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.core.streaks import (
    KEPT,
    OUTCOMES,
    STRENGTH_MULTIPLIER,
    Rates,
    StreakState,
    advance,
    as_percent,
    counted_in,
    rates,
    recompute,
    reliability,
)

FIRST = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)


def every(step, outcomes, first=FIRST):
    """One occurrence per step; None leaves a gap, as a pause does."""
    return [(first + i * step, outcome) for i, outcome in enumerate(outcomes) if outcome is not None]


def daily(outcomes, first=FIRST):
    return every(DAY, outcomes, first)


def approx(value):
    return pytest.approx(value, abs=1e-6)


# Loop Habit Tracker's published habit scores for a daily habit.


def test_twenty_consecutive_done_days_match_loop_score():
    state = recompute(daily(["done"] * 20))
    assert state.strength == approx(0.655747)
    assert as_percent(state.strength) == 65.6


def test_one_done_day_matches_loop_score():
    state = recompute(daily(["done"]))
    assert state.strength == approx(0.051922)
    assert as_percent(state.strength) == 5.2


def test_thirteen_done_days_reach_half_strength():
    state = recompute(daily(["done"] * 13))
    assert state.strength == approx(0.5)
    assert as_percent(state.strength) == 50.0


def test_skips_at_sixth_eleventh_and_twelfth_most_recent_day_match_loop_score():
    outcomes = ["done"] * 20
    for nth_most_recent in (6, 11, 12):
        outcomes[-nth_most_recent] = "skipped"
    state = recompute(daily(outcomes))
    assert state.strength == approx(0.596033)
    assert as_percent(state.strength) == 59.6
    assert state.current_streak == 17


# Our own vectors.


def test_empty_history_has_zero_figures_and_null_rates():
    assert recompute([]) == StreakState(0, 0, 0.0, None)
    assert rates([], NOW, promise=True) == Rates(None, None, None)
    assert reliability([], NOW) is None
    assert reliability([[], []], NOW) is None
    assert as_percent(None) is None


def test_a_still_open_pending_occurrence_never_counts():
    history = daily(["done", "done", "done"], first=NOW - 4 * DAY) + [(NOW - DAY, "pending")]
    state = recompute(history)
    assert state == recompute(history[:3])
    assert state.last_counted_at == NOW - 2 * DAY
    assert advance(state, NOW - 10 * DAY, "pending") is state
    assert rates(history, NOW) == Rates(1.0, 1.0, None)
    assert reliability([[(NOW - DAY, "pending")]], NOW) is None


def test_a_skip_at_the_start_leaves_strength_at_zero_and_still_counts_as_latest():
    state = advance(StreakState(), FIRST, "skipped")
    assert state == StreakState(0, 0, 0.0, FIRST)
    state = recompute(daily(["skipped", "done", "done"]))
    assert (state.current_streak, state.longest_streak) == (2, 2)
    assert state.strength == approx(0.101149)


def test_a_skip_neither_breaks_nor_extends_a_streak():
    state = recompute(daily(["done", "skipped", "skipped", "done"]))
    assert (state.current_streak, state.longest_streak) == (2, 2)
    assert state.strength == approx(0.101149)
    assert state.last_counted_at == FIRST + 3 * DAY


def test_a_miss_resets_the_current_streak_but_the_longest_is_kept():
    state = recompute(daily(["done"] * 5 + ["missed"] + ["done"] * 2))
    assert (state.current_streak, state.longest_streak) == (2, 5)
    assert state.strength == approx(0.300574)


def test_a_miss_lowers_strength_and_a_later_skip_freezes_it():
    state = recompute(daily(["done", "done", "missed", "skipped", "done"]))
    assert (state.current_streak, state.longest_streak) == (1, 2)
    assert state.strength == approx(0.142840)


def test_only_misses_give_zero_strength_and_zero_kept_rate():
    history = daily(["missed"] * 3, first=NOW - 3 * DAY)
    assert recompute(history) == StreakState(0, 0, 0.0, NOW - DAY)
    assert rates(history, NOW) == Rates(0.0, 0.0, None)


def test_a_pause_is_a_gap_that_does_not_break_the_streak():
    paused = daily(["done"] * 5 + [None] * 10 + ["done"] * 3)
    state = recompute(paused)
    assert (state.current_streak, state.longest_streak) == (8, 8)
    assert state.strength == recompute(daily(["done"] * 8)).strength == approx(0.347244)


def test_a_weekly_ritual_halves_toward_full_strength_in_thirteen_occurrences_not_days():
    state = recompute(every(WEEK, ["done"] * 13))
    assert state.strength == approx(0.5)
    assert state.current_streak == 13


def test_a_weekly_ritual_has_one_occurrence_in_the_seven_day_window():
    history = every(WEEK, ["done", "done", "done", "missed"], first=NOW - 4 * WEEK + timedelta(hours=1))
    assert rates(history, NOW) == Rates(0.0, 0.75, None)


def test_promises_count_on_time_and_late_as_kept_and_report_an_on_time_rate():
    history = daily(["on_time", "late", "missed", "on_time"], first=NOW - 4 * DAY)
    state = recompute(history)
    assert (state.current_streak, state.longest_streak) == (1, 2)
    assert state.strength == approx(0.142840)
    assert rates(history, NOW, promise=True) == Rates(0.75, 0.75, 0.5)


def test_a_promise_missed_every_time_has_an_on_time_rate_of_zero():
    history = daily(["missed", "missed"], first=NOW - 2 * DAY)
    assert rates(history, NOW, promise=True).on_time_rate_30d == 0.0


def test_a_ritual_has_no_on_time_rate():
    history = daily(["done", "missed"], first=NOW - 2 * DAY)
    assert rates(history, NOW).on_time_rate_30d is None


def test_skipped_occurrences_stay_out_of_the_rates():
    assert rates(daily(["done", "skipped"], first=NOW - 2 * DAY), NOW) == Rates(1.0, 1.0, None)
    assert rates(daily(["skipped"], first=NOW - DAY), NOW, promise=True) == Rates(None, None, None)


def test_rate_windows_include_their_start_and_exclude_now():
    history = [
        (NOW, "pending"),
        (NOW - WEEK, "done"),
        (NOW - WEEK - timedelta(seconds=1), "missed"),
        (NOW - 30 * DAY, "done"),
        (NOW - 30 * DAY - timedelta(microseconds=1), "missed"),
    ]
    result = rates(history, NOW)
    assert result.kept_rate_7d == 1.0
    assert result.kept_rate_30d == pytest.approx(2 / 3)


def test_an_occurrence_decided_ahead_of_its_start_counts_in_windows_that_end_now_only():
    kept_early = [(NOW + 6 * HOUR, "on_time"), (NOW + DAY, "pending")]
    assert rates(kept_early, NOW, promise=True) == Rates(1.0, 1.0, 1.0)
    assert reliability([kept_early], NOW) == 1.0
    assert counted_in(NOW + HOUR, "done", NOW - WEEK, NOW, NOW)
    assert not counted_in(NOW + HOUR, "pending", NOW - WEEK, NOW, NOW)
    assert not counted_in(NOW + HOUR, "done", NOW - WEEK - DAY, NOW - DAY, NOW)  # a past week: the next one has it


def test_reliability_pools_a_persons_ritual_and_promise_over_thirty_days():
    ritual = [(NOW - 2 * DAY, "done"), (NOW - DAY, "missed"), (NOW - 40 * DAY, "missed"), (NOW, "pending")]
    promise = [(NOW - 20 * DAY, "on_time"), (NOW - 10 * DAY, "late"), (NOW - 3 * DAY, "missed")]
    assert reliability([ritual, promise], NOW) == pytest.approx(3 / 5)


def test_advance_refuses_an_occurrence_not_after_the_latest_counted_one():
    state = recompute(daily(["done", "done"]))
    with pytest.raises(ValueError, match="recompute"):
        advance(state, FIRST, "missed")
    with pytest.raises(ValueError, match="recompute"):
        advance(state, FIRST + DAY, "skipped")


def test_recompute_repairs_a_back_filled_occurrence():
    history = daily(["done", "missed", "done"])
    back_filled = [history[0], (history[1][0], "done"), history[2]]
    state = recompute(back_filled)
    assert (state.current_streak, state.longest_streak) == (3, 3)


def test_unknown_outcomes_are_rejected():
    with pytest.raises(ValueError, match="unknown outcome"):
        advance(StreakState(), FIRST, "kept")
    with pytest.raises(ValueError, match="unknown outcome"):
        rates([(NOW - DAY, "DONE")], NOW)


def test_two_counted_occurrences_at_one_instant_are_refused_by_recompute():
    with pytest.raises(ValueError):
        recompute([(FIRST, "done"), (FIRST, "missed")])


def test_as_percent_rounds_to_one_decimal():
    assert as_percent(1.0) == 100.0
    assert as_percent(0.0) == 0.0
    assert as_percent(0.12345) == 12.3


# Properties over random histories.

histories = st.lists(
    st.tuples(st.integers(min_value=0, max_value=60 * 24 * 365), st.sampled_from(sorted(OUTCOMES))),
    unique_by=lambda entry: entry[0],
    max_size=80,
).map(lambda entries: [(FIRST + timedelta(minutes=minutes), outcome) for minutes, outcome in entries])


def expected_state(history):
    """An independent reading of SPEC §5, written without `advance`."""
    counted = [outcome for _, outcome in sorted(history) if outcome != "pending"]
    runs = "".join("k" if o in KEPT else "m" for o in counted if o != "skipped").split("m")
    scored = [o for o in counted if o != "skipped"]
    strength = sum(
        (1 - STRENGTH_MULTIPLIER) * STRENGTH_MULTIPLIER ** (len(scored) - 1 - i)
        for i, outcome in enumerate(scored)
        if outcome in KEPT
    )
    last = max((at for at, outcome in history if outcome != "pending"), default=None)
    return len(runs[-1]), max(len(run) for run in runs), strength, last


@given(histories, st.randoms(use_true_random=False))
def test_incremental_figures_equal_a_full_recompute(history, rng: Random):
    incremental = StreakState()
    for at, outcome in sorted(history):
        incremental = advance(incremental, at, outcome)
    shuffled = list(history)
    rng.shuffle(shuffled)
    assert recompute(shuffled) == incremental


@given(histories)
def test_figures_follow_the_spec_and_stay_in_bounds(history):
    state = recompute(history)
    current, longest, strength, last = expected_state(history)
    assert (state.current_streak, state.longest_streak, state.last_counted_at) == (current, longest, last)
    assert state.strength == approx(strength)
    assert 0 <= state.current_streak <= state.longest_streak
    assert 0.0 <= state.strength <= 1.0


@given(histories)
def test_rates_are_fractions_or_null(history):
    now = FIRST + timedelta(days=200)
    result = rates(history, now, promise=True)
    for rate in (result.kept_rate_7d, result.kept_rate_30d, result.on_time_rate_30d):
        assert rate is None or 0.0 <= rate <= 1.0
    assert reliability([history], now) == result.kept_rate_30d
