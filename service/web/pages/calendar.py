"""Calendar: subscribe to your feed by webcal or https link, or by pointing a phone's camera at a QR code."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import segno
from flask import flash, redirect, session, url_for
from markupsafe import Markup

from service.core.schedule import occurrence_local
from service.domain import feed_store
from service.domain.models import FeedScope
from service.web.context import commit, now, runtime
from service.web.context import session as db
from service.web.pages import auth
from service.web.pages.blueprint import bp, confirmed, page

NEW_LINK_KEY = "new_feed_token"  # a feed's token is shown once, on the page after it was made


def feed_links(token: str) -> dict[str, str]:
    url = f"{runtime().config.public_url}/feeds/{token}.ics"
    return {"https": url, "webcal": urlsplit(url)._replace(scheme="webcal").geturl()}


def qr_svg(url: str) -> Markup:
    """The link as a QR code, inline SVG (no style attributes: the CSP allows none), with its text alternative."""
    # omitsize: a viewBox and no fixed size, so that the stylesheet scales it whole (no blank below it)
    svg = segno.make(url, error="m").svg_inline(scale=4, dark="#000", light="#fff", omitsize=True)
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="QR code of your calendar link" ', 1))


@bp.get("/calendar")
@auth.signin_required
def calendar() -> Any:
    person = auth.me()
    token = session.pop(NEW_LINK_KEY, None)
    links = feed_links(token) if isinstance(token, str) else None
    feeds = [
        {"id": feed.id, "scope": feed.scope, "made": occurrence_local(feed.created_at, person.timezone)}
        for feed in feed_store.feeds_of(db(), person.id)
    ]
    return page(
        "calendar.html",
        feeds=feeds,
        links=links,
        qr=qr_svg(links["webcal"]) if links else None,
    )


@bp.post("/calendar/links")
@auth.signin_required
def new_link() -> Any:
    """A new link for everything you take part in; older links keep working until revoked."""
    _feed, token = feed_store.create_feed(db(), owner=auth.me(), scope=FeedScope.PERSON, circle_id=None, now=now())
    commit()
    session[NEW_LINK_KEY] = token
    return redirect(url_for("pages.calendar"))


@bp.post("/calendar/links/<int:feed_id>/revoke")
@auth.signin_required
def revoke_link(feed_id: int) -> Any:
    if confirmed():
        feed_store.revoke_feed(db(), owner_id=auth.me().id, feed_id=feed_id)
        commit()
        flash("Link revoked: calendars using it stop updating. Your other links still work.", "done")
    return redirect(url_for("pages.calendar", _anchor="links"))
