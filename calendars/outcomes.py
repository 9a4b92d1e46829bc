"""How a past occurrence reads in a feed: one mark for everyone, and who did what (pure)."""

from __future__ import annotations

from datetime import datetime

from calendars.feed import PastOutcome

MARKS = {"done": "✓", "on_time": "✓", "late": "✓", "skipped": "–", "missed": "✗", "pending": "…"}


def past_outcome(
    local: datetime, by_person: dict[int, str], viewer: int | None, names: dict[int, str]
) -> PastOutcome | None:
    """How an occurrence went, once decided: for the viewer in a person's feed, for everyone in a circle's."""
    relevant = [by_person[viewer]] if viewer in by_person else list(by_person.values())
    if "pending" in relevant:
        return None
    people = sorted(by_person, key=lambda person_id: (names[person_id], person_id))
    detail = ", ".join(f"{names[p]} {MARKS[by_person[p]]}" for p in people) if len(people) > 1 else ""
    return PastOutcome(local, combined(relevant), detail)


def combined(outcomes: list[str]) -> str:
    """One mark for a shared occurrence: anyone missing it misses it; otherwise it was kept if anyone kept it."""
    if len(set(outcomes)) == 1:
        return outcomes[0]
    if "missed" in outcomes:
        return "missed"
    return "late" if "late" in outcomes else "done"
