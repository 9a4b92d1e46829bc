"""The pages' session: a signed cookie bound to a server-side device session (SPEC §11).

The cookie (Flask's signed session: HttpOnly, SameSite=Lax, Secure behind
https) holds the device session's token; each request finds the session row by
the token's digest, exactly as the API's bearer check does. Signing out
deletes the row, signing out everywhere or erasing the account deletes them
all: a copied cookie is refused from that moment. The cookie expires 30 days
after the page last seen (sliding), signed with its time by itsdangerous.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, redirect, request, session, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from service.domain.models import DeviceSession, Person
from service.domain.tokens import token_digest
from service.web.api.context import session as db_session

COOKIE_KEY = "device"

F = TypeVar("F", bound=Callable[..., Any])


def current_device() -> DeviceSession | None:
    """The device session behind this request's cookie, if it is still valid (looked up once per request)."""
    if "page_device" not in g:
        token = session.get(COOKIE_KEY)
        device = None
        if isinstance(token, str) and 0 < len(token) <= 200:
            device = db_session().scalar(
                select(DeviceSession)
                .where(DeviceSession.token_hash == token_digest(token))
                .options(joinedload(DeviceSession.person))
            )
        if device is None and COOKIE_KEY in session:
            session.pop(COOKIE_KEY)  # a signed-out or erased session: forget it
        g.page_device = device
    return g.page_device


def signed_in() -> Person | None:
    device = current_device()
    return None if device is None else device.person


def me() -> Person:
    person = signed_in()
    assert person is not None, "only views behind signin_required ask who is signed in"
    return person


def start(token: str) -> None:
    """Bind this browser to a new device session (a fresh cookie: the old one's CSRF token goes too)."""
    session.clear()
    session.permanent = True
    session[COOKIE_KEY] = token
    g.pop("page_device", None)


def end() -> None:
    session.clear()
    g.page_device = None


def signin_required(view: F) -> F:
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if signed_in() is None:
            return redirect(url_for("pages.signin", next=_here() if request.method == "GET" else None))
        return view(*args, **kwargs)

    return cast(F, guarded)


def _here() -> str:
    """This page's path, with its query only when it has one (`full_path` ends "/today?" without)."""
    return request.full_path if request.query_string else request.path
