"""libical reads our feeds as tzdata means them, years ahead (issue 14).

libical (Evolution, several CalDAV servers) and Outlook place a TZID's times
with the feed's own VTIMEZONE, and apply its last observance for ever after.
recurring_ical_events and Google- or Apple-style clients map the TZID to their
own tz database instead, so they cannot tell a VTIMEZONE that stops after a
year from a right one: libical can.
"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from dateutil.relativedelta import relativedelta

from calendars.feed import FeedEvent, build_feed
from calendars.timezones import vtimezone
from calendars.tzif import read_tzif
from service.core import zones
from service.core.schedule import Schedule, occurrences_between
from tests.calendars.libical import read_with_libical

# The promise is about the five years after whenever the suite runs, so "now" is today.
NOW = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
FIVE_YEARS_ON = NOW + relativedelta(years=5)
EDITED = datetime(2026, 1, 1, tzinfo=UTC)
ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # moves by 30 minutes
    "Pacific/Apia",  # no DST since 2021
    "America/Santiago",  # changes at 24:00 on Saturdays
    "Africa/Casablanca",  # Ramadan changes listed explicitly, years ahead
    "Asia/Kolkata",
    "UTC",  # written with Z, no VTIMEZONE
]
TIMES = [time(7, 30), time(19, 15)]


def rituals(zone: str) -> list[FeedEvent]:
    """A daily and a weekly (Sunday) ritual at each time, all starting today or on the next Sunday."""
    today = NOW.astimezone(ZoneInfo(zone)).date()
    sunday = today + timedelta(days=(6 - today.weekday()) % 7)
    made = []
    for at in TIMES:
        for rule, day in (("FREQ=DAILY", today), ("FREQ=WEEKLY;BYDAY=SU", sunday)):
            made.append(
                FeedEvent(
                    uid=f"ritual-{rule[5:10].lower()}-{at:%H%M}@tend",
                    kind="ritual",
                    title="Morning coffee talk",
                    start_local=datetime.combine(day, at),
                    timezone=zone,
                    duration_minutes=20,
                    remind_before_minutes=10,
                    sequence=0,
                    last_modified=EDITED,
                    rrule=rule,
                )
            )
    return made


def by_uid(occurrences) -> dict[str, list[datetime]]:
    found: dict[str, list[datetime]] = {}
    for occurrence in occurrences:
        found.setdefault(str(occurrence["UID"]), []).append(occurrence["DTSTART"].dt.astimezone(UTC))
    return {uid: sorted(instants) for uid, instants in found.items()}


def in_a_gap(instant: datetime, event: FeedEvent) -> bool:
    """Whether the ritual's wall time did not exist that day (moved forward by a spring-forward gap)."""
    return instant.astimezone(ZoneInfo(event.timezone)).time() != event.start_local.time()


@pytest.mark.parametrize("zone", ZONES)
def test_tend_recurring_ical_events_and_libical_agree_on_five_years_of_rituals(zone: str) -> None:
    events = rituals(zone)
    feed = build_feed("Alice & Bob", events, window_start=NOW - timedelta(days=60), zones=zones.installed())
    tend = {
        event.uid: occurrences_between(Schedule(event.start_local, event.timezone, event.rrule), NOW, FIVE_YEARS_ON)
        for event in events
    }
    calendar = icalendar.Calendar.from_ical(feed)
    by_recurring_ical_events = by_uid(recurring_ical_events.of(calendar).between(NOW, FIVE_YEARS_ON))
    by_libical = {
        uid: [instant for instant in instants if instant >= NOW]
        for uid, instants in read_with_libical(feed, FIVE_YEARS_ON).events.items()
    }

    assert by_recurring_ical_events == tend
    for event in events:
        assert len(tend[event.uid]) > 250  # five years of weekly ones at least
        # libical 3.0 carries a wall time that does not exist (a spring-forward gap) on to later
        # occurrences; that is its bug, not the feed's (issue 14), so those days are left out.
        expected = [instant for instant in tend[event.uid] if not in_a_gap(instant, event)]
        assert by_libical[event.uid] == expected, event.uid


def test_libical_reads_every_zone_of_the_tz_database_as_zoneinfo_does() -> None:
    """Each change ±1 s and every 30th day at noon, from now to 2060, in one calendar of all zones."""
    database = zones.current()
    end = datetime(2060, 1, 1, tzinfo=UTC)
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", "-//Tend//tests//EN")
    asked: dict[str, list[datetime]] = {}
    for tzid in sorted(database.names - {"Factory", "localtime"}):
        calendar.add_component(vtimezone(tzid, NOW, database))
        data = read_tzif(database.tzif(tzid))
        changes = [change.at for change in data.transitions]
        changes += [change.at for year in range(NOW.year, end.year) for change in data.rule.transitions(year)]
        moments = {NOW + timedelta(days=day, hours=12) for day in range(0, (end - NOW).days, 30)}
        moments |= {moment for at in changes for moment in (at - timedelta(seconds=1), at)}
        asked[tzid] = sorted(moment for moment in moments if NOW <= moment < end)

    offsets = read_with_libical(calendar.to_ical(), NOW, asked).offsets
    wrong = {
        tzid: moment
        for tzid, moments in asked.items()
        for moment, offset in zip(moments, offsets[tzid], strict=True)
        if timedelta(seconds=offset) != moment.astimezone(database.zone(tzid)).utcoffset()
    }
    assert wrong == {}
