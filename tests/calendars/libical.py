"""libical, through Debian's ICalGLib bindings, as a reader of Tend's feeds in tests.

The bindings (``gir1.2-ical-3.0``, ``python3-gi``) are built for Debian's
/usr/bin/python3, so libical_expand.py runs there in a subprocess. ``make
test`` installs them (scripts/services.sh); elsewhere the tests that need
them are skipped, except in CI, where a missing libical fails.
"""

import json
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"
HELPER = Path(__file__).with_name("libical_expand.py")
_PROBE = "import gi; gi.require_version('ICalGLib', '3.0'); from gi.repository import ICalGLib"


@dataclass(frozen=True)
class LibicalReading:
    events: dict[str, list[datetime]]  # UID -> UTC instants of its DTSTART and RRULE
    offsets: dict[str, list[int]]  # TZID -> UTC offset in seconds at each instant asked about


def read_with_libical(
    calendar: bytes, until: datetime, instants: dict[str, list[datetime]] | None = None
) -> LibicalReading:
    """Expand every VEVENT before ``until`` and tell the offset of each zone at ``instants``,
    all through the calendar's own VTIMEZONEs."""
    require_libical()
    request = {
        "calendar": calendar.decode(),
        "until": int(until.timestamp()),
        "instants": {tzid: [int(i.timestamp()) for i in moments] for tzid, moments in (instants or {}).items()},
    }
    answer = subprocess.run(
        [SYSTEM_PYTHON, str(HELPER)], input=json.dumps(request), capture_output=True, text=True, check=True
    )
    reading = json.loads(answer.stdout)
    events = {
        uid: [datetime.fromtimestamp(instant, UTC) for instant in found] for uid, found in reading["events"].items()
    }
    return LibicalReading(events, reading["offsets"])


def require_libical() -> None:
    if (missing := _missing()) is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{missing}; scripts/services.sh installs it")
    pytest.skip(f"{missing}; `make test` installs it (apt-get install gir1.2-ical-3.0 python3-gi)")


@cache
def _missing() -> str | None:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"libical's Python bindings need Debian's {SYSTEM_PYTHON}"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", _PROBE], capture_output=True, text=True)
    if probe.returncode != 0:
        return "libical (ICalGLib 3.0 through python3-gi) is not installed"
    return None
