"""PAUSE is one domain rule (service/domain/editing.py) for the SMS conversation and the settings page."""

from datetime import UTC, datetime, timedelta

import pytest

from service.domain import editing
from service.domain.editing import MAX_PAUSE_DAYS
from service.domain.errors import Invalid
from service.domain.models import Person

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def test_a_pause_lasts_its_days_and_resume_ends_it():
    person = Person()
    assert editing.pause_person(person, 3, NOW) == NOW + timedelta(days=3) == person.paused_until
    editing.resume_person(person)
    assert person.paused_until is None


@pytest.mark.parametrize("days", [0, -1, MAX_PAUSE_DAYS + 1])
def test_a_pause_outside_its_range_is_refused_naming_days(days):
    person = Person()
    with pytest.raises(Invalid) as refused:
        editing.pause_person(person, days, NOW)
    assert refused.value.field == "days" and person.paused_until is None
