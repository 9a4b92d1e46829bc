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
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, exists, func, or_, select, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.core.streaks import (
    COUNTED, MONTH, Occurrence as Counted, Rates, StreakState, advance, rates, recompute, reliability,
)
from service.models import Membership, Occurrence, OccurrenceOutcome, Promise, Ritual, RitualParticipant, StreakFigure


@dataclass(frozen=True, order=True)
class FigureKey:
    """Whose figures: one person's on one ritual or promise."""

    kind: str  # "ritual" | "promise"
    subject_id: int
    person_id: int


@dataclass(frozen=True)
class SubjectFigures:
    """What a person sees of one subject: stored streaks and strength, and rates as of `now`."""

    kind: str
    id: int
    title: str
    state: StreakState
    rates: Rates


@dataclass(frozen=True)
class PersonFigures:
    reliability_30d: float | None
    subjects: list[SubjectFigures]


def key_of(occurrence: Occurrence, person_id: int) -> FigureKey:
    if occurrence.ritual_id is not None:
        return FigureKey("ritual", occurrence.ritual_id, person_id)
    return FigureKey("promise", occurrence.promise_id, person_id)


def outcome_decided(session: Session, occurrence: Occurrence, person_id: int, now: datetime) -> None:
    """Fold this person's newly decided outcome of `occurrence` into their stored figures.

    Call it in the transaction that decided the outcome (after the outcome row
    is set). Safe to repeat. A pending outcome changes nothing: outcomes never
    go back to pending. `now` is unused: the figures depend on the history alone.
    """
    outcome = session.get(OccurrenceOutcome, (occurrence.id, person_id))
    if outcome is None or outcome.outcome not in COUNTED:
        return
    key = key_of(occurrence, person_id)
    figure = _locked_figure(session, key)
    state = _state_of(figure)
    if state.last_counted_at is None or occurrence.at > state.last_counted_at:
        _store(figure, advance(state, occurrence.at, outcome.outcome))
    else:
        _store(figure, recompute(_history(session, key)))


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
            case((Occurrence.ritual_id.is_not(None), "ritual"), else_="promise").label("kind"),
            func.coalesce(Occurrence.ritual_id, Occurrence.promise_id).label("subject_id"),
            OccurrenceOutcome.person_id,
        )
        .join(OccurrenceOutcome, OccurrenceOutcome.occurrence_id == Occurrence.id)
        .where(OccurrenceOutcome.outcome != "pending")
    )
    stored = select(StreakFigure.subject_kind, StreakFigure.subject_id, StreakFigure.person_id)
    return sorted(FigureKey(*row) for row in session.execute(union(counted, stored)))


def stored_state(session: Session, key: FigureKey) -> StreakState:
    """The figures as stored now (zeros before anything counted), e.g. for a check-in's SMS reply."""
    figure = session.get(StreakFigure, (key.kind, key.subject_id, key.person_id))
    return StreakState() if figure is None else _state_of(figure)


def person_figures(session: Session, person_id: int, now: datetime) -> PersonFigures:
    """Every ritual the person takes part in and every promise they keep, with figures and rates.

    Reliability pools the rates' 30-day window over these same subjects.
    """
    subjects = _subjects_of(session, person_id)
    stored = {
        (figure.subject_kind, figure.subject_id): _state_of(figure)
        for figure in session.scalars(select(StreakFigure).where(StreakFigure.person_id == person_id))
    }
    recent = _recent_histories(session, person_id, subjects, now)
    return PersonFigures(
        reliability_30d=reliability(recent.values(), now),
        subjects=[
            SubjectFigures(
                kind=kind, id=subject_id, title=title,
                state=stored.get((kind, subject_id), StreakState()),
                rates=rates(recent.get((kind, subject_id), []), now, promise=kind == "promise"),
            )
            for kind, subject_id, title in subjects
        ],
    )


def _locked_figure(session: Session, key: FigureKey) -> StreakFigure:
    """The pair's row, created if missing and locked to the end of the transaction, so deciders queue up."""
    locked = (
        select(StreakFigure)
        .where(StreakFigure.subject_kind == key.kind, StreakFigure.subject_id == key.subject_id,
               StreakFigure.person_id == key.person_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    figure = session.scalar(locked)
    if figure is None:
        # ON CONFLICT: a concurrent first decision may create it; its insert wins and we wait for its lock
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(StreakFigure).values(
            subject_kind=key.kind, subject_id=key.subject_id, person_id=key.person_id,
            current_streak=0, longest_streak=0, strength=0.0,
        ).on_conflict_do_nothing())
        figure = session.scalars(locked).one()
    return figure


def _history(session: Session, key: FigureKey) -> list[Counted]:
    """All counted (instant, outcome) pairs of one person on one subject."""
    subject_column = Occurrence.ritual_id if key.kind == "ritual" else Occurrence.promise_id
    rows = session.execute(
        select(Occurrence.at, OccurrenceOutcome.outcome)
        .join(OccurrenceOutcome, OccurrenceOutcome.occurrence_id == Occurrence.id)
        .where(subject_column == key.subject_id, OccurrenceOutcome.person_id == key.person_id,
               OccurrenceOutcome.outcome != "pending")
    )
    return [(at, outcome) for at, outcome in rows]


def _state_of(figure: StreakFigure) -> StreakState:
    return StreakState(figure.current_streak, figure.longest_streak, figure.strength, figure.last_counted_at)


def _store(figure: StreakFigure, state: StreakState) -> None:
    figure.current_streak = state.current_streak
    figure.longest_streak = state.longest_streak
    figure.strength = state.strength
    figure.last_counted_at = state.last_counted_at


def _subjects_of(session: Session, person_id: int) -> list[tuple[str, int, str]]:
    """(kind, id, title) of the rituals the person takes part in, then the promises they keep."""
    takes_part = or_(Ritual.everyone, exists().where(
        RitualParticipant.ritual_id == Ritual.id, RitualParticipant.person_id == person_id))
    rituals = session.execute(
        select(Ritual.id, Ritual.title)
        .join(Membership, and_(Membership.circle_id == Ritual.circle_id, Membership.person_id == person_id,
                               Membership.status == "active"))
        .where(takes_part).order_by(Ritual.id)
    )
    promises = session.execute(
        select(Promise.id, Promise.title).where(Promise.keeper_id == person_id).order_by(Promise.id)
    )
    return [("ritual", *row) for row in rituals] + [("promise", *row) for row in promises]


def _recent_histories(
    session: Session, person_id: int, subjects: list[tuple[str, int, str]], now: datetime
) -> dict[tuple[str, int], list[Counted]]:
    """The person's outcomes of the last 30 days per subject; (subject, at) indexes bound the scan."""
    ritual_ids = [subject_id for kind, subject_id, _ in subjects if kind == "ritual"]
    promise_ids = [subject_id for kind, subject_id, _ in subjects if kind == "promise"]
    rows = session.execute(
        select(Occurrence.ritual_id, Occurrence.promise_id, Occurrence.at, OccurrenceOutcome.outcome)
        .join(OccurrenceOutcome, and_(OccurrenceOutcome.occurrence_id == Occurrence.id,
                                      OccurrenceOutcome.person_id == person_id))
        .where(or_(Occurrence.ritual_id.in_(ritual_ids), Occurrence.promise_id.in_(promise_ids)),
               Occurrence.at >= now - MONTH, Occurrence.at < now)
    )
    histories: dict[tuple[str, int], list[Counted]] = defaultdict(list)
    for ritual_id, promise_id, at, outcome in rows:
        key = ("ritual", ritual_id) if ritual_id is not None else ("promise", promise_id)
        histories[key].append((at, outcome))
    return histories
