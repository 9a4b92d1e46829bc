"""/today from the occurrences the clock stored (issue 21): the same page whether the clock has stored the two days,
part of them or nothing yet, across daylight-saving days too; what is stored (an outcome, a check-in) is shown."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from service.domain import accounts, editing
from service.domain.models import Occurrence, Person, Ritual
from tests.pages.helpers import Pages

ALICE = "+14155550101"
ZONE = "America/New_York"
CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]+"')


def entries(page: str) -> list[str]:
    """The page's occurrences as shown (times, titles, states, buttons), without the per-render CSRF token."""
    return [CSRF_VALUE.sub("", entry) for entry in re.findall(r'<li class="entry.*?</li>', page, re.S)]


def times_of(page: str) -> list[str]:
    return re.findall(r'<li class="entry[^"]*" id="ritual-\d+">\s*<time datetime="([^"]+)"', page)


def alice_with_rituals(app, db, now: datetime, *rituals: tuple[str, datetime]) -> Pages:
    """Alice signed in, with a circle and a daily ritual for each (title, local start) made at `now`."""
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice", ZONE)
    with db.session() as s:
        person = s.scalars(select(Person).where(Person.phone == ALICE)).one()
        circle = accounts.create_circle(s, owner=person, name="Us", now=now)
        for title, starts in rituals:
            editing.create_ritual(s, circle, editing.RitualFields(title, starts, ZONE, "FREQ=DAILY", 30, 15), now)
        s.commit()
    return alice


def test_a_ritual_made_a_minute_ago_shows_and_the_clock_storing_it_changes_nothing(app, db, clock, sms):
    clock.set(datetime(2026, 12, 1, 17, 0, tzinfo=UTC))  # Tuesday 12:00 in New York
    alice = alice_with_rituals(
        app, db, clock(), ("Morning coffee", datetime(2026, 11, 20, 7, 30)), ("Evening walk", datetime(2026, 12, 1, 19))
    )
    before = alice.text("/today")  # nothing stored yet: both schedules expanded from where they start
    assert times_of(before) == [
        "2026-12-01T07:30:00-05:00",
        "2026-12-01T19:00:00-05:00",
        "2026-12-02T07:30:00-05:00",
        "2026-12-02T19:00:00-05:00",
    ]
    assert "You can check in from 18:45, when its reminder goes out." in before
    assert before.count('value="done"') == 1  # this morning's coffee; the walk opens at 18:45
    sms.tick()
    with db.session() as s:
        assert s.scalar(select(Ritual.materialized_until).limit(1)) > clock() + timedelta(days=3)
    after = alice.text("/today")
    assert entries(after) == entries(before)
    assert "missed" not in after  # this morning's window lasts until midnight


def test_a_schedule_stored_only_partly_is_shown_once_with_what_is_stored(app, db, clock, sms):
    clock.set(datetime(2026, 12, 1, 23, 0, tzinfo=UTC))  # Tuesday 18:00 in New York
    alice = alice_with_rituals(app, db, clock(), ("Evening walk", datetime(2026, 11, 30, 17, 30)))
    sms.tick()
    done = alice.post(
        "/checkins",
        {"kind": "ritual", "id": _only_ritual(db), "at": "2026-12-01T22:30:00+00:00", "outcome": "done"},
        form_page="/today",
    )
    assert done.status_code == 302
    full = alice.text("/today")
    with db.session() as s:  # as if the clock had stored only today: tomorrow's instant is not stored yet
        s.execute(delete(Occurrence).where(Occurrence.at > clock()))
        s.execute(update(Ritual).values(materialized_until=clock()))
        s.commit()
    partly = alice.text("/today")
    assert entries(partly) == entries(full)
    assert times_of(partly) == ["2026-12-01T17:30:00-05:00", "2026-12-02T17:30:00-05:00"]
    assert 'class="entry done"' in partly and "done ✓" in partly  # today's, as stored


def test_what_is_stored_is_what_shows(app, db, clock, sms):
    """A stored occurrence is the page's truth: one the schedule has (stored or not yet) but the store dropped
    while covering its instant does not show."""
    clock.set(datetime(2026, 12, 1, 17, 0, tzinfo=UTC))
    alice = alice_with_rituals(app, db, clock(), ("Evening walk", datetime(2026, 11, 30, 19)))
    sms.tick()
    with db.session() as s:
        s.execute(delete(Occurrence).where(Occurrence.at > clock() + timedelta(days=1)))
        s.commit()
    assert times_of(alice.text("/today")) == ["2026-12-01T19:00:00-05:00"]


@pytest.mark.parametrize(
    ("now", "starts", "today"),
    [
        # Sunday 1 November 2026, clocks fall back at 02:00: 01:30 happens twice, the ritual is at the first
        (datetime(2026, 11, 1, 16, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, 30), "2026-11-01T01:30:00-04:00"),
        # Sunday 8 March 2026, clocks spring forward at 02:00: 02:30 does not exist, the ritual moves to 03:30
        (datetime(2026, 3, 8, 16, 0, tzinfo=UTC), datetime(2026, 3, 1, 2, 30), "2026-03-08T03:30:00-04:00"),
    ],
    ids=["fall-back", "spring-forward"],
)
def test_daylight_saving_days_show_the_same_stored_or_not(app, db, clock, sms, now, starts, today):
    clock.set(now)
    alice = alice_with_rituals(app, db, now, ("Night cap", starts))
    before = alice.text("/today")
    assert times_of(before)[0] == today and len(times_of(before)) == 2
    sms.tick()
    assert entries(alice.text("/today")) == entries(before)


def _only_ritual(db) -> str:
    with db.session() as s:
        return str(s.scalars(select(Ritual.id)).one())
