"""Request and response shapes of the JSON API (SPEC §8); the OpenAPI document is built from these."""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf, Range
from marshmallow import RAISE, ValidationError, validates_schema

from service.api.fields import ClockTime, LocalDateTime, Phone, TimeZoneName, Title, UTCInstant
from service.core.schedule import Schedule, ScheduleError, is_occurrence, local_to_utc, parse_timezone, validate_rrule

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_MINUTES = 7 * 24 * 60


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


def _minutes(required: bool = True, low: int = 0, high: int = MAX_MINUTES, **kwargs: Any) -> fields.Integer:
    return fields.Integer(required=required, strict=True, validate=Range(low, high), **kwargs)


class PersonIn(StrictSchema):
    name = fields.String(required=True, validate=Length(1, 80))
    phone = Phone(required=True)
    timezone = TimeZoneName(required=True)


class QuietHours(StrictSchema):
    start = ClockTime(required=True)
    end = ClockTime(required=True)


class DigestSlot(StrictSchema):
    weekday = fields.String(required=True, validate=OneOf(WEEKDAYS))
    time = ClockTime(required=True)


class PersonPatch(StrictSchema):
    name = fields.String(validate=Length(1, 80))
    timezone = TimeZoneName()
    quiet_hours = fields.Nested(QuietHours, allow_none=True)
    digest = fields.Nested(DigestSlot)


class PersonOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True)
    timezone = fields.String(required=True)
    sms_status = fields.String(required=True, validate=OneOf(("pending", "active", "opted_out")))


class NewPersonOut(PersonOut):
    token = fields.String(required=True)


class MeOut(PersonOut):
    quiet_hours = fields.Nested(QuietHours, allow_none=True, required=True)
    digest = fields.Nested(DigestSlot, required=True)


class CircleIn(StrictSchema):
    name = fields.String(required=True, validate=Length(1, 80))


class MemberOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True)
    timezone = fields.String(required=True)
    status = fields.String(required=True, validate=OneOf(("invited", "active")))


class CircleOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    members = fields.List(fields.Nested(MemberOut), required=True)


class RitualIn(StrictSchema):
    title = Title(required=True)
    starts = LocalDateTime(required=True)
    timezone = TimeZoneName(required=True)
    rrule = fields.String(required=True, allow_none=True, validate=Length(1, 500))
    duration_minutes = _minutes(low=1, high=24 * 60)
    remind_before_minutes = _minutes()
    grace_minutes = _minutes(required=False, allow_none=True)
    participants = fields.List(fields.Integer(strict=True), validate=Length(1, 8))

    @validates_schema
    def _rule_fits_start(self, data: dict[str, Any], **kwargs: Any) -> None:
        check_rrule(data, "starts")


class RitualPatch(StrictSchema):
    title = Title()
    starts = LocalDateTime()
    timezone = TimeZoneName()
    rrule = fields.String(allow_none=True, validate=Length(1, 500))
    duration_minutes = _minutes(required=False, low=1, high=24 * 60)
    remind_before_minutes = _minutes(required=False)
    grace_minutes = _minutes(required=False, allow_none=True)
    participants = fields.List(fields.Integer(strict=True), validate=Length(1, 8))


class PauseIn(StrictSchema):
    until = LocalDateTime(required=True, metadata={"description": "local wall time in the ritual's zone"})


class RitualOut(Schema):
    id = fields.Integer(required=True)
    circle_id = fields.Integer(required=True)
    title = fields.String(required=True)
    starts = LocalDateTime(required=True)
    timezone = fields.String(required=True)
    rrule = fields.String(required=True, allow_none=True)
    duration_minutes = fields.Integer(required=True)
    remind_before_minutes = fields.Integer(required=True)
    grace_minutes = fields.Integer(required=True, allow_none=True)
    participants = fields.List(fields.Integer(), required=True)
    paused_until = UTCInstant(required=True, allow_none=True)
    sequence = fields.Integer(required=True)
    next_occurrence = UTCInstant(required=True, allow_none=True)


class PromiseIn(StrictSchema):
    circle_id = fields.Integer(required=True, strict=True)
    to = fields.Integer(required=True, strict=True, metadata={"description": "the recipient's person id"})
    title = Title(required=True)
    due = LocalDateTime(required=True)
    timezone = TimeZoneName(required=True)
    rrule = fields.String(allow_none=True, validate=Length(1, 500))
    remind_before_minutes = _minutes()
    grace_minutes = _minutes(required=False)

    @validates_schema
    def _rule_fits_due(self, data: dict[str, Any], **kwargs: Any) -> None:
        check_rrule(data, "due")


class PromiseOut(Schema):
    id = fields.Integer(required=True)
    circle_id = fields.Integer(required=True)
    keeper_id = fields.Integer(required=True)
    to = fields.Integer(required=True)
    title = fields.String(required=True)
    due = LocalDateTime(required=True)
    timezone = fields.String(required=True)
    rrule = fields.String(required=True, allow_none=True)
    remind_before_minutes = fields.Integer(required=True)
    grace_minutes = fields.Integer(required=True)
    next_occurrence = UTCInstant(required=True, allow_none=True)


def check_rrule(data: dict[str, Any], start_field: str) -> None:
    """Normalize `rrule` in place, or report why it cannot be used with that start."""
    if data.get("rrule") is None or start_field not in data:
        return
    zone = data.get("timezone", "UTC")
    try:
        data["rrule"] = validate_rrule(data["rrule"], data[start_field], zone)
    except ScheduleError as exc:
        raise ValidationError(str(exc), field_name="rrule") from None
    schedule = Schedule(data[start_field], zone, data["rrule"])
    if not is_occurrence(schedule, local_to_utc(data[start_field], parse_timezone(zone))):
        # RFC 5545 counts DTSTART as the first instance even off the rule; calendars would then disagree with Tend
        raise ValidationError(f"'{start_field}' must itself be an occurrence of the rule.", field_name=start_field)
