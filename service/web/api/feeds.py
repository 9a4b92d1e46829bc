"""Calendar feeds: create and revoke them (JSON API), and serve them to calendars (`/feeds/<token>.ics`).

Serving is the hot path (every subscribed calendar polls it): one indexed
read of a few bytes (id, ETag, Last-Modified), a 304 when the calendar has
that version, else the bytes from a per-process cache keyed by ETag (read
from the row on a miss). The render happens in a worker when something
changed, or here once, for a feed nobody has fetched yet.

A GET or HEAD of a rendered feed is answered by `FeedPolls`, a WSGI
middleware in front of Flask, with the same status, headers and bytes as the
Flask view `serve_feed`; everything else (an unknown or revoked token, a feed
never rendered, other methods, odd paths, any error) goes on to Flask.
"""

from __future__ import annotations

import gzip
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import OneOf, Range
from flask import Response, request
from marshmallow import ValidationError, validates_schema
from werkzeug.http import http_date, is_resource_modified, parse_accept_header, quote_etag

from service.domain import feed_content, feed_store
from service.domain.models import Feed
from service.web.api.context import auth, me
from service.web.api.fields import UTCInstant
from service.web.api.schemas import StrictSchema
from service.web.context import commit, now, runtime, session
from service.web.errors import not_found

bp = APIBlueprint("feeds", __name__, tag="Feeds")

CALENDAR_TYPE = "text/calendar; charset=utf-8"
# Calendars poll hourly (REFRESH-INTERVAL); five minutes spares repeated fetches
# and still shows an edit soon. "private": the URL is a secret, keep it out of shared caches.
CACHE_CONTROL = "private, max-age=300"


class FeedIn(StrictSchema):
    scope = fields.String(
        required=True,
        validate=OneOf(feed_store.SCOPES),
        metadata={"description": "person: everything you take part in; circle: one circle"},
    )
    circle_id = fields.Integer(strict=True, validate=Range(1, 2**63 - 1), metadata={"description": "scope circle only"})

    @validates_schema
    def _circle_goes_with_its_scope(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["scope"] == "circle" and "circle_id" not in data:
            raise ValidationError("A circle feed needs 'circle_id'.", field_name="circle_id")
        if data["scope"] == "person" and "circle_id" in data:
            raise ValidationError("'circle_id' is only for scope 'circle'.", field_name="circle_id")


class FeedOut(Schema):
    id = fields.Integer(required=True)
    scope = fields.String(required=True, validate=OneOf(feed_store.SCOPES))
    circle_id = fields.Integer(required=True, allow_none=True)
    created_at = UTCInstant(required=True)


class NewFeedOut(FeedOut):
    url = fields.String(required=True, metadata={"description": "the feed; its secret token is shown only here, once"})
    webcal_url = fields.String(
        required=True, metadata={"description": "the same feed for calendar apps' subscribe links"}
    )


class FeedsOut(Schema):
    feeds = fields.List(fields.Nested(FeedOut), required=True)


def feed_json(feed: Feed) -> dict[str, Any]:
    return {"id": feed.id, "scope": feed.scope, "circle_id": feed.circle_id, "created_at": feed.created_at}


def feed_urls(token: str) -> dict[str, str]:
    url = f"{runtime().config.public_url}/feeds/{token}.ics"
    return {"url": url, "webcal_url": urlsplit(url)._replace(scheme="webcal").geturl()}


@bp.post("/api/v1/feeds")
@bp.auth_required(auth)
@bp.input(FeedIn, arg_name="body")
@bp.output(NewFeedOut, status_code=201)
@bp.doc(responses={404: "No such circle among yours"})
def create_feed(body: dict[str, Any]) -> dict[str, Any]:
    """Create a feed to subscribe to in a calendar; keep the URL secret (revoke it if it leaks)."""
    feed, token = feed_store.create_feed(
        session(), owner=me(), scope=body["scope"], circle_id=body.get("circle_id"), now=now()
    )
    commit()
    return feed_json(feed) | feed_urls(token)


@bp.get("/api/v1/feeds")
@bp.auth_required(auth)
@bp.output(FeedsOut)
def list_feeds() -> dict[str, Any]:
    """Your feeds (their URLs were shown once, at creation), so that you can revoke one."""
    return {"feeds": [feed_json(feed) for feed in feed_store.feeds_of(session(), me().id)]}


@bp.delete("/api/v1/feeds/<int:feed_id>")
@bp.auth_required(auth)
@bp.output({}, status_code=204)
def revoke_feed(feed_id: int) -> str:
    """Revoke a feed: its URL answers 404 at once."""
    feed_store.revoke_feed(session(), owner_id=me().id, feed_id=feed_id)
    commit()
    return ""


class RecentBodies:
    """Feed bytes by ETag, least recently served dropped first: a poll then reads only a few bytes from the database.

    An ETag is a digest of the bytes, so an entry is never stale, and every
    request still looks its token up: a revoked feed is gone at once. Each
    entry also keeps a gzip copy, made once: calendar clients accept gzip, and
    a feed full of past outcomes shrinks about tenfold.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.bodies: OrderedDict[str, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, etag: str) -> bytes | None:
        with self.lock:
            body = self.bodies.get(etag)
            if body is not None:
                self.bodies.move_to_end(etag)
            return body

    def gzipped(self, etag: str, body: bytes) -> bytes:
        key = etag + ";gzip"
        compressed = self.get(key)
        if compressed is None:
            compressed = gzip.compress(body, compresslevel=6, mtime=0)
            self.put(key, compressed)
        return compressed

    def put(self, etag: str, body: bytes) -> None:
        with self.lock:
            if etag not in self.bodies:
                self.bodies[etag] = body
                self.size += len(body)
            while self.size > self.max_bytes:
                self.size -= len(self.bodies.popitem(last=False)[1])


recent_bodies = RecentBodies(max_bytes=32 * 1024 * 1024)  # per process


@bp.get("/feeds/<token>.ics")
@bp.doc(hide=True)
def serve_feed(token: str) -> Response:
    """The stored render, with ETag / Last-Modified; a matching If-None-Match gets 304 and no body.

    Polls of rendered feeds are answered by `FeedPolls` before Flask; this view
    answers the rest (first render, 404) and the same way, through `poll_answer`.
    """
    reads = runtime().db.hot_reads
    feed = feed_store.published(reads, token)
    if feed is not None and feed.etag is None:  # never rendered: render it now, so a new feed works at once
        feed_content.refresh(session(), feed.id, now=now(), secret=runtime().config.secret_key, wait=True)
        commit()
        feed = feed_store.published(reads, token)
    answer = None if feed is None else poll_answer(request.environ, reads, feed)
    if answer is None:
        raise not_found("Feed")
    status, headers, body = answer
    return Response(body, status=status, headers=headers)


def poll_answer(
    environ: dict[str, Any], reads: Any, feed: Any
) -> tuple[str, list[tuple[str, str]], bytes | None] | None:
    """(status, headers, body or None for a 304) for a rendered feed; None when it is gone meanwhile.

    The ETag names the uncompressed bytes; a gzip answer is marked by Content-Encoding and Vary.
    """
    etag = quote_etag(feed.etag)
    if any(key in environ for key in _CONDITIONAL) and not is_resource_modified(
        environ, feed.etag, last_modified=feed.rendered_at
    ):
        return "304 NOT MODIFIED", [("Cache-Control", CACHE_CONTROL), ("ETag", etag)], None
    body = recent_bodies.get(feed.etag)
    if body is None:
        feed = feed_store.published_body(reads, feed.id)
        if feed is None:
            return None
        body = bytes(feed.body)
        recent_bodies.put(feed.etag, body)
        etag = quote_etag(feed.etag)
    headers = [
        ("Cache-Control", CACHE_CONTROL),
        ("Content-Type", CALENDAR_TYPE),
        ("ETag", etag),
        ("Last-Modified", _http_date(feed.rendered_at)),
    ]
    if _accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING")):
        body = recent_bodies.gzipped(feed.etag, body)
        headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
    headers.insert(2, ("Content-Length", str(len(body))))
    return "200 OK", headers, body


# Tokens as `new_token` makes them (URL-safe base64); any other path goes to Flask's router.
_POLL_PATH = re.compile(rf"/feeds/([A-Za-z0-9_-]{{1,{feed_store.MAX_TOKEN_LENGTH}}})\.ics")
_CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH")  # what is_resource_modified reads
_NO_BODY: tuple[bytes, ...] = ()
log = logging.getLogger(__name__)


@lru_cache(maxsize=256)
def _accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether gzip is acceptable (quality above 0, `*` included), once per distinct header (clients send few)."""
    return parse_accept_header(accept_encoding).quality("gzip") > 0


@lru_cache(maxsize=1024)
def _http_date(moment: Any) -> str:
    return http_date(moment)


class FeedPolls:
    """WSGI middleware: a calendar's poll of a rendered feed, answered without Flask's per-request machinery.

    Flask's request context, session, routing, response object and teardown
    cost several times the feed's own lookup; a poll needs none of them. The
    answer is the one `serve_feed` gives (tests compare them header by
    header): the token is still looked up on every request, so a revoked feed
    is a 404 at once. Whatever this does not answer itself goes to Flask.
    """

    def __init__(self, app: Any, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method == "GET" or method == "HEAD":
            match = _POLL_PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match is not None:
                try:
                    answer = self.answer(environ, match[1])
                except Exception:
                    log.warning("feed poll left to Flask after an error", exc_info=True)
                    answer = None
                if answer is not None:
                    status, headers, body = answer
                    start_response(status, headers)
                    return _NO_BODY if body is None or method == "HEAD" else (body,)
        return self.wsgi_app(environ, start_response)

    def answer(self, environ: dict[str, Any], token: str) -> tuple[str, list[tuple[str, str]], bytes | None] | None:
        """(status, headers, body or None) for a rendered feed; None leaves the request to Flask."""
        reads = self.app.extensions["tend"].db.hot_reads
        feed = feed_store.published(reads, token)
        if feed is None or feed.etag is None:  # 404 or a first render: Flask's view does those
            return None
        return poll_answer(environ, reads, feed)
