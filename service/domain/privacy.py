"""A person's own data, all of it, as one JSON document (SPEC §8 `GET /api/v1/export`; the settings page's
download is the same document). Erasing it is `accounts.erase`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core import wire
from service.domain import records
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


def export(db: Session, person: Person, at: datetime) -> dict[str, Any]:
    """Profile, the circles the person joined (with their rituals and the promises they keep or are owed),
    outcomes, check-ins with notes, feeds, SMS and the texted set-up. Circles they were only invited to are
    not theirs to see; each resource is shaped as the API answers it (`records`)."""
    circle_ids = [m.circle_id for m in person.memberships if m.status == MembershipStatus.ACTIVE]
    circles = db.scalars(select(Circle).where(Circle.id.in_(circle_ids)).order_by(Circle.id)).all()
    rituals = db.scalars(select(Ritual).where(Ritual.circle_id.in_(circle_ids)).order_by(Ritual.id)).all()
    promises = db.scalars(
        select(Promise).where(Promise.circle_id.in_(circle_ids), Promise.involves(person.id)).order_by(Promise.id)
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
    return wire.plain(
        {
            "person": records.me(person) | {"created_at": person.created_at, "consented_at": person.consented_at},
            "circles": [records.circle(c) for c in circles],
            "rituals": [records.ritual(r, at) for r in rituals],
            "promises": [records.promise(p, at) for p in promises],
            "outcomes": [{"ritual_id": r, "promise_id": p, "at": t, "outcome": o} for r, p, t, o in outcomes],
            "checkins": [
                {
                    "occurrence_id": c.occurrence_id,
                    "outcome": c.outcome,
                    "source": c.source,
                    "received_at": c.received_at,
                    "message_sid": c.message_sid,
                    "note": c.note,
                    "by_id": c.by_id,
                }
                for c in checkins
            ],
            "feeds": [
                {"id": f.id, "scope": f.scope, "circle_id": f.circle_id, "created_at": f.created_at} for f in feeds
            ],
            "sms": [
                {"kind": m.kind, "body": m.body, "state": m.state, "sent_at": m.sent_at, "sid": m.sid} for m in sms
            ],
            "pauses": [{"starts_at": p.starts_at, "ends_at": p.ends_at} for p in person.pauses],
            "texted_setup": None
            if setup is None
            else {"draft": setup.draft, "draft_until": setup.draft_until, "listed": setup.listed},
        }
    )
