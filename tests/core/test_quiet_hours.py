from datetime import datetime, time

from service.core.quiet_hours import quiet_until

NIGHT = (time(22, 0), time(7, 0))


def test_it_waits_until_morning_when_late_in_the_evening():
    assert quiet_until(datetime(2026, 12, 1, 23, 15), *NIGHT) == datetime(2026, 12, 2, 7, 0)


def test_it_waits_until_morning_after_midnight():
    assert quiet_until(datetime(2026, 12, 2, 6, 59), *NIGHT) == datetime(2026, 12, 2, 7, 0)


def test_it_sends_at_the_end_and_before_the_start():
    assert quiet_until(datetime(2026, 12, 2, 7, 0), *NIGHT) is None
    assert quiet_until(datetime(2026, 12, 2, 21, 59), *NIGHT) is None


def test_it_includes_the_start_minute():
    assert quiet_until(datetime(2026, 12, 2, 22, 0), *NIGHT) == datetime(2026, 12, 3, 7, 0)


def test_it_handles_a_daytime_range():
    assert quiet_until(datetime(2026, 12, 2, 13, 0), time(12, 0), time(14, 0)) == datetime(2026, 12, 2, 14, 0)
    assert quiet_until(datetime(2026, 12, 2, 14, 0), time(12, 0), time(14, 0)) is None


def test_no_quiet_hours_means_never_quiet():
    assert quiet_until(datetime(2026, 12, 2, 3, 0), None, None) is None
    assert quiet_until(datetime(2026, 12, 2, 3, 0), time(7, 0), time(7, 0)) is None
