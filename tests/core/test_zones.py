"""service.core.zones: one tz database for schedules and feeds, swappable in tests (issue 14)."""

import re
from datetime import UTC, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from service.core import zones
from service.core.schedule import ScheduleError, local_to_utc, parse_timezone
from tests.zic import compile_zone

# Lord Howe as if it had moved to a whole-hour change (UTC+10 / UTC+11): a modified copy.
WHOLE_HOUR_LORD_HOWE = """\
Rule	LH	2008	max	-	Apr	Sun>=1	2:00	0	-
Rule	LH	2008	max	-	Oct	Sun>=1	2:00	1:00	-
Zone	Australia/Lord_Howe	10:00	LH	+10/+11
"""


def test_the_installed_database_is_what_zoneinfo_reads() -> None:
    database = zones.installed()
    for name in ("America/New_York", "Australia/Lord_Howe", "America/Argentina/Buenos_Aires"):
        from_bytes = ZoneInfo.from_file(BytesIO(database.tzif(name)), key=name)
        for day in range(0, 3 * 365, 11):
            instant = datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=day)
            assert instant.astimezone(from_bytes).utcoffset() == instant.astimezone(ZoneInfo(name)).utcoffset()
        assert database.zone(name) is ZoneInfo(name)


def test_the_version_names_the_release_and_a_digest_of_the_data() -> None:
    assert re.fullmatch(r"\d{4}[a-z]+ sha256:[0-9a-f]{12}", zones.installed().version)


def test_a_name_that_is_not_a_zone_reaches_no_file() -> None:
    for name in ("../../etc/passwd", "/etc/passwd", "Mars/Olympus_Mons"):
        with pytest.raises(ZoneInfoNotFoundError):
            zones.installed().tzif(name)


def test_a_test_can_point_the_schedule_engine_at_a_modified_zone() -> None:
    modified = zones.installed().replacing(
        "Australia/Lord_Howe", compile_zone("Australia/Lord_Howe", WHOLE_HOUR_LORD_HOWE), version="2099a"
    )
    evening = datetime(2026, 6, 1, 21, 0)  # winter: +10:30 in tzdata, +10 in the copy
    with zones.use(modified) as database:
        assert zones.current() is database
        assert local_to_utc(evening, parse_timezone("Australia/Lord_Howe")) == datetime(2026, 6, 1, 11, tzinfo=UTC)
        assert parse_timezone("Europe/London") is ZoneInfo("Europe/London")  # the others as installed
    assert zones.current() is zones.installed()
    assert local_to_utc(evening, parse_timezone("Australia/Lord_Howe")) == datetime(2026, 6, 1, 10, 30, tzinfo=UTC)


def test_the_schedule_engine_still_refuses_what_is_not_a_place() -> None:
    for name in ("localtime", "Factory", "Nowhere/Special"):
        with pytest.raises(ScheduleError):
            parse_timezone(name)


def test_the_likely_zone_is_the_one_zone_of_the_first_country():
    assert zones.likely_zone(("GB", "US")) == "Europe/London"
    assert zones.likely_zone(("US", "CA")) is None  # several: a person chooses
    assert zones.likely_zone(()) is None
