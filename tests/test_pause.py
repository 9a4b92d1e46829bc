"""PAUSE is one domain rule (service/domain/editing.py) for the SMS conversation and the settings page, and the
rule by which a pause excuses an occurrence (service/domain/occurrences.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from service.domain import editing, occurrences
from service.domain.editing import MAX_PAUSE_DAYS
from service.domain.errors import Invalid
from service.domain.models import Occurrence, Person

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def test_a_pause_lasts_its_days_and_resume_ends_it():
    person = Person()
    assert editing.pause_person(person, 3, NOW) == NOW + timedelta(days=3) == person.paused_until
    editing.resume_person(person, NOW + timedelta(days=1))
    assert person.paused_until is None


def test_pauses_are_kept_as_history_cut_short_by_resume_or_a_new_pause():
    """Closing an occurrence late judges it by the pauses of its own time (occurrences.excused)."""
    person = Person()
    editing.pause_person(person, 3, NOW)
    editing.resume_person(person, NOW + timedelta(days=1))
    editing.pause_person(person, 2, NOW + timedelta(days=5))
    editing.pause_person(person, 7, NOW + timedelta(days=6))
    assert [(p.starts_at - NOW, p.ends_at - NOW) for p in person.pauses] == [
        (timedelta(days=0), timedelta(days=1)),
        (timedelta(days=5), timedelta(days=6)),
        (timedelta(days=6), timedelta(days=13)),
    ]


@pytest.mark.parametrize("days", [0, -1, MAX_PAUSE_DAYS + 1])
def test_a_pause_outside_its_range_is_refused_naming_days(days):
    person = Person()
    with pytest.raises(Invalid) as refused:
        editing.pause_person(person, days, NOW)
    assert refused.value.field == "days" and person.paused_until is None


AT = datetime(2026, 12, 5, 12, 30, tzinfo=UTC)  # an occurrence whose check-in window closes an hour later
DURING, AFTER = AT + timedelta(minutes=30), AT + timedelta(hours=1)


@pytest.mark.parametrize(
    ("pause", "excused"),
    [
        ((AT - timedelta(days=1), AT + timedelta(days=1)), True),  # paused through it
        ((DURING, DURING + timedelta(days=1)), True),  # paused during its window
        ((AT - timedelta(days=1), DURING), True),  # back during its window
        ((AT - timedelta(days=1), AT), False),  # back before it started
        ((AFTER, AFTER + timedelta(days=7)), False),  # paused once its window had closed
    ],
)
def test_an_occurrence_a_pause_overlapped_from_start_to_close_is_excused(pause, excused):
    occurrence = Occurrence(at=AT, closes_at=AFTER)
    assert occurrences.excused(occurrence, [pause]) is excused
    assert occurrences.excused(occurrence, []) is False
