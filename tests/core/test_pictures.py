"""Pictures for the pages: the heatmap and the strength line carry text alternatives and escape titles."""

from __future__ import annotations

from datetime import UTC, date, datetime

from service.core import pictures
from service.core.streaks import StreakState, advance


def test_heatmap_has_a_cell_per_day_and_a_text_alternative():
    cells = ["kept", "missed", None, "skipped", "pending"] + [None] * 79
    svg = pictures.heatmap_svg("<Walk>", date(2026, 9, 7), cells)
    assert svg.count("<rect") == 84
    assert 'aria-label="&lt;Walk&gt;, last 12 weeks: 1 kept, 1 missed, 1 skipped"' in svg
    assert "<Walk>" not in svg
    assert "Tue 8 Sep: missed" in svg


def test_strength_history_undoes_the_smoothing_back_to_the_window_start():
    outcomes = ["done", "done", "missed", "skipped", "done"]
    state = StreakState()
    forward = [0.0]
    for day, outcome in enumerate(outcomes):
        state = advance(state, datetime(2026, 12, 1 + day, tzinfo=UTC), outcome)
        forward.append(state.strength)
    back = pictures.strength_history(state.strength, outcomes)
    assert [round(v, 9) for v in back] == [round(v, 9) for v in forward]


def test_strength_line_says_where_it_went():
    svg = pictures.strength_line_svg("Walk", [0.0, 0.25, 0.5])
    assert 'aria-label="Walk: strength went from 0% to 50%"' in svg and "<polyline" in svg
