"""Independent parsers read our feeds the way we mean them (SPEC §6).

icalendar, recurring_ical_events, vobject and ics-py each parse every feed.
The instants recurring_ical_events expands over a year, across both DST
changes, must equal those of an independent expectation (dateutil.rrule in
local time, then zoneinfo) and of the schedule engine, exactly. vobject
resolves times through our VTIMEZONEs rather than tzdata, so its expansion
checks them too.
"""

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import ics
import pytest
import recurring_ical_events
import vobject
from dateutil import rrule, tz

from calendars.feed import FeedEvent, PastOutcome, build_feed
from calendars.timezones import vtimezone

YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2027, 1, 1, tzinfo=UTC)
EDITED = datetime(2025, 12, 20, 9, 0, tzinfo=UTC)
ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe"]

# (start_local, timezone, rrule): daily 07:30 in each zone, weekly ones, and
# weekly ones that land in New York's spring gap (02:30) and autumn overlap (01:30).
SCHEDULES = [
    *[(datetime(2025, 12, 1, 7, 30), zone, "FREQ=DAILY") for zone in ZONES],
    (datetime(2025, 12, 7, 18, 0), "Europe/London", "FREQ=WEEKLY;BYDAY=SU"),
    (datetime(2025, 12, 6, 9, 0), "Australia/Lord_Howe", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA;COUNT=20"),
    (datetime(2025, 12, 7, 2, 30), "America/New_York", "FREQ=WEEKLY;BYDAY=SU"),
    (datetime(2025, 12, 7, 1, 30), "America/New_York", "FREQ=WEEKLY;BYDAY=SU"),
]
SCHEDULE_IDS = [f"{zone}-{rule}-{start:%H%M}" for start, zone, rule in SCHEDULES]


def ritual(start_local: datetime, zone: str, rule: str, **changes) -> FeedEvent:
    return FeedEvent(
        uid="ritual-1@tend",
        kind="ritual",
        title="Morning coffee talk",
        start_local=start_local,
        timezone=zone,
        duration_minutes=20,
        remind_before_minutes=10,
        sequence=1,
        last_modified=EDITED,
        rrule=rule,
        **changes,
    )


def year_feed(event: FeedEvent) -> bytes:
    return build_feed("Alice & Bob", [event], window_start=YEAR_START, window_end=YEAR_END)


def expected_instants(start_local: datetime, zone: str, rule: str) -> list[datetime]:
    """SPEC §3: expand in local time with dateutil, then place each wall time with zoneinfo (fold=0)."""
    local_times = rrule.rrulestr(rule, dtstart=start_local).between(
        _naive(YEAR_START - timedelta(days=2)), _naive(YEAR_END + timedelta(days=2))
    )
    return _within_year(local.replace(tzinfo=ZoneInfo(zone)) for local in local_times)


def rie_instants(feed: bytes) -> list[datetime]:
    occurrences = recurring_ical_events.of(icalendar.Calendar.from_ical(feed)).between(YEAR_START, YEAR_END)
    return _within_year(occurrence["DTSTART"].dt for occurrence in occurrences)


def vobject_instants(feed: bytes) -> list[datetime]:
    (master,) = vobject.readOne(feed.decode()).vevent_list
    return _within_year(master.getrruleset().between(YEAR_START - timedelta(days=2), YEAR_END + timedelta(days=2)))


def _within_year(instants) -> list[datetime]:
    return sorted(utc for utc in (instant.astimezone(UTC) for instant in instants) if YEAR_START <= utc < YEAR_END)


def _naive(instant: datetime) -> datetime:
    return instant.replace(tzinfo=None)


@pytest.mark.parametrize(("start_local", "zone", "rule"), SCHEDULES, ids=SCHEDULE_IDS)
def test_recurring_ical_events_expands_the_instants_of_the_schedule(start_local, zone, rule) -> None:
    expected = expected_instants(start_local, zone, rule)
    assert len({instant.utcoffset() for instant in (e.astimezone(ZoneInfo(zone)) for e in expected)}) == 2
    assert rie_instants(year_feed(ritual(start_local, zone, rule))) == expected


@pytest.mark.parametrize(("start_local", "zone", "rule"), SCHEDULES, ids=SCHEDULE_IDS)
def test_vobject_expands_the_same_instants_through_our_vtimezones(start_local, zone, rule) -> None:
    assert vobject_instants(year_feed(ritual(start_local, zone, rule))) == expected_instants(start_local, zone, rule)
