"""Calendar polls answered in front of Flask (FeedPolls): the same answers as the Flask view, revocation at once."""

from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from flask import request_started
from werkzeug.test import Client

from service.web.api import feeds as feeds_api
from service.web.security import API_CSP, SecurityHeaders
from tests.builders import add_ritual, couple
from tests.feeds.helpers import fetch, new_feed

ACCEPT_ENCODINGS = [None, "gzip", "gzip, deflate", "GZIP", "gzip;q=0", "*", "identity", "x-gzip", "br, gzip;q=0.5", ""]


@contextmanager
def flask_requests(app):
    """The paths that went through Flask's request handling while the block ran."""
    seen: list[str] = []

    def record(_sender, **_extra):
        from flask import request

        seen.append(request.path)

    request_started.connect(record, app)
    try:
        yield seen
    finally:
        request_started.disconnect(record, app)


@pytest.fixture
def feed(client, people, db):
    """A circle feed with a ritual in it, rendered by a first fetch; its URL path."""
    circle_id = couple(client, people, db)
    add_ritual(client, people, circle_id)
    feed = new_feed(client, people, scope="circle", circle_id=circle_id)
    assert fetch(client, feed).status_code == 200
    return feed


def path_of(feed) -> str:
    return urlsplit(feed["url"]).path


def answer(response) -> tuple[str, list[tuple[str, str]], bytes]:
    return response.status, list(response.headers.items()), response.get_data()


def request_variants(etag: str, last_modified: str) -> list[dict[str, str]]:
    conditionals = [
        {},
        {"If-None-Match": etag},
        {"If-None-Match": "W/" + etag},
        {"If-None-Match": '"other"'},
        {"If-None-Match": f'"other", {etag}'},
        {"If-None-Match": "*"},
        {"If-Modified-Since": last_modified},
        {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
        {"If-Modified-Since": "not a date"},
        {"If-None-Match": '"other"', "If-Modified-Since": last_modified},
        {"If-Match": etag},
        {"If-Match": '"other"'},
        {"Range": "bytes=0-9", "If-Range": etag},
    ]
    variants = []
    for conditional in conditionals:
        for encoding in ACCEPT_ENCODINGS:
            variants.append(conditional | ({} if encoding is None else {"Accept-Encoding": encoding}))
    return variants


def test_a_poll_gets_exactly_what_the_flask_view_answers(app, client, feed):
    def flask_only_app(environ, start_response):  # Flask itself, without FeedPolls (or any middleware) in front
        return type(app).wsgi_app(app, environ, start_response)

    flask_only = Client(SecurityHeaders(flask_only_app))  # every answer gets the security headers
    first = fetch(client, feed)
    variants = request_variants(first.headers["ETag"], first.headers["Last-Modified"])
    statuses = set()
    with flask_requests(app) as seen:
        for method in ("GET", "HEAD"):
            for headers in variants:
                polled = client.open(path_of(feed), method=method, headers=headers)
                assert seen == [], "FeedPolls should answer a rendered feed itself"
                expected = flask_only.open(path_of(feed), method=method, headers=headers)
                assert seen, "the reference answer should come from the Flask view"
                seen.clear()
                assert answer(polled) == answer(expected), (method, headers)
                statuses.add((method, polled.status_code, polled.headers.get("Content-Encoding")))
    assert statuses == {
        (method, status, encoding)
        for method in ("GET", "HEAD")
        for status, encoding in ((200, None), (200, "gzip"), (304, None))
    }


def test_head_gets_the_get_headers_without_a_body(client, feed):
    for encoding in ({}, {"Accept-Encoding": "gzip"}):
        got, head = fetch(client, feed, **encoding), client.head(path_of(feed), headers=encoding)
        assert head.status_code == 200 and head.get_data() == b""
        assert list(head.headers.items()) == list(got.headers.items())
        assert int(head.headers["Content-Length"]) == len(got.get_data())


SECURITY = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", API_CSP),
]


def test_the_answer_headers_in_full(client, feed):
    plain = fetch(client, feed)
    etag, last_modified = plain.headers["ETag"], plain.headers["Last-Modified"]
    assert list(plain.headers.items()) == [
        ("Cache-Control", "private, max-age=300"),
        ("Content-Type", "text/calendar; charset=utf-8"),
        ("Content-Length", str(len(plain.get_data()))),
        ("ETag", etag),
        ("Last-Modified", last_modified),
        *SECURITY,
    ]
    packed = fetch(client, feed, **{"Accept-Encoding": "gzip"})
    assert list(packed.headers.items()) == [
        ("Cache-Control", "private, max-age=300"),
        ("Content-Type", "text/calendar; charset=utf-8"),
        ("Content-Length", str(len(packed.get_data()))),
        ("ETag", etag),
        ("Last-Modified", last_modified),
        ("Content-Encoding", "gzip"),
        ("Vary", "Accept-Encoding"),
        *SECURITY,
    ]
    unchanged = fetch(client, feed, **{"If-None-Match": etag, "Accept-Encoding": "gzip"})
    assert unchanged.status == "304 NOT MODIFIED"
    assert list(unchanged.headers.items()) == [("Cache-Control", "private, max-age=300"), ("ETag", etag), *SECURITY]


def test_a_revoked_feed_is_a_404_at_once_though_its_bytes_are_still_cached(app, client, people, feed):
    etag = fetch(client, feed).headers["ETag"].strip('"')
    assert feeds_api.recent_bodies.get(etag) is not None
    assert client.delete(f"/api/v1/feeds/{feed['id']}", headers=people.headers("Alice")).status_code == 204
    assert feeds_api.recent_bodies.get(etag) is not None
    for method in ("GET", "HEAD"):
        gone = client.open(path_of(feed), method=method, headers={"If-None-Match": f'"{etag}"'})
        assert gone.status_code == 404
        assert gone.headers["Content-Type"] == "application/json"
    gone = fetch(client, feed, **{"Accept-Encoding": "gzip"})
    assert gone.get_json() == {"error": {"code": "not_found", "message": "Feed not found", "field": None}}


def test_everything_but_a_poll_of_a_rendered_feed_goes_to_flask(app, client, people):
    people.create("Alice")
    unrendered = path_of(new_feed(client, people))
    token = unrendered.removeprefix("/feeds/").removesuffix(".ics")
    with flask_requests(app) as seen:
        first = client.get(unrendered)  # never rendered: the Flask view renders it now
        assert first.status_code == 200 and first.data.startswith(b"BEGIN:VCALENDAR")
        assert seen == [unrendered]
        unknown = client.get("/feeds/" + "A" * 43 + ".ics")
        assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"
        posted = client.post(unrendered)
        assert posted.status_code == 405 and set(posted.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
        assert posted.get_json()["error"]["code"] == "method_not_allowed"
        assert set(client.options(unrendered).headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
        assert client.get(unrendered + "/").status_code == 404
        assert client.get(f"/feeds/{token}").status_code == 404
        assert client.get("/feeds/" + "A" * 201 + ".ics").status_code == 404
        assert len(seen) == 7
        seen.clear()
        assert client.get(unrendered).status_code == 200  # rendered now: answered in front of Flask
        assert seen == []


def test_an_error_in_front_of_flask_leaves_the_poll_to_flask(app, client, feed, monkeypatch):
    calls = []
    published = feeds_api.feed_store.published

    def failing_once(reads, token):
        calls.append(token)
        if len(calls) == 1:
            raise RuntimeError("connection lost")
        return published(reads, token)

    monkeypatch.setattr(feeds_api.feed_store, "published", failing_once)
    with flask_requests(app) as seen:
        response = fetch(client, feed)
    assert response.status_code == 200 and response.data.startswith(b"BEGIN:VCALENDAR")
    assert len(calls) == 2 and seen == [path_of(feed)]
