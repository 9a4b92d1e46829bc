"""Circles: make one, see its members and what it keeps, invite by phone, leave."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for

from service.core.schedule import occurrence_local
from service.domain import accounts, agenda
from service.domain.errors import DomainError
from service.web.context import commit, now, runtime
from service.web.context import session as db
from service.web.pages import auth
from service.web.pages.blueprint import bp, confirmed, page, show_error
from service.web.pages.forms import CircleForm, InviteForm


@bp.route("/circles/new", methods=["GET", "POST"])
@auth.signin_required
def new_circle() -> Any:
    form = CircleForm()
    if form.validate_on_submit():
        try:
            circle = accounts.create_circle(db(), owner=auth.me(), name=form.name.data, now=now())
        except DomainError as error:
            db().rollback()
            show_error(form, error)
        else:
            commit()
            return redirect(url_for("pages.circle", circle_id=circle.id))
    return page("circle_new.html", status=422 if form.errors else 200, form=form)


def _circle_page(circle_id: int, invite: InviteForm, status: int = 200) -> Any:
    person = auth.me()
    circle = accounts.circle_for(db(), person, circle_id)
    members = [
        {
            "name": accounts.member_name(m),
            "status": m.status,
            "me": m.person_id == person.id,
        }
        for m in circle.memberships
    ]
    lines = agenda.circle_overview(db(), person, circle, now())
    return page("circle.html", status, circle=circle, members=members, lines=lines, invite=invite)


@bp.get("/circles/<int:circle_id>")
@auth.signin_required
def circle(circle_id: int) -> Any:
    return _circle_page(circle_id, InviteForm())


@bp.post("/circles/<int:circle_id>/members")
@auth.signin_required
def invite(circle_id: int) -> Any:
    form = InviteForm()
    if form.validate_on_submit():
        person = auth.me()
        circle = accounts.circle_for(db(), person, circle_id)
        try:
            accounts.invite_member(
                db(),
                circle=circle,
                inviter=person,
                name=form.name.data,
                phone=form.phone.data,
                countries=runtime().config.sms_countries,
                now=now(),
            )
        except DomainError as error:
            db().rollback()
            show_error(form, error)
        else:
            commit()
            goes = accounts.invitation_due(person, now())
            when = "now" if goes <= now() else f"at {occurrence_local(goes, person.timezone):%H:%M}"
            flash(f"Invited. They get one text inviting them {when}.", "done")
            return redirect(url_for("pages.circle", circle_id=circle_id, _anchor="members"))
    return _circle_page(circle_id, form, 422)


@bp.post("/circles/<int:circle_id>/leave")
@auth.signin_required
def leave(circle_id: int) -> Any:
    person = auth.me()
    circle = accounts.circle_for(db(), person, circle_id)
    if not confirmed():
        return redirect(url_for("pages.circle", circle_id=circle_id, _anchor="leave"))
    name = circle.name
    accounts.leave(db(), person, circle, now())
    commit()
    flash(f"You left “{name}”. Its rituals and promises no longer remind you.", "done")
    return redirect(url_for("pages.today"))
