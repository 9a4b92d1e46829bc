"""Feeds whose content changed are marked dirty here; a worker re-renders them.

(Interface fixed by the lead; the feeds issue fills in the body.)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session


def mark_dirty(session: Session, *, circle_id: int, now: datetime) -> None:
    """Every feed that shows anything of this circle needs a new render."""
    return None
