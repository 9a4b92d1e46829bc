"""The schedule picker of the ritual and promise pages, as rules: a choice people understand, as an RRULE.

Pages offer five ways a thing repeats (SPEC §11): every day, on weekdays, on
chosen weekdays, every N days, or weekly (on the start date's weekday). This
module turns such a choice into the RRULE body the schedule engine runs, reads
an RRULE back into a choice (for the edit form), lists the next occurrences in
local time for the preview, moves an off-rule start to the rule's first
occurrence (SPEC §8), and tells whether a reminder falls in quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from service.core.quiet_hours import quiet_until
from service.core.schedule import (
    Schedule,
    ScheduleError,
    check_year,
    local_to_utc,
    next_occurrence,
    occurrence_local,
    parse_timezone,
    validate_rrule,
)

DAILY, WEEKDAYS, CHOSEN_DAYS, EVERY_N_DAYS, WEEKLY, ONCE = "daily", "weekdays", "days", "every_n", "weekly", "once"
REPEATS: tuple[tuple[str, str], ...] = (
    (DAILY, "Every day"),
    (WEEKDAYS, "Weekdays (Monday to Friday)"),
    (CHOSEN_DAYS, "On chosen days of the week"),
    (EVERY_N_DAYS, "Every few days"),
    (WEEKLY, "Once a week (the start date's weekday)"),
)
DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PREVIEW_COUNT = 5


@dataclass(frozen=True)
class Choice:
    """What the picker says: how it repeats, on which weekdays (0 = Monday), and every how many days."""

    repeat: str
    weekdays: tuple[int, ...] = ()
    interval: int = 1


def rule_for(choice: Choice, start: date) -> str | None:
    """The RRULE body for a choice; None for something that happens once. Raises ScheduleError naming the field."""
    if choice.repeat == ONCE:
        return None
    if choice.repeat == DAILY:
        return "FREQ=DAILY"
    if choice.repeat == WEEKDAYS:
        return "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    if choice.repeat == CHOSEN_DAYS:
        if not choice.weekdays or not set(choice.weekdays) <= set(range(7)):
            raise ScheduleError("Choose at least one day of the week.", field="weekdays")
        return "FREQ=WEEKLY;BYDAY=" + ",".join(DAY_CODES[day] for day in sorted(set(choice.weekdays)))
    if choice.repeat == EVERY_N_DAYS:
        if not 2 <= choice.interval <= 366:
            raise ScheduleError("Give a number of days from 2 to 366.", field="interval")
        return f"FREQ=DAILY;INTERVAL={choice.interval}"
    if choice.repeat == WEEKLY:
        return f"FREQ=WEEKLY;BYDAY={DAY_CODES[start.weekday()]}"
    raise ScheduleError("Choose how it repeats.", field="repeat")


def choice_of(rule: str | None, start: date) -> Choice | None:
    """Read a stored RRULE back into the picker's choice; None when the picker cannot show it (set by the API)."""
    if rule is None:
        return Choice(ONCE)
    parts = dict(part.partition("=")[::2] for part in rule.upper().split(";"))
    freq, interval, days = parts.pop("FREQ", ""), parts.pop("INTERVAL", "1"), parts.pop("BYDAY", "")
    parts.pop("WKST", None)
    if parts or not interval.isdecimal():
        return None
    if freq == "DAILY" and not days:
        return Choice(DAILY) if interval == "1" else Choice(EVERY_N_DAYS, interval=int(interval))
    if freq == "WEEKLY" and interval == "1" and days and all(code in DAY_CODES for code in days.split(",")):
        chosen = tuple(sorted(DAY_CODES.index(code) for code in days.split(",")))
        if chosen == (0, 1, 2, 3, 4):
            return Choice(WEEKDAYS)
        if chosen == (start.weekday(),):
            return Choice(WEEKLY)
        return Choice(CHOSEN_DAYS, weekdays=chosen)
    return None


def describe(rule: str | None, start: date) -> str:
    """A short phrase for a schedule ("weekdays", "every 3 days"), or "custom" for what the picker cannot show."""
    choice = choice_of(rule, start)
    if choice is None:
        return "custom schedule"
    if choice.repeat == ONCE:
        return "once"
    if choice.repeat == DAILY:
        return "every day"
    if choice.repeat == WEEKDAYS:
        return "weekdays"
    if choice.repeat == EVERY_N_DAYS:
        return f"every {choice.interval} days"
    if choice.repeat == WEEKLY:
        return f"every {DAY_NAMES[start.weekday()]}"
    return "on " + ", ".join(DAY_NAMES[day][:3] for day in choice.weekdays)


@dataclass(frozen=True)
class Placed:
    """A start placed on its rule: `moved` when the asked-for start was not itself an occurrence."""

    start: datetime
    rule: str | None
    moved: bool


def place_start(start: datetime, timezone: str, rule: str | None) -> Placed:
    """Validate the rule from `start` and move an off-rule start forward to the rule's first occurrence (SPEC §8)."""
    check_year(start, "starts")
    zone = parse_timezone(timezone)
    if rule is None:
        return Placed(start, None, False)
    body = validate_rrule(rule, start, timezone)
    begins = local_to_utc(start, zone)
    first = next_occurrence(Schedule(start, timezone, body), begins - timedelta(microseconds=1))
    if first is None:
        raise ScheduleError("This schedule never happens.", field="rrule")
    if first == begins:
        return Placed(start, body, False)
    moved = occurrence_local(first, timezone).replace(hour=start.hour, minute=start.minute, second=start.second)
    return Placed(moved, validate_rrule(body, moved, timezone), True)


def preview(
    start: datetime,
    timezone: str,
    rule: str | None,
    after: datetime,
    count: int = PREVIEW_COUNT,
    pauses: tuple[tuple[datetime, datetime], ...] = (),
) -> list[datetime]:
    """The next `count` occurrences at or after `after` (UTC), as local wall times with their zone attached;
    none inside `pauses` (a paused ritual's, as the schedule skips them everywhere)."""
    zone = parse_timezone(timezone)
    schedule = Schedule(start, timezone, rule, pauses)
    found: list[datetime] = []
    cursor = after - timedelta(microseconds=1)
    while len(found) < count and (instant := next_occurrence(schedule, cursor)) is not None:
        found.append(instant.astimezone(zone))
        cursor = instant
    return found


def passed_once(start: datetime, timezone: str, rule: str | None, at: datetime) -> datetime | None:
    """A one-off (no rule) whose time is before `at` (UTC): that time, local with its zone; else None.

    SPEC §3 allows it (a schedule starting in the past: missed unless back-filled, never reminded), so it is saved;
    the preview says it has passed rather than "No more times"."""
    if rule is not None:
        return None
    zone = parse_timezone(timezone)
    due = local_to_utc(start, zone)
    return due.astimezone(zone) if due < at else None


@dataclass(frozen=True)
class QuietClash:
    """A reminder that falls in quiet hours: when it was due and when it will arrive (local)."""

    due: time
    arrives: time
    after_start: bool


def quiet_clash(
    start: time, remind_before_minutes: int, quiet_start: time | None, quiet_end: time | None
) -> QuietClash | None:
    """Whether a reminder `remind_before_minutes` before a `start` wall time falls in quiet hours (SPEC §4: delayed)."""
    day = datetime(2001, 1, 1)  # any day: quiet hours are wall times, the same every day
    starts = datetime.combine(day, start)
    due = starts - timedelta(minutes=remind_before_minutes)
    arrives = quiet_until(due, quiet_start, quiet_end)
    if arrives is None:
        return None
    return QuietClash(due.time(), arrives.time(), arrives > starts)


_SHORT_DAYS = tuple(name[:3] for name in DAY_NAMES)


def in_words(rule: str | None, start: datetime, *, clock: int = 12) -> str:
    """A schedule as people say it, the one wording of the pages' preview and SMS echoes: "Mon–Fri at 7:00 PM"
    (texts, as SPEC shows them), or with `clock=24` "Mon–Fri at 19:00" (the pages, which write times so)."""
    if clock == 24:
        at = f"at {start:%H:%M}"
    else:
        at = f"at {start.hour % 12 or 12}:{start.minute:02d} {'AM' if start.hour < 12 else 'PM'}"
    if rule is None:
        return f"{_SHORT_DAYS[start.weekday()]} {start.day} {start:%b} {at}"
    parts = dict(part.partition("=")[::2] for part in rule.upper().split(";"))
    freq, interval, days = parts.pop("FREQ", ""), int(parts.pop("INTERVAL", "1") or 1), parts.pop("BYDAY", "")
    parts.pop("WKST", None)
    codes = days.split(",") if days else [DAY_CODES[start.weekday()]]
    if parts or not set(codes) <= set(DAY_CODES) or freq not in ("DAILY", "WEEKLY"):
        return f"Custom schedule from {_SHORT_DAYS[start.weekday()]} {start.day} {start:%b} {at}"
    if freq == "DAILY":
        return f"Every day {at}" if interval == 1 else f"Every {interval} days {at}"
    chosen = sorted(DAY_CODES.index(code) for code in codes)
    if chosen == [0, 1, 2, 3, 4]:
        named = "Mon–Fri"
    elif chosen == [5, 6]:
        named = "Sat and Sun"
    else:
        names = [_SHORT_DAYS[day] for day in chosen]
        named = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    every = {1: "Every " if len(chosen) == 1 else "", 2: "Every other "}.get(interval, f"Every {interval} weeks, ")
    return f"{every}{named} {at}"
