"""Which feeds must be rendered again: marked dirty by the change that needs it, rung after its commit.

A change marks the feeds that show it dirty inside its own transaction and
rings once committed. A render holds the feed's row lock until it has stored
the new bytes, and `mark_dirty` updates every row it marks (not only clean
ones), so a change committed during a render waits for it, marks the feed
dirty again and rings again: no change is lost, and a burst of changes costs
one or two renders.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CompoundSelect, func, select, union_all, update
from sqlalchemy.orm import Session

from service.domain.models import Feed, FeedScope, Membership, table
from service.domain.unit_of_work import ring_feeds

LOST_AFTER = timedelta(seconds=10)  # a feed dirty this long had its doorbell lost: the clock rings again


def mark_dirty(session: Session, *, circle_id: int, now: datetime) -> list[int]:
    """Every feed that shows anything of this circle needs a new render; returns their ids.

    The ids are also kept on the session: `take_marked` hands them to whoever
    rings the doorbell after the commit. Rows are locked in id order, so two
    changes never wait for each other crosswise.
    """
    showing = Feed.id.in_(feeds_showing(circle_id))
    ids = list(session.scalars(select(Feed.id).where(showing).order_by(Feed.id).with_for_update()))
    if ids:
        session.execute(
            update(Feed)
            .where(Feed.id.in_(ids))
            .values(dirty_since=func.coalesce(Feed.dirty_since, now))
            .execution_options(synchronize_session=False)
        )
        ring_feeds(session, ids)
    return ids


def mark_all_dirty(session: Session, now: datetime) -> list[int]:
    """Every feed needs a new render (the tz database changed: service/domain/zone_updates.py); returns their ids."""
    ids = list(session.scalars(select(Feed.id).order_by(Feed.id).with_for_update()))
    if ids:
        session.execute(
            update(Feed)
            .values(dirty_since=func.coalesce(Feed.dirty_since, now))
            .execution_options(synchronize_session=False)
        )
        ring_feeds(session, ids)
    return ids


def feeds_showing(circle_id: Any) -> CompoundSelect:
    """The ids of the feeds that show anything of a circle: its circle feeds and its members' own feeds.

    `circle_id` is a value or a SQL expression, e.g. a column of an enclosing
    query that asks whether any feed shows its circle. On tables (no ORM
    entity), so that a Core statement embedding it stays Core; each branch is
    one index lookup.
    """
    feed, membership = table(Feed).c, table(Membership).c
    return union_all(
        select(feed.id).where(feed.circle_id == circle_id),
        select(feed.id)
        .join(table(Membership), membership.person_id == feed.person_id)
        .where(membership.circle_id == circle_id, feed.scope == FeedScope.PERSON),
    )


def forgotten(session: Session, now: datetime, limit: int) -> list[int]:
    """Feeds dirty for longer than a worker needs: their doorbell was lost (or the worker died)."""
    return list(
        session.scalars(
            select(Feed.id).where(Feed.dirty_since < now - LOST_AFTER).order_by(Feed.dirty_since).limit(limit)
        )
    )
