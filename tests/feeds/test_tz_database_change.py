"""A tz database change reaches every schedule and feed on the next clock tick (issue 14).

The change is simulated with a modified copy of America/New_York, compiled
with zic, in which New York keeps daylight time (UTC-4) all year from March
2026: what a "permanent DST" law would look like in the next tzdata release.
"""

import io
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from dateutil import tz
from sqlalchemy import select

from service.core import zones
from service.domain.models import Feed, Occurrence, OutboundSms, Person, SmsKind, TzDatabaseSeen
from tests.builders import add_ritual, couple
from tests.feeds.helpers import fetch, new_feed, render
from tests.zic import compile_zone
from workers import clock as clock_module

PERMANENT_EDT = """\
Rule	US	2007	max	-	Mar	Sun>=8	2:00	1:00	D
Rule	US	2007	max	-	Nov	Sun>=1	2:00	0	S
Zone	America/New_York	-5:00	US	E%sT	2026 Mar 8 2:00
			-4:00	-	EDT
"""


@pytest.fixture
def permanent_edt() -> zones.TimeZoneDatabase:
    tzif = compile_zone("America/New_York", PERMANENT_EDT)
    return zones.installed().replacing("America/New_York", tzif, version="2099a (New York on UTC-4 all year)")


@pytest.fixture
def planned(client, people, db, runtime, doorbell):
    """Alice and Bob's daily 07:30 New York ritual, planned four days ahead (2-4 December); their feeds rendered."""
    circle_id = couple(client, people, db)
    add_ritual(client, people, circle_id)  # daily at 07:30 from 2 December 2026
    feeds = [new_feed(client, people), new_feed(client, people, scope="circle", circle_id=circle_id)]
    clock_module.tick(runtime)
    for feed in feeds:
        assert fetch(client, feed).status_code == 200
    doorbell.feeds.clear()
    return feeds


def occurrences(db) -> list[tuple[datetime, datetime, datetime, datetime]]:
    with db.session() as session:
        return [
            (o.local, o.at, o.opens_at, o.closes_at)
            for o in session.scalars(select(Occurrence).order_by(Occurrence.local))
        ]


def reminders_due(db, person_id: int) -> list[datetime]:
    with db.session() as session:
        return sorted(
            session.scalars(
                select(OutboundSms.due_at).where(
                    OutboundSms.kind == SmsKind.REMINDER, OutboundSms.person_id == person_id
                )
            )
        )


def at_utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def test_a_tz_database_change_moves_future_occurrences_to_the_same_local_hour(
    db, runtime, people, planned, permanent_edt
):
    assert [row[1] for row in occurrences(db)] == [at_utc(day, 12, 30) for day in (2, 3, 4)]  # 07:30 EST

    with zones.use(permanent_edt):
        report = clock_module.tick(runtime)

    assert report.replanned == 3
    # 5 December 07:30 was beyond the four days planned at UTC-5 (12:30Z) and is within them at UTC-4 (11:30Z).
    assert occurrences(db) == [
        (
            datetime(2026, 12, day, 7, 30),  # the local hour stays
            at_utc(day, 11, 30),  # 07:30 at UTC-4
            at_utc(day, 11, 20),  # ten minutes before, the reminder
            at_utc(day + 1, 4),  # the end of that local day at UTC-4
        )
        for day in (2, 3, 4, 5)
    ]
    assert reminders_due(db, people.ids["Alice"]) == [at_utc(day, 11, 20) for day in (2, 3, 4, 5)]


def test_a_tz_database_change_renders_every_feed_with_the_new_offsets(
    client, db, runtime, doorbell, planned, permanent_edt
):
    before = [fetch(client, feed) for feed in planned]

    with zones.use(permanent_edt):
        clock_module.tick(runtime)
        rung = sorted(feed_id for ids in doorbell.feeds for feed_id in ids)
        assert rung == sorted(feed["id"] for feed in planned)
        for feed_id in rung:
            assert render(runtime, feed_id)

    for feed, old in zip(planned, before, strict=True):
        response = fetch(client, feed)
        assert response.headers["ETag"] != old.headers["ETag"]
        calendar = icalendar.Calendar.from_ical(response.data)
        (new_york,) = calendar.timezones
        assert [(o.name, o["TZOFFSETTO"].td) for o in new_york.subcomponents] == [("STANDARD", timedelta(hours=-4))]
        # A reader of the VTIMEZONE (as libical and Outlook are) places the ritual where Tend now plans it.
        (ritual,) = calendar.walk("VEVENT")
        reader = tz.tzical(io.StringIO(new_york.to_ical().decode())).get("America/New_York")
        assert ritual["DTSTART"].dt.replace(tzinfo=reader).astimezone(UTC) == at_utc(2, 11, 30)


def test_the_schedules_go_on_at_the_new_offset_once_and_only_once(db, runtime, clock, doorbell, planned, permanent_edt):
    with zones.use(permanent_edt):
        clock_module.tick(runtime)
        doorbell.feeds.clear()
        again = clock_module.tick(runtime)
        assert again.replanned == 0 and doorbell.feeds == []  # nothing left to follow
        clock.advance(days=1, hours=1)  # the schedule runs low and is extended
        clock_module.tick(runtime)
    assert [row[1] for row in occurrences(db)] == [at_utc(day, 11, 30) for day in (2, 3, 4, 5, 6)]


def test_a_clock_not_yet_restarted_leaves_the_newer_plan_alone(db, runtime, doorbell, planned, permanent_edt):
    with zones.use(permanent_edt):
        clock_module.tick(runtime)
    doorbell.feeds.clear()
    report = clock_module.tick(runtime)  # the installed tz database, older than 2099a
    assert report.replanned == 0 and doorbell.feeds == []
    assert [row[1] for row in occurrences(db)] == [at_utc(day, 11, 30) for day in (2, 3, 4, 5)]
    with db.session() as session:
        assert session.scalar(select(TzDatabaseSeen.version)) == permanent_edt.version


def test_the_first_tick_records_the_version_and_changes_nothing(db, runtime, doorbell, planned):
    with db.session() as session:
        assert session.scalar(select(TzDatabaseSeen.version)) == zones.installed().version
        assert session.scalar(select(Feed.dirty_since).where(Feed.id == planned[0]["id"])) is None


def test_digest_slots_keep_their_local_hour(db, runtime, planned, permanent_edt):
    def slots() -> list[datetime | None]:
        with db.session() as session:
            return list(session.scalars(select(Person.next_digest_at).order_by(Person.id)))

    assert slots() == [at_utc(6, 23), at_utc(6, 23)]  # Sunday 18:00 at UTC-5
    with zones.use(permanent_edt):
        clock_module.tick(runtime)
    assert slots() == [at_utc(6, 22), at_utc(6, 22)]  # Sunday 18:00 at UTC-4
