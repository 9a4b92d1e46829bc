"""Circles, their members, and invitations: invite by phone, accept or decline, leave (SPEC §3, §8)."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from service.domain import accounts, agenda, records
from service.domain.models import Membership
from service.web.api.context import auth, me
from service.web.api.schemas import CircleIn, CircleOut, CirclesOut, InvitationsOut, MemberIn, NewMemberOut
from service.web.context import commit, now, runtime, session

bp = APIBlueprint("circles", __name__, url_prefix="/api/v1", tag="Circles")


def invitation_json(membership: Membership) -> dict[str, Any]:
    return {
        "id": membership.circle_id,
        "circle": membership.circle.name,
        "invited_by": accounts.inviter_name(membership),
    }


@bp.post("/circles")
@bp.auth_required(auth)
@bp.input(CircleIn, arg_name="body")
@bp.output(CircleOut, status_code=201)
@bp.doc(responses={409: "You are in a circle of that name already (`duplicate_name`)"})
def create_circle(body: dict[str, Any]) -> dict[str, Any]:
    """Create a circle with yourself as its first member."""
    circle = accounts.create_circle(session(), owner=me(), name=body["name"], now=now())
    commit()
    return records.circle(circle)


@bp.get("/circles")
@bp.auth_required(auth)
@bp.output(CirclesOut)
def list_circles() -> dict[str, Any]:
    """The circles you joined."""
    return {"items": [records.circle(circle) for circle in agenda.circles_of(session(), me().id)]}


@bp.get("/circles/<int:circle_id>")
@bp.auth_required(auth)
@bp.output(CircleOut)
def get_circle(circle_id: int) -> dict[str, Any]:
    return records.circle(accounts.circle_for(session(), me(), circle_id))


@bp.post("/circles/<int:circle_id>/members")
@bp.auth_required(auth)
@bp.input(MemberIn, arg_name="body")
@bp.output(NewMemberOut, status_code=201)
@bp.doc(
    responses={
        409: "Already a member, or the circle is full",
        429: "The number may not get another invitation now (3 a day, whoever invites)",
    }
)
def add_member(circle_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Invite someone by phone under your name for them; they join by replying JOIN (or YES) to the one invitation SMS."""
    circle = accounts.circle_for(session(), me(), circle_id)
    membership = accounts.invite_member(
        session(), circle=circle, inviter=me(), countries=runtime().config.sms_countries, now=now(), **body
    )
    commit()
    return records.member(membership) | {"invitation_at": accounts.invitation_due(me(), now())}


@bp.delete("/circles/<int:circle_id>/members/me")
@bp.auth_required(auth)
@bp.output({}, status_code=204)
def leave_circle(circle_id: int) -> str:
    """Leave the circle: out of its rituals and promises from now on; a circle left empty is deleted."""
    accounts.leave(session(), me(), accounts.circle_for(session(), me(), circle_id), now())
    commit()
    return ""


@bp.get("/invitations")
@bp.auth_required(auth)
@bp.output(InvitationsOut)
def list_invitations() -> dict[str, Any]:
    """Your pending invitations, newest first; `id` is the circle's."""
    return {"items": [invitation_json(m) for m in accounts.invitations(session(), me())]}


@bp.post("/invitations/<int:circle_id>/accept")
@bp.auth_required(auth)
@bp.output(CircleOut)
def accept_invitation(circle_id: int) -> dict[str, Any]:
    """Join the circle."""
    circle = accounts.accept(session(), accounts.invitation_for(session(), me(), circle_id), now())
    commit()
    session().refresh(circle)
    return records.circle(circle)


@bp.post("/invitations/<int:circle_id>/decline")
@bp.auth_required(auth)
@bp.output({}, status_code=204)
def decline_invitation(circle_id: int) -> str:
    """Decline: its inviter cannot invite you again for 30 days."""
    accounts.decline(session(), accounts.invitation_for(session(), me(), circle_id), now())
    commit()
    return ""
