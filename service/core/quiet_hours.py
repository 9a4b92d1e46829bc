"""Quiet hours: a local time-of-day range (possibly across midnight) in which reminders wait."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.core.schedule import local_to_utc


def quiet_until(local_now: datetime, start: time | None, end: time | None) -> datetime | None:
    """When the quiet period containing `local_now` ends (naive local), or None if not quiet.

    Quiet hours delay reminders, never drop them: the caller re-queues to this time.
    """
    if start is None or end is None or start == end:
        return None
    now_t = local_now.time()
    if start < end:
        inside = start <= now_t < end
        ends_today = True
    else:  # across midnight, e.g. 22:00–07:00
        inside = now_t >= start or now_t < end
        ends_today = now_t < end
    if not inside:
        return None
    day = local_now.date() if ends_today else local_now.date() + timedelta(days=1)
    return datetime.combine(day, end)


def quiet_end_at(now: datetime, zone: ZoneInfo, start: time | None, end: time | None) -> datetime | None:
    """When the quiet hours (local to `zone`) around the instant `now` end, as an instant; None if not quiet."""
    until = quiet_until(now.astimezone(zone).replace(tzinfo=None), start, end)
    return None if until is None else local_to_utc(until, zone)
