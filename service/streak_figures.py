"""Stored streak figures per (subject, person): advanced in O(1) as outcomes are decided.

(Interface fixed by the lead; the streaks issue fills in the body.)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from service.models import Occurrence


def outcome_decided(session: Session, occurrence: Occurrence, person_id: int, now: datetime) -> None:
    """Fold this person's newly decided outcome of `occurrence` into their stored figures."""
    return None
