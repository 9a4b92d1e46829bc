"""Streaks and occurrences: how reliably things were kept, and what is coming (SPEC §5, §8)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from apiflask import APIBlueprint
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service.core.schedule import occurrence_local
from service.core.streaks import as_percent
from service.domain import checkins, occurrences, streak_figures, subjects
from service.domain.models import SUBJECT_MODELS, Occurrence
from service.web.api.context import auth, me
from service.web.api.schemas import OccurrencesOut, OccurrencesQuery, StreaksOut
from service.web.context import now, session
from service.web.errors import ApiError

bp = APIBlueprint("streaks", __name__, url_prefix="/api/v1", tag="Streaks")

DEFAULT_PAST = timedelta(days=30)
DEFAULT_AHEAD = timedelta(days=7)
MAX_WINDOW = timedelta(days=366)


@bp.get("/streaks")
@bp.auth_required(auth)
@bp.output(StreaksOut)
def get_streaks() -> dict[str, Any]:
    """Your streaks per ritual and promise, and your reliability.

    Rates are fractions 0..1 with three decimals (null when nothing counted in
    the window); strength is 0..100 with one decimal. Promises also carry
    `on_time_rate_30d`.
    """
    figures = streak_figures.person_figures(session(), me().id, now())
    return {
        "person": {"reliability_30d": _fraction(figures.reliability_30d)},
        "subjects": [subject_json(subject) for subject in figures.subjects],
    }


@bp.get("/rituals/<int:ritual_id>/occurrences")
@bp.auth_required(auth)
@bp.input(OccurrencesQuery, location="query", arg_name="window")
@bp.output(OccurrencesOut)
def ritual_occurrences(ritual_id: int, window: dict[str, datetime]) -> dict[str, Any]:
    """A ritual's occurrences in [from, to): past ones with outcomes, future ones from the schedule."""
    return occurrences_json(subjects.ritual_for(session(), me().id, ritual_id), window)


@bp.get("/promises/<int:promise_id>/occurrences")
@bp.auth_required(auth)
@bp.input(OccurrencesQuery, location="query", arg_name="window")
@bp.output(OccurrencesOut)
def promise_occurrences(promise_id: int, window: dict[str, datetime]) -> dict[str, Any]:
    """A promise's occurrences in [from, to): past ones with outcomes, future ones from the schedule."""
    return occurrences_json(subjects.promise_for(session(), me().id, promise_id), window)


def subject_json(subject: streak_figures.SubjectFigures) -> dict[str, Any]:
    body = {
        "kind": subject.kind,
        "id": subject.id,
        "title": subject.title,
        "current_streak": subject.state.current_streak,
        "longest_streak": subject.state.longest_streak,
        "kept_rate_7d": _fraction(subject.rates.kept_rate_7d),
        "kept_rate_30d": _fraction(subject.rates.kept_rate_30d),
        "strength": as_percent(subject.state.strength),
    }
    if SUBJECT_MODELS[subject.kind].on_time_counts:
        body["on_time_rate_30d"] = _fraction(subject.rates.on_time_rate_30d)
    return body


def occurrences_json(subject: subjects.Subject, window: dict[str, datetime]) -> dict[str, Any]:
    start, end = checked_window(window, now())
    return {"occurrences": occurrence_log(session(), subject, start, end)}


def checked_window(window: dict[str, datetime], at: datetime) -> tuple[datetime, datetime]:
    """[from, to) with defaults around `at`, at most 366 days long."""
    start = window.get("from_", at - DEFAULT_PAST)
    end = window.get("to", at + DEFAULT_AHEAD)
    if end <= start:
        raise ApiError(422, "invalid", "'to' must be after 'from'.", "to")
    if end - start > MAX_WINDOW:
        raise ApiError(422, "invalid", "'to' may be at most 366 days after 'from'.", "to")
    return start, end


def occurrence_log(session: Session, subject: subjects.Subject, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Stored occurrences in [start, end), then schedule instants the clock has not stored yet (all pending)."""
    column = Occurrence.subject_column(subject.kind)
    stored = session.scalars(
        select(Occurrence)
        .where(column == subject.id, Occurrence.at >= start, Occurrence.at < end)
        .options(selectinload(Occurrence.outcomes))
    ).all()
    notes = checkins.notes_of(session, [occurrence.id for occurrence in stored])
    log = {
        occurrence.at: _entry(
            occurrence.at,
            occurrence.local,
            {o.person_id: o.outcome for o in occurrence.outcomes},
            notes.get(occurrence.id, {}),
        )
        for occurrence in stored
    }
    unstored = occurrences.unstored(subject, start, end)
    expected = subject.expected_people() if unstored else []
    for at in unstored:
        log.setdefault(at, _entry(at, occurrence_local(at, subject.timezone), dict.fromkeys(expected, "pending"), {}))
    return [log[at] for at in sorted(log)]


def _entry(at: datetime, local: datetime, outcomes: dict[int, str], notes: dict[int, str]) -> dict[str, Any]:
    return {
        "at": at,
        "local": local,
        "outcomes": {str(person): outcomes[person] for person in sorted(outcomes)},
        "notes": {str(person): notes[person] for person in sorted(notes)},
    }


def _fraction(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 3)
