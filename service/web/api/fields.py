"""Input fields that check shape and validate with the libraries that know best (zoneinfo); the domain reads numbers."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from apiflask import fields
from marshmallow import ValidationError

from service.core import wire
from service.core.schedule import ScheduleError, check_year, parse_timezone


class TimeZoneName(fields.String):
    """An IANA time zone name such as Europe/London."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            parse_timezone(raw)
        except ScheduleError as exc:
            raise ValidationError(str(exc)) from None
        return raw


def in_tends_years(moment: datetime) -> None:
    """The core's year rule (2000 to 2200), as a field's validation error."""
    try:
        check_year(moment, "")
    except ScheduleError as exc:
        raise ValidationError(exc.message) from None


class LocalDateTime(fields.String):
    """A wall-clock date-time with no offset ("2026-12-01T07:30"); its zone is a separate field."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:  # type: ignore[override]  # a parsed value
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            raise ValidationError("Use local date and time like 2026-12-01T07:30.") from None
        if parsed.tzinfo is not None:
            raise ValidationError("Give the local wall time without an offset; the zone goes in 'timezone'.")
        in_tends_years(parsed)
        return parsed.replace(microsecond=0)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else wire.local(value)


class ClockTime(fields.String):
    """A local time of day, "HH:MM"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> time:  # type: ignore[override]  # a parsed value
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            parsed = time.fromisoformat(raw)
        except ValueError:
            raise ValidationError("Use a 24-hour time like 07:30.") from None
        if len(raw) != 5 or parsed.second:
            raise ValidationError("Use a 24-hour time like 07:30.")
        return parsed

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else wire.clock(value)


class Text(fields.String):
    """Non-blank text of bounded length, surrounding spaces removed, no control characters (NUL breaks SQL)."""

    def __init__(self, max_length: int, **kwargs: Any):
        self.max_length = max_length
        metadata = {"minLength": 1, "maxLength": max_length} | kwargs.pop("metadata", {})
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs).strip()
        if not raw:
            raise ValidationError("Must not be blank.")
        if len(raw) > self.max_length:
            raise ValidationError(f"At most {self.max_length} characters.")
        if any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in raw):
            raise ValidationError("Must not contain control characters or unpaired surrogates.")
        return raw


def Title(**kwargs: Any) -> Text:
    return Text(120, **kwargs)


def Name(**kwargs: Any) -> Text:
    return Text(80, **kwargs)


def Phone(**kwargs: Any) -> Text:
    """A number as typed; the domain reads it (a mobile number of TEND_SMS_COUNTRIES; national format is read in
    the first of them) and refuses one Tend may not text with 422 naming `phone`."""
    return Text(
        32, metadata={"description": "e.g. +14155550123, or 415 555 0123 in the first country Tend texts"}, **kwargs
    )


class UTCInstant(fields.DateTime):
    """An instant in UTC, written with a Z: "2026-12-01T12:30:00Z"."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else wire.instant(value)
