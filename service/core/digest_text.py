"""The weekly digest as an SMS (at most two segments) and as an SVG heatmap for its page (SPEC §7).

Both read the digest payload built by service.domain.digests: a dict with
`week_start` (ISO date), `subjects` ([{title, kept, expected, days: 7 cells}]),
`best_streak` ({title, current_streak} or None), `reliability` and
`reliability_change` (fractions or None). A cell is "kept", "missed",
"skipped", "pending" or None (nothing scheduled that day).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from html import escape
from textwrap import wrap
from typing import Any

from service.core.sms_text import TextTooLong, fit_segments

CELL_COLORS = {"kept": "#2e7d32", "missed": "#c62828", "skipped": "#9e9e9e", "pending": "#fbc02d", None: "#eeeeee"}
WRITTEN_DAY = "%a %-d %b"  # a day in a week's or a heatmap's square, as the pages write it: Fri 4 Dec
CELL_LABELS = {"kept": "kept", "missed": "missed", "skipped": "skipped", "pending": "open", None: "nothing scheduled"}
WEEKDAY_LETTERS = ("M", "T", "W", "T", "F", "S", "S")

# SVG geometry in user units; the viewBox scales it to the phone's width.
_LABEL_WIDTH, _CELL, _GAP, _HEADER = 120, 24, 4, 20
_LABEL_CHARS = 18
_LINE = 14  # a label's line height: a long title wraps onto more lines, its row grows to fit


def percent(rate: float | None) -> str | None:
    return None if rate is None else f"{round(rate * 100)}%"


def change_points(change: float | None) -> str | None:
    """A change of reliability in percentage points, signed: "+5", "-3", "+0"."""
    return None if change is None else f"{round(change * 100):+d}"


def digest_sms_text(payload: Mapping[str, Any], link: str) -> str:
    """The digest SMS; subjects that cannot fit are summed up as "+N more", the link always stays whole.

    A subject with nothing scheduled in the week ("0/0") has no kept/expected to tell: the page shows it, the SMS not.
    """
    subjects = [subject for subject in payload["subjects"] if subject["expected"]]
    for shown in range(len(subjects), -1, -1):
        try:
            return _digest_sms(payload, subjects[:shown], len(subjects) - shown, link)
        except TextTooLong:
            continue
    raise TextTooLong("the digest's fixed wording does not fit two segments")


def _digest_sms(payload: Mapping[str, Any], shown: Sequence[Mapping[str, Any]], hidden: int, link: str) -> str:
    counts = [f"{subject['kept']}/{subject['expected']}" for subject in shown]
    more = f", +{hidden} more" if hidden else ""
    tail = _figures_sentence(payload) + f" More: {link}"

    def render(*titles: str) -> str:
        listed = ", ".join(f"{title} {count}" for title, count in zip(titles, counts))
        return f"Tend week: {listed or 'nothing scheduled'}{more}.{tail}"

    return fit_segments(render, *(subject["title"] for subject in shown))


def _figures_sentence(payload: Mapping[str, Any]) -> str:
    best = payload.get("best_streak")
    text = f" Best streak {best['current_streak']}." if best else ""
    reliability = percent(payload.get("reliability"))
    if reliability is not None:
        change = change_points(payload.get("reliability_change"))
        text += f" Reliability {reliability}" + (f" ({change})." if change is not None else ".")
    return text


def heatmap_svg(payload: Mapping[str, Any]) -> str:
    """One row per subject, one cell per day; scales to any width through its viewBox."""
    week_start = date.fromisoformat(payload["week_start"])
    subjects = payload["subjects"]
    width = _LABEL_WIDTH + 7 * (_CELL + _GAP)
    labels = [wrap(subject["title"], _LABEL_CHARS) or [""] for subject in subjects]
    heights = [max(_CELL, _LINE * len(lines) + 6) for lines in labels]
    height = _HEADER + sum(row + _GAP for row in heights) if subjects else _HEADER + _CELL + _GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="Week heatmap" font-family="sans-serif" font-size="12">'
    ]
    for column in range(7):
        day = week_start + timedelta(days=column)
        x = _LABEL_WIDTH + column * (_CELL + _GAP) + _CELL / 2
        parts.append(f'<text x="{x:g}" y="14" text-anchor="middle">{WEEKDAY_LETTERS[day.weekday()]}</text>')
    y = _HEADER
    for subject, lines, row_height in zip(subjects, labels, heights, strict=True):
        spans = "".join(f'<tspan x="0" dy="{_LINE if i else 0}">{escape(line)}</tspan>' for i, line in enumerate(lines))
        parts.append(f'<text x="0" y="{y + 16}">{spans}</text>')
        for column, cell in enumerate(subject["days"]):
            day = week_start + timedelta(days=column)
            x = _LABEL_WIDTH + column * (_CELL + _GAP)
            parts.append(
                f'<rect x="{x}" y="{y}" width="{_CELL}" height="{_CELL}" rx="4" fill="{CELL_COLORS[cell]}">'
                f"<title>{escape(subject['title'])}, {day.strftime(WRITTEN_DAY)}: {CELL_LABELS[cell]}</title></rect>"
            )
        y += row_height + _GAP
    parts.append("</svg>")
    return "".join(parts)
