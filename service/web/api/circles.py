"""Circles and their members."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from service.domain import accounts
from service.domain.models import Circle, Membership
from service.web.api.context import auth, commit, me, now, session
from service.web.api.schemas import CircleIn, CircleOut, NewMemberOut, PersonIn

bp = APIBlueprint("circles", __name__, url_prefix="/api/v1", tag="Circles")


def member_json(membership: Membership) -> dict[str, Any]:
    person = membership.person
    return {
        "id": person.id,
        "name": person.name,
        "phone": person.phone,
        "timezone": person.timezone,
        "status": membership.status,
    }


def circle_json(circle: Circle) -> dict[str, Any]:
    return {"id": circle.id, "name": circle.name, "members": [member_json(m) for m in circle.memberships]}


@bp.post("/circles")
@bp.auth_required(auth)
@bp.input(CircleIn, arg_name="body")
@bp.output(CircleOut, status_code=201)
def create_circle(body: dict[str, Any]) -> dict[str, Any]:
    """Create a circle with yourself as its first member."""
    circle = accounts.create_circle(session(), owner=me(), name=body["name"], now=now())
    commit()
    return circle_json(circle)


@bp.get("/circles/<int:circle_id>")
@bp.auth_required(auth)
@bp.output(CircleOut)
def get_circle(circle_id: int) -> dict[str, Any]:
    return circle_json(accounts.circle_for(session(), me(), circle_id))


@bp.post("/circles/<int:circle_id>/members")
@bp.auth_required(auth)
@bp.input(PersonIn, arg_name="body")
@bp.output(NewMemberOut, status_code=201)
@bp.doc(responses={409: "Already a member, or the circle is full"})
def add_member(circle_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Invite someone by phone; they join by replying YES to the invitation SMS."""
    circle = accounts.circle_for(session(), me(), circle_id)
    membership = accounts.invite_member(session(), circle=circle, inviter=me(), now=now(), **body)
    commit()
    return member_json(membership)
