"""Promises: one person's small commitment to another in the same circle."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from service.domain import accounts, agenda, editing, records, subjects
from service.web.api.context import auth, me
from service.web.api.schemas import PromiseIn, PromiseOut, PromisePatch, PromisesOut
from service.web.api.subject_views import patched
from service.web.context import commit, now, session

bp = APIBlueprint("promises", __name__, url_prefix="/api/v1", tag="Promises")


def promise_fields(body: dict[str, Any]) -> editing.PromiseFields:
    return editing.PromiseFields(
        to=body["to"],
        title=body["title"],
        due=body["due"],
        timezone=body["timezone"],
        rrule=body.get("rrule"),
        remind_before_minutes=body["remind_before_minutes"],
        grace_minutes=body.get("grace_minutes", 60),
        follow_up_minutes=body.get("follow_up_minutes"),
    )


@bp.post("/promises")
@bp.auth_required(auth)
@bp.input(PromiseIn, arg_name="body")
@bp.output(PromiseOut, status_code=201)
def create_promise(body: dict[str, Any]) -> dict[str, Any]:
    """Promise something to another member of a circle you share; it may be kept early (that counts as on time)."""
    at = now()
    keeper = me()
    circle = accounts.circle_for(session(), keeper, body["circle_id"])
    saved = editing.create_promise(session(), keeper, circle, promise_fields(body), at)
    commit()
    return records.promise(saved.subject, at)


@bp.get("/promises")
@bp.auth_required(auth)
@bp.output(PromisesOut)
def list_promises() -> dict[str, Any]:
    """The promises you keep and those made to you, in circles you joined."""
    at = now()
    keeps, owed = agenda.promises_of(session(), me().id)
    return {"items": [records.promise(promise, at) for promise in sorted([*keeps, *owed], key=lambda p: p.id)]}


@bp.get("/promises/<int:promise_id>")
@bp.auth_required(auth)
@bp.output(PromiseOut)
def get_promise(promise_id: int) -> dict[str, Any]:
    return records.promise(subjects.promise_for(session(), me().id, promise_id), now())


@bp.patch("/promises/<int:promise_id>")
@bp.auth_required(auth)
@bp.input(PromisePatch, arg_name="body")
@bp.output(PromiseOut)
@bp.doc(responses={403: "Only the promise's keeper may change it"})
def patch_promise(promise_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Change your promise; its future occurrences follow, past ones keep their outcomes."""
    at = now()
    promise = subjects.promise_for(session(), me().id, promise_id)
    editing.may_change(me(), promise)
    merged = patched(records.promise_fields(promise), body, "due")
    saved = editing.update_promise(session(), promise, promise_fields(merged), at)
    commit()
    return records.promise(saved.subject, at)


@bp.delete("/promises/<int:promise_id>")
@bp.auth_required(auth)
@bp.output({}, status_code=204)
@bp.doc(responses={403: "Only the promise's keeper may cancel it"})
def delete_promise(promise_id: int) -> str:
    """Cancel your promise: it goes from the feeds; its history goes with it."""
    promise = subjects.promise_for(session(), me().id, promise_id)
    editing.delete_subject(session(), promise, me(), now())
    commit()
    return ""
