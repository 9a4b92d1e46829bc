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
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    exists,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, joinedload, selectinload

from service.core.picker import describe
from service.core.schedule import local_to_utc, next_occurrence, parse_timezone
from service.core.streaks import Outcome, counted_in
from service.domain import accounts, checkins, occurrences, streak_figures, subjects
from service.domain.accounts import shown_name
from service.domain.db import HotReads
from service.domain.models import (
    ID,
    SUBJECT_MODELS,
    CheckIn,
    Circle,
    Membership,
    MembershipStatus,
    Occurrence,
    OccurrenceOutcome,
    Person,
    Promise,
    Ritual,
    RitualParticipant,
    StreakFigure,
    Subject,
    SubjectKind,
    UTCDateTime,
    table,
)

HEATMAP_WEEKS = 12
_RITUALS, _PROMISES, _PARTICIPANTS = table(Ritual), table(Promise), table(RitualParticipant)
_OCCURRENCES, _OUTCOMES, _CHECKINS = table(Occurrence), table(OccurrenceOutcome), table(CheckIn)
_CIRCLES, _MEMBERS, _PEOPLE = table(Circle), table(Membership), table(Person)


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


def joined(person_id: Any, circle_column: Any) -> ColumnElement[bool]:
    """The person's membership of the circle in `circle_column`, once they joined it."""
    return and_(
        _MEMBERS.c.circle_id == circle_column,
        _MEMBERS.c.person_id == person_id,
        _MEMBERS.c.status == MembershipStatus.ACTIVE,
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


def _today_statement() -> Select:
    """The page's data in one statement of Core rows (bind parameters `me`, `start`, `end`).

    A row for each circle the person joined, times each ritual they take part in and each promise they keep or
    are owed there, times each stored occurrence of it in [start, end) with this person's outcome (a promise's:
    its keeper's; NULL when they are not expected), times each other person's check-in at it, names as that
    circle shows them.
    """
    me, start, end = (
        bindparam("me", type_=ID),
        bindparam("start", type_=UTCDateTime),
        bindparam("end", type_=UTCDateTime),
    )
    at, outcome = _OCCURRENCES, _OUTCOMES

    def subject(kind: SubjectKind, model: type[Ritual] | type[Promise]) -> Select:
        return (
            select(
                literal_column(f"'{kind.value}'", String).label("kind"),
                model.id.label("subject_id"),
                model.circle_id,
                model.title,
                model.materialized_until,
                model.keeper_column().label("keeper_id"),
                at.c.id.label("occurrence_id"),
                at.c.at,
                at.c.opens_at,
                outcome.c.outcome,
            )
            .select_from(model)
            .join(_MEMBERS, joined(me, model.circle_id))
            .outerjoin(at, and_(Occurrence.subject_column(kind) == model.id, at.c.at >= start, at.c.at < end))
            .outerjoin(
                outcome, and_(outcome.c.occurrence_id == at.c.id, outcome.c.person_id == model.outcome_shown_to(me))
            )
            .where(model.involves(me))
        )

    things = union_all(*(subject(kind, model) for kind, model in SUBJECT_MODELS.items())).subquery("thing")
    mine, circle, checkin = _MEMBERS.alias("mine"), _CIRCLES, _CHECKINS
    keeper, keeper_in = _PEOPLE.alias("keeper"), _MEMBERS.alias("keeper_in")
    checker, checker_in = _PEOPLE.alias("checker"), _MEMBERS.alias("checker_in")
    by, by_in = _PEOPLE.alias("by_person"), _MEMBERS.alias("by_in")
    return (
        select(
            circle.c.id.label("circle_id"),
            circle.c.name.label("circle_name"),
            things.c.kind,
            things.c.subject_id,
            things.c.title,
            things.c.materialized_until,
            things.c.keeper_id,
            keeper.c.name.label("keeper_name"),
            keeper_in.c.status.label("keeper_status"),
            keeper_in.c.label.label("keeper_label"),
            things.c.at,
            things.c.opens_at,
            things.c.outcome,
            checkin.c.person_id.label("checker_id"),
            checker.c.name.label("checker_name"),
            checker_in.c.status.label("checker_status"),
            checker_in.c.label.label("checker_label"),
            checkin.c.outcome.label("checked"),
            checkin.c.note,
            by.c.name.label("by_name"),
            by_in.c.status.label("by_status"),
            by_in.c.label.label("by_label"),
        )
        .select_from(mine)
        .join(circle, circle.c.id == mine.c.circle_id)
        .outerjoin(things, things.c.circle_id == circle.c.id)
        .outerjoin(keeper, keeper.c.id == things.c.keeper_id)
        .outerjoin(keeper_in, and_(keeper_in.c.circle_id == circle.c.id, keeper_in.c.person_id == keeper.c.id))
        .outerjoin(checkin, and_(checkin.c.occurrence_id == things.c.occurrence_id, checkin.c.person_id != me))
        .outerjoin(checker, checker.c.id == checkin.c.person_id)
        .outerjoin(checker_in, and_(checker_in.c.circle_id == circle.c.id, checker_in.c.person_id == checker.c.id))
        .outerjoin(by, by.c.id == checkin.c.by_id)
        .outerjoin(by_in, and_(by_in.c.circle_id == circle.c.id, by_in.c.person_id == by.c.id))
        .where(mine.c.person_id == me, mine.c.status == MembershipStatus.ACTIVE)
        .order_by(things.c.kind.desc(), things.c.subject_id, things.c.at, checkin.c.id)
    )


_TODAY = _today_statement()


@dataclass
class _Stored:
    """A stored occurrence on the page: when its window opens, the outcome shown, the others' check-ins."""

    opens_at: datetime
    outcome: str | None
    others: list[checkins.Seen]


@dataclass
class _Found:
    """A ritual or promise on the page, as the statement read it, with its stored occurrences by instant."""

    title: str
    circle_id: int
    materialized_until: datetime
    keeper_id: int | None  # a promise's
    keeper: str | None  # as its circle shows them
    stored: dict[datetime, _Stored] = field(default_factory=dict)


def today(session: Session, reads: HotReads, person: Person, now: datetime) -> Agenda:
    """Today's and tomorrow's occurrences of what this person keeps, and what is owed to them in that time.

    Read from the occurrences the clock stored, in one prepared statement (`reads`: the hot path's own
    connection); only a schedule the clock has not stored that far yet (a ritual made a minute ago, a clock
    behind) is loaded in `session` and expanded, from where its stored occurrences end.
    """
    zone = parse_timezone(person.timezone)
    first = now.astimezone(zone).date()
    start = local_to_utc(datetime.combine(first, time()), zone)
    end = local_to_utc(datetime.combine(first + timedelta(days=2), time()), zone)
    circles: dict[int, str] = {}
    found: dict[tuple[SubjectKind, int], _Found] = {}
    for row in reads.all(_TODAY, {"me": person.id, "start": start, "end": end}):
        circles[row.circle_id] = row.circle_name
        if row.kind is None:
            continue  # a circle with nothing of this person's in it
        key = (SubjectKind(row.kind), row.subject_id)
        thing = found.get(key)
        if thing is None:
            keeper = None if row.keeper_id is None else shown_name(row.keeper_status, row.keeper_name, row.keeper_label)
            thing = found[key] = _Found(row.title, row.circle_id, row.materialized_until, row.keeper_id, keeper)
        if row.at is None:
            continue  # nothing stored in the two days
        stored = thing.stored.get(row.at)
        if stored is None:
            stored = thing.stored[row.at] = _Stored(row.opens_at, row.outcome, [])
        if row.checker_id is not None:
            name = shown_name(row.checker_status, row.checker_name, row.checker_label)
            by = None if row.by_name is None else shown_name(row.by_status, row.by_name, row.by_label)
            stored.others.append(checkins.Seen(*key, row.at, row.checker_id, name, row.checked, row.note, by))
    behind = _not_stored_yet(session, found, end)
    days = [Day(first), Day(first + timedelta(days=1))]
    paused = accounts.reminders_paused_until(person, now)
    owed: list[Entry] = []
    for key, thing in found.items():
        instants = [(at, s.opens_at, s.outcome, s.others) for at, s in thing.stored.items()]
        subject = behind.get(key)
        if subject is not None:
            instants.extend(
                (at, subject.opens_at(at), Outcome.PENDING, [])
                for at in occurrences.unstored(subject, start, end)
                if at not in thing.stored
            )
        circle = circles[thing.circle_id]
        for at, opens_at, outcome, others in instants:
            local = at.astimezone(zone)
            if thing.keeper_id not in (None, person.id):  # owed to this person: shown until its keeper decides it
                if outcome == Outcome.PENDING:
                    owed.append(Entry(*key, thing.title, at, local, None, False, circle, thing.keeper, tuple(others)))
                continue
            can = outcome == Outcome.PENDING and SUBJECT_MODELS[key[0]].opened(opens_at, now)
            opens = opens_at.astimezone(zone) if outcome == Outcome.PENDING and not can else None
            reminded = paused is None or opens is None or paused <= opens
            entry = Entry(*key, thing.title, at, local, outcome, can, circle, None, tuple(others), opens, reminded)
            days[(local.date() - first).days].entries.append(entry)
    for day in days:
        day.entries.sort(key=lambda e: (e.at, e.title))
    owed.sort(key=lambda e: (e.at, e.subject_id))
    return Agenda(days, owed, sorted(circles.items()), paused.astimezone(zone) if paused else None)


def _not_stored_yet(
    session: Session, found: dict[tuple[SubjectKind, int], _Found], end: datetime
) -> dict[tuple[SubjectKind, int], Subject]:
    """Those of the found subjects whose stored occurrences end before `end`, loaded to expand the rest."""
    loaded: dict[tuple[SubjectKind, int], Subject] = {}
    for kind, model in SUBJECT_MODELS.items():
        ids = [subject_id for (k, subject_id), thing in found.items() if k == kind and thing.materialized_until < end]
        if ids:
            rows = session.scalars(select(model).where(model.id.in_(ids)).options(*model.schedule_loads()))
            loaded.update(((kind, subject.id), subject) for subject in cast(list[Subject], rows.all()))
    return loaded


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
