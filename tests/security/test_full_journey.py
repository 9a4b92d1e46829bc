"""A full journey on a live server with the fake Twilio: who gets texted, and what the logs hold.

Alice signs up by code and invites Bob, who joins by SMS; Mallory invites
Charlie and tries to make him a participant. Reminders, a check-in by SMS, a
kept promise, a calendar feed and a weekly digest follow. Nobody gets an SMS
but a code they asked for, one invitation per circle, or (once joined)
reminders and news; and the captured logs of it all (access logs included)
hold no token, feed or digest URL, phone number or SMS body.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from service.entry import logs
from tests.builders import code_texted_to, ritual_body
from tests.texting import Texts

PHONES = {"Alice": "+14155550101", "Bob": "+14155550102", "Charlie": "+14155550103", "Mallory": "+12125550177"}


@pytest.fixture
def live(app):
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=logs.QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_full_journey_texts_only_who_asked_or_joined_and_logs_no_secrets(
    live, db, clock, sms, fake_twilio, twilio_runtime, caplog
):
    caplog.set_level(logging.INFO)  # `tend`'s default level
    for name in logs.QUIET:  # as `tend` configures its logging
        logging.getLogger(name).setLevel(logging.WARNING)
    api = requests.Session()
    secrets: list[str] = []

    def sign_up(name):
        assert api.post(f"{live}/api/v1/codes", json={"phone": PHONES[name]}).status_code == 202
        code = code_texted_to(db, PHONES[name])
        body = {"phone": PHONES[name], "code": code, "name": name, "timezone": "America/New_York"}
        answer = api.post(f"{live}/api/v1/sessions", json=body).json()
        secrets.extend([answer["token"], code])
        return {"Authorization": f"Bearer {answer['token']}"}, answer["person"]["id"]

    alice, _ = sign_up("Alice")
    circle = api.post(f"{live}/api/v1/circles", json={"name": "Us"}, headers=alice).json()
    bob = api.post(
        f"{live}/api/v1/circles/{circle['id']}/members", json={"name": "B", "phone": PHONES["Bob"]}, headers=alice
    )
    assert bob.status_code == 201
    mallory, _ = sign_up("Mallory")
    hers = api.post(f"{live}/api/v1/circles", json={"name": "Win $$$ at evil.example"}, headers=mallory).json()
    charlie = api.post(
        f"{live}/api/v1/circles/{hers['id']}/members", json={"name": "C", "phone": PHONES["Charlie"]}, headers=mallory
    ).json()
    ritual = ritual_body()
    spam = api.post(
        f"{live}/api/v1/circles/{hers['id']}/rituals", json=ritual | {"participants": [charlie["id"]]}, headers=mallory
    )
    assert spam.status_code == 422
    sms.tick()  # codes and invitations go out

    texts = Texts(api_client(live, api), twilio_runtime.config.twilio_auth_token, PHONES)
    assert texts.send("Bob", "JOIN").startswith('You joined "Us"')
    api.post(f"{live}/api/v1/circles/{circle['id']}/rituals", json=ritual, headers=alice)
    promise = {
        "circle_id": circle["id"],
        "to": bob.json()["id"],
        "title": "book the table",
        "due": "2026-12-02T18:00",
        "timezone": "America/New_York",
        "remind_before_minutes": 30,
    }
    assert api.post(f"{live}/api/v1/promises", json=promise, headers=alice).status_code == 201
    feed = api.post(f"{live}/api/v1/feeds", json={"scope": "person"}, headers=alice).json()
    secrets.append(urlsplit(feed["url"]).path.removeprefix("/feeds/").removesuffix(".ics"))
    sms.tick()
    assert api.get(feed["url"].replace("http://tend.test", live)).status_code == 200

    clock.set(datetime(2026, 12, 2, 12, 20, tzinfo=UTC))
    sms.tick()  # reminders
    assert texts.send("Alice", "DONE").startswith("Kept!")
    clock.set(datetime(2026, 12, 2, 22, 45, tzinfo=UTC))
    sms.tick()
    assert texts.send("Alice", "DONE").startswith("Kept!")  # the promise: Bob is told
    clock.set(datetime(2026, 12, 6, 23, 0, tzinfo=UTC))
    sms.tick()  # digests
    digest = api.get(f"{live}/api/v1/digests/latest", headers=alice).json()
    secrets.append(urlsplit(digest["url"]).path.removeprefix("/d/"))
    assert api.get(digest["url"].replace("http://tend.test", live)).status_code == 200

    # Who got what: a code only to those who asked, one invitation per circle, the rest only once joined.
    kinds: dict[str, list[str]] = {}
    for message in fake_twilio.messages:
        kinds.setdefault(message["to"], []).append(classify(message["body"]))
    assert kinds[PHONES["Charlie"]] == ["invitation"]  # never joined: nothing else
    assert set(kinds[PHONES["Mallory"]]) <= {"code", "digest"}
    assert kinds[PHONES["Bob"]][0] == "invitation" and "code" not in kinds[PHONES["Bob"]]
    assert {"code", "reminder", "digest"} <= set(kinds[PHONES["Alice"]])
    assert "promise kept" in kinds[PHONES["Bob"]]

    # What the logs hold: none of the secrets, numbers or texts.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET /feeds/***.ics" in logged and "GET /d/***" in logged  # the access log is there, masked
    for secret in secrets:
        assert secret not in logged
    for phone in PHONES.values():
        assert phone not in logged and phone[2:] not in logged
    for message in fake_twilio.messages:
        assert message["body"] not in logged
    assert not re.search(r"/(feeds|d)/[A-Za-z0-9_-]{8,}", logged)


def classify(body: str) -> str:
    for marker, kind in (
        ("your code is", "code"),
        ("invited you", "invitation"),
        ("kept their promise", "promise kept"),
        ("More:", "digest"),
    ):
        if marker in body:
            return kind
    return "reminder"


def api_client(live, session):
    """Texts' `post(path, data=..., headers=...)` on the live server."""

    class Client:
        def post(self, path, data, headers):
            response = session.post(f"{live}{path}", data=data, headers=headers)
            response.get_data = lambda **_: response.content
            response.mimetype = response.headers["Content-Type"].split(";")[0]
            return response

    return Client()
