"""How a past occurrence reads in a feed: one mark for everyone, and who did what (pure)."""

from __future__ import annotations

from datetime import datetime

from calendars.feed import PastOutcome

MARKS = {"done": "✓", "on_time": "✓", "late": "✓", "skipped": "–", "missed": "✗", "pending": "…"}


def past_outcome(
    local: datetime,
    by_person: dict[int, str],
    viewer: int | None,
    names: dict[int, str],
    notes: dict[int, str] | None = None,
) -> PastOutcome | None:
    """How an occurrence went, once decided: for the viewer in a person's feed, for everyone in a circle's.

    The detail (the DESCRIPTION) says who did what, with each one's note in quotes: text, which the
    iCalendar writer escapes (a note can carry no line or property of its own).
    """
    notes = notes or {}
    relevant = [by_person[viewer]] if viewer in by_person else list(by_person.values())
    if "pending" in relevant:
        return None
    people = sorted(by_person, key=lambda person_id: (names[person_id], person_id))
    shown = people if len(people) > 1 else [p for p in people if p in notes]
    detail = ", ".join(_who(names[p], MARKS[by_person[p]] if len(people) > 1 else "", notes.get(p)) for p in shown)
    return PastOutcome(local, combined(relevant), detail)


def _who(name: str, mark: str, note: str | None) -> str:
    who = f"{name} {mark}" if mark else name
    return f'{who}: "{note}"' if note else who


def combined(outcomes: list[str]) -> str:
    """One mark for a shared occurrence: anyone missing it misses it; otherwise it was kept if anyone kept it."""
    if len(set(outcomes)) == 1:
        return outcomes[0]
    if "missed" in outcomes:
        return "missed"
    return "late" if "late" in outcomes else "done"
