"""Schedule engine: RRULE expansion in local wall time, DST rules of SPEC §3, COUNT/UNTIL, pauses.

DST facts used below, checked with zoneinfo for 2026:
- America/New_York springs forward 02:00 -> 03:00 on 8 March and falls back 02:00 -> 01:00 on 1 November.
- Europe/London springs forward 01:00 -> 02:00 on 29 March and falls back 02:00 -> 01:00 on 25 October.
- Australia/Lord_Howe (30-minute DST) falls back 02:00 -> 01:30 on 5 April and springs
  forward 02:00 -> 02:30 on 4 October.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from service.core.schedule import (
    Schedule,
    ScheduleError,
    is_occurrence,
    local_to_utc,
    next_occurrence,
    occurrence_local,
    occurrences_between,
    parse_timezone,
    validate_rrule,
)

NEW_YORK = "America/New_York"
LONDON = "Europe/London"
LORD_HOWE = "Australia/Lord_Howe"
ZONES = (NEW_YORK, LONDON, LORD_HOWE)


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def local_times(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    instants = occurrences_between(schedule, start, end)
    return [occurrence_local(instant, schedule.timezone) for instant in instants]


def wall_time_exists(wall: datetime, zone: str) -> bool:
    return occurrence_local(local_to_utc(wall, ZoneInfo(zone)), zone) == wall


# --- time zones -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [NEW_YORK, LONDON, LORD_HOWE, "UTC"])
def test_it_parses_iana_names(name):
    assert parse_timezone(name) == ZoneInfo(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Nowhere/City",
        "america/new_york",
        "../etc/passwd",
        "/etc/localtime",
        "America/New_York\x00",
        "a" * 300,
        "localtime",
        "Factory",
    ],
)
def test_it_rejects_unknown_timezones(name):
    with pytest.raises(ScheduleError) as caught:
        parse_timezone(name)
    assert caught.value.field == "timezone"


# --- wall time to UTC -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone, wall, expected",
    [
        (NEW_YORK, datetime(2026, 3, 8, 2, 30), utc(2026, 3, 8, 7, 30)),  # 03:30 EDT
        (LONDON, datetime(2026, 3, 29, 1, 30), utc(2026, 3, 29, 1, 30)),  # 02:30 BST
        (LORD_HOWE, datetime(2026, 10, 4, 2, 15), utc(2026, 10, 3, 15, 45)),  # 02:45 +11
    ],
)
def test_it_moves_nonexistent_time_forward_by_the_gap(zone, wall, expected):
    assert local_to_utc(wall, ZoneInfo(zone)) == expected


@pytest.mark.parametrize(
    "zone, wall, first",
    [
        (NEW_YORK, datetime(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30)),  # EDT, not EST
        (LONDON, datetime(2026, 10, 25, 1, 30), utc(2026, 10, 25, 0, 30)),  # BST, not GMT
        (LORD_HOWE, datetime(2026, 4, 5, 1, 45), utc(2026, 4, 4, 14, 45)),  # +11, not +10:30
    ],
)
def test_it_takes_the_first_of_ambiguous_times(zone, wall, first):
    assert local_to_utc(wall, ZoneInfo(zone)) == first


def test_it_rejects_aware_local_times():
    with pytest.raises(ScheduleError) as caught:
        local_to_utc(utc(2026, 1, 1, 7, 30), ZoneInfo(LONDON))
    assert caught.value.field == "starts"


def test_it_shows_both_instants_of_a_repeated_hour_as_the_same_wall_time():
    assert occurrence_local(utc(2026, 11, 1, 5, 30), NEW_YORK) == datetime(2026, 11, 1, 1, 30)
    assert occurrence_local(utc(2026, 11, 1, 6, 30), NEW_YORK) == datetime(2026, 11, 1, 1, 30)


def test_it_refuses_naive_instants():
    with pytest.raises(ValueError):
        occurrence_local(datetime(2026, 1, 1), NEW_YORK)


# --- daily rules across DST -------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone, transition",
    [
        (NEW_YORK, date(2026, 3, 8)),
        (NEW_YORK, date(2026, 11, 1)),
        (LONDON, date(2026, 3, 29)),
        (LONDON, date(2026, 10, 25)),
        (LORD_HOWE, date(2026, 4, 5)),
        (LORD_HOWE, date(2026, 10, 4)),
    ],
)
def test_daily_ritual_keeps_its_wall_time_across_dst(zone, transition):
    first_day = transition - timedelta(days=2)
    schedule = Schedule(datetime.combine(first_day, time(7, 30)), zone, "FREQ=DAILY")
    instants = occurrences_between(schedule, utc(2026, 1, 1), utc(2026, 12, 31))[:5]
    assert [occurrence_local(i, zone) for i in instants] == [
        datetime.combine(first_day + timedelta(days=n), time(7, 30)) for n in range(5)
    ]
    offsets = {instant.astimezone(ZoneInfo(zone)).utcoffset() for instant in instants}
    assert len(offsets) == 2


def test_new_york_daily_ritual_moves_an_hour_in_utc_on_spring_forward():
    schedule = Schedule(datetime(2026, 3, 7, 7, 30), NEW_YORK, "FREQ=DAILY")
    assert occurrences_between(schedule, utc(2026, 3, 7), utc(2026, 3, 9)) == [
        utc(2026, 3, 7, 12, 30),
        utc(2026, 3, 8, 11, 30),
    ]


@pytest.mark.parametrize(
    "zone, start, moved",
    [
        (NEW_YORK, datetime(2026, 3, 6, 2, 30), datetime(2026, 3, 8, 3, 30)),
        (LONDON, datetime(2026, 3, 27, 1, 30), datetime(2026, 3, 29, 2, 30)),
        (LORD_HOWE, datetime(2026, 10, 2, 2, 15), datetime(2026, 10, 4, 2, 45)),
    ],
)
def test_daily_ritual_in_the_gap_moves_forward_on_that_day_only(zone, start, moved):
    schedule = Schedule(start, zone, "FREQ=DAILY")
    expected = [start + timedelta(days=n) for n in range(5)]
    expected[2] = moved
    assert local_times(schedule, utc(2026, 1, 1), utc(2026, 12, 31))[:5] == expected


@pytest.mark.parametrize(
    "zone, start, first_instant",
    [
        (NEW_YORK, datetime(2026, 10, 30, 1, 30), utc(2026, 11, 1, 5, 30)),
        (LONDON, datetime(2026, 10, 23, 1, 30), utc(2026, 10, 25, 0, 30)),
        (LORD_HOWE, datetime(2026, 4, 3, 1, 45), utc(2026, 4, 4, 14, 45)),
    ],
)
def test_daily_ritual_in_the_repeated_hour_happens_once_at_the_first(zone, start, first_instant):
    schedule = Schedule(start, zone, "FREQ=DAILY")
    instants = occurrences_between(schedule, utc(2026, 1, 1), utc(2026, 12, 31))[:5]
    assert instants[2] == first_instant
    assert [occurrence_local(i, zone) for i in instants] == [start + timedelta(days=n) for n in range(5)]


def test_it_deduplicates_a_day_the_zone_skipped():
    # Samoa skipped 30 December 2011: 09:00 that day moves 24 hours forward onto the next 09:00.
    schedule = Schedule(datetime(2011, 12, 28, 9, 0), "Pacific/Apia", "FREQ=DAILY")
    assert local_times(schedule, utc(2011, 12, 27), utc(2011, 12, 31)) == [
        datetime(2011, 12, 28, 9, 0),
        datetime(2011, 12, 29, 9, 0),
        datetime(2011, 12, 31, 9, 0),
    ]


# --- weekly, monthly, yearly ------------------------------------------------------------------


def test_weekly_byday_rule_keeps_its_days_and_wall_time_across_dst():
    schedule = Schedule(datetime(2026, 3, 2, 18, 0), NEW_YORK, "FREQ=WEEKLY;BYDAY=MO,WE")
    assert occurrences_between(schedule, utc(2026, 3, 1), utc(2026, 3, 12)) == [
        utc(2026, 3, 2, 23),
        utc(2026, 3, 4, 23),
        utc(2026, 3, 9, 22),
        utc(2026, 3, 11, 22),
    ]


def test_fortnightly_rule_keeps_its_phase_years_later():
    schedule = Schedule(datetime(2020, 1, 4, 10, 0), LONDON, "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA")
    saturdays = local_times(schedule, utc(2026, 6, 1), utc(2026, 7, 1))
    assert saturdays == [datetime(2026, 6, 13, 10), datetime(2026, 6, 27, 10)]
    assert all((day.date() - date(2020, 1, 4)).days % 14 == 0 for day in saturdays)


def test_monthly_rule_on_the_31st_skips_shorter_months_years_later():
    schedule = Schedule(datetime(2026, 1, 31, 9, 0), NEW_YORK, "FREQ=MONTHLY")
    months = [day.month for day in local_times(schedule, utc(2030, 1, 1), utc(2031, 1, 1))]
    assert months == [1, 3, 5, 7, 8, 10, 12]


def test_yearly_rule_on_29_february_lands_in_leap_years_only():
    schedule = Schedule(datetime(2024, 2, 29, 9, 0), NEW_YORK, "FREQ=YEARLY")
    assert local_times(schedule, utc(2030, 1, 1), utc(2041, 1, 1)) == [
        datetime(2032, 2, 29, 9),
        datetime(2036, 2, 29, 9),
        datetime(2040, 2, 29, 9),
    ]


# --- COUNT and UNTIL --------------------------------------------------------------------------


def test_count_limits_the_occurrences():
    schedule = Schedule(datetime(2026, 3, 7, 7, 30), NEW_YORK, "FREQ=DAILY;COUNT=3")
    instants = occurrences_between(schedule, utc(2026, 1, 1), utc(2027, 1, 1))
    assert len(instants) == 3
    assert next_occurrence(schedule, instants[-1]) is None


def test_count_is_counted_from_the_true_start_far_from_it():
    schedule = Schedule(datetime(2000, 1, 1, 7, 30), LONDON, "FREQ=DAILY;COUNT=10000")
    assert local_times(schedule, utc(2027, 5, 1), utc(2027, 6, 1))[-1] == datetime(2027, 5, 18, 7, 30)


def test_local_until_includes_its_own_wall_time():
    schedule = Schedule(datetime(2026, 3, 6, 7, 30), NEW_YORK, "FREQ=DAILY;UNTIL=20260310T073000")
    assert local_times(schedule, utc(2026, 1, 1), utc(2027, 1, 1))[-1] == datetime(2026, 3, 10, 7, 30)


@pytest.mark.parametrize("until, last_day", [("20260310T113000Z", 10), ("20260310T112959Z", 9)])
def test_utc_until_includes_occurrences_up_to_that_instant(until, last_day):
    schedule = Schedule(datetime(2026, 3, 6, 7, 30), NEW_YORK, f"FREQ=DAILY;UNTIL={until}")
    assert local_times(schedule, utc(2026, 1, 1), utc(2027, 1, 1))[-1] == datetime(2026, 3, last_day, 7, 30)


def test_utc_until_in_the_repeated_hour_is_compared_as_an_instant():
    # UNTIL is 01:10 EST (second pass); the 1 November occurrence is 01:30 EDT, 40 minutes earlier.
    schedule = Schedule(datetime(2026, 10, 30, 1, 30), NEW_YORK, "FREQ=DAILY;UNTIL=20261101T061000Z")
    assert occurrences_between(schedule, utc(2026, 10, 1), utc(2026, 12, 1))[-1] == utc(2026, 11, 1, 5, 30)


def test_next_occurrence_after_the_end_is_none():
    schedule = Schedule(datetime(2026, 3, 6, 7, 30), NEW_YORK, "FREQ=DAILY;UNTIL=20260310T073000")
    assert next_occurrence(schedule, utc(2026, 3, 10, 11, 29)) == utc(2026, 3, 10, 11, 30)
    assert next_occurrence(schedule, utc(2026, 3, 10, 11, 30)) is None


# --- single occurrences, next_occurrence, is_occurrence ----------------------------------------


def test_single_occurrence_schedule_happens_once():
    schedule = Schedule(datetime(2026, 3, 8, 2, 30), NEW_YORK)
    assert occurrences_between(schedule, utc(2026, 1, 1), utc(2027, 1, 1)) == [utc(2026, 3, 8, 7, 30)]
    assert next_occurrence(schedule, utc(2026, 1, 1)) == utc(2026, 3, 8, 7, 30)
    assert next_occurrence(schedule, utc(2026, 3, 8, 7, 30)) is None


def test_window_is_half_open():
    schedule = Schedule(datetime(2026, 6, 1, 7, 30), LONDON, "FREQ=DAILY")
    window = (utc(2026, 6, 2, 6, 30), utc(2026, 6, 3, 6, 30))
    assert occurrences_between(schedule, *window) == [utc(2026, 6, 2, 6, 30)]


def test_next_occurrence_is_strictly_after():
    schedule = Schedule(datetime(2026, 6, 1, 7, 30), LONDON, "FREQ=DAILY")
    assert next_occurrence(schedule, utc(2026, 6, 2, 6, 30)) == utc(2026, 6, 3, 6, 30)
    assert next_occurrence(schedule, utc(2026, 5, 1)) == utc(2026, 6, 1, 6, 30)


def test_it_finds_the_next_occurrence_of_an_old_rule_without_walking_from_its_start(monkeypatch):
    """Counted in occurrences dateutil generates, not in seconds: from 1990 one look-up walks about 9,500."""
    schedule = Schedule(datetime(1990, 1, 1, 7, 30), LONDON, "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR")
    walked: list[datetime] = []
    generate = rrule.rrule._iter

    def counting(self):
        for wall in generate(self):
            walked.append(wall)
            yield wall

    monkeypatch.setattr(rrule.rrule, "_iter", counting)
    assert next_occurrence(schedule, utc(2026, 6, 6)) == utc(2026, 6, 8, 6, 30)
    assert 0 < len(walked) <= 20  # restarted a week or so before the asked time
    for hour in range(200):
        next_occurrence(schedule, utc(2026, 6, 6) + timedelta(hours=hour))
    assert len(walked) <= 20 * 201


def test_an_occurrence_moved_out_of_the_gap_is_found_at_its_new_instant():
    schedule = Schedule(datetime(2026, 3, 7, 2, 30), NEW_YORK, "FREQ=DAILY")
    assert is_occurrence(schedule, utc(2026, 3, 8, 7, 30))
    assert next_occurrence(schedule, utc(2026, 3, 8, 7, 29)) == utc(2026, 3, 8, 7, 30)


def test_is_occurrence_matches_exact_instants_only():
    schedule = Schedule(datetime(2026, 3, 7, 7, 30), NEW_YORK, "FREQ=DAILY")
    assert is_occurrence(schedule, utc(2026, 3, 8, 11, 30))
    assert not is_occurrence(schedule, utc(2026, 3, 8, 12, 30))
    assert not is_occurrence(schedule, utc(2026, 3, 8, 11, 30, 1))


# --- pauses -----------------------------------------------------------------------------------


PAUSED = Schedule(
    datetime(2026, 3, 6, 7, 30), NEW_YORK, "FREQ=DAILY", pauses=((utc(2026, 3, 7), utc(2026, 3, 10, 11, 30)),)
)


def test_paused_occurrences_are_left_out_and_the_pause_end_is_open():
    assert local_times(PAUSED, utc(2026, 3, 1), utc(2026, 3, 12)) == [
        datetime(2026, 3, 6, 7, 30),
        datetime(2026, 3, 10, 7, 30),
        datetime(2026, 3, 11, 7, 30),
    ]


def test_next_occurrence_skips_a_pause():
    assert next_occurrence(PAUSED, utc(2026, 3, 6, 12, 30)) == utc(2026, 3, 10, 11, 30)


def test_next_occurrence_skips_overlapping_pauses():
    schedule = Schedule(
        datetime(2026, 1, 1, 7, 30),
        LONDON,
        "FREQ=DAILY",
        pauses=(
            (utc(2026, 2, 1), utc(2026, 8, 1)),
            (utc(2026, 7, 1), utc(2027, 1, 1, 7, 31)),
        ),
    )
    assert next_occurrence(schedule, utc(2026, 1, 31, 12)) == utc(2027, 1, 2, 7, 30)


def test_paused_instant_is_not_an_occurrence():
    assert not is_occurrence(PAUSED, utc(2026, 3, 8, 11, 30))


# --- validation -------------------------------------------------------------------------------


START = datetime(2026, 1, 1, 7, 30)


@pytest.mark.parametrize(
    "text, body",
    [
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("RRULE:FREQ=WEEKLY;BYDAY=MO,WE", "FREQ=WEEKLY;BYDAY=MO,WE"),
        ("rrule:freq=weekly;byday=mo,we", "FREQ=WEEKLY;BYDAY=MO,WE"),
        ("  FREQ=DAILY;UNTIL=20261231T235959Z\n", "FREQ=DAILY;UNTIL=20261231T235959Z"),
        ("FREQ=MONTHLY;BYDAY=2SU;INTERVAL=366", "FREQ=MONTHLY;BYDAY=2SU;INTERVAL=366"),
        ("FREQ=DAILY;COUNT=10000;BYHOUR=9;BYMINUTE=0", "FREQ=DAILY;COUNT=10000;BYHOUR=9;BYMINUTE=0"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"),  # first in 2028
    ],
)
def test_it_accepts_and_normalizes_rules(text, body):
    assert validate_rrule(text, START) == body


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("not a rule", id="unparseable"),
        pytest.param("", id="empty"),
        pytest.param("FREQ=DAILY;BYDAY=XX", id="bad-day"),
        pytest.param("FREQ=DAILY;BYHOUR=25", id="bad-hour"),
        pytest.param("FREQ=DAILY;;BYDAY=MO", id="empty-part"),
        pytest.param("BYDAY=MO", id="no-freq"),
        pytest.param("FREQ=DAILY;FREQ=WEEKLY", id="repeated-part"),
        pytest.param("FREQ=DAILY;X-TEND=1", id="unknown-part"),
        pytest.param("FREQ=YEARLY;BYEASTER=0", id="dateutil-extension"),
        pytest.param("DTSTART:20260101T073000\nRRULE:FREQ=DAILY", id="multi-line"),
        pytest.param("EXDATE:20260102T073000", id="other-property"),
        pytest.param("FREQ=SECONDLY", id="secondly"),
        pytest.param("FREQ=MINUTELY", id="minutely"),
        pytest.param("FREQ=HOURLY", id="hourly"),
        pytest.param("FREQ=DAILY;BYHOUR=7,19", id="two-hours"),
        pytest.param("FREQ=DAILY;BYMINUTE=0,30", id="two-minutes"),
        pytest.param("FREQ=DAILY;BYSECOND=0,30", id="two-seconds"),
        pytest.param("FREQ=DAILY;INTERVAL=0", id="interval-zero"),
        pytest.param("FREQ=DAILY;INTERVAL=-1", id="interval-negative"),
        pytest.param("FREQ=DAILY;INTERVAL=367", id="interval-too-long"),
        pytest.param("FREQ=DAILY;COUNT=0", id="count-zero"),
        pytest.param("FREQ=DAILY;COUNT=10001", id="count-too-high"),
        pytest.param("FREQ=DAILY;COUNT=5;UNTIL=20261231T000000Z", id="count-and-until"),
        pytest.param("FREQ=DAILY;UNTIL=20251231T073000", id="local-until-before-start"),
        pytest.param("FREQ=DAILY;UNTIL=20260101T072959Z", id="utc-until-before-start"),
        pytest.param("FREQ=DAILY;UNTIL=2026-12-31", id="until-not-rfc"),
        pytest.param("FREQ=DAILY;UNTIL=20261231", id="until-date-only"),
        pytest.param("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", id="never-yearly"),
        pytest.param("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", id="never-daily"),
        pytest.param("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6", id="never-setpos"),
        pytest.param("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;UNTIL=20271231T000000", id="none-before-until"),
        pytest.param("FREQ=DAILY;BYDAY=" + ",".join(["MO"] * 200), id="too-long"),
    ],
)
def test_it_rejects_rules_tend_cannot_run(text):
    with pytest.raises(ScheduleError) as caught:
        validate_rrule(text, START)
    assert caught.value.field == "rrule"
    assert str(caught.value)


def test_it_reads_a_utc_until_in_the_start_zone():
    # 23:00 on 1 January in Lord Howe (+11) is 12:00 UTC, before UNTIL; read as UTC it is after.
    rule = "FREQ=DAILY;UNTIL=20260101T130000Z"
    assert validate_rrule(rule, datetime(2026, 1, 1, 23, 0), LORD_HOWE) == rule
    with pytest.raises(ScheduleError):
        validate_rrule(rule, datetime(2026, 1, 1, 23, 0))


def test_it_blames_the_right_field():
    with pytest.raises(ScheduleError) as caught:
        validate_rrule("FREQ=DAILY", START, "Mars/Olympus_Mons")
    assert caught.value.field == "timezone"
    with pytest.raises(ScheduleError) as caught:
        validate_rrule("FREQ=DAILY", START.replace(tzinfo=UTC))
    assert caught.value.field == "starts"


# --- properties -------------------------------------------------------------------------------

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

starts = st.builds(
    datetime.combine,
    st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
)
daily_or_weekly_rules = st.one_of(
    st.builds("FREQ=DAILY;INTERVAL={}".format, st.integers(1, 10)),
    st.builds(
        lambda days, interval: f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={','.join(days)}",
        st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True),
        st.integers(1, 4),
    ),
)


@settings(deadline=None, max_examples=150)
@given(
    zone=st.sampled_from(ZONES),
    start=starts,
    rule=daily_or_weekly_rules,
    offset_days=st.integers(-30, 4000),
    span_days=st.integers(1, 120),
)
def test_expanded_instants_keep_the_intended_wall_time(zone, start, rule, offset_days, span_days):
    schedule = Schedule(start, zone, rule)
    window_start = local_to_utc(start, ZoneInfo(zone)) + timedelta(days=offset_days)
    instants = occurrences_between(schedule, window_start, window_start + timedelta(days=span_days))
    assert all(earlier < later for earlier, later in zip(instants, instants[1:]))
    for instant in instants:
        wall = occurrence_local(instant, zone)
        intended = datetime.combine(wall.date(), start.time())
        if wall_time_exists(intended, zone):
            assert wall == intended
        else:  # moved forward by the gap, which is at most an hour in these zones
            assert intended < wall <= intended + timedelta(hours=1)


rules_of_every_frequency = st.sampled_from(
    [
        "FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=3;BYDAY=MO,FR",
        "FREQ=DAILY;BYMONTHDAY=1,15,31",
        "FREQ=WEEKLY",
        "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,SU;WKST=SU",
        "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=15",
        "FREQ=MONTHLY",
        "FREQ=MONTHLY;INTERVAL=5",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=29,30,31",
        "FREQ=YEARLY",
        "FREQ=YEARLY;INTERVAL=3",
        "FREQ=YEARLY;BYWEEKNO=1,53;BYDAY=MO",
        "FREQ=YEARLY;BYMONTH=3,10;BYDAY=1SU",
        "FREQ=YEARLY;BYYEARDAY=-1,100",
    ]
)


@settings(deadline=None, max_examples=150)
@given(
    zone=st.sampled_from(ZONES),
    start=starts,
    rule=rules_of_every_frequency,
    offset_days=st.integers(-30, 1500),
    span_days=st.integers(1, 400),
)
def test_expansion_matches_a_walk_from_the_start(zone, start, rule, offset_days, span_days):
    tz = ZoneInfo(zone)
    schedule = Schedule(start, zone, rule)
    window_start = local_to_utc(start, tz) + timedelta(days=offset_days)
    window_end = window_start + timedelta(days=span_days)
    walked = set()
    for wall in rrulestr(rule, dtstart=start):
        instant = local_to_utc(wall, tz)
        if instant >= window_end:
            break
        if instant >= window_start:
            walked.add(instant)
    instants = occurrences_between(schedule, window_start, window_end)
    assert instants == sorted(walked)
    if instants:
        assert next_occurrence(schedule, window_start - timedelta(microseconds=1)) == instants[0]


@settings(deadline=None)
@given(zone=st.sampled_from(ZONES), wall=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1)))
def test_local_to_utc_round_trips_or_moves_forward_by_the_gap(zone, wall):
    tz = ZoneInfo(zone)
    instant = local_to_utc(wall, tz)
    earlier_offset = wall.replace(tzinfo=tz, fold=0).utcoffset()
    later_offset = wall.replace(tzinfo=tz, fold=1).utcoffset()
    if wall_time_exists(wall, zone):
        assert instant <= (wall - later_offset).replace(tzinfo=UTC)  # the first of two, if ambiguous
    else:
        assert occurrence_local(instant, zone) == wall + (later_offset - earlier_offset)
