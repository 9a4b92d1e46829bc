"""Request and response shapes of the JSON API (SPEC §8); the OpenAPI document is built from these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf, Range
from marshmallow import RAISE, ValidationError, validates_schema

from service.core.notes import MAX_NOTE_LENGTH
from service.core.schedule import ScheduleError, validate_rrule
from service.core.streaks import OUTCOMES
from service.domain.models import MAX_ROW_ID
from service.domain.records import WEEKDAYS
from service.web.api.fields import (
    ClockTime,
    LocalDateTime,
    Name,
    Phone,
    TimeZoneName,
    Title,
    UTCInstant,
    in_tends_years,
)

MAX_MINUTES = 7 * 24 * 60
REMIND_MAX_MINUTES = 2 * 24 * 60  # reminders may start two days early; the clock prepares four days ahead
MODES = ("each", "together")
FOLLOW_UP = "one more SMS this many minutes after the start to whoever is still pending; null: none"
NOTE = "a few words kept with the check-in (at most 160 characters), shown to the other participants"


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


def _minutes(required: bool = True, low: int = 0, high: int = MAX_MINUTES, **kwargs: Any) -> fields.Integer:
    return fields.Integer(required=required, strict=True, validate=Range(low, high), **kwargs)


def _mode() -> fields.String:
    return fields.String(
        validate=OneOf(MODES),
        metadata={"description": "each (default): everyone checks in; together: the first check-in counts for all"},
    )


def _follow_up() -> fields.Integer:
    return _minutes(required=False, low=1, allow_none=True, metadata={"description": FOLLOW_UP})


def RowId(**kwargs: Any) -> fields.Integer:
    """An id of a stored row: a whole number the database can hold (larger ones name nothing)."""
    return fields.Integer(strict=True, validate=Range(1, MAX_ROW_ID), **kwargs)


class CodeIn(StrictSchema):
    phone = Phone(required=True)


class CodeSentOut(Schema):
    sent = fields.Boolean(required=True)


class SessionIn(StrictSchema):
    phone = Phone(required=True)
    code = fields.String(required=True, validate=Length(1, 12), metadata={"description": "the 6-digit code texted"})
    name = Name(metadata={"description": "required when the number has no active account yet"})
    timezone = TimeZoneName(metadata={"description": "required when the number has no active account yet"})


class TokenOut(Schema):
    token = fields.String(required=True, metadata={"description": "bearer token for this device; shown once"})


class MemberIn(StrictSchema):
    name = Name(required=True, metadata={"description": "your name for them; shown until they join"})
    phone = Phone(required=True)
    timezone = TimeZoneName(metadata={"description": "their zone until they set their own (default: yours)"})


class QuietHours(StrictSchema):
    start = ClockTime(required=True)
    end = ClockTime(required=True)


class DigestSlot(StrictSchema):
    weekday = fields.String(required=True, validate=OneOf(WEEKDAYS))
    time = ClockTime(required=True)


class PersonPatch(StrictSchema):
    name = Name()
    timezone = TimeZoneName()
    quiet_hours = fields.Nested(QuietHours, allow_none=True)
    digest = fields.Nested(DigestSlot)


class PersonOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True)
    timezone = fields.String(required=True)
    sms_status = fields.String(required=True, validate=OneOf(("invited", "active", "opted_out")))


class MeOut(PersonOut):
    quiet_hours = fields.Nested(QuietHours, allow_none=True, required=True)
    digest = fields.Nested(DigestSlot, required=True)


class CircleIn(StrictSchema):
    name = Name(required=True)


class MemberOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(
        required=True, metadata={"description": "an invited member: the name the inviter gave; a joined one: theirs"}
    )
    status = fields.String(required=True, validate=OneOf(("invited", "active")))


class NewMemberOut(MemberOut):
    """The member just invited. Its own schema: APIFlask would register MemberOut a second time (MemberOut1)
    after apispec met it nested in CircleOut."""

    invitation_at = UTCInstant(
        required=True,
        metadata={
            "description": "when their one invitation text goes: now, or once 22:00-07:00 in your zone has ended"
        },
    )


class CircleOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    members = fields.List(fields.Nested(MemberOut), required=True)


class NewSessionOut(Schema):
    token = fields.String(required=True, metadata={"description": "bearer token for this device; shown once"})
    person = fields.Nested(PersonOut, required=True)


class InvitationOut(Schema):
    id = fields.Integer(required=True, metadata={"description": "the circle's id"})
    circle = fields.String(required=True, metadata={"description": "the circle's name"})
    invited_by = fields.String(required=True, allow_none=True, metadata={"description": "the inviter's name"})


class InvitationsOut(Schema):
    items = fields.List(fields.Nested(InvitationOut), required=True)


class RitualIn(StrictSchema):
    title = Title(required=True)
    starts = LocalDateTime(required=True)
    timezone = TimeZoneName(required=True)
    rrule = fields.String(required=True, allow_none=True, validate=Length(1, 500))
    duration_minutes = _minutes(low=1, high=24 * 60)
    remind_before_minutes = _minutes(high=REMIND_MAX_MINUTES)
    grace_minutes = _minutes(required=False, allow_none=True)
    participants = fields.List(RowId(), validate=Length(1, 8))
    mode = _mode()
    follow_up_minutes = _follow_up()

    @validates_schema
    def _rule_fits_start(self, data: dict[str, Any], **kwargs: Any) -> None:
        check_rrule(data, "starts")


class RitualPatch(StrictSchema):
    title = Title()
    starts = LocalDateTime()
    timezone = TimeZoneName()
    rrule = fields.String(allow_none=True, validate=Length(1, 500))
    duration_minutes = _minutes(required=False, low=1, high=24 * 60)
    remind_before_minutes = _minutes(required=False, high=REMIND_MAX_MINUTES)
    grace_minutes = _minutes(required=False, allow_none=True)
    participants = fields.List(RowId(), validate=Length(1, 8))
    mode = _mode()
    follow_up_minutes = _follow_up()


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
    mode = fields.String(required=True, validate=OneOf(MODES))
    follow_up_minutes = fields.Integer(required=True, allow_none=True)
    paused_until = UTCInstant(required=True, allow_none=True)
    sequence = fields.Integer(required=True)
    next_occurrence = UTCInstant(required=True, allow_none=True)


class PromiseIn(StrictSchema):
    circle_id = RowId(required=True)
    to = RowId(required=True, metadata={"description": "the recipient's person id"})
    title = Title(required=True)
    due = LocalDateTime(required=True)
    timezone = TimeZoneName(required=True)
    rrule = fields.String(allow_none=True, validate=Length(1, 500))
    remind_before_minutes = _minutes(high=REMIND_MAX_MINUTES)
    grace_minutes = _minutes(required=False)
    follow_up_minutes = _follow_up()

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
    follow_up_minutes = fields.Integer(required=True, allow_none=True)
    next_occurrence = UTCInstant(required=True, allow_none=True)


def check_rrule(data: dict[str, Any], start_field: str) -> None:
    """Normalize `rrule` in place, or report why it cannot be used from that start."""
    if data.get("rrule") is None or start_field not in data:
        return
    zone = data.get("timezone", "UTC")
    try:
        data["rrule"] = validate_rrule(data["rrule"], data[start_field], zone)
    except ScheduleError as exc:
        raise ValidationError(str(exc), field_name="rrule") from None
    # A start off the rule is moved to the rule's first occurrence by the domain (SPEC §8; service.domain.editing).


# Streaks and occurrences (SPEC §5, §8)

FRACTION = {"description": "a fraction 0..1, three decimals; null when nothing counts"}


class Moment(fields.String):
    """An ISO 8601 date or date-time; one without an offset is read as UTC (a date is its midnight UTC)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:  # type: ignore[override]  # a parsed value
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            raise ValidationError("Use an ISO date or date-time like 2026-12-01 or 2026-12-01T07:30:00Z.") from None
        in_tends_years(parsed)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


class OccurrencesQuery(Schema):
    """A window [from, to) of instants: ISO dates or date-times, read as UTC when they carry no offset."""

    from_ = Moment(
        data_key="from",
        metadata={
            "description": "window start, inclusive (default: 30 days ago); "
            "ISO date or date-time, UTC unless it has an offset"
        },
    )
    to = Moment(
        metadata={
            "description": "window end, exclusive (default: 7 days ahead); at most 366 days after "
            "'from'; ISO date or date-time, UTC unless it has an offset"
        }
    )


class OccurrenceOut(Schema):
    at = UTCInstant(required=True)
    local = LocalDateTime(required=True, metadata={"description": "wall time in the subject's zone"})
    outcomes = fields.Dict(
        keys=fields.String(),
        values=fields.String(validate=OneOf(sorted(OUTCOMES))),
        required=True,
        metadata={"description": "outcome per expected person id; future ones are pending"},
    )
    notes = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "the note each person (by id) kept with their check-in, if any"},
    )


class OccurrencesOut(Schema):
    occurrences = fields.List(fields.Nested(OccurrenceOut), required=True)


class ReliabilityOut(Schema):
    reliability_30d = fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "kept ÷ (kept + missed) over the last 30 days of the subjects listed; "
            + FRACTION["description"]
        },
    )


class SubjectStreakOut(Schema):
    kind = fields.String(required=True, validate=OneOf(("ritual", "promise")))
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    current_streak = fields.Integer(required=True)
    longest_streak = fields.Integer(required=True)
    kept_rate_7d = fields.Float(required=True, allow_none=True, metadata=FRACTION)
    kept_rate_30d = fields.Float(required=True, allow_none=True, metadata=FRACTION)
    on_time_rate_30d = fields.Float(
        allow_none=True,
        metadata={"description": "promises only: on time ÷ (on time + late + missed); " + FRACTION["description"]},
    )
    strength = fields.Float(required=True, metadata={"description": "0..100, one decimal"})


class StreaksOut(Schema):
    person = fields.Nested(ReliabilityOut, required=True)
    subjects = fields.List(fields.Nested(SubjectStreakOut), required=True)


# Check-ins (SPEC §8)


class CheckinIn(StrictSchema):
    ritual_id = fields.Integer(strict=True, validate=Range(1, MAX_ROW_ID))
    promise_id = fields.Integer(strict=True, validate=Range(1, MAX_ROW_ID))
    occurrence = fields.AwareDateTime(
        validate=in_tends_years,
        metadata={"description": "the occurrence's instant, with an offset (default: the open or latest one)"},
    )
    outcome = fields.String(required=True, validate=OneOf(("done", "skip")))
    note = fields.String(allow_none=True, validate=Length(max=MAX_NOTE_LENGTH), metadata={"description": NOTE})

    @validates_schema
    def _one_subject(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("ritual_id" in data) == ("promise_id" in data):
            raise ValidationError("Give exactly one of ritual_id and promise_id.", field_name="ritual_id")


class CheckinOut(Schema):
    id = fields.Integer(required=True)
    ritual_id = fields.Integer(required=True, allow_none=True)
    promise_id = fields.Integer(required=True, allow_none=True)
    occurrence = UTCInstant(required=True)
    outcome = fields.String(required=True, validate=OneOf(("done", "on_time", "late", "skipped")))
    source = fields.String(required=True, validate=OneOf(("sms", "api")))
    received_at = UTCInstant(required=True)
    note = fields.String(required=True, allow_none=True, metadata={"description": NOTE})


# Lists and promise edits (SPEC §8)


class PromisePatch(StrictSchema):
    to = fields.Integer(strict=True, validate=Range(1, 2**63 - 1))
    title = Title()
    due = LocalDateTime()
    timezone = TimeZoneName()
    rrule = fields.String(allow_none=True, validate=Length(1, 500))
    remind_before_minutes = _minutes(required=False, high=REMIND_MAX_MINUTES)
    grace_minutes = _minutes(required=False)
    follow_up_minutes = _follow_up()


# Items nest subclasses: APIFlask would register an output schema met nested a second time (see NewMemberOut).
class CircleItem(CircleOut):
    pass


class RitualItem(RitualOut):
    pass


class PromiseItem(PromiseOut):
    pass


class CirclesOut(Schema):
    items = fields.List(fields.Nested(CircleItem), required=True)


class RitualsOut(Schema):
    items = fields.List(fields.Nested(RitualItem), required=True)


class PromisesOut(Schema):
    items = fields.List(fields.Nested(PromiseItem), required=True)
