"""Attack 7: secrets in logs and at rest, over-broad exports, chatty readiness, missing headers, eternal tokens."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from service.domain import digests
from service.domain.models import DeviceSession, Digest, Person
from service.domain.tokens import token_digest
from service.entry import logs
from tests.builders import couple


def test_access_logs_mask_feed_and_digest_tokens():
    line = logs.mask_secrets("GET /feeds/abcDEF_123-x.ics?x=1 HTTP/1.1 and GET /d/Zm9vYmFy HTTP/1.1")
    assert "abcDEF" not in line and "Zm9vYmFy" not in line and "/feeds/***.ics" in line and "/d/***" in line


def make_digest(runtime, db, person_id):
    with db.session() as s:
        person = s.get(Person, person_id)
        made = digests.make_digests(
            s, [person], runtime.config.public_url, runtime.now(), secret=runtime.config.secret_key
        )
        s.commit()
        return made[person_id]


def test_digest_tokens_are_stored_hashed_and_expire_after_60_days(client, people, db, runtime, clock):
    people.create("Alice")
    digest_id = make_digest(runtime, db, people.ids["Alice"])
    url = client.get("/api/v1/digests/latest", headers=people.headers("Alice")).get_json()["url"]
    token = urlsplit(url).path.removeprefix("/d/")
    with db.session() as s:
        digest = s.get(Digest, digest_id)
        assert token not in (digest.token_hash, str(digest.payload))
        assert not hasattr(digest, "token")
    assert client.get(f"/d/{token}").status_code == 200
    clock.advance(days=60, seconds=1)
    assert client.get(f"/d/{token}").status_code == 404


def test_export_lists_only_circles_the_person_joined(client, people, db):
    couple(client, people, db)  # Alice and Bob in "Us"
    people.create("Charlie")
    secret = client.post("/api/v1/circles", json={"name": "Secret"}, headers=people.headers("Bob")).get_json()
    client.post(
        f"/api/v1/circles/{secret['id']}/members",
        json={"name": "C", "phone": people.PHONES["Charlie"]},
        headers=people.headers("Bob"),
    )
    export = client.get("/api/v1/export", headers=people.headers("Charlie")).get_json()
    assert export["circles"] == [] and export["rituals"] == [] and export["promises"] == []
    assert people.PHONES["Bob"] not in str(export)


def test_readyz_names_only_the_failed_dependency(client, runtime, caplog):
    from service.domain.db import Database

    runtime.db = Database("postgresql+psycopg://nobody:hunter2@127.0.0.1:1/none")
    with caplog.at_level(logging.WARNING):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "failures": ["database"]}
    assert "127.0.0.1" not in response.get_data(as_text=True)
    assert "database unreachable" in caplog.text  # the details go to the log


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/nothing-here", "/healthz", "/openapi.json", "/d/nope"])
def test_every_answer_carries_the_security_headers(client, people, path):
    people.create("Alice")
    response = client.get(path, headers=people.headers("Alice"))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    if response.mimetype == "application/json":
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    if path.startswith(("/api/v1", "/d/")):
        assert response.headers["Cache-Control"] == "no-store"


def test_the_digest_page_has_a_strict_self_only_csp(client, people, db, runtime):
    people.create("Alice")
    make_digest(runtime, db, people.ids["Alice"])
    url = client.get("/api/v1/digests/latest", headers=people.headers("Alice")).get_json()["url"]
    page = client.get(urlsplit(url).path)
    csp = page.headers["Content-Security-Policy"]
    assert page.status_code == 200 and csp.startswith("default-src 'self'") and "unsafe-inline" not in csp
    assert page.headers["Cache-Control"] == "no-store" and 'style="' not in page.get_data(as_text=True)


def test_bearer_tokens_rotate_and_sign_out(client, people, clock):
    people.create("Alice")
    old = people.headers("Alice")
    new = client.post("/api/v1/me/token", headers=old).get_json()["token"]
    assert client.get("/api/v1/me", headers=old).status_code == 401
    headers = {"Authorization": f"Bearer {new}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    people.create("Alice")  # a second device
    other = people.headers("Alice")
    assert client.delete("/api/v1/sessions/current", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.get("/api/v1/me", headers=other).status_code == 200
    clock.advance(hours=1, minutes=1)  # a fresh hour for codes to Alice
    people.create("Alice")
    assert client.delete("/api/v1/sessions", headers=people.headers("Alice")).status_code == 204
    assert client.get("/api/v1/me", headers=other).status_code == 401


def test_bearer_tokens_are_stored_only_as_digests(client, people, db):
    body = people.create("Alice")
    with db.session() as s:
        stored = str(s.execute(select(Person.__table__)).all()) + str(s.execute(select(DeviceSession.__table__)).all())
    assert body["token"] not in stored and token_digest(body["token"]) in stored
