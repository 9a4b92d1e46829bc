"""Signing in by code (sign-up is the same), device sessions, and `me`: one's own settings (SPEC §8)."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from service.domain import accounts, editing, records
from service.domain.models import SessionDoor
from service.web.api.context import auth, device, me
from service.web.api.schemas import (
    CodeIn,
    CodeSentOut,
    MeOut,
    NewSessionOut,
    PersonPatch,
    SessionIn,
    TokenOut,
)
from service.web.context import commit, now, runtime, session

bp = APIBlueprint("people", __name__, url_prefix="/api/v1", tag="People")


@bp.post("/codes")
@bp.input(CodeIn, arg_name="body")
@bp.output(CodeSentOut, status_code=202)
@bp.doc(responses={429: "This number has had as many codes as it may get for now (3 an hour, 10 a day)"})
def request_code(body: dict[str, Any]) -> dict[str, Any]:
    """Text a 6-digit sign-in code (valid 10 minutes, 5 tries); the same answer whether or not the number has an account."""
    config = runtime().config
    accounts.request_code(
        session(), phone=body["phone"], countries=config.sms_countries, secret=config.secret_key, now=now()
    )
    commit()
    return {"sent": True}


@bp.post("/sessions")
@bp.input(SessionIn, arg_name="body")
@bp.output(NewSessionOut, status_code=201)
@bp.doc(responses={422: "The code is wrong or expired, or `name`/`timezone` are needed to sign up"})
def create_session(body: dict[str, Any]) -> dict[str, Any]:
    """Sign in (or up) on this device with the code: a bearer token, shown once. Verifying consents to Tend's texts."""
    try:
        person, token = accounts.sign_in(
            session(),
            phone=body["phone"],
            code=body["code"],
            name=body.get("name"),
            timezone=body.get("timezone"),
            countries=runtime().config.sms_countries,
            secret=runtime().config.secret_key,
            now=now(),
            door=SessionDoor.API,
        )
    except accounts.WrongCode:
        commit()  # the try counts
        raise
    commit()
    return {"token": token, "person": records.person(person)}


@bp.delete("/sessions/current")
@bp.auth_required(auth)
@bp.output({}, status_code=204)
def sign_out() -> str:
    """Sign out this device: its token stops working."""
    accounts.sign_out(session(), device())
    commit()
    return ""


@bp.delete("/sessions")
@bp.auth_required(auth)
@bp.output({}, status_code=204)
def sign_out_everywhere() -> str:
    """Sign out every device."""
    accounts.sign_out(session(), device(), everywhere=True)
    commit()
    return ""


@bp.post("/me/token")
@bp.auth_required(auth)
@bp.output(TokenOut, status_code=201)
def rotate_token() -> dict[str, Any]:
    """A new token for this device; the one used for this request is dead at once."""
    token = accounts.rotate_token(session(), device())
    commit()
    return {"token": token}


@bp.get("/me")
@bp.auth_required(auth)
@bp.output(MeOut)
def get_me() -> dict[str, Any]:
    return records.me(me())


@bp.patch("/me")
@bp.auth_required(auth)
@bp.input(PersonPatch, arg_name="body")
@bp.output(MeOut)
def patch_me(body: dict[str, Any]) -> dict[str, Any]:
    person = me()
    if "name" in body:
        accounts.rename(person, body["name"])
    if "timezone" in body or "quiet_hours" in body:
        quiet = body["quiet_hours"] if "quiet_hours" in body else records.me(person)["quiet_hours"]
        editing.set_quiet_hours(
            session(),
            person,
            (quiet["start"], quiet["end"]) if quiet else None,
            now(),
            timezone=body.get("timezone", person.timezone),
        )
    if "digest" in body:
        person.digest_weekday = records.WEEKDAYS.index(body["digest"]["weekday"])
        person.digest_time = body["digest"]["time"]
    if "digest" in body or "timezone" in body:
        person.next_digest_at = None  # the clock schedules the next digest from the moved slot
    commit()
    return records.me(person)
