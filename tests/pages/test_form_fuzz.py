"""Hypothesis over every page form, as a browser (or anyone with a valid session and CSRF token) can post it:
whatever the fields hold, no answer is a 5xx (SPEC §8, §11: never a 500 for bad input)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain import editing
from service.domain.models import Circle
from tests.pages.helpers import Pages, csrf_of

ALICE, BOB = "+14155550101", "+14155550102"

# Values a form's parsing and the rules behind it must survive: ends of the calendar, ids past the database's
# range, digits Python reads as decimal, empty and padded values, and any text a browser can send.
EDGES = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "1",
        "2",
        "9" * 30,
        str(2**63),
        str(2**63 - 1),
        "١٢",
        "0001-01-01",
        "9999-12-31",
        "2026-12-02",
        "2026-02-30",
        "07:30",
        "24:00",
        "23:59:59.999999",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2026-12-01T12:30:00+00:00",
        "daily",
        "weekdays",
        "days",
        "every_n",
        "weekly",
        "once",
        "ritual",
        "promise",
        "done",
        "skip",
        "y",
        "Pacific/Kiritimati",
        "Not/AZone",
        "+14155550102",
        "+1 415 555 0102",
    ]
)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
VALUES = st.one_of(EDGES, TEXT, st.lists(EDGES, max_size=3))

PICKER = ["repeat", "weekdays", "interval", "time", "start_date", "remind_before_minutes"]
FORMS = {
    "/signin": ["phone"],
    "/signin/code": ["code", "name", "timezone"],
    "/circles/new": ["name"],
    "/circles/{circle}/members": ["name", "phone"],
    "/rituals/new?circle={circle}": ["title", *PICKER, "duration_minutes", "participants", "preview"],
    "/rituals/{ritual}": ["title", *PICKER, "duration_minutes", "participants"],
    "/rituals/{ritual}/pause": ["until"],
    "/promises/new?circle={circle}": ["to", "title", *PICKER, "grace_minutes", "preview"],
    "/checkins": ["kind", "id", "at", "outcome", "note"],
    "/settings": ["name", "timezone", "quiet", "quiet_start", "quiet_end", "digest_weekday", "digest_time"],
    "/settings/pause": ["days"],
    "/schedule/preview": [*PICKER, "timezone"],
}


@pytest.fixture
def couple_on_the_pages(app, db, clock):
    """Alice signed in on the pages, in a circle with Bob and a ritual; her browser, its CSRF token and the ids."""
    bob = Pages(app, db)
    bob.sign_in(BOB, "Bob")
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    circle = int(alice.post("/circles/new", {"name": "Us"}).headers["Location"].rsplit("/", 1)[1])
    invited = alice.post(f"/circles/{circle}/members", {"name": "Bob", "phone": BOB}, form_page=f"/circles/{circle}")
    assert invited.status_code == 302
    bob.post(f"/invitations/{circle}/accept", form_page="/invitations")
    with db.session() as s:
        ritual = editing.create_ritual(
            s,
            s.get(Circle, circle),
            editing.RitualFields("Walk", datetime(2026, 12, 2, 7, 30), "America/New_York", "FREQ=DAILY", 30, 15),
            clock(),
        )
        s.commit()
        ids = {"circle": circle, "ritual": ritual.subject.id}
    return alice, csrf_of(alice.text("/settings")), ids


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(path=st.sampled_from(sorted(FORMS)), data=st.data())
def test_no_page_form_answers_a_5xx_whatever_it_holds(couple_on_the_pages, path, data):
    alice, token, ids = couple_on_the_pages
    fields = data.draw(st.dictionaries(st.sampled_from(FORMS[path]), VALUES, max_size=len(FORMS[path])))
    url = path.format(**ids)
    if path == "/schedule/preview":
        answer = alice.client.get(url, query_string=fields)
    else:
        answer = alice.client.post(url, data={"csrf_token": token, **fields})
    assert answer.status_code < 500, (url, fields, answer.status_code)
    assert answer.status_code != 400, (url, fields, answer.get_data(as_text=True)[:300])  # the token still holds
