"""Publishing calendar feeds: render the ones that changed, and catch those whose doorbell was lost.

Each render is its own transaction holding the feed's row lock, so workers and
clocks never render one feed twice at once, and a change made meanwhile waits
and marks it dirty again (see service/feed_store.py).
"""

from __future__ import annotations

from datetime import datetime

from service import feed_store
from workers.runtime import WorkerContext


def render_feed(ctx: WorkerContext, feed_id: int, now: datetime | None = None) -> bool:
    """Render the feed if it is dirty; False if it was clean, gone, or being rendered elsewhere."""
    runtime = ctx.runtime
    with runtime.db.session() as session:
        return feed_store.refresh(session, feed_id, now=now or runtime.now(), secret=runtime.config.secret_key)


def render_dirty(ctx: WorkerContext, now: datetime, limit: int) -> int:
    """The clock's part: render up to `limit` feeds left dirty longer than a worker needs; returns how many."""
    with ctx.runtime.db.session() as session:
        feed_ids = feed_store.forgotten(session, now, limit)
    return sum(render_feed(ctx, feed_id, now) for feed_id in feed_ids)
