"""Materializing occurrences: schedule instants become rows with per-person outcomes and reminders; closing them.

The clock calls `materialize` for schedules running low; check-ins call it for
one subject when they need an occurrence the clock has not reached. Writes are
batched (one flush for a whole batch of schedules), so the clock can prepare a
hundred thousand reminders ahead of their minute.

Every occurrence is written open, with a pending outcome per person, even one
whose window already ended (a past start, a catch-up after the clock was down):
`close` alone decides missed or skipped and folds the streak figures, in a
worker the clock rings (`ended` finds what to ring), so the clock's own tick
never writes an outcome, and an occurrence closed late is judged by the
pauses of its own time, as it would have been on time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service.core.schedule import next_occurrence, occurrence_local, occurrences_between
from service.core.streaks import Outcome
from service.domain import feed_changes, outbox, streak_figures
from service.domain.models import (
    SUBJECT_MODELS,
    Occurrence,
    OccurrenceOutcome,
    OutboundSms,
    Person,
    PersonPause,
    Ritual,
    SmsKind,
    Subject,
    SubjectKind,
)

HORIZON = timedelta(days=4)  # occurrences exist this far ahead (reminders may start 2 days early)
REFILL_BELOW = timedelta(days=3)  # extend a schedule when less than this is left
# A schedule whose stored occurrences end further back than this is catching up (a past start, or the
# clock was down): the clock fills it in after ringing due reminders, CATCH_UP_CHUNK per pass.
BEHIND_BY = timedelta(days=1)
CATCH_UP_CHUNK = timedelta(days=31)
ENDED = datetime(9999, 1, 1, tzinfo=UTC)  # materialized_until of a finished schedule


@dataclass
class Planned:
    subject: Subject
    occurrence: Occurrence
    people: list[int]


def materialize(session: Session, subjects: Sequence[Subject], now: datetime) -> int:
    """Extend each schedule to the horizon, or by CATCH_UP_CHUNK when it is behind; returns occurrences made.

    Bounded per call: a schedule behind (a start up to a year ago) takes several calls, in time order.
    """
    planned: list[Planned] = []
    stored = _stored_ahead(session, subjects)
    for subject in subjects:
        schedule = subject.schedule()
        start = subject.materialized_until
        end = min(now + HORIZON, start + CATCH_UP_CHUNK) if start < now - BEHIND_BY else now + HORIZON
        planned.extend(
            plan_occurrence(subject, at)
            for at in occurrences_between(schedule, start, end)
            if at not in stored.get((subject.kind, subject.id), ())
        )
        subject.materialized_until = end if next_occurrence(schedule, end - timedelta(microseconds=1)) else ENDED
    write(session, planned, now)
    return len(planned)


def unstored(subject: Subject, start: datetime, end: datetime) -> list[datetime]:
    """The schedule's instants in [start, end) the clock has not stored yet (all pending where shown).

    The clock stores every instant before `materialized_until`, so only later ones are computed; stored rows win
    over these wherever both exist: they carry outcomes and survive schedule edits.
    """
    since = max(start, subject.materialized_until)
    return occurrences_between(subject.schedule(), since, end) if since < end else []


def _stored_ahead(session: Session, subjects: Sequence[Subject]) -> dict[tuple[str, int], set[datetime]]:
    """Instants already stored beyond each schedule's `materialized_until` (a check-in added one alone)."""
    stored: dict[tuple[str, int], set[datetime]] = {}
    for kind, model in SUBJECT_MODELS.items():
        ids = [subject.id for subject in subjects if subject.kind == kind]
        if not ids:
            continue
        column = Occurrence.subject_column(kind)
        rows = session.execute(
            select(column, Occurrence.at)
            .join(model, model.id == column)
            .where(column.in_(ids), Occurrence.at >= model.materialized_until)
        )
        for subject_id, at in rows:
            stored.setdefault((kind, subject_id), set()).add(at)
    return stored


def add_occurrence(session: Session, subject: Subject, at: datetime, now: datetime) -> Occurrence:
    """One occurrence, for a check-in that needs it now: one whose window ended is closed at once, in the
    check-in's transaction, so the check-in decides its own outcome over the others' closed ones."""
    planned = plan_occurrence(subject, at)
    write(session, [planned], now)
    close(session, [planned.occurrence.id], now)
    return planned.occurrence


def plan_occurrence(subject: Subject, at: datetime) -> Planned:
    """An open occurrence with a pending outcome per expected person, also when its window ended (`close` decides)."""
    local = occurrence_local(at, subject.timezone)
    people = subject.expected_people()
    occurrence = Occurrence.of(subject, at=at, local=local, closed=False)
    occurrence.opens_at, occurrence.closes_at = subject.window(at, local)
    occurrence.outcomes = [OccurrenceOutcome(person_id=p, outcome=Outcome.PENDING) for p in people]
    return Planned(subject, occurrence, people)


def write(session: Session, planned: list[Planned], now: datetime) -> None:
    """Insert the occurrences and queue reminders for those whose window is still to close.

    No reminder is sent for an occurrence whose window ended, nor for one that began before its schedule existed.
    """
    session.add_all(p.occurrence for p in planned)
    session.flush()
    wanted = {pid for p in planned if wants_reminders(p, now) for pid in p.people}
    phones = dict(session.execute(select(Person.id, Person.phone).where(Person.id.in_(wanted))).all()) if wanted else {}
    for p in planned:
        if wants_reminders(p, now):
            session.add_all(row for person_id in p.people for row in nudge_rows(p, person_id, phones[person_id], now))
    session.flush()


def wants_reminders(planned: Planned, now: datetime) -> bool:
    return planned.occurrence.closes_at > now and planned.occurrence.at > planned.subject.created_at


def nudge_rows(planned: Planned, person_id: int, phone: str, now: datetime) -> list[OutboundSms]:
    """The person's reminder of the occurrence, and its follow-up when the subject has one that falls inside the
    window (SPEC §3, Follow-up): outbox rows like any SMS, so a follow-up goes once whatever crashes."""
    occurrence = planned.occurrence
    return [
        outbox.queued(
            dedupe_key=f"{kind}:{occurrence.id}:{person_id}",
            kind=kind,
            person_id=person_id,
            occurrence_id=occurrence.id,
            to=phone,
            created_at=now,
            due_at=due_at,
        )
        for kind, due_at in nudge_times(occurrence, planned.subject).items()
    ]


def nudge_times(occurrence: Occurrence, subject: Subject) -> dict[SmsKind, datetime]:
    """When the occurrence's reminder is due, and its follow-up if the subject has one inside the window."""
    due = {SmsKind.REMINDER: max(occurrence.opens_at, subject.created_at)}
    if subject.follow_up_minutes is not None:
        follow_up_at = occurrence.at + timedelta(minutes=subject.follow_up_minutes)
        if follow_up_at < occurrence.closes_at:
            due[SmsKind.FOLLOW_UP] = follow_up_at
    return due


def include_participant(session: Session, circle_id: int, person_id: int, now: datetime) -> None:
    """Someone joined a circle: give them outcomes and reminders in its shared rituals' open occurrences."""
    occurrences = session.scalars(
        select(Occurrence)
        .join(Ritual, Ritual.id == Occurrence.ritual_id)
        .where(
            Ritual.circle_id == circle_id,
            Ritual.everyone.is_(True),
            Occurrence.closed.is_(False),
            Occurrence.closes_at > now,
        )
    ).all()
    phone = session.scalars(select(Person.phone).where(Person.id == person_id)).one()
    for occurrence in occurrences:
        if any(o.person_id == person_id for o in occurrence.outcomes):
            continue
        occurrence.outcomes.append(OccurrenceOutcome(person_id=person_id, outcome=Outcome.PENDING))
        if occurrence.at > now:
            ritual = session.get_one(Ritual, occurrence.ritual_id)
            session.add_all(nudge_rows(Planned(ritual, occurrence, [person_id]), person_id, phone, now))
    session.flush()
    feed_changes.mark_dirty(session, circle_id=circle_id, now=now)


def ended(session: Session, now: datetime, limit: int) -> list[int]:
    """The clock's part: ids of occurrences whose check-in window ended and that are not closed yet, oldest first.

    Nothing is changed, so an id whose doorbell was lost is found again by the next tick.
    """
    return list(
        session.scalars(
            select(Occurrence.id)
            .where(Occurrence.closed.is_(False), Occurrence.closes_at <= now)
            .order_by(Occurrence.closes_at)
            .limit(limit)
        )
    )


def close(session: Session, occurrence_ids: Sequence[int], now: datetime) -> int:
    """The worker's part: close those of these occurrences whose window ended and that are still open:
    pending → missed, or skipped when a pause of the person overlapped it (`excused`), streak figures
    folded, feeds marked dirty.

    Idempotent: closed occurrences and those another worker holds (SKIP LOCKED) are left alone; returns how
    many this call closed. The outcome depends on the occurrence and the pause history alone, not on when
    this runs, so a catch-up or a late worker decides what a worker on time would have.
    """
    occurrences = session.scalars(
        select(Occurrence)
        .where(Occurrence.id.in_(list(occurrence_ids)), Occurrence.closed.is_(False), Occurrence.closes_at <= now)
        .order_by(Occurrence.closes_at)
        .with_for_update(skip_locked=True)
        .options(selectinload(Occurrence.outcomes))
    ).all()
    pauses = _pauses_over(session, occurrences)
    decided: list[tuple[Occurrence, int]] = []
    for occurrence in occurrences:
        occurrence.closed = True
        for outcome in occurrence.outcomes:
            if outcome.outcome == Outcome.PENDING:
                paused = excused(occurrence, pauses.get(outcome.person_id, ()))
                outcome.outcome = Outcome.SKIPPED if paused else Outcome.MISSED
                outcome.decided_at = now
                decided.append((occurrence, outcome.person_id))
    session.flush()
    # Figures in the check-in webhook's order (then feeds), so the two never wait on each other crosswise;
    # one subject's occurrences in time order, so each folds in one step.
    for occurrence, person_id in sorted(decided, key=lambda d: (d[1], streak_figures.figure_order(d[0]), d[0].at)):
        streak_figures.outcome_decided(session, occurrence, person_id, now)
    for circle_id in _circles_of(session, occurrences):
        feed_changes.mark_dirty(session, circle_id=circle_id, now=now)
    return len(occurrences)


def excused(occurrence: Occurrence, pauses: Iterable[tuple[datetime, datetime]]) -> bool:
    """SPEC §4's PAUSE, for streaks: an occurrence that one of the person's pauses ([start, end)) overlapped
    between its start and its close is not held against them (skipped, not missed)."""
    return any(start < occurrence.closes_at and occurrence.at < end for start, end in pauses)


def _pauses_over(session: Session, occurrences: Sequence[Occurrence]) -> dict[int, list[tuple[datetime, datetime]]]:
    """The pauses of the people expected at these occurrences, over the time they span, per person."""
    person_ids = {o.person_id for occurrence in occurrences for o in occurrence.outcomes}
    if not person_ids:
        return {}
    rows = session.execute(
        select(PersonPause.person_id, PersonPause.starts_at, PersonPause.ends_at).where(
            PersonPause.person_id.in_(person_ids),
            PersonPause.starts_at < max(o.closes_at for o in occurrences),
            PersonPause.ends_at > min(o.at for o in occurrences),
        )
    )
    pauses: dict[int, list[tuple[datetime, datetime]]] = {}
    for person_id, starts_at, ends_at in rows:
        pauses.setdefault(person_id, []).append((starts_at, ends_at))
    return pauses


def _circles_of(session: Session, occurrences: Sequence[Occurrence]) -> list[int]:
    """The circles of these occurrences' subjects, in id order (one query per kind)."""
    ids: dict[SubjectKind, set[int]] = {}
    for occurrence in occurrences:
        kind, subject_id = occurrence.subject_key
        ids.setdefault(kind, set()).add(subject_id)
    circles: set[int] = set()
    for kind, subject_ids in ids.items():
        model = SUBJECT_MODELS[kind]
        circles.update(session.scalars(select(model.circle_id).where(model.id.in_(subject_ids))))
    return sorted(circles)
