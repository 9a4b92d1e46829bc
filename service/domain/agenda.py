"""What the pages show a person (SPEC §11), read in a bounded number of statements whatever the number of things.

- `today`: this person's occurrences today and tomorrow (local), with their own
  outcome and whether they can check in now; the promises they are owed.
- `circle_overview`: a circle's rituals and promises with their next occurrence
  and this person's current streak.
- `history`: per ritual and promise, the person's figures, the last 12 weeks
  of outcomes (heatmap cells) and the counted outcomes behind the strength line.

Stored occurrences carry outcomes; instants the clock has not stored yet are
computed from the schedule (all pending), as the occurrences API does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from service.core.picker import describe
from service.core.schedule import local_to_utc, next_occurrence, occurrences_between, parse_timezone
from service.core.streaks import Outcome, counted_in
from service.domain import accounts, checkins, streak_figures, subjects
from service.domain.models import (
    CheckIn,
    Circle,
    Membership,
    MembershipStatus,
    Occurrence,
    OccurrenceOutcome,
    Person,
    Promise,
    Ritual,
    StreakFigure,
    Subject,
    SubjectKind,
)

HEATMAP_WEEKS = 12


@dataclass(frozen=True)
class Entry:
    """One occurrence on the person's agenda."""

    kind: SubjectKind
    subject_id: int
    title: str
    at: datetime  # UTC
    local: datetime  # aware, in the person's zone
    outcome: str | None  # this person's: pending, done, on_time, late, skipped, missed; None when not expected
    can_check_in: bool
    circle: str
    keeper: str | None = None  # for a promise owed to this person: who keeps it
    others: tuple[checkins.Seen, ...] = ()  # the other participants' check-ins, with their notes
    opens: datetime | None = None  # local: when a pending one can be checked in, if not yet
    reminded: bool = True  # whether its reminder goes out when it opens (not while the person's reminders are paused)


@dataclass
class Day:
    day: date
    entries: list[Entry] = field(default_factory=list)


@dataclass(frozen=True)
class Agenda:
    days: list[Day]
    owed: list[Entry]
    circles: list[tuple[int, str]]  # (id, name) of the circles the person joined
    paused_until: datetime | None  # local: while the person paused all their reminders


def joined(person_id: int, circle_column):
    return and_(
        Membership.circle_id == circle_column,
        Membership.person_id == person_id,
        Membership.status == MembershipStatus.ACTIVE,
    )


def rituals_of(session: Session, person_id: int) -> list[Ritual]:
    """The rituals the person takes part in, in circles they joined, with their pauses loaded."""
    return list(
        session.scalars(
            select(Ritual).where(Ritual.expects(person_id)).options(selectinload(Ritual.pauses)).order_by(Ritual.id)
        )
    )


def promises_of(session: Session, person_id: int) -> tuple[list[Promise], list[Promise]]:
    """(promises the person keeps, promises owed to them), in circles they joined."""
    rows = session.scalars(
        select(Promise)
        .join(Membership, joined(person_id, Promise.circle_id))
        .where(or_(Promise.keeper_id == person_id, Promise.recipient_id == person_id))
        .options(joinedload(Promise.keeper), joinedload(Promise.recipient))
        .order_by(Promise.id)
    ).all()
    return [p for p in rows if p.keeper_id == person_id], [p for p in rows if p.recipient_id == person_id]


def day_bounds(person: Person, now: datetime, days: int) -> tuple[date, datetime, datetime]:
    zone = parse_timezone(person.timezone)
    today = now.astimezone(zone).date()
    start = local_to_utc(datetime.combine(today, time()), zone)
    end = local_to_utc(datetime.combine(today + timedelta(days=days), time()), zone)
    return today, start, end


def _stored(
    session: Session, person_id: int, subject_list: list[Subject], start: datetime, end: datetime
) -> dict[tuple[SubjectKind, int, datetime], str | None]:
    """(kind, id, at) -> this person's outcome (None when not expected) for stored occurrences in [start, end)."""
    keys = [(s.kind, s.id) for s in subject_list]
    rows = streak_figures.outcomes_between(session, person_id, keys, start, end, not_expected_too=True)
    return {(kind, subject_id, at): outcome for kind, subject_id, at, outcome in rows}


def today(session: Session, person: Person, now: datetime) -> Agenda:
    """Today's and tomorrow's occurrences of what this person keeps, and what is owed to them in that time."""
    first, start, end = day_bounds(person, now, 2)
    zone = parse_timezone(person.timezone)
    joined_circles = circle_names(session, person.id)
    circles = dict(joined_circles)
    rituals = rituals_of(session, person.id)
    keeps, owed = promises_of(session, person.id)
    names = accounts.names_in(session, {p.circle_id for p in owed}, {p.keeper_id for p in owed})
    kept_subjects: list[Subject] = [*rituals, *keeps]
    stored = _stored(session, person.id, [*kept_subjects, *owed], start, end)
    seen: dict[tuple[SubjectKind, int, datetime], list[checkins.Seen]] = defaultdict(list)
    for checkin in checkins.seen_between(session, [(s.kind, s.id) for s in [*kept_subjects, *owed]], start, end):
        if checkin.person_id != person.id:
            seen[(checkin.kind, checkin.subject_id, checkin.at)].append(checkin)
    days = [Day(first), Day(first + timedelta(days=1))]
    paused = accounts.reminders_paused_until(person, now)
    for subject in kept_subjects:
        circle = circles.get(subject.circle_id, "")
        for at in occurrences_between(subject.schedule(), start, end):
            key = (subject.kind, subject.id, at)
            outcome = stored[key] if key in stored else Outcome.PENDING
            local = at.astimezone(zone)
            can = outcome == Outcome.PENDING and subject.may_check_in(at, now)
            waits = outcome == Outcome.PENDING and not can
            opens = subject.opens_at(at).astimezone(zone) if waits else None
            reminded = paused is None or opens is None or paused <= opens
            entry = Entry(
                subject.kind,
                subject.id,
                subject.title,
                at,
                local,
                outcome,
                can,
                circle,
                opens=opens,
                reminded=reminded,
                others=tuple(seen[key]),
            )
            days[(local.date() - first).days].entries.append(entry)
    kept = settled(session, owed, start)
    owed_entries = []
    for promise in owed:
        for at in occurrences_between(promise.schedule(), start, end):
            if (promise.kind, promise.id, at) in kept:
                continue
            owed_entries.append(
                Entry(
                    promise.kind,
                    promise.id,
                    promise.title,
                    at,
                    at.astimezone(zone),
                    None,
                    False,
                    circles.get(promise.circle_id, ""),
                    keeper=names.of(promise.circle_id, promise.keeper_id),
                    others=tuple(seen[(promise.kind, promise.id, at)]),
                )
            )
    for day in days:
        day.entries.sort(key=lambda e: (e.at, e.title))
    owed_entries.sort(key=lambda e: e.at)
    return Agenda(days, owed_entries, joined_circles, paused.astimezone(zone) if paused else None)


def settled(
    session: Session, subject_list: Sequence[Subject], since: datetime
) -> set[tuple[SubjectKind, int, datetime]]:
    """(kind, id, at) of these subjects' occurrences from `since` on that nobody expected still has pending:
    a promise its keeper already checked in (kept early), a ritual every participant checked in."""
    if not subject_list:
        return set()
    pending = exists().where(
        OccurrenceOutcome.occurrence_id == Occurrence.id, OccurrenceOutcome.outcome == Outcome.PENDING
    )
    rows = session.execute(
        select(Occurrence.kind_expression(), Occurrence.subject_id_expression(), Occurrence.at).where(
            Occurrence.of_any((s.kind, s.id) for s in subject_list), Occurrence.at >= since, ~pending
        )
    )
    return {(SubjectKind(kind), subject_id, at) for kind, subject_id, at in rows}


KEPT = (Outcome.DONE, Outcome.ON_TIME, Outcome.LATE)


def kept_on(session: Session, promise: Promise) -> datetime | None:
    """When a one-off promise was kept (its keeper's check-in, UTC); None while it is open, or when it repeats."""
    if promise.rrule is not None:
        return None
    return session.scalar(
        select(CheckIn.received_at)
        .join(Occurrence, Occurrence.id == CheckIn.occurrence_id)
        .where(Occurrence.promise_id == promise.id, CheckIn.person_id == promise.keeper_id, CheckIn.outcome.in_(KEPT))
        .order_by(CheckIn.received_at.desc())
        .limit(1)
    )


def next_open(subject: Subject, now: datetime, done: set[tuple[SubjectKind, int, datetime]]) -> datetime | None:
    """The first occurrence at or after `now` that is not settled yet (a promise kept early is not "next")."""
    at = subjects.upcoming(subject, now)
    while at is not None and (subject.kind, subject.id, at) in done:
        at = next_occurrence(subject.schedule(), at)
    return at


@dataclass(frozen=True)
class Line:
    """A ritual or promise in a circle's overview."""

    kind: SubjectKind
    id: int
    title: str
    schedule: str
    next_local: datetime | None
    streak: int | None  # this person's current streak; None when they do not take part
    detail: str = ""
    kept: bool = False  # a one-off promise, kept


def circle_overview(session: Session, person: Person, circle: Circle, now: datetime) -> list[Line]:
    zone = parse_timezone(person.timezone)
    rituals = session.scalars(
        select(Ritual)
        .where(Ritual.circle_id == circle.id)
        .options(selectinload(Ritual.pauses), selectinload(Ritual.participant_links))
        .order_by(Ritual.id)
    ).all()
    promises = session.scalars(
        select(Promise)
        .where(Promise.circle_id == circle.id)
        .options(selectinload(Promise.keeper), selectinload(Promise.recipient))
        .order_by(Promise.id)
    ).all()
    figures = {
        (f.subject_kind, f.subject_id): f.current_streak
        for f in session.scalars(select(StreakFigure).where(StreakFigure.person_id == person.id))
    }
    names = accounts.names_in(session, [circle.id], {i for p in promises for i in (p.keeper_id, p.recipient_id)})
    lines: list[Line] = []
    for ritual in rituals:
        upcoming = subjects.upcoming(ritual, now)
        mine = person.id in ritual.expected_people()
        lines.append(
            Line(
                ritual.kind,
                ritual.id,
                ritual.title,
                describe(ritual.rrule, ritual.start_local.date()),
                upcoming.astimezone(zone) if upcoming else None,
                figures.get((ritual.kind, ritual.id), 0) if mine else None,
            )
        )
    kept = settled(session, promises, now)
    for promise in promises:
        upcoming = next_open(promise, now, kept)
        lines.append(
            Line(
                promise.kind,
                promise.id,
                promise.title,
                describe(promise.rrule, promise.due_local.date()),
                upcoming.astimezone(zone) if upcoming else None,
                figures.get((promise.kind, promise.id), 0) if person.id in promise.expected_people() else None,
                detail=f"{names.of(promise.circle_id, promise.keeper_id)} to {names.of(promise.circle_id, promise.recipient_id)}",
                kept=upcoming is None and kept_on(session, promise) is not None,
            )
        )
    return lines


CELL_OF = {
    Outcome.DONE: "kept",
    Outcome.ON_TIME: "kept",
    Outcome.LATE: "kept",
    Outcome.MISSED: "missed",
    Outcome.SKIPPED: "skipped",
    Outcome.PENDING: "pending",
}
# When two occurrences share a day, the cell shows the one that says most.
_CELL_RANK = {"missed": 4, "pending": 3, "kept": 2, "skipped": 1, None: 0}


@dataclass(frozen=True)
class SubjectHistory:
    figures: streak_figures.SubjectFigures
    first_day: date  # a Monday
    cells: list[str | None]  # one per day from first_day to today
    counted: list[str]  # counted outcomes in the window, in time order (for the strength line)


@dataclass(frozen=True)
class History:
    reliability_30d: float | None
    subjects: list[SubjectHistory]


def history(session: Session, person: Person, now: datetime) -> History:
    """The person's figures per subject with 12 weeks of outcomes, in four statements whatever the count."""
    figures = streak_figures.person_figures(session, person.id, now)
    zone = parse_timezone(person.timezone)
    today_local = now.astimezone(zone).date()
    first_day = today_local - timedelta(days=today_local.weekday() + 7 * (HEATMAP_WEEKS - 1))
    since = local_to_utc(datetime.combine(first_day, time()), zone)
    by_subject: dict[tuple[SubjectKind, int], list[tuple[datetime, str]]] = defaultdict(list)
    keys = [(s.kind, s.id) for s in figures.subjects]
    for kind, subject_id, at, outcome in streak_figures.outcomes_between(
        session, person.id, keys, since, now, decided_too=True
    ):
        if outcome is not None and counted_in(at, outcome, since, now, now):
            by_subject[(kind, subject_id)].append((at, outcome))
    days = (today_local - first_day).days + 1
    result = []
    for subject in figures.subjects:
        cells: list[str | None] = [None] * days
        counted = []
        for at, outcome in by_subject.get((subject.kind, subject.id), []):
            index = min((at.astimezone(zone).date() - first_day).days, days - 1)  # kept early: today's cell
            cell = CELL_OF.get(Outcome(outcome))
            if 0 <= index < days and _CELL_RANK[cell] > _CELL_RANK[cells[index]]:
                cells[index] = cell
            if outcome != Outcome.PENDING and (
                subject.state.last_counted_at is None or at <= subject.state.last_counted_at
            ):
                counted.append(outcome)
        result.append(SubjectHistory(subject, first_day, cells, counted))
    return History(figures.reliability_30d, result)


def circles_of(session: Session, person_id: int) -> list[Circle]:
    """The circles the person joined, members loaded."""
    return list(
        session.scalars(
            select(Circle)
            .join(Membership, joined(person_id, Circle.id))
            .options(selectinload(Circle.memberships).selectinload(Membership.person))
            .order_by(Circle.id)
        )
    )


def circle_rituals(session: Session, person_id: int) -> list[Ritual]:
    """Every ritual of the circles the person joined (taking part or not)."""
    return list(
        session.scalars(
            select(Ritual)
            .join(Membership, joined(person_id, Ritual.circle_id))
            .options(
                selectinload(Ritual.pauses),
                selectinload(Ritual.participant_links),
                selectinload(Ritual.circle).selectinload(Circle.memberships),
            )
            .order_by(Ritual.id)
        )
    )


def circle_names(session: Session, person_id: int) -> list[tuple[int, str]]:
    """(id, name) of the circles the person joined, in one statement."""
    rows = session.execute(
        select(Circle.id, Circle.name).join(Membership, joined(person_id, Circle.id)).order_by(Circle.id)
    )
    return [(circle_id, name) for circle_id, name in rows]


@dataclass(frozen=True)
class Note:
    """Words another participant kept with a check-in, where this person can see them."""

    title: str
    local: datetime  # aware, in the viewer's zone
    name: str
    note: str


def notes_between(session: Session, person: Person, since: datetime, until: datetime) -> list[Note]:
    """The other participants' notes at the rituals and promises this person shares, in [since, until)."""
    keeps, owed = promises_of(session, person.id)
    shared: list[Subject] = [*rituals_of(session, person.id), *keeps, *owed]
    titles = {(s.kind, s.id): s.title for s in shared}
    zone = parse_timezone(person.timezone)
    return [
        Note(titles[(seen.kind, seen.subject_id)], seen.at.astimezone(zone), seen.name, seen.note)
        for seen in checkins.seen_between(session, titles, since, until)
        if seen.note is not None and seen.person_id != person.id
    ]
