"""Rituals and promises: the schedules people keep, and how edits reach their future occurrences."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from service.core.schedule import Schedule, local_to_utc, next_occurrence, parse_timezone
from service.domain.errors import Invalid, NotFound
from service.domain.models import (
    CheckIn,
    Circle,
    Membership,
    Occurrence,
    OutboundSms,
    Promise,
    Ritual,
    RitualParticipant,
    RitualPause,
)

Subject = Ritual | Promise


def ritual_schedule(ritual: Ritual) -> Schedule:
    pauses = tuple((p.starts_at, p.ends_at) for p in ritual.pauses)
    return Schedule(ritual.start_local, ritual.timezone, ritual.rrule, pauses)


def promise_schedule(promise: Promise) -> Schedule:
    return Schedule(promise.due_local, promise.timezone, promise.rrule)


def schedule_of(subject: Subject) -> Schedule:
    return ritual_schedule(subject) if isinstance(subject, Ritual) else promise_schedule(subject)


def upcoming(subject: Subject, now: datetime) -> datetime | None:
    """The first occurrence at or after `now`."""
    return next_occurrence(schedule_of(subject), now - timedelta(microseconds=1))


def first_instant(subject: Subject) -> datetime:
    """Just before the schedule's first possible instant: where materialization starts."""
    start = subject.start_local if isinstance(subject, Ritual) else subject.due_local
    return local_to_utc(start, parse_timezone(subject.timezone)) - timedelta(seconds=1)


def visible(session: Session, model: type[Subject], person_id: int, subject_id: int) -> Subject:
    """The ritual or promise if `person_id` is an active member of its circle; otherwise 404."""
    subject = session.scalar(
        select(model)
        .join(Membership, Membership.circle_id == model.circle_id)
        .where(model.id == subject_id, Membership.person_id == person_id, Membership.status == "active")
    )
    if subject is None:
        raise NotFound(model.__name__)
    return subject


def ritual_for(session: Session, person_id: int, ritual_id: int) -> Ritual:
    return visible(session, Ritual, person_id, ritual_id)


def promise_for(session: Session, person_id: int, promise_id: int) -> Promise:
    return visible(session, Promise, person_id, promise_id)


def check_participants(circle: Circle, participants: list[int] | None) -> None:
    if participants is None:
        return
    members = {m.person_id for m in circle.memberships}
    unknown = [p for p in participants if p not in members]
    if unknown:
        raise Invalid(f"Person {unknown[0]} is not a member of this circle.", "participants")


def set_participants(ritual: Ritual, participants: list[int] | None) -> None:
    ritual.everyone = participants is None
    ritual.participant_links = [RitualParticipant(person_id=p) for p in sorted(set(participants or []))]


def participant_ids(ritual: Ritual) -> list[int]:
    if ritual.everyone:
        return [m.person_id for m in ritual.circle.memberships if m.status == "active"]
    return [link.person_id for link in ritual.participant_links]


def forget_future(session: Session, subject: Subject, now: datetime) -> None:
    """After an edit, drop not-yet-started occurrences nobody checked in to; the clock re-derives them."""
    column = Occurrence.ritual_id if isinstance(subject, Ritual) else Occurrence.promise_id
    doomed = select(Occurrence.id).where(
        column == subject.id,
        Occurrence.at > now,
        ~exists().where(CheckIn.occurrence_id == Occurrence.id),
    )
    session.execute(delete(OutboundSms).where(OutboundSms.occurrence_id.in_(doomed), OutboundSms.state == "queued"))
    session.execute(
        delete(Occurrence).where(Occurrence.id.in_(doomed), ~exists().where(OutboundSms.occurrence_id == Occurrence.id))
    )
    subject.materialized_until = min(subject.materialized_until, now)
    subject.sequence += 1
    subject.updated_at = now


def pause_ritual(ritual: Ritual, until_local: datetime, now: datetime) -> None:
    until = local_to_utc(until_local, parse_timezone(ritual.timezone))
    if until <= now:
        raise Invalid("'until' must be in the future.", "until")
    ritual.pauses.append(RitualPause(starts_at=now, ends_at=until))
    ritual.paused_until = until


def paused_until(ritual: Ritual, now: datetime) -> datetime | None:
    return ritual.paused_until if ritual.paused_until and ritual.paused_until > now else None
