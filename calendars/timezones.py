"""Compact VTIMEZONE components (RFC 5545 §3.6.5) for the span a feed covers.

icalendar's ``Timezone.from_tzid`` is not used: it writes a spring-forward onset
in the offset it goes *to* (New York: ``DTSTART:20260308T030000`` with
``TZOFFSETFROM:-0500``), which any reader of the VTIMEZONE places an hour late.
The RFC wants the onset as local time in ``TZOFFSETFROM``. zoneinfo does not
expose its transitions, so they are found here by scanning UTC instants, where
offsets are exact (no wall-clock arithmetic).
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

# Offsets stay put for months; a day's step cannot miss a transition, and
# bisection then finds the exact second.
_SCAN_STEP = timedelta(days=1)
# Far enough back to find the onset of the observance in force at the start
# of the span in any zone that changes offset at least once a year.
_ONSET_LOOKBACK = timedelta(days=400)

_State = tuple[timedelta, timedelta, str]  # utcoffset, dst, tzname


def vtimezone(tzid: str, start: datetime, end: datetime) -> Timezone:
    """A VTIMEZONE describing ``tzid`` from ``start`` to ``end`` (aware instants).

    It holds the observance in force at ``start`` and every transition up to
    ``end``, grouped per kind of change: ``DTSTART`` is the first onset and
    ``RDATE`` lists the later ones.
    """
    zone = ZoneInfo(tzid)
    onsets = _transitions(zone, start - _ONSET_LOOKBACK, end)
    before_start = [onset for onset in onsets if onset[0] <= start]
    onsets = onsets[len(before_start) - 1 :] if before_start else onsets
    observances: dict[tuple[_State, _State], list[datetime]] = {}
    if not before_start:
        state = _state(zone, start)
        first_local = start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        observances[(state, state)] = [first_local.replace(tzinfo=None)]
    for instant, before, after in onsets:
        local_onset = (instant + before[0]).replace(tzinfo=None)
        observances.setdefault((before, after), []).append(local_onset)

    component = Timezone()
    component.add("TZID", tzid)
    for (before, after), local_onsets in sorted(observances.items(), key=lambda item: item[1][0]):
        component.add_component(_observance(before, after, local_onsets))
    return component


def _observance(before: _State, after: _State, local_onsets: list[datetime]) -> TimezoneStandard | TimezoneDaylight:
    offset, dst, name = after
    observance = TimezoneDaylight() if dst else TimezoneStandard()
    observance.add("DTSTART", local_onsets[0])
    if len(local_onsets) > 1:
        observance.add("RDATE", local_onsets[1:])
    observance.add("TZNAME", name)
    observance.add("TZOFFSETFROM", before[0])
    observance.add("TZOFFSETTO", offset)
    return observance


def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, _State, _State]]:
    """Each change of offset, DST or name in ``zone`` within the span: (UTC instant, before, after)."""
    found = []
    low = start
    while low < end:
        high = low + _SCAN_STEP
        if _state(zone, low) != _state(zone, high):
            instant = _first_instant_after(zone, low, high)
            found.append((instant, _state(zone, low), _state(zone, instant)))
        low = high
    return found


def _first_instant_after(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first second in (low, high] whose state differs from that at ``low``."""
    state = _state(zone, low)
    low_s, high_s = int(low.timestamp()), int(high.timestamp())
    while high_s - low_s > 1:
        middle = (low_s + high_s) // 2
        if _state(zone, datetime.fromtimestamp(middle, UTC)) == state:
            low_s = middle
        else:
            high_s = middle
    return datetime.fromtimestamp(high_s, UTC)


def _state(zone: ZoneInfo, instant: datetime) -> _State:
    local = instant.astimezone(zone)
    offset, dst, name = local.utcoffset(), local.dst(), local.tzname()
    assert offset is not None and dst is not None and name is not None, "a ZoneInfo knows every instant"
    return offset, dst, name
