"""The way in and out: the front page, sign-in by code (SPEC §8's functions), sign-out, and invitations."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, session, url_for

from service.core import zones
from service.core.phones import international
from service.domain import accounts
from service.domain.errors import DomainError
from service.domain.models import SessionDoor
from service.web.context import commit, now, runtime
from service.web.context import session as db
from service.web.pages import auth
from service.web.pages.blueprint import bp, page, show_error
from service.web.pages.forms import CodeForm, PhoneForm

PHONE_KEY = "signin_phone"
SIGN_UP_ASKS = {"name": "Tell us your name.", "timezone": "Choose your time zone."}  # the domain's fields, asked


def landing() -> str:
    """Where a signed-in person goes: their invitations if any wait, a new circle if they have none, else today."""
    person = auth.me()
    if accounts.invitations(db(), person):
        return url_for("pages.invitations")
    if not any(m.status == "active" for m in person.memberships):
        return url_for("pages.new_circle")
    return url_for("pages.today")


@bp.get("/")
def home() -> Any:
    return page("home.html", signed_in=auth.signed_in() is not None)


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Any:
    form = PhoneForm()
    if form.validate_on_submit():
        try:
            config = runtime().config
            phone = accounts.request_code(
                db(), phone=form.phone.data, countries=config.sms_countries, secret=config.secret_key, now=now()
            )
        except DomainError as error:
            db().rollback()
            show_error(form, error)
        else:
            commit()
            session[PHONE_KEY] = phone
            return redirect(url_for("pages.signin_code", next=auth.safe_next(request.args.get("next"))))
    return page("signin.html", form=form, status=422 if form.errors or form.form_errors else 200)


@bp.route("/signin/code", methods=["GET", "POST"])
def signin_code() -> Any:
    phone = session.get(PHONE_KEY)
    if not phone:
        return redirect(url_for("pages.signin"))
    form = CodeForm()
    if request.method == "GET":
        form.timezone.data = zones.likely_zone(runtime().config.sms_countries) or ""
    if form.validate_on_submit():
        try:
            _person, secret = accounts.sign_in(
                db(),
                phone=phone,
                code=form.code.data.strip(),
                name=form.name.data or None,
                timezone=form.timezone.data or None,
                countries=runtime().config.sms_countries,
                secret=runtime().config.secret_key,
                now=now(),
                door=SessionDoor.PAGE,
            )
        except accounts.WrongCode as error:
            commit()  # the try counts
            show_error(form, error)
        except accounts.SignUpNeeds as needs:
            for missing in needs.fields:
                getattr(form, missing).errors.append(SIGN_UP_ASKS[missing])
        except DomainError as error:
            show_error(form, error)
        else:
            commit()
            auth.start(secret)
            return redirect(auth.next_or(landing))
    return page(
        "signin_code.html",
        form=form,
        phone=international(phone),
        status=422 if form.errors or form.form_errors else 200,
    )


@bp.post("/signout")
def signout() -> Any:
    device = auth.current_device()
    if device is not None:
        accounts.sign_out(db(), device)
        commit()
    auth.end()
    flash("You are signed out on this device.", "done")
    return redirect(url_for("pages.home"))


@bp.get("/invitations")
@auth.signin_required
def invitations() -> Any:
    pending = [(membership, accounts.inviter_name(membership)) for membership in accounts.invitations(db(), auth.me())]
    return page("invitations.html", invitations=pending)


@bp.post("/invitations/<int:circle_id>/<any(accept, decline):answer>")
@auth.signin_required
def answer_invitation(circle_id: int, answer: str) -> Any:
    membership = accounts.invitation_for(db(), auth.me(), circle_id)
    if answer == "accept":
        accounts.accept(db(), membership, now())
        commit()
        flash(f"You joined “{membership.circle.name}”.", "done")
        return redirect(url_for("pages.circle", circle_id=circle_id))
    accounts.decline(db(), membership, now())
    commit()
    return redirect(url_for("pages.invitations"))
