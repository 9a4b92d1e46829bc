"""Independent parsers read our feeds the way we mean them (SPEC §6).

icalendar, recurring_ical_events, vobject and ics-py each parse every feed.
The instants recurring_ical_events expands over a year, across both DST
changes, must equal those of an independent expectation (dateutil.rrule in
local time, then zoneinfo) and of the schedule engine
(service/core/schedule.py), exactly.

vobject's own expansion is not compared instant by instant. It keeps one
process-wide tzinfo per TZID (the first it meets); it mistakes a VTIMEZONE
whose offsets equal UTC's over 2000-2020 for UTC, so it drops Europe/London's
compact one and falls back to pytz; and it expands pytz zones at a fixed
offset. Our VTIMEZONEs are checked instead with dateutil's tzical, the reader
vobject uses for the ones it keeps.
"""

import io
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import icalendar
import ics
import pytest
import recurring_ical_events
import vobject
from dateutil import rrule, tz

from calendars.feed import FeedEvent, build_feed
from calendars.timezones import vtimezone
from service.core import zones
from service.core.schedule import Schedule, occurrences_between

YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2027, 1, 1, tzinfo=UTC)
EDITED = datetime(2025, 12, 20, 9, 0, tzinfo=UTC)
ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe"]

# (start_local, timezone, rrule): daily 07:30 in each zone, weekly ones, and
# weekly ones that land in New York's spring gap (02:30) and autumn overlap (01:30).
SCHEDULES = [
    *[(datetime(2025, 12, 1, 7, 30), zone, "FREQ=DAILY") for zone in ZONES],
    (datetime(2025, 12, 7, 18, 0), "Europe/London", "FREQ=WEEKLY;BYDAY=SU"),
    (datetime(2025, 12, 6, 9, 0), "Australia/Lord_Howe", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA;COUNT=26"),
    (datetime(2025, 12, 1, 7, 30), "Europe/London", "FREQ=DAILY;UNTIL=20261115T073000"),  # local UNTIL
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
    return build_feed("Alice & Bob", [event], window_start=YEAR_START, zones=zones.installed())


def expected_instants(start_local: datetime, zone: str, rule: str) -> list[datetime]:
    """SPEC §3: expand in local time with dateutil, then place each wall time with zoneinfo (fold=0)."""
    local_times = rrule.rrulestr(rule, dtstart=start_local).between(
        _naive(YEAR_START - timedelta(days=2)), _naive(YEAR_END + timedelta(days=2))
    )
    return _within_year(local.replace(tzinfo=ZoneInfo(zone)) for local in local_times)


def rie_instants(feed: bytes) -> list[datetime]:
    calendar = icalendar.Calendar.from_ical(feed)
    occurrences = recurring_ical_events.of(calendar).between(YEAR_START, YEAR_END)
    return _within_year(occurrence["DTSTART"].dt for occurrence in occurrences)


def _within_year(instants: Iterable[datetime]) -> list[datetime]:
    in_utc = (instant.astimezone(UTC) for instant in instants)
    return sorted(instant for instant in in_utc if YEAR_START <= instant < YEAR_END)


def _naive(instant: datetime) -> datetime:
    return instant.replace(tzinfo=None)


@pytest.mark.parametrize(("start_local", "zone", "rule"), SCHEDULES, ids=SCHEDULE_IDS)
def test_recurring_ical_events_expands_what_dateutil_and_zoneinfo_give(start_local, zone, rule) -> None:
    expected = expected_instants(start_local, zone, rule)
    offsets = {instant.astimezone(ZoneInfo(zone)).utcoffset() for instant in expected}
    assert len(offsets) == 2  # the year crosses both DST changes
    assert rie_instants(year_feed(ritual(start_local, zone, rule))) == expected


@pytest.mark.parametrize(("start_local", "zone", "rule"), SCHEDULES, ids=SCHEDULE_IDS)
def test_recurring_ical_events_expands_the_instants_of_the_schedule_engine(start_local, zone, rule) -> None:
    engine = occurrences_between(Schedule(start_local, zone, rule), YEAR_START, YEAR_END)
    assert rie_instants(year_feed(ritual(start_local, zone, rule))) == engine


def test_a_paused_day_is_gone_in_every_parser_that_expands() -> None:
    paused = datetime(2026, 3, 9, 7, 30)  # the day after New York springs forward
    schedule = (datetime(2025, 12, 1, 7, 30), "America/New_York", "FREQ=DAILY")
    feed = year_feed(ritual(*schedule, exdates=(paused,)))
    expected = expected_instants(*schedule)
    expected.remove(paused.replace(tzinfo=ZoneInfo("America/New_York")).astimezone(UTC))
    assert rie_instants(feed) == expected

    (master,) = vobject.readOne(feed.decode()).vevent_list
    march = master.getrruleset().between(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC))
    expected_days = {date(2026, 3, day) for day in range(1, 20)} - {paused.date()}
    assert {local.date() for local in march} == expected_days


# Each zone's 2026 transitions in UTC, from the published rules (not from zoneinfo).
TRANSITIONS_2026 = {
    "America/New_York": [datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC)],
    "Europe/London": [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)],
    "Australia/Lord_Howe": [datetime(2026, 4, 4, 15, tzinfo=UTC), datetime(2026, 10, 3, 15, 30, tzinfo=UTC)],
    "America/Santiago": [datetime(2026, 4, 5, 3, tzinfo=UTC), datetime(2026, 9, 6, 4, tzinfo=UTC)],
    "Asia/Tokyo": [],
}
# dateutil's tzical is left out for zones whose "daylight" time is behind standard time
# (Morocco in Ramadan, Ireland in winter): tzinfo's default fromutc() mistakes their changes.


@pytest.mark.parametrize("zone", sorted(TRANSITIONS_2026))
def test_a_vtimezone_reader_gets_the_offsets_of_tzdata_from_our_vtimezone(zone: str) -> None:
    component = vtimezone(zone, YEAR_START, zones.installed()).to_ical().decode()
    from_vtimezone, from_tzdata = tz.tzical(io.StringIO(component)).get(zone), ZoneInfo(zone)

    def offset(instant: datetime, zone_info: tzinfo) -> timedelta:
        return instant.astimezone(zone_info).utcoffset()

    second = timedelta(seconds=1)
    for edge in TRANSITIONS_2026[zone]:
        assert offset(edge - second, from_tzdata) != offset(edge, from_tzdata)
        assert offset(edge - second, from_vtimezone) == offset(edge - second, from_tzdata)
        assert offset(edge, from_vtimezone) == offset(edge, from_tzdata)
    # Every day of the next 15 years: the VTIMEZONE does not stop after the first (issue 14).
    for noon in (YEAR_START + timedelta(days=day, hours=12) for day in range(15 * 365)):
        assert offset(noon, from_vtimezone) == offset(noon, from_tzdata), noon


def test_icalendar_reads_every_sample_feed_back_byte_for_byte(sample_feed: bytes) -> None:
    assert icalendar.Calendar.from_ical(sample_feed).to_ical() == sample_feed


def test_vobject_and_ics_py_read_the_events_icalendar_reads(sample_feed: bytes) -> None:
    by_icalendar = icalendar.Calendar.from_ical(sample_feed).walk("VEVENT")
    wanted = sorted(_event_key(e["UID"], e["SUMMARY"], e["DTSTART"].dt) for e in by_icalendar)
    by_vobject = vobject.readOne(sample_feed.decode()).vevent_list
    assert sorted(_event_key(e.uid.value, e.summary.value, e.dtstart.value) for e in by_vobject) == wanted
    by_ics = ics.Calendar(sample_feed.decode()).events
    assert sorted(_event_key(e.uid, e.name, e.begin.datetime) for e in by_ics) == wanted


def test_vobject_reads_alarms_and_durations(sample_feed: bytes) -> None:
    for event in vobject.readOne(sample_feed.decode()).vevent_list:
        assert event.duration.value > timedelta(0)
        for alarm in getattr(event, "valarm_list", []):
            assert alarm.trigger.value <= timedelta(0)


def _event_key(uid: str, summary: str, start: datetime) -> tuple[str, str, datetime]:
    return str(uid), str(summary), start.astimezone(UTC)


def test_recurring_ical_events_shows_outcomes_in_place_of_occurrences(sample_feeds: dict[str, bytes]) -> None:
    calendar = icalendar.Calendar.from_ical(sample_feeds["couple_circle"])
    span = (datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 5, 5, tzinfo=UTC))
    coffee = [
        occurrence
        for occurrence in recurring_ical_events.of(calendar).between(*span)
        if occurrence["UID"] == "ritual-7f3a9c@tend"
    ]
    by_day = {occurrence["DTSTART"].dt.date(): str(occurrence["SUMMARY"]) for occurrence in coffee}
    assert len(by_day) == len(coffee)  # an override replaces its occurrence
    assert by_day[date(2026, 3, 7)] == "✓ Morning coffee talk"
    assert by_day[date(2026, 3, 8)] == "✗ Morning coffee talk"  # the day New York springs forward
    assert by_day[date(2026, 3, 9)] == "Morning coffee talk"
    assert date(2026, 4, 18) not in by_day and date(2026, 4, 19) not in by_day  # paused
    assert by_day[date(2026, 5, 3)] == "– Morning coffee talk (skipped)"


def test_recurring_ical_events_keeps_overrides_across_lord_howes_half_hour_change(
    sample_feeds: dict[str, bytes],
) -> None:
    calendar = icalendar.Calendar.from_ical(sample_feeds["lord_howe_ritual"])
    span = (datetime(2026, 4, 3, tzinfo=UTC), datetime(2026, 4, 7, tzinfo=UTC))
    occurrences = recurring_ical_events.of(calendar).between(*span)
    assert [(o["DTSTART"].dt.astimezone(UTC), str(o["SUMMARY"])) for o in occurrences] == [
        (datetime(2026, 4, 3, 10, 0, tzinfo=UTC), "Evening gratitude"),
        (datetime(2026, 4, 4, 10, 0, tzinfo=UTC), "✓ Evening gratitude"),  # 21:00 at +11
        (datetime(2026, 4, 5, 10, 30, tzinfo=UTC), "✓ Evening gratitude"),  # 21:00 at +10:30
        (datetime(2026, 4, 6, 10, 30, tzinfo=UTC), "Evening gratitude"),
    ]
