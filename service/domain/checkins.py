"""Recording check-ins: deciding a person's outcome of an occurrence, by SMS or through the API.

`decide` is the one way an outcome is recorded: the outcome row, the check-in
row, the streak figures, and a promise's recipient told. The SMS conversation
(service/domain/conversation.py) and API check-ins both call it.

Decisions the spec leaves open:

- A promise's outcome is `on_time` or `late` by when Tend heard of it, even for
  a back-fill; kept before its reminder it is on time. Its recipient is told
  only when it is kept inside its window: news of a promise kept days ago
  would confuse more than it pleases.
- An API check-in needs only its own occurrence: one that the clock has not
  stored yet (a back-fill of a schedule still being caught up, or the open one)
  is added alone, never by running the clock's materialization here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, aliased

from service.core import sms_text
from service.core.notes import NoteTooLong, clean_note
from service.core.schedule import is_occurrence, next_occurrence, occurrences_between
from service.core.streaks import KEPT, Outcome
from service.domain import accounts, feed_changes, occurrences, streak_figures
from service.domain.db import Direct
from service.domain.errors import Forbidden, Invalid
from service.domain.models import (
    SUBJECT_MODELS,
    CheckIn,
    CheckinSource,
    Membership,
    Occurrence,
    OccurrenceOutcome,
    Person,
    Promise,
    Ritual,
    RitualMode,
    SmsKind,
    Subject,
    SubjectKind,
    subject_key,
    table,
)
from service.domain.outbox import cancel_nudges, queue_sms_row, restore_follow_up

# An open occurrence started at most this long ago: the longest grace is a week (the API's limit).
DEFAULT_LOOKBACK = timedelta(days=8)


@dataclass(frozen=True)
class Recorded:
    checkin: CheckIn  # as stored; not attached to the session
    occurrence: Occurrence
    subject: Subject


@dataclass(frozen=True)
class Target:
    """An occurrence to decide, with what deciding needs of it: a row of `_REMINDER_ITEMS` has the same fields."""

    occurrence_id: int
    ritual_id: int | None
    promise_id: int | None
    at: datetime
    closes_at: datetime
    closed: bool
    title: str
    circle_id: int
    recipient_id: int | None  # a promise's
    together: bool  # a together ritual: the first check-in counts for every participant still pending


@dataclass(frozen=True)
class Decided:
    checkin_id: int
    outcome: Outcome
    streak: int  # the current streak, this outcome counted


_OUTCOMES = table(OccurrenceOutcome)
_CHECKINS = table(CheckIn)
_OWN = _CHECKINS.alias("own")
_CHECKIN_COLUMNS = ("occurrence_id", "person_id", "outcome", "source", "received_at", "message_sid", "note", "by_id")
# The person's outcome, only if still pending (True) or whatever it was (False).
_DECIDE = {
    only_pending: Direct(
        update(_OUTCOMES)
        .where(
            _OUTCOMES.c.occurrence_id == bindparam("b_occurrence"),
            _OUTCOMES.c.person_id == bindparam("b_person"),
            *([_OUTCOMES.c.outcome == Outcome.PENDING] if only_pending else []),
        )
        .values(outcome=bindparam("b_outcome"), decided_at=bindparam("b_now"))
    )
    for only_pending in (False, True)
}
_ADD_CHECKIN = Direct(
    insert(_CHECKINS).values({name: bindparam(name) for name in _CHECKIN_COLUMNS}).returning(_CHECKINS.c.id)
)
# A together ritual: every other participant still pending gets the same outcome.
_DECIDE_OTHERS = (
    update(_OUTCOMES)
    .where(
        _OUTCOMES.c.occurrence_id == bindparam("b_occurrence"),
        _OUTCOMES.c.person_id != bindparam("b_person"),
        _OUTCOMES.c.outcome == Outcome.PENDING,
    )
    .values(outcome=bindparam("b_outcome"), decided_at=bindparam("b_now"))
    .returning(_OUTCOMES.c.person_id)
)
_EXPECTED = select(func.count()).where(_OUTCOMES.c.occurrence_id == bindparam("b_occurrence"))


def decide(
    session: Session,
    target: Target,
    person_id: int,
    kept: bool,
    *,
    source: str,
    now: datetime,
    only_pending: bool,
    message_sid: str | None = None,
    note: str | None = None,
) -> Decided | None:
    """Decide the person's outcome of the occurrence and fold it in; None when nothing changed.

    The outcome row is set (with `only_pending`, only if still pending), a
    check-in stored, the streak figures advanced, and a promise's recipient
    told when it is kept inside its window (with the note). In a together
    ritual, every other participant still pending gets the same outcome
    (`_decide_for_the_others`). None (and nothing written) when the
    person has no outcome there, or with `only_pending` has one decided
    already. A few Core statements, no ORM flush. The caller holds the
    occurrence's row lock, so the worker closing ended windows cannot mark it missed between our
    read and our write, and marks the circle's feeds dirty after all its
    decisions (locks in one order: occurrences, figures by
    `streak_figures.figure_order`, feeds).
    """
    outcome = SUBJECT_MODELS[subject_key(target.ritual_id, target.promise_id)[0]].outcome(target.at, kept, now)
    changed = _DECIDE[only_pending](
        session,
        {"b_occurrence": target.occurrence_id, "b_person": person_id, "b_outcome": outcome, "b_now": now},
    )
    if cast(CursorResult[Any], changed).rowcount != 1:
        return None
    # Together: only the occurrence's first check-in counts for the others (a later one must not undo a NOT ME).
    first = target.together and not session.scalar(
        select(exists().where(_CHECKINS.c.occurrence_id == target.occurrence_id))
    )
    checkin_id = _add_checkin(session, target, person_id, outcome, source, now, message_sid, note, by_id=None)
    streak = streak_figures.fold(session, streak_figures.key_of(target, person_id), target.at, outcome).current_streak
    if target.recipient_id is not None and outcome in KEPT and is_open(target, now):
        keeper = accounts.names_in(session, [target.circle_id], [person_id]).of(target.circle_id, person_id)
        queue_sms_row(
            session,
            person_id=target.recipient_id,
            kind=SmsKind.PROMISE_KEPT,
            body=sms_text.promise_kept_text(keeper, target.title, late=outcome == Outcome.LATE, note=note),
            dedupe_key=f"promise_kept:{target.occurrence_id}",
            due_at=now,
            occurrence_id=target.occurrence_id,
        )
    if first:
        _decide_for_the_others(session, target, person_id, outcome, source, now)
    return Decided(checkin_id, outcome, streak)


def _add_checkin(
    session: Session,
    target: Target,
    person_id: int,
    outcome: Outcome,
    source: str,
    now: datetime,
    message_sid: str | None,
    note: str | None,
    by_id: int | None,
) -> int:
    return _ADD_CHECKIN(
        session,
        {
            "occurrence_id": target.occurrence_id,
            "person_id": person_id,
            "outcome": outcome,
            "source": source,
            "received_at": now,
            "message_sid": message_sid,
            "note": note,
            "by_id": by_id,
        },
    ).scalar_one()


def _decide_for_the_others(
    session: Session, target: Target, by_id: int, outcome: Outcome, source: str, now: datetime
) -> None:
    """A together ritual (SPEC §3): the outcome `by` gave counts for every participant still pending.

    Each gets a check-in saying who gave it (`by_id`), their figures folded,
    their reminder and follow-up still queued cancelled, and, while the window
    is open, one SMS saying so (one row per occurrence, person and kind: never
    two). Someone who checked in for themselves keeps their own outcome.
    """
    values = {"b_occurrence": target.occurrence_id, "b_person": by_id, "b_outcome": outcome, "b_now": now}
    others = sorted(session.execute(_DECIDE_OTHERS, values).scalars())
    if not others:
        return
    cancel_nudges(session, target.occurrence_id, others)
    participants = session.execute(_EXPECTED, values).scalar_one()
    by_name = accounts.names_in(session, [target.circle_id], [by_id]).of(target.circle_id, by_id)
    for other in others:
        _add_checkin(session, target, other, outcome, source, now, None, None, by_id=by_id)
        streak = streak_figures.fold(session, streak_figures.key_of(target, other), target.at, outcome).current_streak
        if is_open(target, now):
            queue_sms_row(
                session,
                person_id=other,
                kind=SmsKind.TOGETHER,
                body=sms_text.together_text(by_name, target.title, outcome, streak, participants),
                dedupe_key=f"together:{target.occurrence_id}:{other}",
                due_at=now,
                occurrence_id=target.occurrence_id,
            )


def is_open(occurrence: Occurrence | Target, now: datetime) -> bool:
    """Inside its check-in window; no worker may have closed an ended one yet."""
    return not occurrence.closed and now < occurrence.closes_at


def _locked_occurrence(session: Session, occurrence_id: int) -> Occurrence:
    return session.scalars(
        select(Occurrence)
        .where(Occurrence.id == occurrence_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def check_in_by_api(
    session: Session,
    person: Person,
    subject: Subject,
    at: datetime | None,
    kept: bool,
    now: datetime,
    note: str | None = None,
) -> Recorded:
    """Check in to one occurrence: the given instant, or by default the open or latest one.

    Past occurrences may be back-filled (a missed one becomes done); one whose
    window has not opened yet cannot be checked in to. Only people expected at
    the occurrence (its participants, a promise's keeper) may check in. A note
    is at most 160 characters (422 naming `note`).
    """
    note = checked_note(note)
    occurrence = _requested(session, subject, at, now) if at is not None else _default(session, subject, now)
    occurrence = _locked_occurrence(session, occurrence.id)
    target = Target(
        occurrence.id,
        occurrence.ritual_id,
        occurrence.promise_id,
        occurrence.at,
        occurrence.closes_at,
        occurrence.closed,
        subject.title,
        subject.circle_id,
        subject.recipient_id,
        subject.mode == RitualMode.TOGETHER,
    )
    decided = decide(session, target, person.id, kept, source=CheckinSource.API, now=now, only_pending=False, note=note)
    if decided is None:  # no outcome row: not expected there
        raise Forbidden("Only the people expected at this occurrence can check in to it.")
    feed_changes.mark_dirty(session, circle_id=subject.circle_id, now=now)
    checkin = CheckIn(
        id=decided.checkin_id,
        occurrence_id=occurrence.id,
        person_id=person.id,
        outcome=decided.outcome,
        source=CheckinSource.API,
        received_at=now,
        message_sid=None,
        note=note,
    )
    return Recorded(checkin, occurrence, subject)


@dataclass(frozen=True)
class Seen:
    """A check-in as the other participants see it: whose, what, their note, and who made it for them."""

    kind: SubjectKind
    subject_id: int
    at: datetime
    person_id: int
    name: str
    outcome: str
    note: str | None
    by: str | None  # the participant who checked in for them (a together ritual); None: they did


_BY = aliased(Person)
_IN_CIRCLE, _BY_IN_CIRCLE = aliased(Membership), aliased(Membership)


def seen_between(
    session: Session, keys: Iterable[tuple[SubjectKind, int]], since: datetime, until: datetime
) -> list[Seen]:
    """The check-ins at these subjects' occurrences in [since, until), oldest first: one statement.

    Names as the subject's circle shows them (`accounts.shown_name`): a member who joined by text and never chose
    a name is shown by the label the circle gave them.
    """
    keys = list(keys)
    if not keys:
        return []
    circle = func.coalesce(Ritual.circle_id, Promise.circle_id)
    rows = session.execute(
        select(
            Occurrence.ritual_id,
            Occurrence.promise_id,
            Occurrence.at,
            CheckIn.person_id,
            Person.name,
            _IN_CIRCLE.status,
            _IN_CIRCLE.label,
            CheckIn.outcome,
            CheckIn.note,
            _BY.name,
            _BY_IN_CIRCLE.status,
            _BY_IN_CIRCLE.label,
        )
        .join(Occurrence, Occurrence.id == CheckIn.occurrence_id)
        .join(Person, Person.id == CheckIn.person_id)
        .outerjoin(Ritual, Ritual.id == Occurrence.ritual_id)
        .outerjoin(Promise, Promise.id == Occurrence.promise_id)
        .outerjoin(_IN_CIRCLE, and_(_IN_CIRCLE.person_id == CheckIn.person_id, _IN_CIRCLE.circle_id == circle))
        .outerjoin(_BY, _BY.id == CheckIn.by_id)
        .outerjoin(_BY_IN_CIRCLE, and_(_BY_IN_CIRCLE.person_id == CheckIn.by_id, _BY_IN_CIRCLE.circle_id == circle))
        .where(Occurrence.of_any(keys), Occurrence.at >= since, Occurrence.at < until)
        .order_by(Occurrence.at, CheckIn.id)
    )
    return [
        Seen(
            *subject_key(ritual_id, promise_id),
            at,
            person_id,
            accounts.shown_name(status or "", name, label),
            outcome,
            note,
            None if by is None else accounts.shown_name(by_status or "", by, by_label),
        )
        for ritual_id, promise_id, at, person_id, name, status, label, outcome, note, by, by_status, by_label in rows
    ]


def notes_of(session: Session, occurrence_ids: Iterable[int]) -> dict[int, dict[int, str]]:
    """occurrence id → {person id: note}: the note of each person's latest check-in that carries one."""
    notes: dict[int, dict[int, str]] = defaultdict(dict)
    for occurrence_id, person_id, note in session.execute(
        select(CheckIn.occurrence_id, CheckIn.person_id, CheckIn.note)
        .where(CheckIn.occurrence_id.in_(list(occurrence_ids)), CheckIn.note.is_not(None))
        .order_by(CheckIn.id)
    ):
        notes[occurrence_id][person_id] = cast(str, note)  # not null, as asked
    return notes


def checked_note(note: str | None) -> str | None:
    """The note as kept (one line, trimmed), or 422 naming `note` past 160 characters."""
    try:
        return clean_note(note)
    except NoteTooLong as error:
        raise Invalid(str(error), "note") from None


def not_me(session: Session, person_id: int, targets: list[Target], now: datetime) -> list[Target]:
    """NOT ME (SPEC §4): of these occurrences (locked), those still open where another participant checked in
    for this person go back to `pending` for them alone; returns them.

    The check-in made for them is removed (it was not theirs) and their figures re-folded from history.
    """
    undone = []
    for target in targets:
        if not is_open(target, now):
            continue
        removed = session.execute(
            delete(_CHECKINS)
            .where(
                _CHECKINS.c.occurrence_id == target.occurrence_id,
                _CHECKINS.c.person_id == person_id,
                _CHECKINS.c.by_id.is_not(None),
                ~exists().where(  # a check-in of their own since stands
                    _OWN.c.occurrence_id == target.occurrence_id,
                    _OWN.c.person_id == person_id,
                    _OWN.c.by_id.is_(None),
                ),
            )
            .returning(_CHECKINS.c.id)
        ).first()
        if removed is None:
            continue
        session.execute(
            update(_OUTCOMES)
            .where(_OUTCOMES.c.occurrence_id == target.occurrence_id, _OUTCOMES.c.person_id == person_id)
            .values(outcome=Outcome.PENDING, decided_at=None)
        )
        streak_figures.recompute_figure(session, streak_figures.key_of(target, person_id))
        restore_follow_up(session, target.occurrence_id, person_id, now)
        undone.append(target)
    return undone


def _requested(session: Session, subject: Subject, at: datetime, now: datetime) -> Occurrence:
    at = at.astimezone(UTC)
    stored = _stored(session, subject, at)
    if stored is not None:
        if not subject.opened(stored.opens_at, now):
            raise Invalid("That occurrence has not opened for check-ins yet.", "occurrence")
        return stored
    if not is_occurrence(subject.schedule(), at):
        raise Invalid("That instant is not an occurrence of this schedule.", "occurrence")
    return _added(session, subject, at, now)


def _default(session: Session, subject: Subject, now: datetime) -> Occurrence:
    """The open occurrence (the earliest, if several), else the latest that has begun.

    Read from the schedule around `now` (windows last at most a week after
    their start), so that a schedule the clock has not caught up yet still has
    its open occurrence; an older one is looked up among the stored.
    """
    recent = occurrences_between(
        subject.schedule(),
        now - DEFAULT_LOOKBACK,
        now + timedelta(minutes=subject.remind_before_minutes, microseconds=1),
    )
    open_now = [at for at, (opens, closes) in ((at, subject.window(at)) for at in recent) if opens <= now < closes]
    begun = [at for at in recent if at <= now]
    at = open_now[0] if open_now else begun[-1] if begun else None
    if at is None and subject.keeps_early:
        at = next_occurrence(subject.schedule(), now)  # a promise kept before its reminder
    if at is not None:
        return _stored(session, subject, at) or _added(session, subject, at, now)
    latest = session.scalar(
        select(Occurrence)
        .where(Occurrence.subject_column(subject.kind) == subject.id, Occurrence.at <= now)
        .order_by(Occurrence.at.desc())
        .limit(1)
    )
    if latest is None:
        raise Invalid("Nothing has begun yet to check in to.", "occurrence")
    return latest


def _added(session: Session, subject: Subject, at: datetime, now: datetime) -> Occurrence:
    """The occurrence at `at`, stored now as the clock would store it (the clock skips instants already stored)."""
    if not subject.may_check_in(at, now):
        raise Invalid("That occurrence has not opened for check-ins yet.", "occurrence")
    return occurrences.add_occurrence(session, subject, at, now)


def _stored(session: Session, subject: Subject, at: datetime) -> Occurrence | None:
    return session.scalar(
        select(Occurrence).where(Occurrence.subject_column(subject.kind) == subject.id, Occurrence.at == at)
    )
