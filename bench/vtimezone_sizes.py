"""`python -m bench.vtimezone_sizes`: bytes of the VTIMEZONE a feed writes per zone (issue 14).

A feed window opens 60 days before now (service.domain.feed_store.RECENT). Prints the
zones of the libical test, then the spread over every zone of the installed
tz database, and the zones of 1 KB or more (tzdata lists their changes years
ahead instead of giving a rule).
"""

import statistics
import sys
from datetime import UTC, datetime, timedelta

from calendars.timezones import vtimezone
from service.core import zones

SHOWN = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "America/Santiago",
    "Africa/Casablanca",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Africa/Cairo",
]


def main() -> int:
    start = datetime.now(UTC) - timedelta(days=60)
    database = zones.current()
    sizes = {
        tzid: len(vtimezone(tzid, start, database).to_ical())
        for tzid in sorted(database.names - {"Factory", "localtime"})
    }
    print(f"tz database {database.version}; window opens {start:%Y-%m-%d}")
    for tzid in SHOWN:
        print(f"{tzid:24} {sizes[tzid]:6} bytes")
    print(f"all {len(sizes)} zones: median {statistics.median(sizes.values()):.0f}, max {max(sizes.values())} bytes")
    large = {tzid: size for tzid, size in sizes.items() if size >= 1024}
    print("1 KB or more:", ", ".join(f"{tzid} {size}" for tzid, size in sorted(large.items())) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
