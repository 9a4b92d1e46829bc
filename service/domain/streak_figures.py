"""Stored streak figures per (subject, person): kept current as outcomes are decided, read by the API and SMS.

Streaks and strength (service.core.streaks) depend on a whole history but only
move forward, so each (subject, person) keeps one StreakFigure row. An outcome
decided after the latest counted occurrence, the normal case of a check-in or
a close, advances that row in O(1). Any other decision (a back-fill, a changed
check-in, a repeat) re-folds that pair's history instead. Both paths give what
`recompute_figure` gives, so a repeated decision is harmless and a repair
changes nothing that was maintained correctly.

Rates are windowed, so they are never stored: they are computed when read,
from a query bounded by index to the last 30 days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Double, Integer, and_, bindparam, exists, func, literal, or_, select, union
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from service.core.streaks import (
    COUNTED,
    KEPT,
    MONTH,
    STRENGTH_MULTIPLIER,
    Outcome,
    Rates,
    StreakState,
    advance,
    rates,
    recompute,
    reliability,
)
from service.core.streaks import (
    Occurrence as Counted,
)
from service.domain.db import Direct, insert_for, on_postgres
from service.domain.models import (
    SUBJECT_MODELS,
    Membership,
    MembershipStatus,
    Occurrence,
    OccurrenceOutcome,
    Promise,
    Ritual,
    RitualParticipant,
    StreakFigure,
    SubjectKind,
    subject_key,
    table,
)


@dataclass(frozen=True, order=True)
class FigureKey:
    """Whose figures: one person's on one ritual or promise."""

    kind: SubjectKind
    subject_id: int
    person_id: int

    def columns(self) -> dict[str, Any]:
        """The row's key columns, the subject also as its foreign key."""
        return {
            "subject_kind": self.kind,
            "subject_id": self.subject_id,
            "ritual_id": None,
            "promise_id": None,
            Occurrence.subject_column(self.kind).key: self.subject_id,
            "person_id": self.person_id,
        }


@dataclass(frozen=True)
class SubjectFigures:
    """What a person sees of one subject: stored streaks and strength, and rates as of `now`."""

    kind: SubjectKind
    id: int
    title: str
    state: StreakState
    rates: Rates


@dataclass(frozen=True)
class PersonFigures:
    reliability_30d: float | None
    subjects: list[SubjectFigures]


def key_of(occurrence: Any, person_id: int) -> FigureKey:
    """The figures an occurrence (or anything with its `ritual_id` and `promise_id`) counts towards."""
    kind, subject_id = figure_order(occurrence)
    return FigureKey(kind, subject_id, person_id)


def figure_order(occurrence: Any) -> tuple[SubjectKind, int]:
    """The order in which one transaction takes several of a person's figures: by subject.

    The check-in webhook and the worker closing occurrences both take figures
    in this order (then feeds), so they never wait on each other crosswise.
    """
    return subject_key(occurrence.ritual_id, occurrence.promise_id)


def outcome_decided(session: Session, occurrence: Occurrence, person_id: int, now: datetime) -> StreakState | None:
    """Fold this person's newly decided outcome of `occurrence` into their stored figures; returns them.

    Call it in the transaction that decided the outcome (after the outcome row
    is set and flushed). Safe to repeat. A pending outcome changes nothing
    (None): outcomes never go back to pending. `now` is unused: the figures
    depend on the history alone.
    """
    outcome = session.get(OccurrenceOutcome, (occurrence.id, person_id))
    if outcome is None or outcome.outcome not in COUNTED:
        return None
    return fold(session, key_of(occurrence, person_id), occurrence.at, outcome.outcome)


def fold(session: Session, key: FigureKey, at: datetime, outcome: str) -> StreakState:
    """Fold one decided (counted) outcome of the occurrence at `at` into the pair's figures; returns them.

    The normal case, an occurrence after the latest counted one, is one
    statement: an upsert that creates the row (already advanced) or advances it
    in place, so that `advance` and this SQL must agree (they use the same
    arithmetic in the same order, on doubles). Any other case (a back-fill, a
    changed or repeated decision) finds the row locked by that same statement
    and re-folds the pair's history. The row stays locked to the end of the
    transaction, so deciders queue up.
    """
    cached = session.identity_map.get(identity_key(StreakFigure, (key.kind, key.subject_id, key.person_id)))
    if cached is not None:
        session.flush()  # an ORM change to this row (a re-fold) must reach the row before we build on it
    first = advance(StreakState(), at, outcome)
    postgres = on_postgres(session)
    row = _ADVANCE_UPSERT[postgres, _step(outcome)](
        session,
        {
            **key.columns(),
            "at": at,
            "current_streak": first.current_streak,
            "longest_streak": first.longest_streak,
            "strength": first.strength,
        },
    ).first()
    if cached is not None:
        session.expire(cached)
    if row is not None:
        return StreakState(*row)
    figure = _locked_figure(session, key)
    state = recompute(_history(session, key))
    _store(figure, state)
    return state


def _step(outcome: str) -> str:
    """How `advance` moves the stored figures for this counted outcome."""
    return "kept" if outcome in KEPT else outcome  # "skipped" | "missed"


def _advance_upsert(postgres: bool, step: str):
    """INSERT the advanced first state, or ON CONFLICT advance the stored one when `at` is after its latest.

    Returns the stored state, or no row when the stored figure already counts
    `at` or something later (the row is locked all the same, on PostgreSQL
    because ON CONFLICT DO UPDATE locks the conflicting row whatever its WHERE
    says, on SQLite because a writer holds the whole database).
    """
    figures = table(StreakFigure)
    stored = figures.c
    at = bindparam("at", type_=stored.last_counted_at.type)
    stmt = insert_for(postgres)(figures).values(
        subject_kind=bindparam("subject_kind"),
        subject_id=bindparam("subject_id"),
        ritual_id=bindparam("ritual_id", type_=Integer()),
        promise_id=bindparam("promise_id", type_=Integer()),
        person_id=bindparam("person_id"),
        current_streak=bindparam("current_streak"),
        longest_streak=bindparam("longest_streak"),
        strength=bindparam("strength"),
        last_counted_at=at,
    )
    changes: dict[str, Any] = {"last_counted_at": at}
    if step != "skipped":
        # as `advance` / `_smooth`: strength * m + v * (1 - m), the last term computed here as there
        value = 1.0 if step == "kept" else 0.0
        term: Any = literal(value * (1 - STRENGTH_MULTIPLIER), Double())
        changes["strength"] = stored.strength * literal(STRENGTH_MULTIPLIER, Double()) + term
        if step == "kept":
            greatest = func.greatest if postgres else func.max
            changes["current_streak"] = stored.current_streak + 1
            changes["longest_streak"] = greatest(stored.longest_streak, stored.current_streak + 1)
        else:
            changes["current_streak"] = literal(0, Integer())
    return stmt.on_conflict_do_update(
        index_elements=[stored.subject_kind, stored.subject_id, stored.person_id],
        set_=changes,
        where=or_(stored.last_counted_at.is_(None), stored.last_counted_at < at),
    ).returning(stored.current_streak, stored.longest_streak, stored.strength, stored.last_counted_at)


# Built once per backend and kind of step: building a statement per decision costs more than running it.
_ADVANCE_UPSERT = {
    (postgres, step): Direct(_advance_upsert(postgres, step))
    for postgres in (False, True)
    for step in ("kept", "skipped", "missed")
}


def recompute_figure(session: Session, key: FigureKey) -> bool:
    """Rebuild one stored figure from its full history (the repair path); True if it was wrong.

    A figure left with no counted occurrence (its subject was deleted) is removed.
    """
    figure = _locked_figure(session, key)
    state = recompute(_history(session, key))
    changed = _state_of(figure) != state
    if state.last_counted_at is None:
        session.delete(figure)
    else:
        _store(figure, state)
    return changed


def figure_keys(session: Session) -> list[FigureKey]:
    """Every pair that has a counted outcome or a stored figure: what a full recompute must visit."""
    counted = (
        select(
            Occurrence.kind_expression().label("kind"),
            Occurrence.subject_id_expression().label("subject_id"),
            OccurrenceOutcome.person_id,
        )
        .join(OccurrenceOutcome, OccurrenceOutcome.occurrence_id == Occurrence.id)
        .where(OccurrenceOutcome.outcome != Outcome.PENDING)
    )
    stored = select(StreakFigure.subject_kind, StreakFigure.subject_id, StreakFigure.person_id)
    return sorted(
        FigureKey(SubjectKind(kind), subject_id, person_id)
        for kind, subject_id, person_id in session.execute(union(counted, stored))
    )


def stored_state(session: Session, key: FigureKey) -> StreakState:
    """The figures as stored now (zeros before anything counted), e.g. for a check-in's SMS reply."""
    figure = session.get(StreakFigure, (key.kind, key.subject_id, key.person_id))
    return StreakState() if figure is None else _state_of(figure)


def person_figures(session: Session, person_id: int, now: datetime) -> PersonFigures:
    """Every ritual the person takes part in and every promise they keep, with figures and rates.

    Reliability pools the rates' 30-day window over these same subjects.
    """
    subjects = subjects_of_people(session, [person_id])[person_id]
    stored = {
        (figure.subject_kind, figure.subject_id): _state_of(figure)
        for figure in session.scalars(select(StreakFigure).where(StreakFigure.person_id == person_id))
    }
    recent = _recent_histories(session, person_id, subjects, now)
    return PersonFigures(
        reliability_30d=reliability(recent.values(), now),
        subjects=[
            SubjectFigures(
                kind=kind,
                id=subject_id,
                title=title,
                state=stored.get((kind, subject_id), StreakState()),
                rates=rates(recent.get((kind, subject_id), []), now, promise=SUBJECT_MODELS[kind].on_time_counts),
            )
            for kind, subject_id, title in subjects
        ],
    )


def _locked_figure(session: Session, key: FigureKey) -> StreakFigure:
    """The pair's row, created if missing and locked to the end of the transaction, so deciders queue up."""
    locked = (
        select(StreakFigure)
        .where(
            StreakFigure.subject_kind == key.kind,
            StreakFigure.subject_id == key.subject_id,
            StreakFigure.person_id == key.person_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    figure = session.scalar(locked)
    if figure is None:
        # ON CONFLICT: a concurrent first decision may create it; its insert wins and we wait for its lock
        session.execute(
            insert_for(on_postgres(session))(StreakFigure)
            .values(
                **key.columns(),
                current_streak=0,
                longest_streak=0,
                strength=0.0,
            )
            .on_conflict_do_nothing()
        )
        figure = session.scalars(locked).one()
    return figure


def _history(session: Session, key: FigureKey) -> list[Counted]:
    """All counted (instant, outcome) pairs of one person on one subject."""
    subject_column = Occurrence.subject_column(key.kind)
    rows = session.execute(
        select(Occurrence.at, OccurrenceOutcome.outcome)
        .join(OccurrenceOutcome, OccurrenceOutcome.occurrence_id == Occurrence.id)
        .where(
            subject_column == key.subject_id,
            OccurrenceOutcome.person_id == key.person_id,
            OccurrenceOutcome.outcome != Outcome.PENDING,
        )
    )
    return [(at, outcome) for at, outcome in rows]


def _state_of(figure: StreakFigure) -> StreakState:
    return StreakState(figure.current_streak, figure.longest_streak, figure.strength, figure.last_counted_at)


def _store(figure: StreakFigure, state: StreakState) -> None:
    figure.current_streak = state.current_streak
    figure.longest_streak = state.longest_streak
    figure.strength = state.strength
    figure.last_counted_at = state.last_counted_at


def subjects_of_people(session: Session, person_ids: Iterable[int]) -> dict[int, list[tuple[SubjectKind, int, str]]]:
    """Per person, (kind, id, title) of the rituals they take part in by id, then the promises they keep by id.

    Two statements for any number of people (the digests of a whole batch read them at once).
    """
    person_ids = list(person_ids)
    found: dict[int, list[tuple[SubjectKind, int, str]]] = {person_id: [] for person_id in person_ids}
    takes_part = or_(
        Ritual.everyone,
        exists().where(RitualParticipant.ritual_id == Ritual.id, RitualParticipant.person_id == Membership.person_id),
    )
    rituals = session.execute(
        select(Membership.person_id, Ritual.id, Ritual.title)
        .join(
            Membership,
            and_(
                Membership.circle_id == Ritual.circle_id,
                Membership.person_id.in_(person_ids),
                Membership.status == MembershipStatus.ACTIVE,
            ),
        )
        .where(takes_part)
        .order_by(Ritual.id)
    )
    promises = session.execute(
        select(Promise.keeper_id, Promise.id, Promise.title)
        .where(Promise.keeper_id.in_(person_ids))
        .order_by(Promise.id)
    )
    for model, rows in ((Ritual, rituals), (Promise, promises)):
        for person_id, subject_id, title in rows:
            found[person_id].append((model.kind, subject_id, title))
    return found


def current_streaks(session: Session, person_ids: Iterable[int]) -> dict[int, dict[tuple[SubjectKind, int], int]]:
    """Per person, the stored current streak of every subject they have figures for (one statement)."""
    streaks: dict[int, dict[tuple[SubjectKind, int], int]] = defaultdict(dict)
    for person_id, kind, subject_id, streak in session.execute(
        select(
            StreakFigure.person_id, StreakFigure.subject_kind, StreakFigure.subject_id, StreakFigure.current_streak
        ).where(StreakFigure.person_id.in_(list(person_ids)))
    ):
        streaks[person_id][SubjectKind(kind), subject_id] = streak
    return streaks


def _recent_histories(
    session: Session, person_id: int, subjects: list[tuple[SubjectKind, int, str]], now: datetime
) -> dict[tuple[str, int], list[Counted]]:
    """The person's outcomes of the last 30 days per subject; (subject, at) indexes bound the scan."""
    histories: dict[tuple[str, int], list[Counted]] = defaultdict(list)
    keys = [(kind, subject_id) for kind, subject_id, _ in subjects]
    for kind, subject_id, at, outcome in outcomes_between(session, person_id, keys, now - MONTH, now, decided_too=True):
        if outcome is not None:  # always, without not_expected_too
            histories[(kind, subject_id)].append((at, outcome))
    return histories


def outcomes_between(
    session: Session,
    person_id: int,
    keys: Iterable[tuple[SubjectKind, int]],
    since: datetime,
    until: datetime,
    *,
    not_expected_too: bool = False,
    decided_too: bool = False,
) -> list[tuple[SubjectKind, int, datetime, str | None]]:
    """(kind, id, at, outcome) of the person at the stored occurrences of these subjects in [since, until), by time.

    With `not_expected_too`, occurrences the person is not expected at come too, with the outcome None.
    With `decided_too`, decided occurrences from `until` on come too (kept early): what
    service.core.streaks.counted_in may count in a window that ends now.
    """
    keys = list(keys)
    if not keys:
        return []
    expected = and_(OccurrenceOutcome.occurrence_id == Occurrence.id, OccurrenceOutcome.person_id == person_id)
    before_until: Any = Occurrence.at < until
    if decided_too:
        before_until = or_(before_until, OccurrenceOutcome.outcome.in_(sorted(COUNTED)))
    rows = session.execute(
        select(Occurrence.ritual_id, Occurrence.promise_id, Occurrence.at, OccurrenceOutcome.outcome)
        .join(OccurrenceOutcome, expected, isouter=not_expected_too)
        .where(Occurrence.of_any(keys), Occurrence.at >= since, before_until)
        .order_by(Occurrence.at)
    )
    found: list[tuple[SubjectKind, int, datetime, str | None]] = []
    for ritual_id, promise_id, at, outcome in rows:
        kind, subject_id = subject_key(ritual_id, promise_id)
        found.append((kind, subject_id, at, outcome))
    return found
