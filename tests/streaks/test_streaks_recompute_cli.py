"""`tend streaks recompute`: rebuilds every figure from history; on healthy data it changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from service.domain.models import Ritual, StreakFigure
from service.entry.cli import main
from tests.builders import stored_couple, stored_promise, stored_ritual
from tests.streaks.helpers import DAY, FIRST, decide, occurrence


def figures(db):
    with db.session() as s:
        return {
            (f.subject_kind, f.subject_id, f.person_id): (
                f.current_streak,
                f.longest_streak,
                f.strength,
                f.last_counted_at,
            )
            for f in s.scalars(select(StreakFigure))
        }


def recompute_command(pg_url):
    result = CliRunner().invoke(
        main, ["streaks", "recompute"], env={"DATABASE_URL": pg_url, "TEND_SECRET_KEY": "test-secret-key-0123456789"}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_recompute_gives_the_incremental_figures_and_repairs_drift(db, pg_url):
    with db.session() as s:
        circle, alice, bob = stored_couple(s)
        ritual = stored_ritual(s, circle)
        promise = stored_promise(s, circle, keeper=alice, recipient=bob)
        coffee = [occurrence(s, ritual, FIRST + day * DAY, [alice, bob]) for day in range(6)]
        calls = [occurrence(s, promise, FIRST + day * DAY + timedelta(hours=6), [alice]) for day in range(4)]
        for day, row in enumerate(coffee):
            decide(s, row, alice, "missed" if day == 2 else "done")
            decide(s, row, bob, "skipped" if day % 2 else "done")
        decide(s, coffee[2], alice, "done")  # back-filled
        for row, outcome in zip(calls, ["on_time", "late", "missed", "on_time"]):
            decide(s, row, alice, outcome)
        ritual_id, alice_id = ritual.id, alice.id
    incremental = figures(db)
    assert len(incremental) == 3 and incremental[("ritual", ritual_id, alice_id)][:2] == (6, 6)

    assert recompute_command(pg_url).endswith("3 streak figures recomputed, 0 repaired\n")
    assert figures(db) == incremental

    with db.session() as s:  # drift: a wrong figure and a lost one
        s.get(StreakFigure, ("ritual", ritual_id, alice_id)).current_streak = 1
        s.execute(delete(StreakFigure).where(StreakFigure.subject_kind == "promise"))
    output = recompute_command(pg_url)
    assert "Recomputing streak figures" in output
    assert output.endswith("3 streak figures recomputed, 2 repaired\n")
    assert figures(db) == incremental


def test_deleting_a_subject_deletes_its_figures_and_no_figure_outlives_its_subject(db):
    with db.session() as s:
        circle, alice, _ = stored_couple(s)
        ritual = stored_ritual(s, circle)
        decide(s, occurrence(s, ritual, FIRST, [alice]), alice, "done")
        ritual_id, alice_id = ritual.id, alice.id
    with db.session() as s:
        s.execute(delete(Ritual).where(Ritual.id == ritual_id))
    assert figures(db) == {}
    with pytest.raises(IntegrityError), db.session() as s:  # the database refuses a figure of no subject
        s.add(StreakFigure(subject_kind="ritual", subject_id=ritual_id, ritual_id=ritual_id, person_id=alice_id))
