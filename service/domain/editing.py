"""Making, changing and removing rituals and promises, and a person's own settings: one set of rules for the API and the pages.

Every change marks the circle's feeds dirty, and an edit drops the future
occurrences nobody checked in to (the clock re-derives them). A start that is
not itself an occurrence of its rule moves forward to the rule's first
occurrence (SPEC §8); `Saved.moved` tells the caller so it can say it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.picker import Placed, place_start
from service.core.schedule import ScheduleError
from service.domain import accounts, feed_changes, outbox, subjects
from service.domain.errors import Conflict, Forbidden, Invalid
from service.domain.models import Circle, Person, PersonPause, Promise, Ritual, RitualMode


@dataclass(frozen=True)
class RitualFields:
    title: str
    starts: datetime  # local wall time
    timezone: str
    rrule: str | None
    duration_minutes: int
    remind_before_minutes: int
    grace_minutes: int | None = None
    participants: list[int] | None = None  # None: every member
    mode: str = RitualMode.EACH
    follow_up_minutes: int | None = None  # None: no follow-up


@dataclass(frozen=True)
class PromiseFields:
    to: int
    title: str
    due: datetime  # local wall time
    timezone: str
    rrule: str | None
    remind_before_minutes: int
    grace_minutes: int = 60
    follow_up_minutes: int | None = None  # None: no follow-up


S = TypeVar("S", bound=Ritual | Promise)
DEFAULT_PAUSE_DAYS = 7
MAX_PAUSE_DAYS = 365  # pause-all's range, the same at every door (SMS PAUSE, the settings page)


@dataclass(frozen=True)
class Saved(Generic[S]):
    """What was saved, and whether its start was moved onto the rule (the asked-for start is in `asked`)."""

    subject: S
    moved: bool
    asked: datetime


def placed(start: datetime, timezone: str, rule: str | None, start_field: str, now: datetime) -> Placed:
    """The start on its rule, refusing (naming the field) a bad rule or zone, or a start over a year ago."""
    try:
        where = place_start(start, timezone, rule)
    except ScheduleError as error:
        raise Invalid(error.message, start_field if error.field == "starts" else error.field) from None
    subjects.check_start(where.start, timezone, now, start_field)
    return where


def check_participants(circle: Circle, participants: list[int] | None) -> None:
    if participants is not None and not participants:
        raise Invalid("Choose at least one person.", "participants")
    subjects.check_participants(circle, participants)


def check_mode(mode: str) -> None:
    if mode not in tuple(RitualMode):
        raise Invalid("Choose together or each on their own.", "mode")


def check_title(session: Session, circle_id: int, title: str, ritual_id: int | None = None) -> None:
    """409 `duplicate_name` naming `title` when another ritual of the circle has that title (checked under the
    circle's lock, so that parallel creates or renames to one title make one)."""
    accounts.hold(session, Circle, circle_id)
    others = session.scalars(select(Ritual.title).where(Ritual.circle_id == circle_id, Ritual.id != (ritual_id or 0)))
    if accounts.same_name(title) in {accounts.same_name(other) for other in others}:
        raise Conflict(
            f"This circle already has a ritual called “{title.strip()}”; choose another title.",
            "title",
            code="duplicate_name",
        )


def create_ritual(session: Session, circle: Circle, fields: RitualFields, now: datetime) -> Saved[Ritual]:
    check_title(session, circle.id, fields.title)
    where = placed(fields.starts, fields.timezone, fields.rrule, "starts", now)
    check_participants(circle, fields.participants)
    check_mode(fields.mode)
    ritual = Ritual(
        circle=circle,
        title=fields.title,
        start_local=where.start,
        timezone=fields.timezone,
        rrule=where.rule,
        duration_minutes=fields.duration_minutes,
        remind_before_minutes=fields.remind_before_minutes,
        grace_minutes=fields.grace_minutes,
        mode=fields.mode,
        follow_up_minutes=fields.follow_up_minutes,
        sequence=0,
        created_at=now,
        updated_at=now,
    )
    subjects.set_participants(ritual, fields.participants)
    ritual.materialized_until = subjects.first_instant(ritual)
    session.add(ritual)
    session.flush()
    feed_changes.mark_dirty(session, circle_id=circle.id, now=now)
    return Saved(ritual, where.moved, fields.starts)


def update_ritual(session: Session, ritual: Ritual, fields: RitualFields, now: datetime) -> Saved[Ritual]:
    """Replace the ritual's settings; future occurrences follow, past ones keep their outcomes."""
    check_title(session, ritual.circle_id, fields.title, ritual.id)
    where = placed(fields.starts, fields.timezone, fields.rrule, "starts", now)
    check_participants(ritual.circle, fields.participants)
    check_mode(fields.mode)
    ritual.title, ritual.start_local, ritual.timezone, ritual.rrule = (
        fields.title,
        where.start,
        fields.timezone,
        where.rule,
    )
    ritual.duration_minutes = fields.duration_minutes
    ritual.remind_before_minutes = fields.remind_before_minutes
    ritual.grace_minutes = fields.grace_minutes
    ritual.mode, ritual.follow_up_minutes = fields.mode, fields.follow_up_minutes
    subjects.set_participants(ritual, fields.participants)
    subjects.forget_future(session, ritual, now)
    feed_changes.mark_dirty(session, circle_id=ritual.circle_id, now=now)
    return Saved(ritual, where.moved, fields.starts)


def create_promise(
    session: Session, keeper: Person, circle: Circle, fields: PromiseFields, now: datetime
) -> Saved[Promise]:
    subjects.check_recipient(circle, keeper.id, fields.to)
    where = placed(fields.due, fields.timezone, fields.rrule, "due", now)
    promise = Promise(
        circle_id=circle.id,
        keeper_id=keeper.id,
        recipient_id=fields.to,
        title=fields.title,
        due_local=where.start,
        timezone=fields.timezone,
        rrule=where.rule,
        remind_before_minutes=fields.remind_before_minutes,
        grace_minutes=fields.grace_minutes,
        follow_up_minutes=fields.follow_up_minutes,
        sequence=0,
        created_at=now,
        updated_at=now,
    )
    promise.materialized_until = subjects.first_instant(promise)
    session.add(promise)
    session.flush()
    feed_changes.mark_dirty(session, circle_id=circle.id, now=now)
    return Saved(promise, where.moved, fields.due)


def update_promise(session: Session, promise: Promise, fields: PromiseFields, now: datetime) -> Saved[Promise]:
    """Change a promise; only its keeper may (it is their word), and the recipient stays someone who joined."""
    circle = session.get_one(Circle, promise.circle_id)
    subjects.check_recipient(circle, promise.keeper_id, fields.to)
    where = placed(fields.due, fields.timezone, fields.rrule, "due", now)
    promise.recipient_id, promise.title, promise.due_local = fields.to, fields.title, where.start
    promise.timezone, promise.rrule = fields.timezone, where.rule
    promise.remind_before_minutes, promise.grace_minutes = fields.remind_before_minutes, fields.grace_minutes
    promise.follow_up_minutes = fields.follow_up_minutes
    subjects.forget_future(session, promise, now)
    feed_changes.mark_dirty(session, circle_id=promise.circle_id, now=now)
    return Saved(promise, where.moved, fields.due)


def reschedule(
    session: Session, subject: S, start: datetime, timezone: str, rule: str | None, now: datetime
) -> Saved[S]:
    """A new time or days for a ritual or promise, everything else as it is (MOVE by text): the start placed
    and checked as in any edit; future occurrences follow, past ones keep their outcomes."""
    where = placed(start, timezone, rule, subject.start_field, now)
    subject.starts, subject.timezone, subject.rrule = where.start, timezone, where.rule
    subjects.forget_future(session, subject, now)
    feed_changes.mark_dirty(session, circle_id=subject.circle_id, now=now)
    return Saved(subject, where.moved, start)


def delete_subject(session: Session, subject: Ritual | Promise, by: Person, now: datetime) -> None:
    """Delete a ritual or promise (`by` may change it: `may_change`); its history goes with it."""
    may_change(by, subject)
    feed_changes.mark_dirty(session, circle_id=subject.circle_id, now=now)
    session.delete(subject)
    session.flush()


def pause_ritual(session: Session, ritual: Ritual, until_local: datetime, now: datetime) -> None:
    """No occurrences (and no reminders) until a local wall time in the ritual's zone."""
    subjects.pause_ritual(ritual, until_local, now)
    subjects.forget_future(session, ritual, now)
    feed_changes.mark_dirty(session, circle_id=ritual.circle_id, now=now)


def resume_ritual(session: Session, ritual: Ritual, now: datetime) -> None:
    """Occurrences (and reminders) again from now, before the pause would have ended."""
    subjects.resume_ritual(ritual, now)
    subjects.forget_future(session, ritual, now)
    feed_changes.mark_dirty(session, circle_id=ritual.circle_id, now=now)


def may_change(person: Person, subject: Ritual | Promise) -> None:
    """Forbidden unless the person may change or delete the subject (a promise: only its keeper)."""
    if not subject.changeable_by(person.id):
        raise Forbidden("Only the person who made a promise can change or cancel it.")


@dataclass(frozen=True)
class Settings:
    name: str
    timezone: str
    quiet_hours: tuple[time, time] | None
    digest_weekday: int  # Monday = 0
    digest_time: time


def change_settings(session: Session, person: Person, settings: Settings, now: datetime) -> None:
    """A person's own settings (the name as SPEC §3 allows names); a moved digest slot or zone is rescheduled by the
    clock, and changed quiet hours (or zone) re-plan what the old ones held."""
    accounts.rename(person, settings.name)
    if settings.timezone != person.timezone or (settings.digest_weekday, settings.digest_time) != (
        person.digest_weekday,
        person.digest_time,
    ):
        person.next_digest_at = None
    set_quiet_hours(session, person, settings.quiet_hours, now, timezone=settings.timezone)
    person.digest_weekday, person.digest_time = settings.digest_weekday, settings.digest_time


def set_quiet_hours(
    session: Session, person: Person, quiet_hours: tuple[time, time] | None, now: datetime, *, timezone: str
) -> None:
    """The person's quiet hours (None: none) and zone; when either changes, what the old hours held is planned
    again at once: it goes now, or when the new hours end (`outbox.release_held`)."""
    before = (person.timezone, person.quiet_start, person.quiet_end)
    person.timezone = timezone
    person.quiet_start, person.quiet_end = quiet_hours or (None, None)
    if (person.timezone, person.quiet_start, person.quiet_end) != before:
        outbox.release_held(session, person.id, now)


def pause_person(person: Person, days: int, now: datetime) -> datetime:
    """No reminders for `days` days, 1 to MAX_PAUSE_DAYS (SMS `PAUSE N`, bare `PAUSE` for DEFAULT_PAUSE_DAYS;
    the settings page); returns when reminders start again."""
    if not 1 <= days <= MAX_PAUSE_DAYS:
        raise Invalid(f"Pause for 1 to {MAX_PAUSE_DAYS} days.", "days")
    resume_person(person, now)
    person.paused_until = until = now + timedelta(days=days)
    person.pauses.append(PersonPause(starts_at=now, ends_at=until))
    return until


def resume_person(person: Person, now: datetime) -> None:
    """Reminders again from now (SMS `RESUME`, the settings page); the pause in force ends now in its history,
    which the closing of occurrences reads (occurrences.close)."""
    person.paused_until = None
    for pause in person.pauses:
        if pause.ends_at > now:
            pause.ends_at = now
