"""The pages as an attacker tries them (issue 18): where `next=` may lead, bad input that must not 500,
the cookie that must not be an API token, and Tend's own error page for paths that do not exist (issue 22)."""

from __future__ import annotations

import base64
import json
import zlib

import pytest
from sqlalchemy import select

from service.domain.models import DeviceSession
from tests.builders import code_texted_to
from tests.pages.helpers import Pages

ALICE = "+14155550101"


def sign_in_with_next(pages: Pages, raw_next: str, circle: bool = True):
    """Sign in from /signin?next=<raw_next> (already percent-encoded, as a link would carry it): the last answer."""
    if circle:  # someone with a circle lands on /today when `next` leads nowhere
        pages.sign_in(ALICE, "Alice")
        assert pages.post("/circles/new", {"name": "Us"}).status_code == 302
        pages.post("/signout", form_page="/settings")
    asked = pages.post(f"/signin?next={raw_next}", {"phone": ALICE})
    assert asked.status_code == 302, asked.get_data(as_text=True)
    code_page = asked.headers["Location"]
    return pages.post(code_page, {"code": code_texted_to(pages.db, ALICE), "name": "Alice", "timezone": "UTC"})


@pytest.mark.parametrize(
    "raw_next",
    [
        "/%09/evil.example/phish",  # a tab: browsers drop it, and //evil.example is another site
        "/%0A/x",  # a newline: no header may carry it (a 500 after the sign-in was committed)
        "/%0D%0ASet-Cookie:%20x=1",
        "//evil.example/phish",
        "/\\evil.example",
        "/%5Cevil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "/%2509/evil.example",  # encoded twice: a control character once decoded
        "/%00",
        "",
    ],
)
def test_next_never_leads_off_tend(app, db, raw_next):
    answer = sign_in_with_next(Pages(app, db), raw_next)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    assert answer.headers["Location"] == "/today"


@pytest.mark.parametrize(
    ("raw_next", "lands"),
    [
        ("/calendar", "/calendar"),
        ("/rituals/new%3Fcircle%3D1", "/rituals/new?circle=1"),
        ("/today%3F", "/today"),  # no stray "?"
    ],
)
def test_next_leads_to_a_path_on_tend(app, db, raw_next, lands):
    answer = sign_in_with_next(Pages(app, db), raw_next)
    assert answer.status_code == 302 and answer.headers["Location"] == lands


def test_a_page_asked_for_signed_out_comes_back_after_sign_in_without_a_stray_question_mark(app, db):
    pages = Pages(app, db)
    sent = pages.client.get("/today")
    assert sent.status_code == 302 and sent.headers["Location"] == "/signin?next=/today"
    sent = pages.client.get("/calendar?x=1")
    assert sent.headers["Location"] == "/signin?next=/calendar?x%3D1"


def cookie_payload(pages: Pages) -> dict:
    """What anyone holding the cookie can read: Flask signs its session, it does not encrypt it."""
    cookie = pages.client.get_cookie("tend_session")
    assert cookie is not None
    data = cookie.value.split(".")[0 if not cookie.value.startswith(".") else 1]
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    return json.loads(zlib.decompress(raw) if cookie.value.startswith(".") else raw)


def test_the_cookie_value_is_useless_as_an_api_token(app, db, client):
    pages = Pages(app, db)
    pages.sign_in(ALICE, "Alice")
    secrets = [value for value in cookie_payload(pages).values() if isinstance(value, str) and len(value) > 20]
    assert secrets, "the cookie carries the page session's secret"
    for secret in secrets:
        answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert answer.status_code == 401
    assert pages.client.get("/today").status_code == 200


def test_an_api_token_is_useless_as_a_page_cookie(app, db, people):
    people.create("Alice")
    pages = Pages(app, db)
    pages.sign_in(ALICE, "Alice")
    payload = cookie_payload(pages)
    forged = {
        key: people.tokens["Alice"] if isinstance(value, str) and len(value) > 20 else value
        for key, value in payload.items()
    }
    assert forged != payload
    browser = app.test_client()
    browser.set_cookie("tend_session", app.session_interface.get_signing_serializer(app).dumps(forged))
    assert browser.get("/today").status_code == 302


def test_signing_out_everywhere_on_the_pages_ends_the_api_tokens_too(app, db, people, client):
    people.create("Alice")
    pages = Pages(app, db)
    pages.sign_in(ALICE, "Alice")
    assert client.get("/api/v1/me", headers=people.headers("Alice")).status_code == 200
    assert pages.post("/signout/everywhere", form_page="/settings").status_code == 302
    assert client.get("/api/v1/me", headers=people.headers("Alice")).status_code == 401
    with db.session() as s:
        assert s.scalars(select(DeviceSession)).all() == []


def test_signing_out_everywhere_on_the_api_ends_the_page_session_too(app, db, people, client):
    pages = Pages(app, db)
    pages.sign_in(ALICE, "Alice")
    people.create("Alice")
    assert client.delete("/api/v1/sessions", headers=people.headers("Alice")).status_code == 204
    assert pages.client.get("/today").status_code == 302


@pytest.fixture
def alice_with_a_circle(app, db) -> tuple[Pages, int]:
    pages = Pages(app, db)
    pages.sign_in(ALICE, "Alice")
    made = pages.post("/circles/new", {"name": "Us"})
    assert made.status_code == 302
    return pages, int(made.headers["Location"].rsplit("/", 1)[1])


RITUAL_FORM = {
    "title": "Walk",
    "repeat": "daily",
    "time": "07:30",
    "start_date": "2026-12-02",
    "remind_before_minutes": "15",
    "duration_minutes": "30",
}


@pytest.mark.parametrize("start_date", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("button", ["submit", "preview"])
def test_a_start_date_at_the_ends_of_the_calendar_answers_the_form(alice_with_a_circle, start_date, button):
    pages, circle = alice_with_a_circle
    path = f"/rituals/new?circle={circle}"
    answer = pages.post(path, RITUAL_FORM | {"start_date": start_date, button: "1"})
    assert answer.status_code in (200, 422), answer.status_code
    assert "Sorry" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("start_date", ["0001-01-01", "9999-12-31"])
def test_a_preview_of_a_start_at_the_ends_of_the_calendar_says_why_not(alice_with_a_circle, start_date):
    pages, _circle = alice_with_a_circle
    answer = pages.client.get(
        f"/schedule/preview?repeat=daily&time=00:00&start_date={start_date}&timezone=Pacific/Kiritimati"
    )
    assert answer.status_code == 200, answer.status_code


@pytest.mark.parametrize("lead", ["9" * 30, str(2**63), "-99999999999"])
def test_a_preview_with_a_reminder_lead_out_of_range_is_shown_without_one(alice_with_a_circle, lead):
    pages, _circle = alice_with_a_circle
    query = f"repeat=daily&time=07:30&start_date=2026-12-02&remind_before_minutes={lead}"
    assert pages.client.get(f"/schedule/preview?{query}").status_code == 200


@pytest.mark.parametrize(
    "form",
    [
        {"at": "0001-01-01T00:00:00+01:00"},
        {"at": "9999-12-31T23:59:59-01:00"},
        {"id": "9" * 30},
        {"id": "١٢"},  # Arabic-Indic digits are decimal to Python
    ],
)
def test_a_check_in_with_an_impossible_instant_or_id_is_refused_not_a_500(alice_with_a_circle, form):
    pages, _circle = alice_with_a_circle
    body = {"kind": "ritual", "id": "1", "at": "2026-12-01T12:30:00+00:00", "outcome": "done"} | form
    answer = pages.post("/checkins", body, form_page="/settings")
    assert answer.status_code in (302, 404, 422), answer.status_code


@pytest.mark.parametrize("path", ["/rituals/new", "/promises/new"])
@pytest.mark.parametrize("circle", ["9" * 30, str(2**63), "١"])
def test_a_circle_id_out_of_range_is_a_404_page(alice_with_a_circle, path, circle):
    pages, _circle = alice_with_a_circle
    answer = pages.client.get(f"{path}?circle={circle}")
    assert answer.status_code == 404 and answer.mimetype == "text/html"


@pytest.mark.parametrize(
    "fields",
    [{"participants": "9" * 30}, {"participants": str(2**63)}, {"interval": "9" * 30}, {"duration_minutes": "9" * 30}],
)
def test_ids_and_numbers_out_of_range_in_a_ritual_form_answer_the_form(alice_with_a_circle, fields):
    pages, circle = alice_with_a_circle
    answer = pages.post(f"/rituals/new?circle={circle}", RITUAL_FORM | fields)
    assert answer.status_code in (302, 422), answer.status_code


def test_a_recipient_out_of_range_in_a_promise_form_answers_the_form(alice_with_a_circle):
    pages, circle = alice_with_a_circle
    form = RITUAL_FORM | {"to": "9" * 30, "repeat": "once", "grace_minutes": "60"}
    answer = pages.post(f"/promises/new?circle={circle}", form, form_page="/settings")
    assert answer.status_code == 422, answer.status_code


# Tend's own error page for page paths; JSON for the machine doors (SPEC §11)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no-such-page", 404),
        ("GET", "/d/bogus", 404),
        ("GET", "/d/" + "x" * 100, 404),
        ("GET", "/circles", 404),
        ("POST", "/today", 405),
        ("GET", "/assets/nothing.css", 404),
    ],
)
def test_a_browser_on_a_page_path_that_does_not_exist_gets_the_html_error_page(client, method, path, status):
    for accept in ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "*/*", None):
        answer = client.open(path, method=method, headers={"Accept": accept} if accept else {})
        assert answer.status_code == status and answer.mimetype == "text/html", (path, accept)
        assert "<h1>Sorry</h1>" in answer.get_data(as_text=True)
        assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    if status == 405:
        assert "GET" in answer.headers["Allow"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/nothing", 404),
        ("GET", "/api/nothing", 404),
        ("DELETE", "/api/v1/circles", 405),
        ("GET", "/webhooks/twilio/sms", 405),
        ("GET", "/webhooks/nothing", 404),
    ],
)
def test_the_api_and_webhooks_keep_json_errors_whatever_the_browser_accepts(client, method, path, status):
    for accept in ("text/html,*/*;q=0.8", "application/json", None):
        answer = client.open(path, method=method, headers={"Accept": accept} if accept else {})
        assert answer.status_code == status and answer.mimetype == "application/json", (path, accept)
        assert answer.get_json()["error"]["code"] in ("not_found", "method_not_allowed")


def test_a_client_asking_only_for_json_on_a_page_path_gets_json(client):
    answer = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"
