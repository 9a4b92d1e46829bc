"""Pictures of how things are kept, as inline SVG for the pages (SPEC §11): a 12-week heatmap and a strength line.

Pure: data in, markup out. Every picture carries its text alternative
(`role="img"` and an `aria-label` saying what it shows), and every cell a
`<title>`; titles are escaped. Geometry is in user units, scaled to the
phone's width by the viewBox. Colours are the digest's (service.core.digest_text).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from html import escape

from service.core.digest_text import CELL_COLORS, CELL_LABELS, WEEKDAY_LETTERS, WRITTEN_DAY
from service.core.streaks import STRENGTH_MULTIPLIER

_CELL, _GAP, _LEFT, _TOP = 14, 3, 14, 4
_LINE_WIDTH, _LINE_HEIGHT = 300, 60

Cell = str | None  # "kept", "missed", "skipped", "pending" or None (nothing that day)


def heatmap_svg(title: str, first_day: date, cells: Sequence[Cell]) -> str:
    """One column per week, one row per weekday, from `first_day` (a Monday) for len(cells) days."""
    weeks = (len(cells) + 6) // 7
    width = _LEFT + weeks * (_CELL + _GAP)
    height = _TOP + 7 * (_CELL + _GAP)
    counts = Counter(cell for cell in cells if cell is not None)
    summary = ", ".join(
        f"{counts[state]} {CELL_LABELS[state]}" for state in ("kept", "missed", "skipped") if state in counts
    )
    label = f"{title}, last {weeks} weeks: {summary or 'nothing counted yet'}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="heatmap" '
        f'role="img" aria-label="{escape(label)}" font-family="sans-serif" font-size="10">'
    ]
    for row in (0, 2, 4):
        parts.append(f'<text x="0" y="{_TOP + row * (_CELL + _GAP) + 11}" fill="#444">{WEEKDAY_LETTERS[row]}</text>')
    for index, cell in enumerate(cells):
        day = first_day + timedelta(days=index)
        x, y = _LEFT + (index // 7) * (_CELL + _GAP), _TOP + (index % 7) * (_CELL + _GAP)
        parts.append(
            f'<rect x="{x}" y="{y}" width="{_CELL}" height="{_CELL}" rx="3" fill="{CELL_COLORS[cell]}">'
            f"<title>{day.strftime(WRITTEN_DAY)}: {CELL_LABELS[cell]}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)


def strength_history(final: float, outcomes: Sequence[str]) -> list[float]:
    """Strength (0..1) before and after each of the latest counted `outcomes`, ending at the stored `final` value.

    Smoothing runs forward (s = s·m + v·(1−m)); here it is undone backwards from
    today's figure, so only the window's outcomes are needed, not the whole history.
    A skip leaves strength unchanged.
    """
    values = [final]
    strength = final
    for outcome in reversed(outcomes):
        if outcome == "skipped":
            pass
        else:
            kept = 1.0 if outcome in ("done", "on_time", "late") else 0.0
            strength = (strength - kept * (1 - STRENGTH_MULTIPLIER)) / STRENGTH_MULTIPLIER
        values.append(min(max(strength, 0.0), 1.0))
    return values[::-1]


def strength_line_svg(title: str, values: Sequence[float]) -> str:
    """A line of strength 0..100 % over the counted occurrences shown, with the start and end in its label."""
    first, last = (values[0], values[-1]) if values else (0.0, 0.0)
    label = f"{title}: strength went from {round(first * 100)}% to {round(last * 100)}%"
    steps = max(len(values) - 1, 1)
    points = " ".join(
        f"{i * _LINE_WIDTH / steps:.1f},{_LINE_HEIGHT - 2 - value * (_LINE_HEIGHT - 4):.1f}"
        for i, value in enumerate(values)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_LINE_WIDTH} {_LINE_HEIGHT}" class="strength" '
        f'role="img" aria-label="{escape(label)}" preserveAspectRatio="none">'
        f'<line x1="0" y1="{_LINE_HEIGHT / 2}" x2="{_LINE_WIDTH}" y2="{_LINE_HEIGHT / 2}" stroke="#bbb" stroke-dasharray="4 4"/>'
        f'<polyline points="{points}" fill="none" stroke="#1b5e20" stroke-width="2.5" vector-effect="non-scaling-stroke"/>'
        "</svg>"
    )
