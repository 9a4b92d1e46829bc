"""The sample feeds of tests/calendars/samples.py, as fixtures for the golden and interop tests."""

import pytest

from tests.calendars.samples import SAMPLE_FEEDS


@pytest.fixture(params=sorted(SAMPLE_FEEDS))
def sample_feed_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def sample_feed(sample_feed_name: str) -> bytes:
    return SAMPLE_FEEDS[sample_feed_name]()


@pytest.fixture
def sample_feeds() -> dict[str, bytes]:
    return {name: build() for name, build in SAMPLE_FEEDS.items()}
