"""People and `me`: sign-up (with the opt-in SMS) and one's own settings."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from service.domain import accounts
from service.domain.models import Person
from service.web.api.context import auth, commit, me, now, session
from service.web.api.schemas import WEEKDAYS, MeOut, NewPersonOut, PersonIn, PersonPatch

bp = APIBlueprint("people", __name__, url_prefix="/api/v1", tag="People")


def person_json(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "phone": person.phone,
        "timezone": person.timezone,
        "sms_status": person.sms_status,
    }


def me_json(person: Person) -> dict[str, Any]:
    quiet = None
    if person.quiet_start is not None and person.quiet_end is not None:
        quiet = {"start": person.quiet_start, "end": person.quiet_end}
    return person_json(person) | {
        "quiet_hours": quiet,
        "digest": {"weekday": WEEKDAYS[person.digest_weekday], "time": person.digest_time},
    }


@bp.post("/people")
@bp.input(PersonIn, arg_name="body")
@bp.output(NewPersonOut, status_code=201)
@bp.doc(responses={409: "A person with this phone number exists"})
def create_person(body: dict[str, Any]) -> dict[str, Any]:
    """Sign up; the token is returned once, and an opt-in SMS is queued."""
    person, token = accounts.create_person(session(), now=now(), **body)
    commit()
    return person_json(person) | {"token": token}


@bp.get("/me")
@bp.auth_required(auth)
@bp.output(MeOut)
def get_me() -> dict[str, Any]:
    return me_json(me())


@bp.patch("/me")
@bp.auth_required(auth)
@bp.input(PersonPatch, arg_name="body")
@bp.output(MeOut)
def patch_me(body: dict[str, Any]) -> dict[str, Any]:
    person = me()
    for key in ("name", "timezone"):
        if key in body:
            setattr(person, key, body[key])
    if "quiet_hours" in body:
        quiet = body["quiet_hours"]
        person.quiet_start, person.quiet_end = (quiet["start"], quiet["end"]) if quiet else (None, None)
    if "digest" in body:
        person.digest_weekday = WEEKDAYS.index(body["digest"]["weekday"])
        person.digest_time = body["digest"]["time"]
    if "digest" in body or "timezone" in body:
        person.next_digest_at = None  # the clock schedules the next digest from the moved slot
    commit()
    return me_json(person)
