"""The sample feeds, byte for byte, against reviewed files in golden/.

A golden file is the feed as a person would read it in a text editor; any
change to the output shows up here as a diff to review. After an intended
change, regenerate them and read the diff before committing:

    TEND_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/calendars/test_feed_golden.py
"""

import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"


def test_it_renders_the_reviewed_golden_feed(sample_feed_name: str, sample_feed: bytes) -> None:
    golden = GOLDEN / f"{sample_feed_name}.ics"
    if os.environ.get("TEND_REGEN_GOLDEN") == "1":
        golden.write_bytes(sample_feed)
    assert sample_feed == golden.read_bytes()
