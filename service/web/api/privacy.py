"""A person's own data: all of it as JSON (`GET /api/v1/export`), or none of it (`DELETE /api/v1/me`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apiflask import APIBlueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import accounts
from service.domain.models import (
    CheckIn,
    Circle,
    Feed,
    MembershipStatus,
    Occurrence,
    OccurrenceOutcome,
    OutboundSms,
    Person,
    Promise,
    Ritual,
    TextedSetup,
)
from service.web.api.circles import circle_json
from service.web.api.context import auth, me
from service.web.api.people import me_json
from service.web.api.promises import promise_json
from service.web.api.rituals import ritual_json
from service.web.api.schemas import CircleOut, MeOut, PromiseOut, RitualOut
from service.web.context import commit, now, session

bp = APIBlueprint("privacy", __name__, url_prefix="/api/v1", tag="Your data")


def instant(value) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


@bp.get("/export")
@bp.auth_required(auth)
@bp.doc(responses={200: "Everything Tend keeps about you"})
def export() -> dict[str, Any]:
    """Everything Tend keeps about you: profile, circles you joined (with their rituals and promises),
    outcomes, check-ins, feeds, SMS and pauses. Circles you were only invited to are not yours to see."""
    return export_of(me(), now(), session())


def export_of(person: Person, at: datetime, db: Session) -> dict[str, Any]:
    """The export document (also downloaded from the settings page)."""
    circle_ids = [m.circle_id for m in person.memberships if m.status == MembershipStatus.ACTIVE]
    circles = db.scalars(select(Circle).where(Circle.id.in_(circle_ids)).order_by(Circle.id)).all()
    rituals = db.scalars(select(Ritual).where(Ritual.circle_id.in_(circle_ids)).order_by(Ritual.id)).all()
    promises = db.scalars(
        select(Promise)
        .where(
            Promise.circle_id.in_(circle_ids), (Promise.keeper_id == person.id) | (Promise.recipient_id == person.id)
        )
        .order_by(Promise.id)
    ).all()
    outcomes = db.execute(
        select(Occurrence.ritual_id, Occurrence.promise_id, Occurrence.at, OccurrenceOutcome.outcome)
        .join(OccurrenceOutcome)
        .where(OccurrenceOutcome.person_id == person.id)
        .order_by(Occurrence.at)
    ).all()
    checkins = db.scalars(select(CheckIn).where(CheckIn.person_id == person.id).order_by(CheckIn.id)).all()
    feeds = db.scalars(select(Feed).where(Feed.person_id == person.id).order_by(Feed.id)).all()
    sms = db.scalars(select(OutboundSms).where(OutboundSms.person_id == person.id).order_by(OutboundSms.id)).all()
    setup = db.get(TextedSetup, person.id)
    return {
        "person": MeOut().dump(me_json(person)) | {"created_at": instant(person.created_at)},
        "circles": CircleOut(many=True).dump([circle_json(c) for c in circles]),
        "rituals": RitualOut(many=True).dump([ritual_json(r, at) for r in rituals]),
        "promises": PromiseOut(many=True).dump([promise_json(p, at) for p in promises]),
        "outcomes": [{"ritual_id": r, "promise_id": p, "at": instant(t), "outcome": o} for r, p, t, o in outcomes],
        "checkins": [
            {
                "occurrence_id": c.occurrence_id,
                "outcome": c.outcome,
                "source": c.source,
                "received_at": instant(c.received_at),
                "message_sid": c.message_sid,
                "note": c.note,
                "by_id": c.by_id,
            }
            for c in checkins
        ],
        "feeds": [
            {"id": f.id, "scope": f.scope, "circle_id": f.circle_id, "created_at": instant(f.created_at)} for f in feeds
        ],
        "sms": [
            {"kind": m.kind, "body": m.body, "state": m.state, "sent_at": instant(m.sent_at), "sid": m.sid} for m in sms
        ],
        "pauses": [{"starts_at": instant(p.starts_at), "ends_at": instant(p.ends_at)} for p in person.pauses],
        "texted_setup": None
        if setup is None
        else {"draft": setup.draft, "draft_until": instant(setup.draft_until), "listed": setup.listed},
    }


@bp.delete("/me")
@bp.auth_required(auth)
@bp.output({}, status_code=204)
def erase_me() -> str:
    """Erase yourself: your data, your promises, and every circle you leave empty; the token stops working."""
    accounts.erase(session(), me())
    commit()
    return ""
