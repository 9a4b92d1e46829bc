"""What a feed shows (SPEC §6): its subjects, paused dates and recent outcomes, read from the database and
rendered by calendars/ (pure) into the stored bytes polls are served from.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from calendars.feed import FeedEvent, PastOutcome, build_feed
from calendars.outcomes import past_outcome
from service.core import zones
from service.core.schedule import Schedule, occurrence_local, occurrences_between
from service.domain import accounts, checkins
from service.domain.models import (
    Circle,
    Feed,
    FeedScope,
    Membership,
    MembershipStatus,
    Occurrence,
    OccurrenceOutcome,
    Promise,
    Ritual,
    RitualPause,
    subject_key,
)

RECENT = timedelta(days=60)  # past outcomes shown; also where the VTIMEZONEs begin
AHEAD = timedelta(days=400)  # how far ahead paused dates reach
PROMISE_MINUTES = 15  # a promise is a moment; calendars need some length to show it


def refresh(session: Session, feed_id: int, *, now: datetime, secret: str, wait: bool = False) -> bool:
    """Render and store the feed if it is dirty or was never rendered; False when there was nothing to do.

    The row stays locked until the caller commits (see the module docstring).
    Without `wait`, a feed that another process is rendering is left to it.
    """
    feed = session.scalar(select(Feed).where(Feed.id == feed_id).with_for_update(skip_locked=not wait))
    if feed is None or (feed.dirty_since is None and feed.body is not None):
        return False
    body = render(session, feed, now=now, secret=secret)
    etag = hashlib.sha256(body).hexdigest()[:32]
    if etag != feed.etag:  # same bytes keep their Last-Modified, so clients see nothing new
        feed.body, feed.etag, feed.rendered_at = body, etag, now
    feed.dirty_since = None
    return True


def render(session: Session, feed: Feed, *, now: datetime, secret: str) -> bytes:
    name, events = contents(session, feed, now=now, secret=secret)
    return build_feed(name, events, window_start=now - RECENT, zones=zones.current())


def contents(session: Session, feed: Feed, *, now: datetime, secret: str) -> tuple[str, list[FeedEvent]]:
    """The calendar name and events of a feed, read in a fixed number of queries whatever its size."""
    viewer = feed.person_id if feed.scope == FeedScope.PERSON else None
    circles = select(Membership.circle_id).where(
        Membership.person_id == feed.person_id, Membership.status == MembershipStatus.ACTIVE
    )
    if viewer is None:
        circles = circles.where(Membership.circle_id == feed.circle_id)  # only while the owner is still a member
        name = session.scalar(select(Circle.name).where(Circle.id == feed.circle_id))
    else:
        name = accounts.own_name(session, viewer)
    rituals, promises = _subjects(session, circles, viewer)
    recent = _recent_outcomes(session, rituals, promises, now - RECENT)
    names = accounts.names_in(  # as each subject's circle shows its people
        session,
        {r.circle_id for r in rituals} | {p.circle_id for p in promises},
        {p for by_instant in recent.outcomes.values() for by_person in by_instant.values() for p in by_person}
        | {p.keeper_id for p in promises}
        | {p.recipient_id for p in promises},
    )
    pauses = _pauses(session, rituals)
    window = (now - RECENT, now + AHEAD)
    events = [
        event
        for ritual in rituals
        if (
            event := _ritual_event(
                ritual, pauses[ritual.id], window, recent, viewer, names.in_circle(ritual.circle_id), secret
            )
        )
        is not None
    ]
    events += [_promise_event(p, recent, names.in_circle(p.circle_id), secret) for p in promises]
    return f"Tend — {name}" if name else "Tend", events


def opaque(kind: str, subject_id: int, secret: str) -> str:
    """A stable stand-in for an id in UIDs: unguessable, and no count of anyone's rituals."""
    return hmac.new(secret.encode(), f"{kind}:{subject_id}".encode(), hashlib.sha256).hexdigest()[:16]


# What a feed shows

_Outcomes = dict[tuple[str, int], dict[datetime, dict[int, str]]]  # (kind, subject id) -> instant -> {person: outcome}


@dataclass(frozen=True)
class _Recent:
    """The recent occurrences' outcomes, and the notes kept with their check-ins, alike by subject and instant."""

    outcomes: _Outcomes
    notes: _Outcomes  # (kind, subject id) -> instant -> {person: note}


def _subjects(session: Session, circles: Any, viewer: int | None) -> tuple[list[Ritual], list[Promise]]:
    """The rituals and promises of these circles; for a person's feed, only those they take part in."""
    rituals = select(Ritual).where(Ritual.circle_id.in_(circles)).order_by(Ritual.id)
    promises = select(Promise).where(Promise.circle_id.in_(circles)).order_by(Promise.id)
    if viewer is not None:
        rituals, promises = rituals.where(Ritual.involves(viewer)), promises.where(Promise.involves(viewer))
    return list(session.scalars(rituals)), list(session.scalars(promises))


def _recent_outcomes(session: Session, rituals: list[Ritual], promises: list[Promise], since: datetime) -> _Recent:
    rows = session.execute(
        select(
            Occurrence.id,
            Occurrence.ritual_id,
            Occurrence.promise_id,
            Occurrence.at,
            OccurrenceOutcome.person_id,
            OccurrenceOutcome.outcome,
        )
        .join(OccurrenceOutcome, OccurrenceOutcome.occurrence_id == Occurrence.id)
        .where(
            or_(Occurrence.ritual_id.in_([r.id for r in rituals]), Occurrence.promise_id.in_([p.id for p in promises])),
            Occurrence.at >= since,
        )
    )
    outcomes: _Outcomes = defaultdict(lambda: defaultdict(dict))
    notes: _Outcomes = defaultdict(lambda: defaultdict(dict))
    where: dict[int, tuple[tuple[str, int], datetime]] = {}
    for occurrence_id, ritual_id, promise_id, at, person_id, outcome in rows:
        key = subject_key(ritual_id, promise_id)
        outcomes[key][at][person_id] = outcome
        where[occurrence_id] = (key, at)
    for occurrence_id, by_person in checkins.notes_of(session, where).items():
        subject, instant = where[occurrence_id]
        notes[subject][instant] = by_person
    return _Recent(outcomes, notes)


def _pauses(session: Session, rituals: list[Ritual]) -> dict[int, list[tuple[datetime, datetime]]]:
    pauses: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    rows = session.execute(
        select(RitualPause.ritual_id, RitualPause.starts_at, RitualPause.ends_at).where(
            RitualPause.ritual_id.in_([r.id for r in rituals])
        )
    )
    for ritual_id, starts_at, ends_at in rows:
        pauses[ritual_id].append((starts_at, ends_at))
    return pauses


def _ritual_event(
    ritual: Ritual,
    pauses: list[tuple[datetime, datetime]],
    window: tuple[datetime, datetime],
    recent: _Recent,
    viewer: int | None,
    names: dict[int, str],
    secret: str,
) -> FeedEvent | None:
    """The ritual's event; None for a one-off ritual whose only occurrence fell in a pause."""
    past = _past_outcomes(ritual, recent, viewer, names)
    paused = _paused_locals(Schedule(ritual.start_local, ritual.timezone, ritual.rrule), pauses, window)
    paused -= {outcome.local_start for outcome in past}  # it happened (a check-in came before the pause)
    if ritual.rrule is None and paused:
        return None
    return FeedEvent(
        uid=_uid(ritual, secret),
        kind=ritual.kind,
        title=ritual.title,
        start_local=ritual.start_local,
        timezone=ritual.timezone,
        duration_minutes=ritual.duration_minutes,
        remind_before_minutes=ritual.remind_before_minutes,
        sequence=ritual.sequence,
        last_modified=ritual.updated_at,
        rrule=ritual.rrule,
        exdates=tuple(sorted(paused)),
        past_outcomes=past,
    )


def _promise_event(promise: Promise, recent: _Recent, names: dict[int, str], secret: str) -> FeedEvent:
    return FeedEvent(
        uid=_uid(promise, secret),
        kind=promise.kind,
        title=promise.title,
        start_local=promise.due_local,
        timezone=promise.timezone,
        duration_minutes=PROMISE_MINUTES,
        remind_before_minutes=promise.remind_before_minutes,
        sequence=promise.sequence,
        last_modified=promise.updated_at,
        rrule=promise.rrule,
        past_outcomes=_past_outcomes(promise, recent, None, names),
        description=f"Promised by {names[promise.keeper_id]} to {names[promise.recipient_id]}.",
    )


def _uid(subject: Ritual | Promise, secret: str) -> str:
    """The event's stable UID ("ritual-<opaque>@tend"): the same for every render, no id in it."""
    return f"{subject.kind}-{opaque(subject.kind, subject.id, secret)}@tend"


def _past_outcomes(
    subject: Ritual | Promise, recent: _Recent, viewer: int | None, names: dict[int, str]
) -> tuple[PastOutcome, ...]:
    """Decided occurrences as wall times in the subject's current zone (its RECURRENCE-IDs).

    A one-off keeps only an outcome at its own start: after an edit moved it,
    an older outcome belongs to no event in the calendar.
    """
    start = subject.starts
    by_local: dict[datetime, PastOutcome] = {}
    notes = recent.notes.get((subject.kind, subject.id), {})
    for at, by_person in sorted(recent.outcomes.get((subject.kind, subject.id), {}).items()):
        local = occurrence_local(at, subject.timezone)
        outcome = past_outcome(local, by_person, viewer, names, notes.get(at))
        if outcome is not None and (subject.rrule is not None or local == start):
            by_local[local] = outcome
    return tuple(by_local.values())


def _paused_locals(
    schedule: Schedule, pauses: Iterable[tuple[datetime, datetime]], window: tuple[datetime, datetime]
) -> set[datetime]:
    """Wall times the schedule would have had inside its pauses (the feed's EXDATEs), within the window."""
    paused: set[datetime] = set()
    for starts_at, ends_at in pauses:
        start, end = max(starts_at, window[0]), min(ends_at, window[1])
        if start < end:
            paused.update(occurrence_local(at, schedule.timezone) for at in occurrences_between(schedule, start, end))
    return paused
