"""Check-ins through the API: the same as replying DONE or SKIP, plus back-fill of past occurrences."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from service.domain import checkins, subjects
from service.domain.models import Subject
from service.web.api.context import auth, me
from service.web.api.schemas import CheckinIn, CheckinOut
from service.web.context import commit, now, session

bp = APIBlueprint("checkins", __name__, url_prefix="/api/v1", tag="Check-ins")


@bp.post("/checkins")
@bp.auth_required(auth)
@bp.input(CheckinIn, arg_name="body")
@bp.output(CheckinOut, status_code=201)
@bp.doc(
    responses={
        403: "You are not expected at this occurrence (not a participant, or not the promise's keeper)",
        404: "No such ritual or promise in your circles",
        422: "Invalid input, or `occurrence` is not an occurrence of the schedule or has not opened yet",
    }
)
def create_checkin(body: dict[str, Any]) -> dict[str, Any]:
    """Record done or skip for one occurrence; a past one may be back-filled (missed becomes done)."""
    person = me()
    subject: Subject
    if "ritual_id" in body:
        subject = subjects.ritual_for(session(), person.id, body["ritual_id"])
    else:
        subject = subjects.promise_for(session(), person.id, body["promise_id"])
    recorded = checkins.check_in_by_api(
        session(),
        person,
        subject,
        body.get("occurrence"),
        kept=body["outcome"] == "done",
        now=now(),
        note=body.get("note"),
    )
    commit()
    checkin, occurrence = recorded.checkin, recorded.occurrence
    return {
        "id": checkin.id,
        "ritual_id": occurrence.ritual_id,
        "promise_id": occurrence.promise_id,
        "occurrence": occurrence.at,
        "outcome": checkin.outcome,
        "source": checkin.source,
        "received_at": checkin.received_at,
        "note": checkin.note,
    }
