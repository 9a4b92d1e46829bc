"""vtimezone: compact VTIMEZONEs that stay right after their first year (issue 14).

Each zone ends with RRULE observances of the rule tzdata gives for all later
times; explicit changes (Morocco's Ramadan, abolished DST) come before as
RDATEs. Whether engines read them as tzdata means is checked in
test_libical.py (every zone) and test_interop.py (dateutil).
"""

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tzdata
from dateutil import tz
from icalendar import Timezone

from calendars.timezones import vtimezone
from calendars.tzif import read_tzif
from service.core import zones
from tests.zic import compile_zone

START = datetime(2026, 3, 5, tzinfo=UTC)
# Zones whose tzdata lists changes decades ahead instead of giving them by a rule (2025-2026).
LISTED_AHEAD = {"Africa/Casablanca", "Africa/El_Aaiun", "Asia/Gaza", "Asia/Hebron"}


def text_lines(tzid: str, start: datetime = START, database: zones.TimeZoneDatabase | None = None) -> list[str]:
    return (
        vtimezone(tzid, start, database or zones.installed()).to_ical().decode().replace("\r\n ", "").split("\r\n")[:-1]
    )


def observances(
    tzid: str, start: datetime = START, database: zones.TimeZoneDatabase | None = None
) -> list[dict[str, str]]:
    """Each STANDARD or DAYLIGHT as {"KIND": ..., property: value}."""
    found: list[dict[str, str]] = []
    for line in text_lines(tzid, start, database):
        if line in ("BEGIN:STANDARD", "BEGIN:DAYLIGHT"):
            found.append({"KIND": line.removeprefix("BEGIN:")})
        elif found and not line.startswith("END:"):
            name, _, value = line.partition(":")
            found[-1][name] = value
    return found


def test_new_york_is_its_two_yearly_rules_from_the_time_in_force_at_the_start() -> None:
    assert text_lines("America/New_York") == [
        "BEGIN:VTIMEZONE",
        "TZID:America/New_York",
        "BEGIN:STANDARD",
        "DTSTART:20251102T020000",
        "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11",
        "TZNAME:EST",
        "TZOFFSETFROM:-0400",
        "TZOFFSETTO:-0500",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:20260308T020000",  # 02:00 in the offset it leaves, as RFC 5545 and POSIX write it
        "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3",
        "TZNAME:EDT",
        "TZOFFSETFROM:-0500",
        "TZOFFSETTO:-0400",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
    ]


def test_lord_howe_moves_by_half_an_hour_on_first_sundays() -> None:
    assert [
        (o["KIND"], o["RRULE"], o["TZOFFSETFROM"], o["TZOFFSETTO"]) for o in observances("Australia/Lord_Howe")
    ] == [
        ("DAYLIGHT", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=10", "+1030", "+1100"),
        ("STANDARD", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=4", "+1100", "+1030"),
    ]


def test_santiagos_first_saturday_at_24_is_the_sunday_after_it_at_midnight() -> None:
    """tzdata: <-04>4<-03>,M9.1.6/24,M4.1.6/24. The Saturday is one of the 1st-7th, so the Sunday is one of the 2nd-8th."""
    found = [(o["KIND"], o["DTSTART"], o["RRULE"]) for o in observances("America/Santiago")]
    assert found == [
        ("DAYLIGHT", "20250907T000000", "FREQ=YEARLY;BYDAY=SU;BYMONTHDAY=2,3,4,5,6,7,8;BYMONTH=9"),
        ("STANDARD", "20260405T000000", "FREQ=YEARLY;BYDAY=SU;BYMONTHDAY=2,3,4,5,6,7,8;BYMONTH=4"),
    ]


def test_cairos_friday_after_the_last_thursday_of_october_is_in_november_in_some_years() -> None:
    """tzdata: EET-2EEST,M4.5.5/0,M10.5.4/24. When 31 October is a Thursday, the change is on 1 November."""
    standard = [(o["DTSTART"], o["RRULE"]) for o in observances("Africa/Cairo") if o["KIND"] == "STANDARD"]
    assert standard == [
        ("20251031T000000", "FREQ=YEARLY;BYDAY=FR;BYMONTHDAY=26,27,28,29,30,31;BYMONTH=10"),
        ("20301101T000000", "FREQ=YEARLY;BYDAY=FR;BYMONTHDAY=1;BYMONTH=11"),  # 31 October 2030 is a Thursday
    ]


@pytest.mark.parametrize("tzid", ["Pacific/Apia", "Asia/Kolkata", "Asia/Tokyo"])
def test_a_zone_without_dst_is_one_standard_observance(tzid: str) -> None:
    (only,) = observances(tzid)
    assert only["KIND"] == "STANDARD" and "RRULE" not in only and "RDATE" not in only
    assert only["DTSTART"] == "20260305T000000"
    assert only["TZOFFSETFROM"] == only["TZOFFSETTO"]


def test_casablanca_lists_every_ramadan_change_tzdata_has_then_stays_at_plus_one() -> None:
    explicit = read_tzif(zones.current().tzif("Africa/Casablanca")).transitions
    last = [change for change in explicit if change.before != change.after][-1]
    found = observances("Africa/Casablanca")
    assert not [o for o in found if "RRULE" in o]
    onsets = {value for o in found for value in [o["DTSTART"], *o.get("RDATE", "").split(",")] if value}
    assert f"{last.local_onset:%Y%m%dT%H%M%S}" in onsets
    assert last.after.offset == timedelta(hours=1) and last.at.year > 2080


def test_a_regular_zone_stays_under_1_kb() -> None:
    database = zones.installed()
    sizes = {tzid: len(vtimezone(tzid, START, database).to_ical()) for tzid in database.names - {"Factory"}}
    assert {tzid for tzid, size in sizes.items() if size >= 1024} <= LISTED_AHEAD
    assert max(size for tzid, size in sizes.items() if tzid not in LISTED_AHEAD) < 600
    assert max(sizes.values()) < 4096  # Palestine lists four changes a year to 2086


def test_it_writes_the_same_zone_from_a_fat_tzif_file_as_from_a_slim_one() -> None:
    """Debian's files list the rule's own changes to 2037 ("fat"); the tzdata package's stop where the rule takes over."""
    slim = zones.installed().replacing(
        "America/New_York", (Path(tzdata.__file__).parent / "zoneinfo/America/New_York").read_bytes(), version="slim"
    )
    assert text_lines("America/New_York", database=slim) == text_lines("America/New_York")


def test_it_starts_before_the_first_change_of_the_zones_rule_when_the_start_is_older() -> None:
    """A feed with events from 2005 in New York: the 2005-2006 changes listed, then the 2007 rule."""
    found = observances("America/New_York", datetime(2005, 6, 1, tzinfo=UTC))
    assert [(o["KIND"], o["DTSTART"], o.get("RDATE"), o.get("RRULE")) for o in found] == [
        ("DAYLIGHT", "20050403T020000", "20060402T020000", None),
        ("STANDARD", "20051030T020000", "20061029T020000", None),
        ("DAYLIGHT", "20070311T020000", None, "FREQ=YEARLY;BYDAY=2SU;BYMONTH=3"),
        ("STANDARD", "20071104T020000", None, "FREQ=YEARLY;BYDAY=1SU;BYMONTH=11"),
    ]


ODD_ZONE = """\
Rule	Odd	2000	max	-	Feb	Sun>=22	24:00	1:00	D
Rule	Odd	2000	max	-	Oct	Sun>=1	2:00	0	S
Zone	Test/Odd	3:00	Odd	O%sT
"""


def test_a_rule_no_rrule_can_express_is_listed_for_thirty_years() -> None:
    """The Monday after February's 4th Sunday is 1 March in some years, but a Monday 1 March is not
    always it (leap years): no yearly RRULE gives it. tzdata has no such zone (2025-2026)."""
    database = zones.installed().replacing("Test/Odd", compile_zone("Test/Odd", ODD_ZONE), version="odd")
    component = vtimezone("Test/Odd", START, database)
    assert "RRULE" not in component.to_ical().decode()
    reader, truth = tz.tzical(io.StringIO(component.to_ical().decode())).get("Test/Odd"), database.zone("Test/Odd")
    for day in range(30 * 365):
        noon = START + timedelta(days=day, hours=12)
        assert noon.astimezone(reader).utcoffset() == noon.astimezone(truth).utcoffset(), noon


def test_it_is_an_icalendar_timezone_that_round_trips() -> None:
    component = vtimezone("America/Santiago", START, zones.installed())
    assert isinstance(component, Timezone)
    assert Timezone.from_ical(component.to_ical()).to_ical() == component.to_ical()


# New York as if it had kept daylight time after March 2026: a modified copy for tests.
PERMANENT_EDT = """\
Rule	US	2007	max	-	Mar	Sun>=8	2:00	1:00	D
Rule	US	2007	max	-	Nov	Sun>=1	2:00	0	S
Zone	America/New_York	-5:00	US	E%sT	2026 Mar 8 2:00
			-4:00	-	EDT
"""


def test_it_describes_the_zone_as_the_tz_database_it_is_given_has_it() -> None:
    modified = zones.installed().replacing(
        "America/New_York", compile_zone("America/New_York", PERMANENT_EDT), version="2099z"
    )
    found = observances("America/New_York", datetime(2026, 12, 1, tzinfo=UTC), modified)
    assert [(o["KIND"], o["TZOFFSETTO"], "RRULE" in o) for o in found] == [("STANDARD", "-0400", False)]
    assert observances("America/New_York", datetime(2026, 12, 1, tzinfo=UTC))[0]["TZOFFSETTO"] == "-0500"
