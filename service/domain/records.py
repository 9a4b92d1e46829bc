"""A person, circle, ritual or promise as plain data, named as the API names them: one shape for the API's
answers and for the export (`privacy.export`), so the two cannot drift apart. Times stay `datetime`s here;
the API's schemas and `core.wire` spell them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.domain import accounts, subjects
from service.domain.models import Circle, Membership, Person, Promise, Ritual

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def person(who: Person) -> dict[str, Any]:
    return {"id": who.id, "name": who.name, "phone": who.phone, "timezone": who.timezone, "sms_status": who.sms_status}


def me(who: Person) -> dict[str, Any]:
    """The person as they see themselves: with their quiet hours (None: none) and digest slot."""
    quiet = None
    if who.quiet_start is not None and who.quiet_end is not None:
        quiet = {"start": who.quiet_start, "end": who.quiet_end}
    return person(who) | {
        "quiet_hours": quiet,
        "digest": {"weekday": WEEKDAYS[who.digest_weekday], "time": who.digest_time},
    }


def member(membership: Membership) -> dict[str, Any]:
    """An invited member is shown by the name the inviter typed, never by the invitee's own data."""
    return {"id": membership.person_id, "name": accounts.member_name(membership), "status": membership.status}


def circle(shown: Circle) -> dict[str, Any]:
    return {"id": shown.id, "name": shown.name, "members": [member(m) for m in shown.memberships]}


def ritual_fields(ritual: Ritual) -> dict[str, Any]:
    """The fields a member may change; `participants` None means everyone."""
    return {
        "title": ritual.title,
        "starts": ritual.start_local,
        "timezone": ritual.timezone,
        "rrule": ritual.rrule,
        "duration_minutes": ritual.duration_minutes,
        "remind_before_minutes": ritual.remind_before_minutes,
        "grace_minutes": ritual.grace_minutes,
        "participants": None if ritual.everyone else ritual.participant_ids(),
        "mode": ritual.mode,
        "follow_up_minutes": ritual.follow_up_minutes,
    }


def ritual(shown: Ritual, at: datetime) -> dict[str, Any]:
    return {
        "id": shown.id,
        "circle_id": shown.circle_id,
        **ritual_fields(shown),
        "participants": shown.participant_ids(),
        "paused_until": subjects.paused_until(shown, at),
        "sequence": shown.sequence,
        "next_occurrence": subjects.upcoming(shown, at),
    }


def promise_fields(promise: Promise) -> dict[str, Any]:
    """The fields a keeper may change."""
    return {
        "to": promise.recipient_id,
        "title": promise.title,
        "due": promise.due_local,
        "timezone": promise.timezone,
        "rrule": promise.rrule,
        "remind_before_minutes": promise.remind_before_minutes,
        "grace_minutes": promise.grace_minutes,
        "follow_up_minutes": promise.follow_up_minutes,
    }


def promise(shown: Promise, at: datetime) -> dict[str, Any]:
    return {
        "id": shown.id,
        "circle_id": shown.circle_id,
        "keeper_id": shown.keeper_id,
        **promise_fields(shown),
        "next_occurrence": subjects.upcoming(shown, at),
    }
