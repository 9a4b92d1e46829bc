"""Dates at the ends of Python's calendar (years 1 and 9999) at every door that takes one: refused, never a 500."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from service.core import picker
from service.core.schedule import ScheduleError
from service.domain import editing
from service.domain.errors import Invalid
from tests.builders import couple, promise_body, ritual_body, stored_couple, stored_ritual

ENDS = ["0001-01-01T00:00", "0001-01-01T23:59", "9999-12-31T00:00", "9999-12-31T23:59"]
ZONES = ["Pacific/Kiritimati", "Pacific/Pago_Pago"]  # UTC+14 and UTC-11: an instant beyond either end of the calendar


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("rule", [None, "FREQ=DAILY", "FREQ=YEARLY"])
@pytest.mark.parametrize("start", ENDS)
def test_the_picker_refuses_a_start_at_the_ends_of_the_calendar(start, rule, zone):
    with pytest.raises(ScheduleError) as refused:
        picker.place_start(datetime.fromisoformat(start), zone, rule)
    assert refused.value.field == "starts"


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("start", ENDS)
def test_the_api_refuses_a_ritual_or_promise_at_the_ends_of_the_calendar(client, people, db, start, zone):
    circle = couple(client, people, db)
    headers = people.headers("Alice")
    ritual = client.post(
        f"/api/v1/circles/{circle}/rituals", json=ritual_body(starts=start, timezone=zone), headers=headers
    )
    assert ritual.status_code == 422 and ritual.get_json()["error"]["field"] == "starts"
    for rule in (None, "FREQ=WEEKLY"):
        body = promise_body(circle, to=people.ids["Bob"], due=start, timezone=zone, rrule=rule)
        promise = client.post("/api/v1/promises", json=body, headers=headers)
        assert promise.status_code == 422 and promise.get_json()["error"]["field"] == "due"


@pytest.mark.parametrize("until", ["0001-01-01", "9999-12-31"])
def test_a_ritual_far_east_or_west_paused_until_the_ends_of_the_calendar_is_refused(db, clock, until):
    with db.session() as s:
        circle, _alice, _bob = stored_couple(s)
        for zone in ZONES:
            ritual = stored_ritual(s, circle, title=f"Walk in {zone}")  # a circle's titles differ
            ritual.timezone = zone
            with pytest.raises(Invalid) as refused:
                editing.pause_ritual(s, ritual, datetime.combine(date.fromisoformat(until), time()), clock())
            assert refused.value.field == "until"
