"""Rituals and promises: the schedules people keep, and how edits reach their future occurrences."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar, cast

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from service.core.schedule import ScheduleError, check_year, local_to_utc, next_occurrence, parse_timezone
from service.domain import feed_changes
from service.domain.accounts import active_member_ids
from service.domain.errors import Invalid, NotFound
from service.domain.models import (
    SUBJECT_MODELS,
    CheckIn,
    Circle,
    Membership,
    MembershipStatus,
    Occurrence,
    OutboundSms,
    Promise,
    Ritual,
    RitualParticipant,
    RitualPause,
    SmsState,
    Subject,
    SubjectKind,
)

LONGEST_PAST_START = timedelta(days=366)


def upcoming(subject: Subject, now: datetime) -> datetime | None:
    """The first occurrence at or after `now`."""
    return next_occurrence(subject.schedule(), now - timedelta(microseconds=1))


def add(session: Session, subject: Subject, now: datetime) -> None:
    """Store a new ritual or promise: the clock materializes it from its start; the circle's feeds show it."""
    subject.materialized_until = first_instant(subject)
    session.add(subject)
    session.flush()
    feed_changes.mark_dirty(session, circle_id=subject.circle_id, now=now)


def first_instant(subject: Subject) -> datetime:
    """Just before the schedule's first possible instant: where materialization starts."""
    return local_to_utc(subject.starts, parse_timezone(subject.timezone)) - timedelta(seconds=1)


S = TypeVar("S", bound=Ritual | Promise)


def visible(session: Session, model: type[S], person_id: int, subject_id: int) -> S:
    """The ritual or promise if `person_id` is an active member of its circle; otherwise 404."""
    subject: S | None = session.scalar(
        select(model)
        .join(Membership, Membership.circle_id == model.circle_id)
        .where(model.id == subject_id, Membership.person_id == person_id, Membership.status == MembershipStatus.ACTIVE)
    )
    if subject is None:
        raise NotFound(model.__name__)
    return subject


def subject_for(session: Session, person_id: int, kind: SubjectKind, subject_id: int) -> Subject:
    """The ritual or promise of this kind, as `visible`."""
    return visible(session, SUBJECT_MODELS[kind], person_id, subject_id)


def with_people(session: Session, keys: Iterable[tuple[SubjectKind, int]]) -> dict[tuple[SubjectKind, int], Subject]:
    """The rituals and promises of `keys` (kind, id), each with its people (`involved()`) loaded: a fixed number
    of queries for any number of them."""
    ids: dict[SubjectKind, set[int]] = defaultdict(set)
    for kind, subject_id in keys:
        ids[kind].add(subject_id)
    found: dict[tuple[SubjectKind, int], Subject] = {}
    for kind, model in SUBJECT_MODELS.items():
        if ids[kind]:
            query = select(model).where(model.id.in_(ids[kind])).options(*model.people_loaded())
            found.update(
                ((kind, subject.id), subject) for subject in cast(Sequence[Subject], session.scalars(query).all())
            )
    return found


def involving(session: Session, person_id: int) -> list[Subject]:
    """Every ritual and promise the person is in (`involved()`): rituals first, each kind by id."""
    found: list[Subject] = []
    for model in SUBJECT_MODELS.values():
        query = select(model).where(model.involves(person_id)).order_by(model.id)
        found += cast(Sequence[Subject], session.scalars(query).all())
    return found


def ritual_for(session: Session, person_id: int, ritual_id: int) -> Ritual:
    return visible(session, Ritual, person_id, ritual_id)


def promise_for(session: Session, person_id: int, promise_id: int) -> Promise:
    return visible(session, Promise, person_id, promise_id)


def check_participants(circle: Circle, participants: list[int] | None) -> None:
    """Only members who joined (and may be texted) can take part (SPEC §3, Consent)."""
    if participants is None:
        return
    members = set(active_member_ids(circle))
    unknown = [p for p in participants if p not in members]
    if unknown:
        raise Invalid(f"Person {unknown[0]} is not a member of this circle who has joined.", "participants")


def check_recipient(circle: Circle, keeper_id: int, recipient_id: int) -> None:
    """A promise is to another member who joined the circle (SPEC §3, Consent)."""
    if recipient_id == keeper_id or recipient_id not in active_member_ids(circle):
        raise Invalid("'to' must be another member of the circle who has joined.", "to")


def check_start(start_local: datetime, timezone: str, now: datetime, field: str) -> None:
    """A schedule starts at most a year in the past: its catch-up of past occurrences stays bounded."""
    if local_to_utc(start_local, parse_timezone(timezone)) < now - LONGEST_PAST_START:
        raise Invalid(f"'{field}' must be at most one year in the past.", field)


def set_participants(ritual: Ritual, participants: list[int] | None) -> None:
    ritual.everyone = participants is None
    ritual.participant_links = [RitualParticipant(person_id=p) for p in sorted(set(participants or []))]


def forget_future(session: Session, subject: Subject, now: datetime) -> None:
    """After an edit, drop not-yet-started occurrences nobody checked in to; the clock re-derives them."""
    doomed = select(Occurrence.id).where(
        Occurrence.subject_column(subject.kind) == subject.id,
        Occurrence.at > now,
        ~exists().where(CheckIn.occurrence_id == Occurrence.id),
    )
    session.execute(
        delete(OutboundSms).where(OutboundSms.occurrence_id.in_(doomed), OutboundSms.state == SmsState.QUEUED)
    )
    session.execute(
        delete(Occurrence).where(Occurrence.id.in_(doomed), ~exists().where(OutboundSms.occurrence_id == Occurrence.id))
    )
    subject.materialized_until = min(subject.materialized_until, now)
    subject.sequence += 1
    subject.updated_at = now


def pause_ritual(ritual: Ritual, until_local: datetime, now: datetime) -> None:
    try:
        check_year(until_local, "until")
    except ScheduleError as error:
        raise Invalid(error.message, error.field) from None
    until = local_to_utc(until_local, parse_timezone(ritual.timezone))
    if until <= now:
        raise Invalid("'until' must be in the future.", "until")
    ritual.pauses.append(RitualPause(starts_at=now, ends_at=until))
    ritual.paused_until = until


def resume_ritual(ritual: Ritual, now: datetime) -> None:
    """Occurrences again from now: the pause in force ends now in its history (the schedule reads it)."""
    ritual.paused_until = None
    for pause in ritual.pauses:
        if pause.ends_at > now:
            pause.ends_at = max(pause.starts_at, now)


def paused_until(ritual: Ritual, now: datetime) -> datetime | None:
    return ritual.paused_until if ritual.paused_until and ritual.paused_until > now else None
