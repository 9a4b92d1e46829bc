"""Today (what to do today and tomorrow, with Done and Skip) and Streaks (how it has gone, in numbers and pictures)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import flash, redirect, request, url_for
from markupsafe import Markup

from service.core import pictures
from service.core.schedule import check_year
from service.core.streaks import as_percent
from service.domain import agenda, checkins, subjects
from service.domain.errors import DomainError, Invalid
from service.domain.models import SubjectKind
from service.web.context import commit, now, runtime
from service.web.context import session as db
from service.web.pages import auth
from service.web.pages.blueprint import bp, page
from service.web.pages.forms import row_id


@bp.get("/today")
@auth.signin_required
def today() -> Any:
    person, at = auth.me(), now()
    return page("today.html", agenda=agenda.today(db(), runtime().db.hot_reads, person, at), person=person)


@bp.post("/checkins")
@auth.signin_required
def check_in() -> Any:
    """Done or Skip pressed on /today: the API's check-in, for the occurrence at the instant the button names."""
    person, at = auth.me(), now()
    kind, raw_id, raw_at = request.form.get("kind"), request.form.get("id", ""), request.form.get("at", "")
    outcome = request.form.get("outcome")
    try:
        asked = datetime.fromisoformat(raw_at)
        check_year(asked, "occurrence")
    except ValueError:  # not a date-time, or one Tend has no occurrence at (a ScheduleError)
        raise Invalid("That occurrence is not known.", "occurrence") from None
    subject_id = row_id(raw_id)
    if kind not in tuple(SubjectKind) or subject_id is None or outcome not in ("done", "skip"):
        raise Invalid("That check-in is not known.", "outcome")
    subject = subjects.subject_for(db(), person.id, SubjectKind(kind), subject_id)
    try:
        note = request.form.get("note") if outcome == "done" else None
        recorded = checkins.check_in_by_api(
            db(), person, subject, asked.astimezone(UTC), outcome == "done", at, note=note
        )
    except DomainError as error:
        db().rollback()
        flash(error.message, "error")
    else:
        commit()
        word = "Done" if outcome == "done" else "Skipped"
        flash(f"{word}: {recorded.subject.title}.", "done")
    return redirect(url_for("pages.today", _anchor=f"{kind}-{raw_id}"))


@bp.get("/streaks")
@auth.signin_required
def streaks() -> Any:
    person, at = auth.me(), now()
    found = agenda.history(db(), person, at)
    rows = []
    for item in found.subjects:
        figures = item.figures
        strength = pictures.strength_history(figures.state.strength, item.counted)
        rows.append(
            {
                "kind": figures.kind,
                "id": figures.id,
                "title": figures.title,
                "current": figures.state.current_streak,
                "longest": figures.state.longest_streak,
                "kept_7d": _percent(figures.rates.kept_rate_7d),
                "kept_30d": _percent(figures.rates.kept_rate_30d),
                "strength": as_percent(figures.state.strength),
                "heatmap": Markup(pictures.heatmap_svg(figures.title, item.first_day, item.cells)),
                "line": Markup(pictures.strength_line_svg(figures.title, strength)),
            }
        )
    return page("streaks.html", rows=rows, reliability=_percent(found.reliability_30d))


def _percent(rate: float | None) -> str | None:
    return None if rate is None else f"{round(rate * 100)}%"
