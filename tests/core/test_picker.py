"""The schedule picker's rules: choices to RRULEs and back, the preview across DST, the moved start, quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from service.core import picker
from service.core.schedule import ScheduleError


@pytest.mark.parametrize(
    ("choice", "rule"),
    [
        (picker.Choice(picker.DAILY), "FREQ=DAILY"),
        (picker.Choice(picker.WEEKDAYS), "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        (picker.Choice(picker.CHOSEN_DAYS, (1, 5)), "FREQ=WEEKLY;BYDAY=TU,SA"),
        (picker.Choice(picker.EVERY_N_DAYS, interval=3), "FREQ=DAILY;INTERVAL=3"),
        (picker.Choice(picker.WEEKLY), "FREQ=WEEKLY;BYDAY=TU"),  # 2026-12-01 is a Tuesday
        (picker.Choice(picker.ONCE), None),
    ],
)
def test_choices_become_rules_and_read_back(choice, rule):
    start = date(2026, 12, 1)
    assert picker.rule_for(choice, start) == rule
    assert picker.choice_of(rule, start) == choice


def test_a_choice_missing_its_detail_names_the_field():
    with pytest.raises(ScheduleError) as chosen:
        picker.rule_for(picker.Choice(picker.CHOSEN_DAYS), date(2026, 12, 1))
    assert chosen.value.field == "weekdays"
    with pytest.raises(ScheduleError) as every:
        picker.rule_for(picker.Choice(picker.EVERY_N_DAYS, interval=1), date(2026, 12, 1))
    assert every.value.field == "interval"
    with pytest.raises(ScheduleError) as beyond:  # a form's preview reads weekdays before validating them
        picker.rule_for(picker.Choice(picker.CHOSEN_DAYS, weekdays=(1, 10**6)), date(2026, 12, 1))
    assert beyond.value.field == "weekdays"


def test_rules_the_picker_cannot_show_are_custom():
    assert picker.choice_of("FREQ=MONTHLY;BYMONTHDAY=1", date(2026, 12, 1)) is None
    assert picker.describe("FREQ=MONTHLY;BYMONTHDAY=1", date(2026, 12, 1)) == "custom schedule"


def test_an_off_rule_start_moves_to_the_first_occurrence_at_the_same_wall_time():
    # Saturday 5 December 2026, weekdays: the first weekday is Monday the 7th
    placed = picker.place_start(datetime(2026, 12, 5, 19, 0), "America/New_York", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR")
    assert placed.moved and placed.start == datetime(2026, 12, 7, 19, 0)
    kept = picker.place_start(datetime(2026, 12, 7, 19, 0), "America/New_York", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR")
    assert not kept.moved and kept.start == datetime(2026, 12, 7, 19, 0)


def test_preview_keeps_local_time_across_a_dst_change():
    # New York springs forward on Sunday 8 March 2026
    times = picker.preview(
        datetime(2026, 3, 6, 19, 0), "America/New_York", "FREQ=DAILY", datetime(2026, 3, 6, 12, tzinfo=UTC)
    )
    assert [t.strftime("%d %H:%M") for t in times] == ["06 19:00", "07 19:00", "08 19:00", "09 19:00", "10 19:00"]
    assert times[1].utcoffset() != times[2].utcoffset()
    assert len({t.astimezone(UTC).hour for t in times}) == 2


def test_quiet_hours_clash():
    clash = picker.quiet_clash(time(7, 0), 30, time(22, 0), time(7, 30))
    assert clash is not None and clash.due == time(6, 30) and clash.arrives == time(7, 30) and clash.after_start
    early = picker.quiet_clash(time(8, 0), 60, time(22, 0), time(7, 30))
    assert early is not None and not early.after_start
    assert picker.quiet_clash(time(19, 0), 15, time(22, 0), time(7, 0)) is None
    assert picker.quiet_clash(time(7, 0), 30, None, None) is None
