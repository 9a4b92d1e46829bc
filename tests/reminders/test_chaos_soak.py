"""The fault-injection soak of bench/chaos.py, small: 50 people in circles of two, every fault once.

Real processes throughout: `tend web`, two `tend worker`s, two `tend clock`s,
the fake Twilio (25–75 ms, status callbacks) in its own process, PostgreSQL
and Redis. A worker and the web are SIGKILLed and restarted, a clock is
SIGKILLed, Redis is flushed, while people reply DONE with replays and repeats.
"""

import pytest

from bench import chaos

pytestmark = pytest.mark.slow


def test_a_worst_day_loses_doubles_and_miscounts_nothing(redis_url):
    result = chaos.run(people=50, spread=10, redis_url=redis_url, timeout=150, log=lambda *_: None)
    assert result["settled"], result
    assert (result["reminders_lost"], result["reminders_doubled"]) == (0, 0), result
    assert result["people_replying"] == 50, result
    assert result["checkins_not_recorded_once"] == 0, result  # every DONE recorded once, repeats and replays too
    assert result["answered_nothing_to_check_in"] == 0, result
    assert result["replays_answered_differently"] == 0, result
    assert result["server_errors_outside_web_kill"] == 0, result
