"""The pages' session: a signed cookie bound to a server-side device session (SPEC §11), and where `next=` may lead.

The cookie (Flask's signed session: HttpOnly, SameSite=Lax, Secure behind
https) holds the secret of a device session opened at the pages' door: it is
useless as a bearer token, as an API token is useless as a cookie
(`accounts.device_session`). Signing out deletes the row, signing out
everywhere or erasing the account deletes them all (API sessions too): a
copied cookie is refused from that moment. The cookie expires 30 days after
the page last seen (sliding), signed with its time by itsdangerous.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

from flask import g, redirect, request, session, url_for

from service.domain import accounts
from service.domain.models import DeviceSession, Person, SessionDoor
from service.web.context import session as db_session

COOKIE_KEY = "device"
LANDING = "/today"

F = TypeVar("F", bound=Callable[..., Any])


def current_device() -> DeviceSession | None:
    """The device session behind this request's cookie, if it is still valid (looked up once per request)."""
    if "page_device" not in g:
        secret = session.get(COOKIE_KEY)
        device = accounts.device_session(db_session(), secret, SessionDoor.PAGE) if isinstance(secret, str) else None
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


def start(secret: str) -> None:
    """Bind this browser to a new page session (a fresh cookie: the old one's CSRF token goes too)."""
    session.clear()
    session.permanent = True
    session[COOKIE_KEY] = secret
    g.pop("page_device", None)


def end() -> None:
    session.clear()
    g.page_device = None


def signin_required(view: F) -> F:
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if signed_in() is None:
            here = request.full_path if request.query_string else request.path
            return redirect(url_for("pages.signin", next=here if request.method == "GET" else None))
        return view(*args, **kwargs)

    return cast(F, guarded)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on Tend, else None (SPEC §11: a `next=` only ever leads to a path on Tend).

    A path starts with a single `/` and has no scheme, no host, no backslash and
    no control or invisible character, however often it is percent-decoded
    (browsers drop tabs and newlines: `/<TAB>/evil.example` is `//evil.example`).
    A trailing `?` with no query is dropped.
    """
    text = target or ""
    for _ in range(MAX_DECODES):
        if not _a_plain_path(text):
            return None
        decoded = unquote(text)
        if decoded == text:
            return (target or "").removesuffix("?")
        text = decoded
    return None  # encoded over and over: no link of Tend's is


MAX_DECODES = 4


def _a_plain_path(text: str) -> bool:
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return False
    if any(unicodedata.category(c)[0] in "CZ" and c != " " for c in text):
        return False
    parts = urlsplit(text)
    return not (parts.scheme or parts.netloc)


def next_or(landing: Callable[[], str]) -> str:
    """Where to go after signing in: this request's safe `next=`, else the person's landing page."""
    return safe_next(request.args.get("next")) or landing()
