"""Compact VTIMEZONE components (RFC 5545 §3.6.5) that are right for every instant after a start.

An engine that reads the VTIMEZONE instead of its own tz database (libical,
Outlook) applies the last observance it finds forever after, so a VTIMEZONE
must not stop: each zone ends with RRULE observances of the rule tzdata gives
for all times after its explicit transitions (the POSIX TZ string at the end
of its TZif data), and the explicit transitions from a little before the
start up to where that rule takes over (Morocco's Ramadan changes, listed to
2087; an abolished DST) are listed as RDATEs. Issue 14.

icalendar's ``Timezone.from_tzinfo``/``from_tzid`` (7.3.2) are not used: they
list RDATEs up to a fixed last date and write a spring-forward onset in the
offset it goes *to* (New York: ``DTSTART:20260308T030000`` with
``TZOFFSETFROM:-0500``), which any reader of the VTIMEZONE places an hour
late. The RFC wants the onset as local time in ``TZOFFSETFROM``; so do POSIX
TZ strings, which is why a rule's onsets are written as the rule says.
"""

import calendar
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Protocol

from dateutil.rrule import rrulestr
from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur

from calendars.tzif import DateRule, LocalTime, PosixRule, Transition, ZoneData, read_tzif

# The onset of the observance in force at the start is written when it is at
# most this old; otherwise the observance starts on the start's own day.
_ONSET_LOOKBACK = timedelta(days=400)
# The Gregorian calendar repeats every 400 years: a yearly rule that gives a
# rule's dates over one cycle gives them for ever.
_CYCLE = range(2001, 2401)
# A rule no RRULE can express (none in tzdata 2025-2026) is listed this far ahead.
_LISTED_YEARS = 30
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_NTH_WEEK = {tuple(range(7 * n - 6, 7 * n + 1)): n for n in range(1, 5)} | {tuple(range(-7, 0)): -1}


class ZoneSource(Protocol):
    """Where a feed's zones come from (in Tend, service.core.zones): the TZif data zoneinfo
    reads for a zone, and the zone itself."""

    def tzif(self, name: str) -> bytes: ...

    def zone(self, name: str) -> tzinfo: ...


def vtimezone(tzid: str, start: datetime, zones: ZoneSource) -> Timezone:
    """A VTIMEZONE describing ``tzid`` as ``zones`` has it, from the aware instant ``start`` on.

    It holds the observance in force at ``start``, the explicit transitions
    after it grouped per kind of change (``DTSTART`` the first onset, ``RDATE``
    the later ones), and one RRULE observance per yearly change of the rule in
    force after them.
    """
    zone, explicit, rule_from = _zone(zones.tzif(tzid))
    recurrences = _recurrences(zone.rule)
    first_year = max(rule_from.year, start.year - 2)
    last_year = start.year + (1 if recurrences is not None else _LISTED_YEARS)
    ruled = [change for change in _rule_transitions(zone.rule, first_year, last_year) if change.at >= rule_from]
    timeline = [*explicit, *ruled]

    before_start = [change for change in timeline if change.at <= start]
    observances: dict[tuple[LocalTime, LocalTime], list[datetime]] = {}
    if before_start and before_start[-1].at > start - _ONSET_LOOKBACK:
        first_onset = before_start[-1].at
    else:
        state = before_start[-1].after if before_start else zone.initial
        first_local = (start + state.offset).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
        observances[(state, state)] = [first_local]
        first_onset = start
    listed = explicit if recurrences is not None else timeline
    for change in listed:
        if change.at >= first_onset:
            observances.setdefault((change.before, change.after), []).append(change.local_onset)

    components = [(onsets[0], _observance(before, after, onsets)) for (before, after), onsets in observances.items()]
    for date_rule, before, after, month, body in recurrences or ():
        first = _first_recurring_onset(date_rule, before, after, month, max(rule_from, first_onset))
        observance = _observance(first.before, first.after, [first.local_onset])
        observance.add("RRULE", vRecur.from_ical(body))
        components.append((first.local_onset, observance))
    component = Timezone()
    component.add("TZID", tzid)
    for _, observance in sorted(components, key=lambda dated: dated[0]):
        component.add_component(observance)
    return component


@lru_cache(maxsize=64)
def _zone(tzif: bytes) -> tuple[ZoneData, tuple[Transition, ...], datetime]:
    """The zone's data, those of its transitions that its rule does not give, and the
    instant from which the rule's changes are the zone's.

    TZif files built "fat" list the rule's own transitions up to 2037; those
    at the end that are exactly the rule's consecutive changes are left to it.
    """
    zone = read_tzif(tzif)
    if zone.rule is None:
        raise ValueError("a TZif file without a POSIX TZ footer cannot describe the future")
    # Fat files also mark 2038-01-19 (the end of 32-bit time) with a change to the same time type.
    changes = [change for change in zone.transitions if change.before != change.after]
    if not changes:
        return zone, (), datetime.min.replace(tzinfo=UTC)
    years = [change.local_onset.year for change in (changes[0], changes[-1])]
    ruled = _rule_transitions(zone.rule, years[0] - 1, years[1] + 1)
    position = {change: index for index, change in enumerate(ruled)}
    kept, next_position = len(changes), None
    while kept:
        index = position.get(changes[kept - 1])
        if index is None or (next_position is not None and index != next_position - 1):
            break
        kept, next_position = kept - 1, index
    # The first change left to the rule, or (RFC 8536 §3.3) any instant after the last one.
    rule_from = changes[kept].at if kept < len(changes) else changes[-1].at + timedelta(microseconds=1)
    return zone, tuple(changes[:kept]), rule_from


def _rule_transitions(rule: PosixRule | None, first_year: int, last_year: int) -> list[Transition]:
    if rule is None:
        return []
    return [change for year in range(first_year, last_year + 1) for change in rule.transitions(year)]


@lru_cache(maxsize=64)
def _recurrences(rule: PosixRule | None) -> tuple[tuple[DateRule, LocalTime, LocalTime, int, str], ...] | None:
    """Per yearly change of ``rule``: (its date, the times before and after it, the month of its
    onset, an RRULE body).

    A change whose onset moves into a neighbouring month in some years (Cairo's
    ``M10.5.4/24``: the Friday after October's last Thursday, 1 November at
    times) gets one RRULE per month. None when some change has no RRULE.
    """
    if rule is None or rule.daylight is None or rule.dst_start is None or rule.dst_end is None:
        return ()
    found = []
    changes = ((rule.dst_start, rule.standard, rule.daylight), (rule.dst_end, rule.daylight, rule.standard))
    for date_rule, before, after in changes:
        # One year more on each side: a shifted onset can fall in the next or the previous year.
        onsets = [date_rule.local_onset(year) for year in range(_CYCLE.start - 1, _CYCLE.stop + 1)]
        window = (datetime(_CYCLE.start, 1, 1), datetime(_CYCLE.stop, 1, 1))
        in_cycle = sorted(onset for onset in onsets if window[0] <= onset < window[1])
        for month in sorted({onset.month for onset in in_cycle}):
            body = _yearly_rule(month, [onset for onset in in_cycle if onset.month == month], window)
            if body is None:
                return None
            found.append((date_rule, before, after, month, body))
    return tuple(found)


def _yearly_rule(month: int, onsets: list[datetime], window: tuple[datetime, datetime]) -> str | None:
    """An RRULE that gives exactly ``onsets`` (in ``month``) within ``window`` (one whole cycle), or None."""
    weekdays = {onset.weekday() for onset in onsets}
    if len(weekdays) != 1:
        return None
    weekday = _WEEKDAYS[weekdays.pop()]
    days = tuple(sorted({onset.day for onset in onsets}))
    from_end = tuple(sorted({onset.day - calendar.monthrange(onset.year, month)[1] - 1 for onset in onsets}))
    candidates = [f"BYDAY={_NTH_WEEK[week]}{weekday}" for week in (days, from_end) if week in _NTH_WEEK]
    candidates += [f"BYDAY={weekday};BYMONTHDAY={','.join(map(str, week))}" for week in (days, from_end)]
    time_of_day = onsets[0] - onsets[0].replace(hour=0, minute=0, second=0)
    for candidate in candidates:
        body = f"FREQ=YEARLY;BYMONTH={month};{candidate}"
        expanded = rrulestr(body, dtstart=window[0] + time_of_day).between(*window, inc=True)
        if expanded == onsets:
            return body
    return None


def _first_recurring_onset(
    date_rule: DateRule, before: LocalTime, after: LocalTime, month: int, since: datetime
) -> Transition:
    """The DTSTART of one RRULE observance: its first onset at or after ``since``."""
    for year in range(since.year - 1, since.year + len(_CYCLE)):
        onset = date_rule.local_onset(year)
        change = Transition((onset - before.offset).replace(tzinfo=UTC), before, after)
        if change.at >= since and onset.month == month:
            return change
    raise AssertionError("an RRULE found over a calendar cycle recurs within one")


def _observance(
    before: LocalTime, after: LocalTime, local_onsets: list[datetime]
) -> TimezoneStandard | TimezoneDaylight:
    observance = TimezoneDaylight() if after.is_dst else TimezoneStandard()
    observance.add("DTSTART", local_onsets[0])
    if len(local_onsets) > 1:
        observance.add("RDATE", local_onsets[1:])
    observance.add("TZNAME", after.name)
    observance.add("TZOFFSETFROM", before.offset)
    observance.add("TZOFFSETTO", after.offset)
    return observance
