"""The fault-injection soak of bench/chaos.py, small: 50 people in circles of two, every fault once.

Real processes throughout: `tend web`, two `tend worker`s, two `tend clock`s,
the fake Twilio (25–75 ms, status callbacks) in its own process, PostgreSQL
and Redis. A worker and the web are SIGKILLed and restarted, a clock is
SIGKILLed, Redis is flushed, while people reply DONE with replays and repeats.
The soak runs as its own program (`python -m bench.chaos --json`), as an
operator would run it: the tests import nothing of bench.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_a_worst_day_loses_doubles_and_miscounts_nothing(redis_url):
    env = os.environ | {"TEND_BENCH_REDIS": redis_url}
    if "TEND_TEST_PG" in os.environ:
        env["TEND_BENCH_PG"] = os.environ["TEND_TEST_PG"]
    soak = subprocess.run(
        [sys.executable, "-m", "bench.chaos", "--people", "50", "--spread", "10", "--timeout", "150", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert soak.returncode == 0, soak.stderr[-4000:]
    result = json.loads(soak.stdout.splitlines()[-1])
    assert result["settled"], result
    assert (result["reminders_lost"], result["reminders_doubled"]) == (0, 0), result
    assert result["people_replying"] == 50, result
    assert result["checkins_not_recorded_once"] == 0, result  # every DONE recorded once, repeats and replays too
    assert result["answered_nothing_to_check_in"] == 0, result
    assert result["replays_answered_differently"] == 0, result
    assert result["server_errors_outside_web_kill"] == 0, result
