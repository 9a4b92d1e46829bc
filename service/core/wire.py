"""How Tend spells times in JSON (the API's answers and the export): one spelling for each kind of time."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any


def instant(moment: datetime) -> str:
    """An instant, in UTC with a Z: "2026-12-01T12:30:00Z"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local(moment: datetime) -> str:
    """A wall-clock date-time without an offset (its zone is a field of its own): "2026-12-01T07:30"."""
    return moment.isoformat(timespec="minutes")


def clock(moment: time) -> str:
    """A time of day: "07:30"."""
    return moment.strftime("%H:%M")


def plain(value: Any) -> Any:
    """`value` with every time in it spelled as above (an aware date-time is an instant, a naive one local
    wall time), ready for json.dumps."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, datetime):
        return local(value) if value.tzinfo is None else instant(value)
    if isinstance(value, time):
        return clock(value)
    if isinstance(value, str):
        return str(value)  # a StrEnum as its value
    return value
