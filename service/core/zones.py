"""The tz database Tend reads its IANA zones from, in one place so that it can be swapped.

The schedule engine places wall times with these zones and the feeds describe
them in VTIMEZONEs (the domain hands ``current()`` to calendars.build_feed);
both read the same TZif data, the files zoneinfo itself reads (its TZPATH,
else the tzdata package). ``version`` names that data, so the clock can tell
when it changed and re-plan (issue 14). A test points Tend at a modified copy
of a zone with ``use(installed().replacing(...))``.

zoneinfo keeps a zone per process once loaded, so an upgraded tzdata takes
effect when Tend's processes restart; the first clock tick after that sees the
new version.
"""

import hashlib
import os
import zoneinfo
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property, lru_cache
from importlib import resources
from io import BytesIO
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


class TimeZoneDatabase:
    """IANA zones by name, as TZif bytes and as ``ZoneInfo``, and the version of the data."""

    def __init__(self, version: str, replaced: Mapping[str, bytes] | None = None) -> None:
        self.version = version
        self._replaced = MappingProxyType(dict(replaced or {}))
        self._zones: dict[str, ZoneInfo] = {}
        self._tzif: dict[str, bytes] = {}

    def replacing(self, name: str, tzif: bytes, *, version: str) -> "TimeZoneDatabase":
        """This database with zone ``name`` read from ``tzif`` instead, called ``version``."""
        return TimeZoneDatabase(version, {**self._replaced, name: tzif})

    @cached_property
    def names(self) -> frozenset[str]:
        return _available() | self._replaced.keys()

    def tzif(self, name: str) -> bytes:
        """The TZif data zoneinfo reads for ``name``."""
        if name in self._replaced:
            return self._replaced[name]
        if name not in self._tzif:
            self._tzif[name] = _installed_tzif(name)
        return self._tzif[name]

    def zone(self, name: str) -> ZoneInfo:
        if name not in self._replaced:
            return ZoneInfo(name)  # zoneinfo's own cache, shared with any other user
        if name not in self._zones:
            self._zones[name] = ZoneInfo.from_file(BytesIO(self._replaced[name]), key=name)
        return self._zones[name]


_in_use: TimeZoneDatabase | None = None


def current() -> TimeZoneDatabase:
    """The database in use: the installed one unless a test chose another."""
    return _in_use or installed()


@contextmanager
def use(database: TimeZoneDatabase) -> Iterator[TimeZoneDatabase]:
    """Use ``database`` in every thread until the block ends."""
    global _in_use
    previous, _in_use = _in_use, database
    try:
        yield database
    finally:
        _in_use = previous


@lru_cache(maxsize=1)
def country_zones() -> Mapping[str, tuple[str, ...]]:
    """Each country's zones (ISO 3166 code -> IANA names, its most populous first), from the data's zone.tab:
    the zones a person chooses among (a sign-up page's list, its guess from TEND_SMS_COUNTRIES)."""
    found: dict[str, list[str]] = {}
    for line in _installed_file("zone.tab").decode("utf-8").splitlines():
        if line and not line.startswith("#"):
            country, _place, name, *_comment = line.split("\t")
            found.setdefault(country, []).append(name)
    return MappingProxyType({country: tuple(names) for country, names in found.items()})


def likely_zone(countries: tuple[str, ...]) -> str | None:
    """The zone a person in the first of `countries` is in, where that country has just one (GB: Europe/London);
    None where it has several (US) and a person must choose."""
    found = country_zones().get(countries[0], ()) if countries else ()
    return found[0] if len(found) == 1 else None


@lru_cache(maxsize=1)
def installed() -> TimeZoneDatabase:
    return TimeZoneDatabase(_installed_version())


@lru_cache(maxsize=1)
def _available() -> frozenset[str]:
    return frozenset(available_timezones())


def _installed_version() -> str:
    """The release named in the first line of the data's ``tzdata.zi`` ("# version 2025b"),
    with a digest of that file: a distribution can patch the data under the same release."""
    text = _installed_file("tzdata.zi")
    release = text.split(b"\n", 1)[0].decode("ascii", "replace").removeprefix("# version").strip()
    return f"{release or 'unknown'} sha256:{hashlib.sha256(text).hexdigest()[:12]}"


def _installed_tzif(name: str) -> bytes:
    if os.path.isabs(name) or ".." in name.split("/") or name not in _available():
        raise ZoneInfoNotFoundError(f"No time zone found with key {name}")
    return _installed_file(name)


def _installed_file(name: str) -> bytes:
    """A file of the tz data, looked for where zoneinfo looks: TZPATH, then the tzdata package."""
    for directory in zoneinfo.TZPATH:  # read at each call: zoneinfo.reset_tzpath() replaces it
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path, "rb") as file:
                return file.read()
    *package, resource = f"tzdata.zoneinfo/{name}".split("/")
    try:
        return resources.files(".".join(package)).joinpath(resource).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise ZoneInfoNotFoundError(f"No time zone data file {name!r}") from error
