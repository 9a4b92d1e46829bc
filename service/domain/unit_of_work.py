"""One unit of work: run it in a transaction, commit, then ring the workers for what it left to do.

Domain code records what needs a worker once committed (an SMS queued in the
outbox, a feed marked dirty) with `ring_sms` / `ring_feeds`, on the session
itself; whoever commits calls `commit_and_ring`, so nothing is rung for work
that was rolled back, and one channel carries both kinds. `run` adds the one
retry policy Tend has: a transaction PostgreSQL aborted as a deadlock victim,
or one whose pooled connection the server had dropped, is done again from the
start (so its connections need no pre-ping, a round trip per transaction).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.domain.db import Database
from service.domain.runtime import Doorbell

log = logging.getLogger(__name__)

T = TypeVar("T")
DEADLOCK_TRIES = 3
_DEADLOCK_SQLSTATE = "40P01"
_KEY = "tend.after_commit"


@dataclass
class AfterCommit:
    """Ids to ring for once the transaction has committed."""

    sms: set[int] = field(default_factory=set)
    bulk_sms: set[int] = field(default_factory=set)  # SMS of BULK_KINDS: rung on the bulk lane
    feeds: set[int] = field(default_factory=set)


def _pending(session: Session) -> AfterCommit:
    return session.info.setdefault(_KEY, AfterCommit())


def ring_sms(session: Session, outbound_ids: Iterable[int], bulk: bool = False) -> None:
    pending = _pending(session)
    (pending.bulk_sms if bulk else pending.sms).update(outbound_ids)


def ring_feeds(session: Session, feed_ids: Iterable[int]) -> None:
    _pending(session).feeds.update(feed_ids)


def take(session: Session) -> AfterCommit:
    """What this session collected so far, forgotten by the session (for a rollback, or to ring by hand)."""
    return session.info.pop(_KEY, None) or AfterCommit()


def ring(doorbell: Doorbell, pending: AfterCommit) -> None:
    if pending.sms:
        doorbell.send_sms(sorted(pending.sms))
    if pending.bulk_sms:
        doorbell.send_sms(sorted(pending.bulk_sms), bulk=True)
    if pending.feeds:
        doorbell.render_feeds(sorted(pending.feeds))


def commit_and_ring(session: Session, doorbell: Doorbell) -> None:
    """Commit, then ring for everything the transaction left to workers."""
    pending = take(session)
    session.commit()
    ring(doorbell, pending)


def is_deadlock(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) == _DEADLOCK_SQLSTATE


def run(db: Database, doorbell: Doorbell, work: Callable[[Session], T], *, what: str = "unit of work") -> T:
    """`work(session)` in its own transaction, committed and rung; done again if chosen as a deadlock victim, and
    once if its connection turned out dropped (the pool does not test connections before a unit of work).

    A connection lost while committing is not retried: the commit may have landed.
    """
    deadlocks, reconnected = 0, False
    while True:
        with db.retrying_sessions() as session:
            committing = False
            try:
                result = work(session)
                committing = True
                commit_and_ring(session, doorbell)
                return result
            except DBAPIError as exc:
                session.rollback()
                take(session)
                if is_deadlock(exc) and deadlocks < DEADLOCK_TRIES - 1:
                    deadlocks += 1
                    log.warning("%s: deadlock, trying again (%d)", what, deadlocks)
                elif exc.connection_invalidated and not committing and not reconnected:
                    reconnected = True
                    log.warning("%s: the database connection was dropped, trying again", what)
                else:
                    raise
