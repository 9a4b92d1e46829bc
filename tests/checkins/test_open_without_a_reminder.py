"""A DONE by text applies to what is open for the person now, as /today offers it, when no reminder of theirs is
open (SPEC §3: the check-in window runs from the reminder's time to start + grace, whether or not one was sent)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.builders import add_ritual, couple

WINDOW_OPEN = datetime(2026, 12, 1, 23, 50, tzinfo=UTC)  # 18:50 in New York: the 19:00 walk opened at 18:45


def test_a_person_whose_reminder_quiet_hours_hold_checks_in_by_text(client, people, db, clock, sms, texts):
    circle = couple(client, people, db)
    add_ritual(client, people, circle, title="Evening walk", starts="2026-12-01T19:00", remind_before_minutes=15)
    early_night = {"quiet_hours": {"start": "18:00", "end": "23:00"}}
    assert client.patch("/api/v1/me", json=early_night, headers=people.headers("Bob")).status_code == 200
    clock.set(WINDOW_OPEN)
    sms.tick()  # Alice's reminder goes; Bob's waits for 23:00
    assert texts.send("Bob", "DONE").startswith("Kept! Evening walk")
    assert texts.send("Bob", "DONE").startswith("Nothing to check in right now.")  # nothing else is open


def test_the_numbered_item_is_the_one_in_time_order(client, people, db, clock, sms, texts):
    circle = couple(client, people, db)
    add_ritual(client, people, circle, title="Evening walk", starts="2026-12-01T19:00", remind_before_minutes=15)
    add_ritual(client, people, circle, title="Dinner", starts="2026-12-01T18:55", remind_before_minutes=15)
    sms.tick()  # 07:00: the clock plans the evening; no reminder is due yet, and none is sent before Bob texts
    clock.set(WINDOW_OPEN)
    assert texts.send("Bob", "SKIP 2").startswith("Skipped Evening walk")
    assert texts.send("Bob", "DONE").startswith("Kept! Dinner")


def test_nothing_open_is_still_said(client, people, db, clock, texts):
    circle = couple(client, people, db)
    add_ritual(client, people, circle, title="Evening walk", starts="2026-12-01T19:00", remind_before_minutes=15)
    assert texts.send("Bob", "DONE").startswith("Nothing to check in right now.")  # 07:00: its window opens 18:45
