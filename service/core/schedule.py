"""Schedule engine: a ritual's or promise's local start and RRULE, expanded into UTC instants.

SPEC §3: rules are expanded with dateutil in local wall time, so a daily 07:30 ritual stays at
07:30 local on both sides of a DST change; each wall time is then placed on the UTC timeline.
A wall time that does not exist (spring forward) moves forward by the gap, as RFC 5545 says;
an ambiguous one (fall back) is the first of its two instants.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import dateutil.rrule as _dateutil_rrule
from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

from service.core import zones

_MAX_RULE_LENGTH = 500
_MAX_INTERVAL = 366
_MAX_COUNT = 10_000
# Validation looks for a rule's first occurrence in at most this many steps, a step being about the work
# dateutil does for one daily period; weekly, monthly and yearly periods cost more (they build and filter
# a longer day set), measured: PERIOD_STEPS. Bounded work whatever the rule (under 10 ms here); a rule
# whose first occurrence lies further than that from its start is refused.
STEP_CAP = 800
PERIOD_STEPS = {"day": 1, "week": 2, "month": 6, "year": 40, "new year": 10}
# The characters of an RRULE (RFC 5545 §3.3.10): ASCII letters, digits and separators only.
_RULE_CHARACTERS = re.compile(r"[A-Z0-9=;,+\-]+")
# Per BY part: the range of its (absolute) values, per RFC 5545 §3.3.10.
_BY_RANGES = {
    "BYSECOND": (0, 60),
    "BYMINUTE": (0, 59),
    "BYHOUR": (0, 23),
    "BYMONTHDAY": (1, 31),
    "BYYEARDAY": (1, 366),
    "BYWEEKNO": (1, 53),
    "BYMONTH": (1, 12),
    "BYSETPOS": (1, 366),
}
_SIGNED = frozenset({"BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"})
# The most instants one period can hold (one time a day), so the furthest BYSETPOS can reach.
_PERIOD_DAYS = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 31, "YEARLY": 366}
_WEEKDAYS = frozenset({"MO", "TU", "WE", "TH", "FR", "SA", "SU"})
# The largest ordinal a BYDAY may carry, per FREQ ("2MO": the second Monday of the month or year).
_BYDAY_ORDINALS = {"DAILY": 0, "WEEKLY": 0, "MONTHLY": 5, "YEARLY": 53}
# A wall time before a window's local start can still land in it, moved forward by a gap (up to
# a whole day: Samoa skipped 30 December 2011), so local searches start this much earlier.
_OFFSET_MARGIN = timedelta(days=2)
# The smallest datetime step: "after until - _RESOLUTION" means "at or after until".
_RESOLUTION = timedelta(microseconds=1)

# RFC 5545 §3.3.10 recur-rule-parts; dateutil extensions such as BYEASTER are not accepted.
_RULE_PARTS = frozenset(
    {
        "FREQ",
        "UNTIL",
        "COUNT",
        "INTERVAL",
        "BYSECOND",
        "BYMINUTE",
        "BYHOUR",
        "BYDAY",
        "BYMONTHDAY",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYMONTH",
        "BYSETPOS",
        "WKST",
    }
)
# Several values in one of these would mean several reminders a day.
_ONE_VALUE_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
# Per FREQ: the relativedelta unit of one period and the longest that period can be, in days.
_PERIODS = {"DAILY": ("days", 1), "WEEKLY": ("weeks", 7), "MONTHLY": ("months", 31), "YEARLY": ("years", 366)}
# Present in available_timezones() but not places: the host's own zone and tzdata's "-00".
_NOT_PLACES = frozenset({"localtime", "Factory"})


class OutOfSteps(Exception):
    """A rule used up its step budget (see `counted_steps`)."""


_budget = threading.local()


_Iterinfo: Any = getattr(_dateutil_rrule, "_iterinfo")  # noqa: B009 - dateutil's private per-period helper


class _CountedIterinfo(_Iterinfo):  # type: ignore[misc]
    """dateutil's per-period helper, charging one step per period while a budget is set (in this thread).

    dateutil walks periods (days, weeks, months, years) until one yields an
    instant, to year 9999 for a rule that never does; every period passes
    through one of these methods, so counting here bounds that walk.
    """

    __slots__ = ()

    def __init__(self, rule: rrule) -> None:
        for attr in _Iterinfo.__slots__:  # dateutil sets its slots from `self.__slots__`, empty here
            setattr(self, attr, None)
        self.rrule = rule  # type: ignore[misc]  # one of dateutil's slots, set as dateutil does

    @staticmethod
    def _spend(steps: int) -> None:
        left = getattr(_budget, "left", None)
        if left is None:
            return
        if left < steps:
            raise OutOfSteps
        _budget.left = left - steps

    def rebuild(self, year: int, month: int) -> Any:
        if year != self.lastyear:  # a new year's masks: as much work as several periods
            self._spend(PERIOD_STEPS["new year"])
        return super().rebuild(year, month)

    def ydayset(self, *args: Any) -> Any:
        self._spend(PERIOD_STEPS["year"])
        return super().ydayset(*args)

    def mdayset(self, *args: Any) -> Any:
        self._spend(PERIOD_STEPS["month"])
        return super().mdayset(*args)

    def wdayset(self, *args: Any) -> Any:
        self._spend(PERIOD_STEPS["week"])
        return super().wdayset(*args)

    def ddayset(self, *args: Any) -> Any:
        self._spend(PERIOD_STEPS["day"])
        return super().ddayset(*args)


setattr(_dateutil_rrule, "_iterinfo", _CountedIterinfo)  # noqa: B010 - every rrule iteration from now on; free unless a budget is set


class counted_steps:
    """`with counted_steps(n):` dateutil iteration in this thread raises OutOfSteps after n steps."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def __enter__(self) -> counted_steps:
        _budget.left = self.steps
        return self

    @property
    def used(self) -> int:
        return self.steps - (getattr(_budget, "left", None) or 0)

    def __exit__(self, *exc: object) -> None:
        self.spent = self.used
        _budget.left = None


class ScheduleError(ValueError):
    """A schedule that cannot be accepted; `field` names the input at fault for API errors."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


FIRST_YEAR, LAST_YEAR = 2000, 2200


def check_year(moment: date | datetime, field: str) -> None:
    """Tend's dates lie in the years 2000 to 2200 (at every door): far from the ends of Python's calendar,
    where moving an instant to another zone or stepping a rule overflows."""
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ScheduleError(f"The year must be between {FIRST_YEAR} and {LAST_YEAR}.", field=field)


@dataclass(frozen=True)
class Schedule:
    """When a ritual or promise happens: a local start, its zone, an optional RRULE and pauses."""

    start_local: datetime
    timezone: str
    rrule: str | None = None
    pauses: tuple[tuple[datetime, datetime], ...] = ()


def parse_timezone(name: str) -> ZoneInfo:
    """The IANA zone called `name` in the tz database in use (service.core.zones), checked against
    its zone list so paths and junk never reach the disk."""
    database = zones.current()
    if name not in database.names or name in _NOT_PLACES:
        raise ScheduleError(f"unknown time zone {name!r}; use an IANA name such as Europe/London", field="timezone")
    return database.zone(name)


def local_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """Place a naive wall time on the UTC timeline.

    fold=0 reads a wall time with the offset in force before a transition: for an ambiguous
    time that is the first instant, for a nonexistent one it lands the gap later (PEP 495).
    """
    if local.tzinfo is not None:
        raise ScheduleError("a local time is a wall-clock time without a UTC offset", field="starts")
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def occurrence_local(instant: datetime, timezone: str) -> datetime:
    """The naive wall time of a UTC instant in `timezone` (for display and RECURRENCE-ID)."""
    return _as_utc(instant, "instant").astimezone(parse_timezone(timezone)).replace(tzinfo=None)


def validate_rrule(text: str, start_local: datetime, timezone: str = "UTC") -> str:
    """The RRULE body (no "RRULE:" prefix, upper case) if Tend can run it from `start_local`.

    `timezone` is the zone of `start_local`; it only matters for an UNTIL given in UTC.
    """
    return _compile(text, start_local, timezone).body


def occurrences_between(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """The schedule's UTC instants in [start, end), sorted, without duplicates or paused ones."""
    start, end = _as_utc(start, "start"), _as_utc(end, "end")
    found: set[datetime] = set()
    for instant in _instants_from(schedule, start):
        if instant >= end:
            break
        if instant >= start and _pause_end(schedule, instant) is None:
            found.add(instant)
    return sorted(found)


def next_occurrence(schedule: Schedule, after: datetime) -> datetime | None:
    """The first unpaused instant strictly after `after`, or None once the schedule has ended."""
    cursor = _as_utc(after, "after")
    while (instant := _first_instant_after(schedule, cursor)) is not None:
        pause_end = _pause_end(schedule, instant)
        if pause_end is None:
            return instant
        # Jump over the pause rather than walk every occurrence inside it.
        cursor = pause_end - _RESOLUTION
    return None


def is_occurrence(schedule: Schedule, instant: datetime) -> bool:
    """Whether `instant` is one of the schedule's (unpaused) instants."""
    return bool(occurrences_between(schedule, instant, instant + _RESOLUTION))


@dataclass(frozen=True)
class _Recurrence:
    """A validated RRULE ready to expand: the dateutil rule in wall time, minus its UNTIL."""

    body: str
    start: datetime
    rule: rrule
    freq: str
    interval: int
    counted: bool
    # UNTIL is applied here rather than by dateutil, which wants it naive when DTSTART is:
    # a naive wall time for a local UNTIL, an aware UTC instant for a "Z" one.
    until: datetime | None


@lru_cache(maxsize=1024)
def _compile(text: str, start_local: datetime, timezone: str) -> _Recurrence:
    tz = parse_timezone(timezone)
    start_instant = local_to_utc(start_local, tz)
    body = _rule_body(text)
    parts = _rule_parts(body)
    _check_limits(parts)
    rule_text = ";".join(f"{name}={value}" for name, value in parts.items() if name != "UNTIL")
    try:
        rule = rrulestr(rule_text, dtstart=start_local)
    except (ValueError, TypeError, IndexError, OverflowError) as error:  # dateutil's ways of refusing a rule
        raise ScheduleError(f"invalid RRULE: {error}", field="rrule") from error
    assert isinstance(rule, rrule), "one RRULE line parses to one rule, never a set"
    recurrence = _Recurrence(
        body=body,
        start=start_local,
        rule=rule,
        freq=parts["FREQ"],
        interval=int(parts.get("INTERVAL", "1")),
        counted="COUNT" in parts,
        until=_parse_until(parts["UNTIL"]) if "UNTIL" in parts else None,
    )
    _check_occurs(recurrence, start_instant, tz)
    return recurrence


def _rule_body(text: str) -> str:
    if len(text) > _MAX_RULE_LENGTH:
        raise ScheduleError(f"the RRULE is longer than {_MAX_RULE_LENGTH} characters", field="rrule")
    body = text.strip().upper().removeprefix("RRULE:")
    if any(mark in body for mark in ":\r\n"):
        raise ScheduleError("give a single RRULE line, without DTSTART or other properties", field="rrule")
    if not _RULE_CHARACTERS.fullmatch(body):
        raise ScheduleError("an RRULE has only ASCII letters, digits and = ; , + -", field="rrule")
    return body


def _rule_parts(body: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in body.split(";"):
        name, equals, value = item.partition("=")
        if not equals or not value:
            raise ScheduleError(f"invalid RRULE part {item!r}; expected NAME=VALUE", field="rrule")
        if name not in _RULE_PARTS:
            raise ScheduleError(f"unknown RRULE part {name!r}", field="rrule")
        if name in parts:
            raise ScheduleError(f"{name} appears twice in the RRULE", field="rrule")
        parts[name] = value
    return parts


def _check_limits(parts: dict[str, str]) -> None:
    if "FREQ" not in parts:
        raise ScheduleError("the RRULE needs a FREQ", field="rrule")
    if parts["FREQ"] not in _PERIODS:
        raise ScheduleError("a schedule repeats at most daily: use DAILY, WEEKLY, MONTHLY or YEARLY", field="rrule")
    for name in _ONE_VALUE_PARTS:
        if "," in parts.get(name, ""):
            raise ScheduleError(f"{name} takes one value: a schedule happens at most once a day", field="rrule")
    if "COUNT" in parts and "UNTIL" in parts:
        raise ScheduleError("use COUNT or UNTIL, not both", field="rrule")
    _check_whole_number(parts, "INTERVAL", _MAX_INTERVAL)
    _check_whole_number(parts, "COUNT", _MAX_COUNT)
    for name, (low, high) in _BY_RANGES.items():
        for value in _values(parts, name):
            number = value.removeprefix("-").removeprefix("+") if name in _SIGNED else value
            if not (number.isdigit() and low <= int(number) <= high and (name != "BYSETPOS" or int(number) > 0)):
                raise ScheduleError(f"{name} values are whole numbers from {low} to {high}", field="rrule")
    for value in _values(parts, "BYSETPOS"):
        if int(value.lstrip("+-")) > _PERIOD_DAYS[parts["FREQ"]]:
            most = _PERIOD_DAYS[parts["FREQ"]]
            raise ScheduleError(
                f"with FREQ={parts['FREQ']}, BYSETPOS is from 1 to {most} (or -1 to -{most})", field="rrule"
            )
    most = _BYDAY_ORDINALS.get(parts["FREQ"], 0)
    for value in _values(parts, "BYDAY"):
        ordinal, weekday = value[:-2], value[-2:]
        if weekday not in _WEEKDAYS:
            raise ScheduleError(f"BYDAY {value!r} must end in a weekday such as MO", field="rrule")
        if ordinal:
            number = ordinal.removeprefix("-").removeprefix("+")
            if not (number.isdigit() and 1 <= int(number) <= most):
                where = f"from 1 to {most} (or -1 to -{most})" if most else "not allowed with this FREQ"
                raise ScheduleError(f"BYDAY ordinals are {where}", field="rrule")


def _values(parts: dict[str, str], name: str) -> list[str]:
    values = parts[name].split(",") if name in parts else []
    if len(values) > 31:
        raise ScheduleError(f"{name} has more values than a schedule needs", field="rrule")
    return values


def _check_whole_number(parts: dict[str, str], name: str, highest: int) -> None:
    value = parts.get(name)
    if value is not None and not (value.isascii() and value.isdigit() and 1 <= int(value) <= highest):
        raise ScheduleError(f"{name} must be a whole number from 1 to {highest}", field="rrule")


def _parse_until(value: str) -> datetime:
    """RFC 5545 UNTIL as a date-time: UTC when it ends in Z, local wall time otherwise."""
    try:
        if value.endswith("Z"):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return datetime.strptime(value, "%Y%m%dT%H%M%S")
    except ValueError:
        raise ScheduleError(f"UNTIL {value!r} must be a date-time such as 20261231T235959Z", field="rrule") from None


def _check_occurs(recurrence: _Recurrence, start_instant: datetime, tz: ZoneInfo) -> None:
    """Reject rules with no occurrence within STEP_CAP steps of the start (e.g. BYMONTHDAY=30 in February).

    dateutil would search such a rule all the way to year 9999, seconds of CPU for a daily one; the
    step budget (`counted_steps`) stops it after a bounded number of periods, whatever the rule.
    """
    start = recurrence.start
    if _has_ended(recurrence, start, start_instant):
        raise ScheduleError("UNTIL is before the start", field="rrule")
    try:
        with counted_steps(STEP_CAP):
            first = next(iter(recurrence.rule), None)
    except OutOfSteps:
        first = None
    except (ValueError, OverflowError, IndexError):  # dateutil can step past year 9999 while still finding nothing
        first = None
    if first is None:
        raise ScheduleError(
            "the RRULE yields no occurrence soon enough after the start (Tend looks a bounded way ahead)",
            field="rrule",
        )
    if _has_ended(recurrence, first, local_to_utc(first, tz)):
        raise ScheduleError("the RRULE yields no occurrence between the start and UNTIL", field="rrule")


def _has_ended(recurrence: _Recurrence, wall: datetime, instant: datetime) -> bool:
    until = recurrence.until
    if until is None:
        return False
    return instant > until if until.tzinfo is not None else wall > until


def _rule_near(recurrence: _Recurrence, local: datetime) -> rrule:
    """The rule restarted a whole number of intervals before `local`.

    dateutil walks every period from DTSTART, which is slow for a rule started years ago.
    Moving DTSTART by whole intervals keeps the same occurrences (weekday, day of month, time
    and interval phase are unchanged) unless the move clamps a 31st or a 29 February, which would
    change what dateutil takes from DTSTART: such moves are passed over. COUNT is counted from
    the true start, so counted rules (at most 10,000 occurrences) are never restarted.
    """
    if recurrence.counted:
        return recurrence.rule
    unit, longest_days = _PERIODS[recurrence.freq]
    intervals = (local - recurrence.start).days // (longest_days * recurrence.interval)
    for whole in range(intervals, 0, -1):
        shift = relativedelta(**{unit: whole * recurrence.interval})  # type: ignore[arg-type]  # unit is a keyword
        moved = recurrence.start + shift
        if moved - shift == recurrence.start:
            return recurrence.rule.replace(dtstart=moved)
    return recurrence.rule


def _instants_from(schedule: Schedule, moment: datetime) -> Iterator[datetime]:
    """The schedule's UTC instants in order, from a little before `moment`, pauses not applied.

    Instants never decrease, because local_to_utc never runs backwards through a transition.
    """
    tz = parse_timezone(schedule.timezone)
    if schedule.rrule is None:
        yield local_to_utc(schedule.start_local, tz)
        return
    recurrence = _compile(schedule.rrule, schedule.start_local, schedule.timezone)
    local_from = moment.astimezone(tz).replace(tzinfo=None) - _OFFSET_MARGIN
    for wall in _rule_near(recurrence, local_from).xafter(local_from, inc=True):
        instant = local_to_utc(wall, tz)
        if _has_ended(recurrence, wall, instant):
            return
        yield instant


def _first_instant_after(schedule: Schedule, moment: datetime) -> datetime | None:
    return next((instant for instant in _instants_from(schedule, moment) if instant > moment), None)


def _pause_end(schedule: Schedule, instant: datetime) -> datetime | None:
    """The end of a pause covering `instant`, if any."""
    return next((until for paused, until in schedule.pauses if paused <= instant < until), None)


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return moment.astimezone(UTC)
