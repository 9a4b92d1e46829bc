"""build_feed: the bytes a calendar app subscribes to (SPEC §6)."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from calendars.feed import FeedEvent, PastOutcome, build_feed
from service.core import zones
from tests.calendars.samples import BOOKING, COFFEE, WINDOW


def feed(*events: FeedEvent, name: str = "Alice & Bob") -> bytes:
    return build_feed(name, events, **WINDOW)


def lines(*events: FeedEvent) -> list[str]:
    """Unfolded content lines."""
    return feed(*events).decode().replace("\r\n ", "").split("\r\n")


def vevents(*events: FeedEvent) -> list:
    return Calendar.from_ical(feed(*events)).walk("VEVENT")


def test_it_renders_identical_bytes_for_identical_input() -> None:
    assert feed(COFFEE, BOOKING) == feed(COFFEE, BOOKING)


def test_it_renders_the_same_bytes_whatever_order_events_come_in() -> None:
    assert feed(COFFEE, BOOKING) == feed(BOOKING, COFFEE)


def test_it_writes_the_calendar_properties_clients_read() -> None:
    head = lines(COFFEE)[:9]
    assert head == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Tend//Tend feeds//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "NAME:Alice & Bob",
        "X-WR-CALNAME:Alice & Bob",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ]


def test_it_writes_every_property_a_ritual_needs() -> None:
    (master,) = vevents(COFFEE)
    assert str(master["UID"]) == "ritual-7f3a9c@tend"
    assert master["DTSTAMP"].dt == master["LAST-MODIFIED"].dt == COFFEE.last_modified
    assert master["SEQUENCE"] == 3
    assert str(master["SUMMARY"]) == "Morning coffee talk"
    assert master["DTSTART"].params["TZID"] == "America/New_York"
    assert master["DTSTART"].dt.replace(tzinfo=None) == datetime(2026, 2, 1, 7, 30)
    assert master["DURATION"].dt == timedelta(minutes=20)
    assert master["RRULE"].to_ical() == b"FREQ=DAILY"
    (alarm,) = master.walk("VALARM")
    assert (str(alarm["ACTION"]), str(alarm["DESCRIPTION"])) == ("DISPLAY", "Morning coffee talk")


def test_it_passes_the_sequence_through_so_clients_take_edits() -> None:
    (master,) = vevents(dataclasses.replace(COFFEE, sequence=17))
    assert master["SEQUENCE"] == 17


def test_it_sets_the_alarm_remind_before_minutes_ahead() -> None:
    assert "TRIGGER:-PT10M" in lines(COFFEE)
    assert "TRIGGER:-PT1H30M" in lines(dataclasses.replace(COFFEE, remind_before_minutes=90))


def test_it_sets_a_valid_alarm_at_the_start_for_zero_minutes() -> None:
    assert "TRIGGER:P0D" in lines(dataclasses.replace(COFFEE, remind_before_minutes=0))


def test_it_writes_one_exdate_line_per_paused_day_in_the_rituals_zone() -> None:
    paused = dataclasses.replace(COFFEE, exdates=(datetime(2026, 4, 19, 7, 30), datetime(2026, 4, 18, 7, 30)))
    assert [line for line in lines(paused) if line.startswith("EXDATE")] == [
        "EXDATE;TZID=America/New_York:20260418T073000",
        "EXDATE;TZID=America/New_York:20260419T073000",
    ]


@pytest.mark.parametrize(
    ("outcome", "summary"),
    [
        ("done", "✓ Morning coffee talk"),
        ("on_time", "✓ Morning coffee talk"),
        ("late", "✓ Morning coffee talk (late)"),
        ("missed", "✗ Morning coffee talk"),
        ("skipped", "– Morning coffee talk (skipped)"),
    ],
)
def test_it_marks_a_past_occurrence_with_its_outcome(outcome: str, summary: str) -> None:
    kept = PastOutcome(datetime(2026, 3, 8, 7, 30), outcome, "Alice ✓, Bob ✗")
    master, override = vevents(dataclasses.replace(COFFEE, past_outcomes=(kept,)))
    assert str(override["SUMMARY"]) == summary
    assert str(override["DESCRIPTION"]) == "Alice ✓, Bob ✗"
    assert override["UID"] == master["UID"]
    assert override["SEQUENCE"] == master["SEQUENCE"]
    assert override["RECURRENCE-ID"].params["TZID"] == "America/New_York"
    assert override["RECURRENCE-ID"].dt == override["DTSTART"].dt
    assert override["DTSTART"].dt.replace(tzinfo=None) == datetime(2026, 3, 8, 7, 30)
    assert override["DURATION"].dt == timedelta(minutes=20)
    assert not override.walk("VALARM")


def test_it_marks_a_one_off_promise_itself_once_kept() -> None:
    kept = dataclasses.replace(BOOKING, past_outcomes=(PastOutcome(BOOKING.start_local, "on_time"),))
    (promise,) = vevents(kept)
    assert str(promise["SUMMARY"]) == "✓ Book the restaurant"
    assert "RECURRENCE-ID" not in promise
    assert not promise.walk("VALARM")


def test_it_keeps_promises_out_of_free_busy() -> None:
    promise, ritual = vevents(BOOKING, COFFEE)
    assert promise["TRANSP"] == "TRANSPARENT"
    assert "TRANSP" not in ritual


def test_it_writes_a_local_until_in_utc_as_rfc_5545_requires() -> None:
    (master,) = vevents(dataclasses.replace(COFFEE, rrule="FREQ=DAILY;UNTIL=20260701T073000"))
    assert master["RRULE"].to_ical() == b"FREQ=DAILY;UNTIL=20260701T113000Z"


def test_a_one_ritual_feed_stays_under_4_kb() -> None:
    for zone in ("America/New_York", "Australia/Lord_Howe"):
        assert len(feed(dataclasses.replace(COFFEE, timezone=zone))) < 4096


def test_it_adds_a_vtimezone_for_every_tzid_it_uses_and_none_for_utc() -> None:
    events = [
        COFFEE,
        dataclasses.replace(BOOKING, timezone="Asia/Tokyo"),
        dataclasses.replace(BOOKING, uid="promise-utc@tend", timezone="UTC"),
    ]
    calendar = Calendar.from_ical(feed(*events))
    assert [tz.tz_name for tz in calendar.timezones] == ["America/New_York", "Asia/Tokyo"]
    assert calendar.get_missing_tzids() == set()


def test_a_zone_without_dst_gets_one_standard_observance() -> None:
    calendar = Calendar.from_ical(feed(dataclasses.replace(COFFEE, timezone="Asia/Tokyo")))
    (tokyo,) = calendar.timezones
    assert [component.name for component in tokyo.subcomponents] == ["STANDARD"]
    assert tokyo.standard[0]["TZOFFSETTO"].td == timedelta(hours=9)


def vtimezone_onsets(*events: FeedEvent) -> list[str]:
    """The DTSTART and RDATE values of the (single) VTIMEZONE, in time order."""
    text = lines(*events)
    vtimezone = text[text.index("BEGIN:VTIMEZONE") : text.index("END:VTIMEZONE")]
    return sorted(line.split(":")[1] for line in vtimezone if line.startswith(("DTSTART:", "RDATE:")))


def test_the_vtimezone_starts_when_the_window_opens_and_recurs_from_there() -> None:
    """Its rules never stop, so engines that read it (libical, Outlook) keep later summers right (issue 14)."""
    assert vtimezone_onsets(BOOKING) == [
        "20251102T020000",  # the onset of the time in force when the window opens
        "20260308T020000",
    ]
    assert [line for line in lines(BOOKING) if line.startswith("RRULE:FREQ=YEARLY")] == [
        "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11",
        "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3",
    ]


def test_daylight_onset_is_written_in_the_offset_it_leaves() -> None:
    """RFC 5545 §3.6.5: 02:00 EST, not icalendar's 03:00, which readers place an hour late."""
    text = lines(COFFEE)
    daylight = text.index("BEGIN:DAYLIGHT")
    assert text[daylight + 1 : daylight + 2] == ["DTSTART:20260308T020000"]
    assert "TZOFFSETFROM:-0500" in text[daylight : text.index("END:DAYLIGHT")]


def test_the_vtimezone_reaches_back_to_the_earliest_date_written_in_it() -> None:
    started_long_ago = dataclasses.replace(COFFEE, start_local=datetime(2024, 7, 1, 7, 30))
    assert vtimezone_onsets(started_long_ago)[:2] == ["20240310T020000", "20241103T020000"]


def test_it_ends_lines_with_crlf_and_folds_them_at_75_octets() -> None:
    long_title = "Morning coffee talk ✓ " * 8
    raw = feed(dataclasses.replace(COFFEE, title=long_title))
    assert raw.endswith(b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 75
    assert f"SUMMARY:{long_title}" in raw.decode().replace("\r\n ", "").split("\r\n")


@pytest.mark.parametrize(
    "broken",
    [
        dataclasses.replace(COFFEE, kind="habit"),
        dataclasses.replace(COFFEE, rrule="EVERY=DAY"),
        dataclasses.replace(COFFEE, duration_minutes=0),
        dataclasses.replace(COFFEE, remind_before_minutes=-5),
        dataclasses.replace(COFFEE, past_outcomes=(PastOutcome(datetime(2026, 3, 8, 7, 30), "pending"),)),
        dataclasses.replace(COFFEE, exdates=(datetime(2026, 3, 8, 7, 30, tzinfo=UTC),)),
        dataclasses.replace(
            COFFEE,
            exdates=(datetime(2026, 3, 8, 7, 30),),
            past_outcomes=(PastOutcome(datetime(2026, 3, 8, 7, 30), "done"),),
        ),
        dataclasses.replace(BOOKING, past_outcomes=(PastOutcome(datetime(2026, 5, 9, 18, 0), "late"),)),
        dataclasses.replace(BOOKING, exdates=(BOOKING.start_local,)),
    ],
    ids=[
        "unknown kind",
        "not an rrule",
        "no duration",
        "negative reminder",
        "pending outcome",
        "aware exdate",
        "outcome on a paused day",
        "one-off outcome at another time",
        "one-off with a paused day",
    ],
)
def test_it_refuses_input_it_cannot_render_faithfully(broken: FeedEvent) -> None:
    with pytest.raises(ValueError):
        feed(broken)


def test_it_refuses_a_naive_window_start() -> None:
    with pytest.raises(ValueError):
        build_feed("x", [COFFEE], window_start=datetime(2026, 1, 1), zones=zones.installed())
