"""Promises: one person's small commitment to another in the same circle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apiflask import APIBlueprint

from service.domain import accounts, subjects
from service.domain.models import Promise
from service.web.api.context import auth, commit, me, now, session
from service.web.api.schemas import PromiseIn, PromiseOut

bp = APIBlueprint("promises", __name__, url_prefix="/api/v1", tag="Promises")


def promise_json(promise: Promise, at: datetime) -> dict[str, Any]:
    return {
        "id": promise.id,
        "circle_id": promise.circle_id,
        "keeper_id": promise.keeper_id,
        "to": promise.recipient_id,
        "title": promise.title,
        "due": promise.due_local,
        "timezone": promise.timezone,
        "rrule": promise.rrule,
        "remind_before_minutes": promise.remind_before_minutes,
        "grace_minutes": promise.grace_minutes,
        "next_occurrence": subjects.upcoming(promise, at),
    }


@bp.post("/promises")
@bp.auth_required(auth)
@bp.input(PromiseIn, arg_name="body")
@bp.output(PromiseOut, status_code=201)
def create_promise(body: dict[str, Any]) -> dict[str, Any]:
    """Promise something to another member of a circle you share."""
    at = now()
    keeper = me()
    circle = accounts.circle_for(session(), keeper, body["circle_id"])
    subjects.check_recipient(circle, keeper.id, body["to"])
    subjects.check_start(body["due"], body["timezone"], at, "due")
    promise = Promise(
        circle_id=circle.id,
        keeper_id=keeper.id,
        recipient_id=body["to"],
        title=body["title"],
        due_local=body["due"],
        timezone=body["timezone"],
        rrule=body.get("rrule"),
        remind_before_minutes=body["remind_before_minutes"],
        grace_minutes=body.get("grace_minutes", 60),
        sequence=0,
        created_at=at,
        updated_at=at,
    )
    subjects.add(session(), promise, at)
    commit()
    return promise_json(promise, at)


@bp.get("/promises/<int:promise_id>")
@bp.auth_required(auth)
@bp.output(PromiseOut)
def get_promise(promise_id: int) -> dict[str, Any]:
    return promise_json(subjects.promise_for(session(), me().id, promise_id), now())
