"""Rituals: shared, recurring moments of a circle."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from service.domain import accounts, agenda, editing, records, subjects
from service.domain.models import RitualMode
from service.web.api.context import auth, me
from service.web.api.schemas import PauseIn, RitualIn, RitualOut, RitualPatch, RitualsOut
from service.web.api.subject_views import patched
from service.web.context import commit, now, session

bp = APIBlueprint("rituals", __name__, url_prefix="/api/v1", tag="Rituals")


def ritual_fields(body: dict[str, Any]) -> editing.RitualFields:
    return editing.RitualFields(
        title=body["title"],
        starts=body["starts"],
        timezone=body["timezone"],
        rrule=body["rrule"],
        duration_minutes=body["duration_minutes"],
        remind_before_minutes=body["remind_before_minutes"],
        grace_minutes=body.get("grace_minutes"),
        participants=body.get("participants"),
        mode=body.get("mode", RitualMode.EACH),
        follow_up_minutes=body.get("follow_up_minutes"),
    )


@bp.post("/circles/<int:circle_id>/rituals")
@bp.auth_required(auth)
@bp.input(RitualIn, arg_name="body")
@bp.output(RitualOut, status_code=201)
@bp.doc(responses={409: "Another ritual of the circle has that title (`duplicate_name`)"})
def create_ritual(circle_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Add a ritual; `next_occurrence` is its first instant from now, in UTC.

    A `starts` that is not itself an occurrence of the rule moves forward to the rule's first occurrence.
    """
    at = now()
    circle = accounts.circle_for(session(), me(), circle_id)
    saved = editing.create_ritual(session(), circle, ritual_fields(body), at)
    commit()
    return records.ritual(saved.subject, at)


@bp.get("/rituals")
@bp.auth_required(auth)
@bp.output(RitualsOut)
def list_rituals() -> dict[str, Any]:
    """The rituals of the circles you joined."""
    at = now()
    return {"items": [records.ritual(ritual, at) for ritual in agenda.circle_rituals(session(), me().id)]}


@bp.get("/rituals/<int:ritual_id>")
@bp.auth_required(auth)
@bp.output(RitualOut)
def get_ritual(ritual_id: int) -> dict[str, Any]:
    return records.ritual(subjects.ritual_for(session(), me().id, ritual_id), now())


@bp.patch("/rituals/<int:ritual_id>")
@bp.auth_required(auth)
@bp.input(RitualPatch, arg_name="body")
@bp.output(RitualOut)
@bp.doc(responses={409: "Another ritual of the circle has that title (`duplicate_name`)"})
def patch_ritual(ritual_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Edit a ritual; its future occurrences follow, past ones keep their outcomes."""
    at = now()
    ritual = subjects.ritual_for(session(), me().id, ritual_id)
    merged = patched(records.ritual_fields(ritual), body, "starts")
    saved = editing.update_ritual(session(), ritual, ritual_fields(merged), at)
    commit()
    return records.ritual(saved.subject, at)


@bp.delete("/rituals/<int:ritual_id>")
@bp.auth_required(auth)
@bp.output({}, status_code=204)
def delete_ritual(ritual_id: int) -> str:
    editing.delete_subject(session(), subjects.ritual_for(session(), me().id, ritual_id), me(), now())
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
    editing.pause_ritual(session(), ritual, body["until"], at)
    commit()
    return records.ritual(ritual, at)
