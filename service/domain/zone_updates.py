"""A new tz database reaches every schedule and feed (issue 14).

Governments change their clocks' rules, sometimes at short notice; a tzdata
release carries the change. Schedules keep local wall time (SPEC §3), so when
the tz database Tend runs with differs from the one the clock last planned
with, the clock re-plans each stored occurrence that has not started from its
local wall time (its instant, check-in window and queued reminders move with
the new offset, its local hour stays), lets the schedules be expanded again
from now, gives every future digest slot anew, and marks every feed dirty so
each renders its new VTIMEZONEs.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.core.schedule import local_to_utc, parse_timezone
from service.domain import feed_changes
from service.domain.db import insert_for, on_postgres
from service.domain.models import (
    SUBJECT_MODELS,
    Occurrence,
    OutboundSms,
    Person,
    SmsKind,
    SmsState,
    Subject,
    TzDatabaseSeen,
)
from service.domain.occurrences import ENDED, nudge_times

log = logging.getLogger(__name__)


def follow(session: Session, version: str, now: datetime) -> int | None:
    """Re-plan for tz database `version` if the clock last planned with another; the occurrences moved,
    or None when there was nothing to follow.

    The first call only records the version (migration 0005 had every feed render
    again). A version older than the recorded one is a process that has not been
    restarted since the upgrade: it leaves the work to the new ones.
    """
    seen = session.scalar(select(TzDatabaseSeen).with_for_update())
    if seen is None:
        session.execute(
            insert_for(on_postgres(session))(TzDatabaseSeen)
            .values(id=1, version=version, seen_at=now)
            .on_conflict_do_nothing()
        )
        return None
    if seen.version == version:
        return None
    if release(version) < release(seen.version):
        log.warning("tz database %s is older than %s, which the clock planned with: left alone", version, seen.version)
        return None
    moved = replan(session, now)
    # Digest slots are local too: each gets its next one again, at the new offset.
    session.execute(update(Person).where(Person.next_digest_at > now).values(next_digest_at=None))
    feeds = len(feed_changes.mark_all_dirty(session, now))
    log.info("tz database %s (was %s): %d occurrences moved, %d feeds to render", version, seen.version, moved, feeds)
    seen.version, seen.seen_at = version, now
    return moved


def release(version: str) -> str:
    """The IANA release ("2025b") a version string starts with; releases sort by their names."""
    return version.split(" ", 1)[0]


def replan(session: Session, now: datetime) -> int:
    """Place each stored occurrence that has not started at its local wall time in the zone as it is now;
    the schedules are expanded again from `now` (an instant may have moved across where they stopped)."""
    moved = 0
    for kind, model in SUBJECT_MODELS.items():
        column = Occurrence.subject_column(kind)
        rows = session.execute(
            select(Occurrence.id, Occurrence.at, Occurrence.local, model.id.label("subject_id"), model.timezone)
            .join(model, model.id == column)
            .where(Occurrence.at > now, Occurrence.closed.is_(False))
        ).all()
        for row in rows:
            at = local_to_utc(row.local, parse_timezone(row.timezone))
            if at != row.at:
                subject = cast(Subject, session.get_one(model, row.subject_id))
                _move(session, session.get_one(Occurrence, row.id), subject, at)
                moved += 1
        session.execute(
            update(model)
            .where(model.materialized_until > now, model.materialized_until < ENDED)
            .values(materialized_until=now)
        )
    session.flush()
    return moved


def _move(session: Session, occurrence: Occurrence, subject: Subject, at: datetime) -> None:
    """The occurrence and its window at `at`, and its queued reminders and follow-ups due as they now fall.

    A follow-up that no longer fits the window will not go.
    """
    occurrence.at = at
    occurrence.opens_at, occurrence.closes_at = subject.window(at, occurrence.local)
    due = nudge_times(occurrence, subject)
    for kind in (SmsKind.REMINDER, SmsKind.FOLLOW_UP):  # the nudges the clock plans (a LATER keeps its time)
        queued = update(OutboundSms).where(
            OutboundSms.occurrence_id == occurrence.id, OutboundSms.kind == kind, OutboundSms.state == SmsState.QUEUED
        )
        changes = {"due_at": due[kind]} if kind in due else {"state": SmsState.CANCELLED}
        session.execute(queued.values(**changes))
