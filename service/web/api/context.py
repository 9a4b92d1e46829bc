"""The API's authenticated person: a bearer token checked against the device sessions (SPEC §8)."""

from __future__ import annotations

from apiflask import HTTPTokenAuth
from flask import g, request

from service.domain import accounts
from service.domain.models import DeviceSession, Person, SessionDoor
from service.web.context import session

auth = HTTPTokenAuth(scheme="Bearer", description="The token returned once by POST /api/v1/sessions (one per device).")


@auth.verify_token
def _verify(token: str) -> Person | None:
    device = accounts.device_session(session(), token, SessionDoor.API)
    if device is None:
        return None
    g.device_session = device
    return device.person


def me() -> Person:
    """The signed-in person (a view behind `auth_required` only runs with one)."""
    person = auth.current_user
    assert isinstance(person, Person), "only views behind auth_required ask who is signed in"
    return person


def device() -> DeviceSession:
    """The signed-in device's session (set by the token check)."""
    return g.device_session


def verified_person_id() -> int | None:
    """The person behind a valid bearer token of this request, if any (checked at most once per request)."""
    if "device_session" not in g:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or _verify(token.strip()) is None:
            g.device_session = None
    found = g.device_session
    return None if found is None else found.person_id
