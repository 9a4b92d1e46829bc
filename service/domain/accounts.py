"""People, circles and memberships: creation, invitation and who may see what."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.core import sms_text
from service.domain.errors import Conflict, NotFound
from service.domain.models import Circle, Membership, MembershipStatus, Person, PersonStatus, SmsKind
from service.domain.outbox import queue_sms
from service.domain.tokens import new_token

MAX_CIRCLE_MEMBERS = 8


def create_person(session: Session, *, name: str, phone: str, timezone: str, now: datetime) -> tuple[Person, str]:
    """A new person with a bearer token (returned once) and a queued opt-in SMS."""
    if session.scalar(select(Person.id).where(Person.phone == phone)) is not None:
        raise Conflict("A person with this phone number already exists.", "phone", code="phone_taken")
    token, digest = new_token()
    person = Person(
        name=name, phone=phone, timezone=timezone, token_hash=digest, sms_status=PersonStatus.PENDING, created_at=now
    )
    session.add(person)
    session.flush()
    queue_sms(
        session,
        person=person,
        kind=SmsKind.OPT_IN,
        body=sms_text.opt_in_text(name),
        dedupe_key=f"opt_in:{person.id}",
        due_at=now,
    )
    return person, token


def create_circle(session: Session, *, owner: Person, name: str, now: datetime) -> Circle:
    circle = Circle(name=name, created_at=now)
    session.add(circle)
    session.flush()
    session.add(
        Membership(
            circle_id=circle.id, person_id=owner.id, status=MembershipStatus.ACTIVE, joined_order=1, created_at=now
        )
    )
    session.flush()
    session.refresh(circle)
    return circle


def circle_for(session: Session, person: Person, circle_id: int) -> Circle:
    """The circle if `person` is an active member of it; otherwise 404, so ids leak nothing."""
    circle = session.scalar(
        select(Circle)
        .join(Membership)
        .where(Circle.id == circle_id, Membership.person_id == person.id, Membership.status == MembershipStatus.ACTIVE)
    )
    if circle is None:
        raise NotFound("Circle")
    return circle


def active_member_ids(circle: Circle) -> list[int]:
    return [m.person_id for m in circle.memberships if m.status == MembershipStatus.ACTIVE]


def invite_member(
    session: Session, *, circle: Circle, inviter: Person, name: str, phone: str, timezone: str, now: datetime
) -> Membership:
    """Add someone by phone (a new or existing person) as `invited`, and queue the invitation SMS."""
    if len(circle.memberships) >= MAX_CIRCLE_MEMBERS:
        raise Conflict(f"A circle has at most {MAX_CIRCLE_MEMBERS} members.", code="circle_full")
    person = session.scalar(select(Person).where(Person.phone == phone))
    if person is None:
        person = Person(name=name, phone=phone, timezone=timezone, sms_status=PersonStatus.PENDING, created_at=now)
        session.add(person)
        session.flush()
    elif any(m.person_id == person.id for m in circle.memberships):
        raise Conflict("This person is already in the circle.", "phone", code="already_member")
    order = session.scalar(select(func.max(Membership.joined_order)).where(Membership.circle_id == circle.id)) or 0
    membership = Membership(
        circle_id=circle.id,
        person_id=person.id,
        status="invited",
        invited_by_id=inviter.id,
        joined_order=order + 1,
        created_at=now,
    )
    session.add(membership)
    session.flush()
    session.refresh(circle)
    queue_sms(
        session,
        person=person,
        kind=SmsKind.INVITATION,
        body=sms_text.invitation_text(inviter.name, circle.name),
        dedupe_key=f"invitation:{circle.id}:{person.id}",
        due_at=now,
    )
    return membership
