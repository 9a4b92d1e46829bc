"""Attack 5: denial of service through schedules started long ago and rules that take long to refuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from service.core import schedule
from service.domain import occurrences
from service.domain.models import Occurrence, OutboundSms, Ritual
from tests.builders import add_ritual, couple, ritual_body
from workers import clock as clock_module


def test_a_start_more_than_a_year_in_the_past_is_refused(client, people, db):
    circle = couple(client, people, db)
    response = client.post(
        f"/api/v1/circles/{circle}/rituals",
        headers=people.headers("Alice"),
        json=ritual_body(starts="2000-01-01T07:30"),
    )
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "starts"


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_catch_up_waits_for_due_reminders_and_goes_in_bounded_chunks(client, people, db, runtime, clock, monkeypatch):
    circle = couple(client, people, db)
    for n in range(10):
        add_ritual(client, people, circle, starts="2025-12-05T07:30", title=f"Old {n}")
    with db.session() as s:
        behind = s.scalars(select(Ritual)).all()
        made = occurrences.materialize(s, behind, clock())  # one pass: one chunk per schedule
        s.rollback()
    assert 0 < made <= 10 * (occurrences.CATCH_UP_CHUNK.days + 1)
    steps: list[str] = []
    real_materialize, real_ring_due = clock_module.materialize, clock_module.ring_due

    def materialize(runtime, now, limit, behind=False):
        steps.append("catch up" if behind else "prepare")
        return real_materialize(runtime, now, limit, behind=behind)

    def ring_due(*args):
        steps.append("ring due")
        return real_ring_due(*args)

    monkeypatch.setattr(clock_module, "materialize", materialize)
    monkeypatch.setattr(clock_module, "ring_due", ring_due)
    reports = [clock_module.tick(runtime)]
    assert steps == ["prepare", "ring due", "catch up"]
    assert reports[0].materialized == 0  # nothing current to prepare: the old ones are behind
    while reports[-1].caught_up and len(reports) < 60:
        reports.append(clock_module.tick(runtime))
    assert reports[-1].caught_up == 0
    assert count(db, Occurrence) == 10 * 365  # Dec 5 2025 up to the horizon, four days ahead
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboundSms).where(OutboundSms.kind == "reminder")) > 0


def test_an_api_checkin_on_a_past_occurrence_adds_only_that_occurrence(client, people, db, clock):
    circle = couple(client, people, db)
    ritual = add_ritual(client, people, circle, starts="2025-12-05T07:30")
    response = client.post(
        "/api/v1/checkins",
        headers=people.headers("Alice"),
        json={"ritual_id": ritual["id"], "occurrence": "2026-01-10T12:30:00Z", "outcome": "done"},
    )
    assert response.status_code == 201
    assert count(db, Occurrence) == 1


def validation_steps(rule: str, start: datetime, zone: str) -> tuple[list[int], str | None]:
    """The steps each bounded search of validating `rule` used, and the refusal (None when accepted)."""
    spent: list[int] = []
    original = schedule.counted_steps.__exit__

    def recording_exit(self, *exc):
        spent.append(self.used)
        return original(self, *exc)

    schedule._compile.cache_clear()
    schedule.counted_steps.__exit__ = recording_exit
    try:
        schedule.validate_rrule(rule, start, zone)
        refusal = None
    except schedule.ScheduleError as error:
        refusal = str(error)
    finally:
        schedule.counted_steps.__exit__ = original
    return spent, refusal


def test_the_slow_rule_is_refused_within_its_step_cap():
    # The rule: a daily period holds one instant, so BYSETPOS=5 is refused before any search.
    rule = "FREQ=DAILY;BYMINUTE=47;BYSETPOS=5;UNTIL=22001231T000000Z"
    spent, refusal = validation_steps(rule, datetime(2026, 12, 1, 7, 30), "Pacific/Apia")
    assert refusal is not None and spent == []
    # A rule that passes every static check yet never occurs: the search stops at the cap, not at year 9999.
    spent, refusal = validation_steps(
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", datetime(2026, 12, 1, 7, 30), "Pacific/Apia"
    )
    assert refusal is not None and "no occurrence" in refusal
    assert spent and schedule.STEP_CAP - 10 < max(spent) <= schedule.STEP_CAP


def test_rrule_numbers_are_ascii_digits_only():
    _, refusal = validation_steps("FREQ=DAILY;COUNT=١٢", datetime(2026, 12, 1, 7, 30), "UTC")
    assert refusal is not None


FREQS = st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"])
NUMBERS = st.integers(-400, 400).map(str)
PART = st.one_of(
    st.tuples(st.just("BYMONTH"), st.lists(st.integers(0, 13).map(str), min_size=1, max_size=3)),
    st.tuples(st.just("BYMONTHDAY"), st.lists(st.integers(-32, 32).map(str), min_size=1, max_size=3)),
    st.tuples(st.just("BYYEARDAY"), st.lists(NUMBERS, min_size=1, max_size=3)),
    st.tuples(st.just("BYWEEKNO"), st.lists(st.integers(-54, 54).map(str), min_size=1, max_size=3)),
    st.tuples(st.just("BYSETPOS"), st.lists(NUMBERS, min_size=1, max_size=2)),
    st.tuples(
        st.just("BYDAY"),
        st.lists(
            st.tuples(st.sampled_from(["", "1", "-1", "2", "5", "-5", "53", "54"]), st.sampled_from(["MO", "SU"])).map(
                "".join
            ),
            min_size=1,
            max_size=3,
        ),
    ),
    st.tuples(st.just("BYHOUR"), st.lists(st.integers(0, 24).map(str), min_size=1, max_size=1)),
    st.tuples(st.just("INTERVAL"), st.lists(st.integers(1, 400).map(str), min_size=1, max_size=1)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    freq=FREQS,
    parts=st.lists(PART, max_size=4, unique_by=lambda p: p[0]),
    start=st.datetimes(datetime(2025, 1, 1), datetime(2200, 1, 1)),
    zone=st.sampled_from(["UTC", "Pacific/Apia", "America/New_York", "Australia/Lord_Howe"]),
)
def test_rrule_validation_never_exceeds_its_step_cap(freq, parts, start, zone):
    """Whatever the rule, validating it walks at most STEP_CAP steps of dateutil's search (counted, not timed)."""
    rule = ";".join([f"FREQ={freq}"] + [f"{name}={','.join(values)}" for name, values in parts])
    spent, _ = validation_steps(rule, start.replace(microsecond=0), zone)
    assert len(spent) <= 1 and all(steps <= schedule.STEP_CAP for steps in spent)


def test_a_normal_schedule_expands_without_a_budget():
    """The counting helper charges nothing outside validation: materializing a year is not capped."""
    found = schedule.occurrences_between(
        schedule.Schedule(datetime(2026, 1, 1, 7, 30), "UTC", "FREQ=DAILY"),
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=366),
    )
    assert len(found) == 366
