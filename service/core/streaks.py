"""Streaks, strength and kept rates of one person's occurrences (SPEC §5).

Pure: callers pass occurrences as (start instant, outcome) pairs, with aware
UTC instants, and pass `now`; nothing here reads the clock or the database.

Streaks and strength depend on the whole history but only move forward, so
they are stored per (subject, person) as a `StreakState` and advanced in O(1)
as each occurrence is counted. `recompute` rebuilds the same state from the
full history: it is the repair path and the path for back-fills, which land
before the latest counted occurrence. Rates are windowed and therefore never
stored: `rates` and `reliability` look only at occurrences of the last 30 days
(`counted_in`: started in it, or decided ahead of their start), so callers can
bound their query to that window and to decided ones after it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import reduce


class Outcome(StrEnum):
    """A person's outcome of one occurrence; `done` is a ritual's, `on_time` / `late` a promise's."""

    PENDING = "pending"
    DONE = "done"
    ON_TIME = "on_time"
    LATE = "late"
    SKIPPED = "skipped"
    MISSED = "missed"


KEPT = frozenset({Outcome.DONE, Outcome.ON_TIME, Outcome.LATE})
COUNTED = KEPT | {Outcome.SKIPPED, Outcome.MISSED}
OUTCOMES = COUNTED | {Outcome.PENDING}

# Half-life of 13 occurrences: after 13 kept ones strength reaches 0.5.
STRENGTH_MULTIPLIER = 0.5 ** (1 / 13)

WEEK = timedelta(days=7)
MONTH = timedelta(days=30)

Occurrence = tuple[datetime, str]


@dataclass(frozen=True)
class StreakState:
    """The figures stored per (subject, person); enough to advance in O(1)."""

    current_streak: int = 0
    longest_streak: int = 0
    strength: float = 0.0  # 0..1; shown to people via `as_percent`
    last_counted_at: datetime | None = None  # instant of the latest counted occurrence


@dataclass(frozen=True)
class Rates:
    """Windowed rates over [now - 7 days, now) and [now - 30 days, now) (see `counted_in`); None when nothing counts."""

    kept_rate_7d: float | None
    kept_rate_30d: float | None
    on_time_rate_30d: float | None


def advance(state: StreakState, at: datetime, outcome: str) -> StreakState:
    """Fold one newly counted occurrence into `state`.

    A pending occurrence is still open and changes nothing. An occurrence at or
    before `state.last_counted_at` raises ValueError: order matters to streaks
    and strength, so such a back-fill (or a changed outcome) needs `recompute`.
    """
    _check_outcome(outcome)
    if outcome == "pending":
        return state
    if state.last_counted_at is not None and at <= state.last_counted_at:
        raise ValueError(
            f"occurrence at {at.isoformat()} is not after the latest counted one "
            f"({state.last_counted_at.isoformat()}); recompute from the full history"
        )
    if outcome == "skipped":
        return replace(state, last_counted_at=at)
    if outcome == "missed":
        return replace(state, current_streak=0, strength=_smooth(state.strength, 0.0), last_counted_at=at)
    current = state.current_streak + 1
    return StreakState(
        current_streak=current,
        longest_streak=max(state.longest_streak, current),
        strength=_smooth(state.strength, 1.0),
        last_counted_at=at,
    )


def recompute(history: Iterable[Occurrence]) -> StreakState:
    """Rebuild the stored figures from a full history, in any order.

    Folds with `advance` in time order, so it gives exactly the incremental
    result. Two counted occurrences at the same instant raise ValueError: one
    subject has at most one occurrence per instant, so that is corrupt data.
    """
    in_time_order = sorted(history, key=lambda occurrence: occurrence[0])
    return reduce(lambda state, occurrence: advance(state, *occurrence), in_time_order, StreakState())


def rates(history: Iterable[Occurrence], now: datetime, *, promise: bool = False) -> Rates:
    """Kept rates over the last 7 and 30 days, and the on-time rate of a promise.

    Only occurrences of [now - 30 days, now) are read, as `counted_in` says. Rituals have
    no on-time rate (None); pass `promise=True` for a promise, because a promise
    whose recent occurrences were all missed looks like such a ritual but has an
    on-time rate of 0.
    """
    month = list(_started_within(history, now, MONTH))
    week = [outcome for at, outcome in month if at >= now - WEEK]
    month_outcomes = Counter(outcome for _, outcome in month)
    return Rates(
        kept_rate_7d=_kept_rate(Counter(week)),
        kept_rate_30d=_kept_rate(month_outcomes),
        on_time_rate_30d=_on_time_rate(month_outcomes) if promise else None,
    )


def reliability(histories: Iterable[Iterable[Occurrence]], now: datetime) -> float | None:
    """A person's reliability_30d: kept ÷ (kept + missed) over all their subjects' recent occurrences."""
    return _kept_rate(Counter(outcome for history in histories for _, outcome in _started_within(history, now, MONTH)))


def as_percent(fraction: float | None) -> float | None:
    """A 0..1 figure as the 0..100, one-decimal number the API and SMS show."""
    return None if fraction is None else round(100 * fraction, 1)


def _smooth(strength: float, value: float) -> float:
    return strength * STRENGTH_MULTIPLIER + value * (1 - STRENGTH_MULTIPLIER)


def counted_in(at: datetime, outcome: str, since: datetime, until: datetime, now: datetime) -> bool:
    """The one rule for what a window [since, until) of figures holds: kept rates, reliability, heatmaps, digests.

    An occurrence that started in it; and, in a window that ends now, one already
    decided ahead of its start (a promise kept early): a streak counts it at once,
    so every figure shown beside the streak counts it too. A window that ended
    before now leaves it to the window its start falls in, so none counts it twice.
    """
    _check_outcome(outcome)
    if since <= at < until:
        return True
    return until >= now and at >= until and outcome in COUNTED


def _started_within(history: Iterable[Occurrence], now: datetime, window: timedelta) -> Iterator[Occurrence]:
    for at, outcome in history:
        if counted_in(at, outcome, now - window, now, now):
            yield at, outcome


def kept_rate(outcomes: Iterable[str]) -> float | None:
    """kept ÷ (kept + missed): skipped and pending outcomes count neither way; None when nothing counts."""
    return _kept_rate(Counter(outcomes))


def _kept_rate(outcomes: Counter[str]) -> float | None:
    kept = sum(outcomes[outcome] for outcome in KEPT)
    return _ratio(kept, kept + outcomes[Outcome.MISSED])


def _on_time_rate(outcomes: Counter[str]) -> float | None:
    return _ratio(outcomes["on_time"], outcomes["on_time"] + outcomes["late"] + outcomes["missed"])


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _check_outcome(outcome: str) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; expected one of {sorted(OUTCOMES)}")
