"""Sample events and feeds shared by the feed, golden and interop tests.

Alice and Bob are a couple in New York; Alice also travels (London, Tokyo);
Carol lives on Lord Howe Island, whose clocks move by half an hour.
"""

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from calendars.feed import FeedEvent, PastOutcome, build_feed
from service.core import zones

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
WINDOW = {"window_start": NOW - timedelta(days=60), "zones": zones.installed()}
EDITED = datetime(2026, 4, 20, 9, 15, tzinfo=UTC)


# A daily ritual and a one-off promise of Alice and Bob's, as the feed tests start from them.
COFFEE = FeedEvent(
    uid="ritual-7f3a9c@tend",
    kind="ritual",
    title="Morning coffee talk",
    start_local=datetime(2026, 2, 1, 7, 30),
    timezone="America/New_York",
    duration_minutes=20,
    remind_before_minutes=10,
    sequence=3,
    last_modified=EDITED,
    rrule="FREQ=DAILY",
)
BOOKING = dataclasses.replace(
    COFFEE,
    uid="promise-e2a877@tend",
    kind="promise",
    title="Book the restaurant",
    start_local=datetime(2026, 5, 8, 18, 0),
    duration_minutes=15,
    rrule=None,
)


def couple_circle() -> bytes:
    """Two rituals and two promises; outcomes on both sides of New York's spring change."""
    coffee = dataclasses.replace(
        COFFEE,
        exdates=(datetime(2026, 4, 18, 7, 30), datetime(2026, 4, 19, 7, 30)),
        past_outcomes=(
            PastOutcome(datetime(2026, 3, 7, 7, 30), "done", "Alice ✓, Bob ✓"),
            PastOutcome(datetime(2026, 3, 8, 7, 30), "missed", "Alice ✗, Bob ✗"),
            PastOutcome(datetime(2026, 5, 2, 7, 30), "done", "Alice ✓, Bob ✓"),
            PastOutcome(datetime(2026, 5, 3, 7, 30), "skipped", "Alice –, Bob –"),
        ),
        description="Ten minutes, phones down, just the two of you.",
    )
    walk = FeedEvent(
        uid="ritual-c41d07@tend",
        kind="ritual",
        title="Sunday walk",
        start_local=datetime(2026, 3, 1, 10, 0),
        timezone="America/New_York",
        duration_minutes=60,
        remind_before_minutes=30,
        sequence=0,
        last_modified=EDITED,
        rrule="FREQ=WEEKLY;BYDAY=SU",
        past_outcomes=(PastOutcome(datetime(2026, 5, 3, 10, 0), "missed", "Alice ✓, Bob ✗"),),
    )
    call = FeedEvent(
        uid="promise-90be12@tend",
        kind="promise",
        title="Bob calls Alice at 6",
        start_local=datetime(2026, 5, 1, 18, 0),
        timezone="America/New_York",
        duration_minutes=15,
        remind_before_minutes=15,
        sequence=0,
        last_modified=EDITED,
        past_outcomes=(PastOutcome(datetime(2026, 5, 1, 18, 0), "late"),),
    )
    booking = dataclasses.replace(
        BOOKING,
        title="Bob books the restaurant for our anniversary",
        remind_before_minutes=60,
        sequence=1,
        description="Promised by Bob to Alice.",
    )
    return build_feed("Alice & Bob", [coffee, walk, call, booking], **WINDOW)


def lord_howe_ritual() -> bytes:
    """One ritual across Lord Howe's half-hour autumn change, with an alarm at the start."""
    gratitude = FeedEvent(
        uid="ritual-5b8e20@tend",
        kind="ritual",
        title="Evening gratitude",
        start_local=datetime(2026, 3, 20, 21, 0),
        timezone="Australia/Lord_Howe",
        duration_minutes=15,
        remind_before_minutes=0,
        sequence=1,
        last_modified=EDITED,
        rrule="FREQ=DAILY;UNTIL=20261231T100000Z",
        past_outcomes=(
            PastOutcome(datetime(2026, 4, 4, 21, 0), "done", "Carol ✓"),
            PastOutcome(datetime(2026, 4, 5, 21, 0), "done", "Carol ✓"),
        ),
    )
    return build_feed("Carol", [gratitude], **WINDOW)


def travelling_person() -> bytes:
    """One person's feed with events in two zones, one of them without DST."""
    dinner = FeedEvent(
        uid="ritual-0d6f4e@tend",
        kind="ritual",
        title="Device-free dinner",
        start_local=datetime(2026, 4, 6, 19, 0),
        timezone="Europe/London",
        duration_minutes=90,
        remind_before_minutes=45,
        sequence=2,
        last_modified=EDITED,
        rrule="FREQ=WEEKLY;BYDAY=MO,WE,FR",
        past_outcomes=(PastOutcome(datetime(2026, 5, 1, 19, 0), "done", "Alice ✓, Bob ✓"),),
    )
    photos = FeedEvent(
        uid="promise-3c2b91@tend",
        kind="promise",
        title="Alice sends Bob the photos",
        start_local=datetime(2026, 5, 10, 20, 0),
        timezone="Asia/Tokyo",
        duration_minutes=15,
        remind_before_minutes=120,
        sequence=0,
        last_modified=EDITED,
    )
    return build_feed("Alice", [dinner, photos], **WINDOW)


SAMPLE_FEEDS: dict[str, Callable[[], bytes]] = {
    "couple_circle": couple_circle,
    "lord_howe_ritual": lord_howe_ritual,
    "travelling_person": travelling_person,
}
