"""A zone's TZif data (RFC 8536), read as far as a VTIMEZONE needs it.

zoneinfo uses the same files but keeps their contents to itself: the explicit
transitions, and the POSIX TZ string at the end (RFC 8536 §3.3, e.g.
``EST5EDT,M3.2.0,M11.1.0``) that gives the rule in force after the last of
them. dateutil's ``tzstr`` reads neither ``<-04>4<-03>``-style names nor hours
outside 0-24 (``M9.1.6/24``, ``M3.5.0/-1``), which tzdata's own footers use,
so the footer is parsed here, by the grammar of POSIX.1-2017 §8.3 with the
extensions of RFC 8536 §3.3.1.
"""

import calendar
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_HEADER = struct.Struct(">4sc15x6l")  # magic, version, then isutcnt isstdcnt leapcnt timecnt typecnt charcnt
_TYPE = struct.Struct(">lBB")  # utoff, isdst, desigidx


@dataclass(frozen=True)
class LocalTime:
    """A local time type: what a zone's clocks read as, and what it is called."""

    offset: timedelta  # from UTC, east positive
    is_dst: bool
    name: str


@dataclass(frozen=True)
class Transition:
    at: datetime  # the UTC instant from which `after` holds
    before: LocalTime
    after: LocalTime

    @property
    def local_onset(self) -> datetime:
        """The naive wall time of the change as read on the clocks before it (RFC 5545 §3.6.5)."""
        return (self.at + self.before.offset).replace(tzinfo=None)


@dataclass(frozen=True)
class DateRule:
    """``Mm.w.d/time``: weekday ``d`` (0 = Sunday) of week ``w`` (5 = last) of month ``m``,
    at ``time`` past that day's midnight on the clocks in force before the change
    (RFC 8536 allows -167 to 167 hours, so the change can fall on another day)."""

    month: int
    week: int
    weekday: int
    time: timedelta

    def local_onset(self, year: int) -> datetime:
        first_weekday = (calendar.weekday(year, self.month, 1) + 1) % 7  # 0 = Sunday
        day = 1 + (self.weekday - first_weekday) % 7 + 7 * (self.week - 1)
        last = calendar.monthrange(year, self.month)[1]
        while day > last:
            day -= 7
        return datetime(year, self.month, day) + self.time


@dataclass(frozen=True)
class PosixRule:
    """The rule in force after a zone's explicit transitions: standard time, and
    daylight time between two dates each year (for zones that have it)."""

    text: str
    standard: LocalTime
    daylight: LocalTime | None = None
    dst_start: DateRule | None = None
    dst_end: DateRule | None = None

    def transitions(self, year: int) -> list[Transition]:
        """The rule's changes whose local onset falls in ``year``, in time order."""
        if self.daylight is None or self.dst_start is None or self.dst_end is None:
            return []
        changes = [
            _transition(self.dst_start.local_onset(year), self.standard, self.daylight),
            _transition(self.dst_end.local_onset(year), self.daylight, self.standard),
        ]
        return sorted(changes, key=lambda change: change.at)


@dataclass(frozen=True)
class ZoneData:
    initial: LocalTime  # in force before the first transition
    transitions: tuple[Transition, ...]
    rule: PosixRule | None  # None for a version 1 file, which has no footer


def read_tzif(data: bytes) -> ZoneData:
    """The 64-bit data block and footer of a TZif file of version 2 or later."""
    version, counts, body = _block(data, 0, time_size=4)
    if version == b"\0":
        raise ValueError("a version 1 TZif file has no rule for times after its last transition")
    _, counts, body = _block(data, body, time_size=8)
    isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt = counts
    times = struct.unpack_from(f">{timecnt}q", data, body)
    at = body + 8 * timecnt
    indices = data[at : at + timecnt]
    at += timecnt
    raw_types = [_TYPE.unpack_from(data, at + _TYPE.size * n) for n in range(typecnt)]
    at += _TYPE.size * typecnt
    names = data[at : at + charcnt]
    at += charcnt + 12 * leapcnt + isstdcnt + isutcnt
    types = [
        LocalTime(timedelta(seconds=utoff), bool(isdst), names[index : names.index(b"\0", index)].decode())
        for utoff, isdst, index in raw_types
    ]
    transitions, before = [], types[0]
    for seconds, index in zip(times, indices, strict=True):
        after = types[index]
        transitions.append(Transition(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds), before, after))
        before = after
    footer = data[at:].strip(b"\n").decode("ascii")
    return ZoneData(types[0], tuple(transitions), parse_posix_tz(footer) if footer else None)


def _block(data: bytes, start: int, *, time_size: int) -> tuple[bytes, tuple[int, ...], int]:
    """A header at ``start``: (version, counts, where its data starts); returns past the data for v1."""
    magic, version, *counts = _HEADER.unpack_from(data, start)
    if magic != b"TZif":
        raise ValueError("not TZif data")
    if time_size == 8:
        return version, tuple(counts), start + _HEADER.size
    isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt = counts
    size = timecnt * (time_size + 1) + typecnt * _TYPE.size + charcnt + leapcnt * (time_size + 4) + isstdcnt + isutcnt
    return version, tuple(counts), start + _HEADER.size + size


_NAME = r"(?:<([+\-A-Za-z0-9]+)>|([A-Za-z]{3,}))"
_OFFSET = r"([+-]?\d{1,3}(?::\d{2}){0,2})"
_DATE = r"(M\d{1,2}\.\d\.\d|J?\d{1,3})(?:/" + _OFFSET + r")?"
_POSIX_TZ = re.compile(rf"{_NAME}{_OFFSET}(?:{_NAME}{_OFFSET}?(?:,{_DATE},{_DATE})?)?")


def parse_posix_tz(text: str) -> PosixRule:
    """``std offset [dst [offset] [,start[/time],end[/time]]]`` with ``Mm.w.d`` dates.

    POSIX offsets are west-positive (``EST5`` is UTC-5). tzdata writes every
    footer with ``Mm.w.d`` dates; the ``Jn`` and ``n`` forms are refused.
    """
    match = _POSIX_TZ.fullmatch(text)
    if match is None:
        raise ValueError(f"not a POSIX TZ string: {text!r}")
    std_quoted, std_plain, std_offset, dst_quoted, dst_plain, dst_offset, start, start_time, end, end_time = (
        match.groups()
    )
    standard = LocalTime(-_duration(std_offset), False, std_quoted or std_plain)
    if not (dst_quoted or dst_plain):
        return PosixRule(text, standard)
    dst_utc_offset = -_duration(dst_offset) if dst_offset else standard.offset + timedelta(hours=1)
    daylight = LocalTime(dst_utc_offset, True, dst_quoted or dst_plain)
    if start is None:
        raise ValueError(f"{text!r}: daylight time without the dates it starts and ends")
    return PosixRule(text, standard, daylight, _date_rule(start, start_time), _date_rule(end, end_time))


def _date_rule(text: str, time: str | None) -> DateRule:
    if not text.startswith("M"):
        raise ValueError(f"only Mm.w.d dates are supported, not {text!r}")
    month, week, weekday = (int(part) for part in text[1:].split("."))
    if not (1 <= month <= 12 and 1 <= week <= 5 and 0 <= weekday <= 6):
        raise ValueError(f"invalid POSIX TZ date {text!r}")
    return DateRule(month, week, weekday, _duration(time) if time else timedelta(hours=2))


def _duration(text: str) -> timedelta:
    sign = -1 if text.startswith("-") else 1
    hours, minutes, seconds = ([int(part) for part in text.lstrip("+-").split(":")] + [0, 0])[:3]
    return sign * timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _transition(local_onset: datetime, before: LocalTime, after: LocalTime) -> Transition:
    return Transition((local_onset - before.offset).replace(tzinfo=UTC), before, after)
