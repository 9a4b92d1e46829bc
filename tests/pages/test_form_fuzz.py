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

# Each form starts valid; hypothesis replaces some of its fields with values its parsing and the rules behind it
# must survive: the ends of the calendar, ids past the database's range, digits Python reads as decimal, empty
# and padded values, and any text a browser can send.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
NUMBERS = ["", "0", "-1", "1", "2", "9" * 30, str(2**63), str(2**63 - 1), "١٢", "1e3", " 3 "]
DATES = ["", "0001-01-01", "9999-12-31", "2000-01-01", "2200-12-31", "1999-12-31", "2026-02-30", "2026-12-02"]
DATES += ["Fri 31 Dec 9999", "dec 31 9999", "1 Jan 1", "tomorrow", "fri", "12/04/2026", "31 feb", "in 99999 days"]
TIMES = ["", "00:00", "23:59", "24:00", "07:30:59.999999", "7:30", "02:30"]
INSTANTS = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-12-01T12:30:00", "2026-12-01T12:30:00Z"]
ZONES = ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Not/AZone", "../etc/passwd", "America/New_York "]
REPEATS = ["daily", "weekdays", "days", "every_n", "weekly", "once", ""]
KINDS = {
    "number": NUMBERS,
    "date": DATES,
    "time": TIMES,
    "instant": INSTANTS,
    "zone": ZONES,
    "repeat": REPEATS,
    "phone": ["+14155550102", "+1 415 555 0102", "+19005550100", "+" + "1" * 30, "4155550102"],
    "choice": ["ritual", "promise", "done", "skip", "y", "on", "0", "6", "7"],
    "text": ["", " ", "a" * 200, "Tea\x00time", "\u202eevil"],
}
FIELDS = {
    **dict.fromkeys(["interval", "remind_before_minutes", "duration_minutes", "participants", "to", "id"], "number"),
    **dict.fromkeys(["grace_minutes", "follow_up_minutes", "days", "weekdays", "digest_weekday", "code"], "number"),
    **dict.fromkeys(["start_date", "until"], "date"),
    **dict.fromkeys(["time", "quiet_start", "quiet_end", "digest_time"], "time"),
    **dict.fromkeys(["at"], "instant"),
    **dict.fromkeys(["timezone"], "zone"),
    **dict.fromkeys(["repeat"], "repeat"),
    **dict.fromkeys(["phone"], "phone"),
    **dict.fromkeys(["kind", "outcome", "quiet", "preview", "mode"], "choice"),
    **dict.fromkeys(["title", "name", "note"], "text"),
}


def value_for(field: str) -> st.SearchStrategy:
    edges = st.sampled_from(KINDS[FIELDS[field]])
    return st.one_of(edges, edges, TEXT, st.lists(edges, min_size=2, max_size=3))  # a list: the field repeated


PICKER = {"repeat": "daily", "time": "07:30", "start_date": "2026-12-02", "remind_before_minutes": "15"}
FORMS = {
    "/signin": {"phone": "+14155550103"},
    "/signin/code": {"code": "123456", "name": "Carol", "timezone": "UTC"},
    "/circles/new": {"name": "Book club"},
    "/circles/{circle}/members": {"name": "Dana", "phone": "+14155550104"},
    "/rituals/new?circle={circle}": {
        "title": "Walk",
        **PICKER,
        "duration_minutes": "30",
        "participants": "1",
        "mode": "together",
        "follow_up_minutes": "30",
    },
    "/rituals/{ritual}": {"title": "Walk", **PICKER, "weekdays": "1", "interval": "2", "duration_minutes": "30"},
    "/rituals/{ritual}/pause": {"until": "2026-12-10"},
    "/promises/new?circle={circle}": {"to": "1", "title": "Call", **PICKER, "grace_minutes": "60"},
    "/checkins": {"kind": "ritual", "id": "1", "at": "2026-12-02T12:30:00+00:00", "outcome": "done", "note": "ok"},
    "/settings": {"name": "Alice", "timezone": "UTC", "quiet": "y", "quiet_start": "22:00", "quiet_end": "07:00"}
    | {"digest_weekday": "6", "digest_time": "18:00"},
    "/settings/pause": {"days": "7"},
    "/schedule/preview": {**PICKER, "timezone": "UTC"},
}

EXTRA = dict.fromkeys(
    ["/rituals/new?circle={circle}", "/promises/new?circle={circle}"], ("preview", "weekdays", "interval")
)


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


@pytest.mark.parametrize("path", sorted(FORMS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_page_form_answers_a_5xx_whatever_it_holds(couple_on_the_pages, path, data):
    alice, token, ids = couple_on_the_pages
    names = sorted({*FORMS[path], *EXTRA.get(path, ())})
    changed = data.draw(st.fixed_dictionaries({}, optional={name: value_for(name) for name in names}))
    fields = FORMS[path] | changed
    url = path.format(**ids)
    if path == "/schedule/preview":
        answer = alice.client.get(url, query_string=fields)
    else:
        answer = alice.client.post(url, data={"csrf_token": token, **fields})
    assert answer.status_code < 500, (url, fields, answer.status_code)
    assert answer.status_code != 400, (url, fields, answer.get_data(as_text=True)[:300])  # the token still holds
