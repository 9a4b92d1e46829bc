"""Rituals: shared, recurring moments of a circle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apiflask import APIBlueprint
from marshmallow import ValidationError

from service.domain import accounts, feed_changes, subjects
from service.domain.models import Ritual
from service.web.api.context import auth, commit, me, now, session
from service.web.api.schemas import PauseIn, RitualIn, RitualOut, RitualPatch, check_rrule
from service.web.errors import ApiError

bp = APIBlueprint("rituals", __name__, url_prefix="/api/v1", tag="Rituals")


def ritual_json(ritual: Ritual, at: datetime) -> dict[str, Any]:
    return {
        "id": ritual.id,
        "circle_id": ritual.circle_id,
        "title": ritual.title,
        "starts": ritual.start_local,
        "timezone": ritual.timezone,
        "rrule": ritual.rrule,
        "duration_minutes": ritual.duration_minutes,
        "remind_before_minutes": ritual.remind_before_minutes,
        "grace_minutes": ritual.grace_minutes,
        "participants": ritual.participant_ids(),
        "paused_until": subjects.paused_until(ritual, at),
        "sequence": ritual.sequence,
        "next_occurrence": subjects.upcoming(ritual, at),
    }


@bp.post("/circles/<int:circle_id>/rituals")
@bp.auth_required(auth)
@bp.input(RitualIn, arg_name="body")
@bp.output(RitualOut, status_code=201)
def create_ritual(circle_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Add a ritual; `next_occurrence` is its first instant from now, in UTC."""
    at = now()
    circle = accounts.circle_for(session(), me(), circle_id)
    subjects.check_start(body["starts"], body["timezone"], at, "starts")
    subjects.check_participants(circle, body.get("participants"))
    ritual = Ritual(
        circle=circle,
        title=body["title"],
        start_local=body["starts"],
        timezone=body["timezone"],
        rrule=body["rrule"],
        duration_minutes=body["duration_minutes"],
        remind_before_minutes=body["remind_before_minutes"],
        grace_minutes=body.get("grace_minutes"),
        sequence=0,
        created_at=at,
        updated_at=at,
    )
    subjects.set_participants(ritual, body.get("participants"))
    subjects.add(session(), ritual, at)
    commit()
    return ritual_json(ritual, at)


@bp.get("/rituals/<int:ritual_id>")
@bp.auth_required(auth)
@bp.output(RitualOut)
def get_ritual(ritual_id: int) -> dict[str, Any]:
    return ritual_json(subjects.ritual_for(session(), me().id, ritual_id), now())


@bp.patch("/rituals/<int:ritual_id>")
@bp.auth_required(auth)
@bp.input(RitualPatch, arg_name="body")
@bp.output(RitualOut)
def patch_ritual(ritual_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Edit a ritual; its future occurrences follow, past ones keep their outcomes."""
    at = now()
    ritual = subjects.ritual_for(session(), me().id, ritual_id)
    merged = {
        "starts": body.get("starts", ritual.start_local),
        "rrule": body.get("rrule", ritual.rrule),
        "timezone": body.get("timezone", ritual.timezone),
    }
    if body.keys() & {"starts", "timezone"}:
        subjects.check_start(merged["starts"], merged["timezone"], at, "starts")
    if body.keys() & {"rrule", "starts", "timezone"}:
        try:
            check_rrule(merged, "starts")
        except ValidationError as exc:
            raise ApiError(422, "invalid", str(exc.messages[0]), exc.field_name) from None
    if "participants" in body:
        subjects.check_participants(ritual.circle, body["participants"])
        subjects.set_participants(ritual, body["participants"])
    names = {
        "title": "title",
        "starts": "start_local",
        "timezone": "timezone",
        "duration_minutes": "duration_minutes",
        "remind_before_minutes": "remind_before_minutes",
        "grace_minutes": "grace_minutes",
    }
    for key, attribute in names.items():
        if key in body:
            setattr(ritual, attribute, body[key])
    if "rrule" in body:
        ritual.rrule = merged["rrule"]
    subjects.forget_future(session(), ritual, at)
    feed_changes.mark_dirty(session(), circle_id=ritual.circle_id, now=at)
    commit()
    return ritual_json(ritual, at)


@bp.delete("/rituals/<int:ritual_id>")
@bp.auth_required(auth)
@bp.output({}, status_code=204)
def delete_ritual(ritual_id: int) -> str:
    ritual = subjects.ritual_for(session(), me().id, ritual_id)
    feed_changes.mark_dirty(session(), circle_id=ritual.circle_id, now=now())
    session().delete(ritual)
    commit()
    return ""


@bp.post("/rituals/<int:ritual_id>/pause")
@bp.auth_required(auth)
@bp.input(PauseIn, arg_name="body")
@bp.output(RitualOut)
def pause_ritual(ritual_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Pause until a local date-time: no occurrences (and no reminders) until then."""
    at = now()
    ritual = subjects.ritual_for(session(), me().id, ritual_id)
    subjects.pause_ritual(ritual, body["until"], at)
    subjects.forget_future(session(), ritual, at)
    feed_changes.mark_dirty(session(), circle_id=ritual.circle_id, now=at)
    commit()
    return ritual_json(ritual, at)
