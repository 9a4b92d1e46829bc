"""Per-request access to the runtime, the session and the authenticated person."""

from __future__ import annotations

from datetime import datetime

from apiflask import HTTPTokenAuth
from flask import current_app, g, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import unit_of_work
from service.domain.models import DeviceSession, Person
from service.domain.runtime import Runtime
from service.domain.tokens import token_digest

auth = HTTPTokenAuth(scheme="Bearer", description="The token returned once by POST /api/v1/sessions (one per device).")


def runtime() -> Runtime:
    return current_app.extensions["tend"]


def now() -> datetime:
    return runtime().now()


def session() -> Session:
    """One session per request, committed by the view via `commit()` and closed at teardown."""
    if "db_session" not in g:
        g.db_session = runtime().db.sessions()
    return g.db_session


def commit() -> None:
    """Commit, then ring the doorbell for any SMS queued and any feed marked dirty in this request."""
    unit_of_work.commit_and_ring(session(), runtime().doorbell)


def close_session(_exc: BaseException | None = None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


@auth.verify_token
def _verify(token: str) -> Person | None:
    if not token or len(token) > 200 or not token.isascii():
        return None
    device = session().scalar(select(DeviceSession).where(DeviceSession.token_hash == token_digest(token)))
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
