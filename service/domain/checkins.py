"""Check-ins and the SMS conversation: what an inbound reply means for this person now, and the answer.

An inbound SMS is handled once per MessageSid: its InboundMessage row is the
first thing written, so a concurrent replay of the same webhook waits on that
insert and then answers what the first request answered (SPEC §3). Functions
here work in the caller's session; the caller commits, then rings the
doorbell for the SMS ids they return.

Decisions the spec leaves open:

- A reply applies to the person's latest reminder SMS. A plain DONE/SKIP on a
  numbered reminder applies to every item of it still open ("all done"); the
  first check-in carries the MessageSid (the column is unique), the others none.
- By SMS only a pending outcome changes: a second DONE is answered "already
  recorded", since a thumb-typed reply cannot be undone. The API may overwrite
  any outcome: that is how back-fills and corrections are made.
- A closed occurrence takes no SMS check-in (the answer says so); the API can
  back-fill it.
- YES from an opted-out person opts them back in: Twilio treats YES as an
  opt-in keyword too, and unblocks the number on its side.
- A promise's outcome is `on_time` or `late` by when Tend heard of it, even for
  a back-fill. Its recipient is told only when it is kept inside its window:
  news of a promise kept days ago would confuse more than it pleases.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Integer, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from service.core import sms_text
from service.core.replies import Reply, parse_reply
from service.core.schedule import is_occurrence, occurrence_local
from service.core.streaks import KEPT
from service.domain import feed_store, occurrences, streak_figures
from service.domain.db import insert_for, on_postgres
from service.domain.errors import Forbidden, Invalid
from service.domain.models import (
    CheckIn,
    InboundMessage,
    Membership,
    Occurrence,
    OccurrenceOutcome,
    OutboundSms,
    Person,
    Promise,
    Ritual,
)
from service.domain.outbox import queue_sms_row
from service.domain.subjects import Subject, schedule_of

log = logging.getLogger(__name__)

DEFAULT_PAUSE_DAYS = 7
# Twilio Advanced Opt-Out names the keyword class it matched, custom keywords included.
OPT_OUT_TYPES = {"STOP": Reply("stop"), "START": Reply("start"), "HELP": Reply("help")}


@dataclass(frozen=True)
class Inbound:
    message_sid: str
    sender: str  # E.164, Twilio's `From`
    body: str
    opt_out_type: str | None = None  # Twilio's `OptOutType`, when Advanced Opt-Out matched a keyword


@dataclass
class Answer:
    """The reply text (TwiML body; empty for none); SMS queued for others are rung after commit."""

    reply: str


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


@dataclass(frozen=True)
class Decided:
    checkin_id: int
    outcome: str
    streak: int  # the current streak, this outcome counted


# Inbound SMS


def handle_inbound(session: Session, inbound: Inbound, now: datetime) -> Answer:
    """Apply one signed inbound SMS and compose the reply; a replayed MessageSid changes nothing."""
    found = session.execute(_PERSON_BY_PHONE, {"phone": inbound.sender}).first()
    if found is None:
        log.info("inbound SMS %s from an unknown number: nothing stored", inbound.message_sid)
        return Answer(sms_text.unknown_sender_text())
    person, invited = found
    if not _claim(session, inbound, person, now):
        log.info("inbound SMS %s from person %s is a replay", inbound.message_sid, person.id)
        return Answer(session.execute(_FIRST_REPLY, {"sid": inbound.message_sid}).scalar() or "")
    reply = OPT_OUT_TYPES.get((inbound.opt_out_type or "").upper()) or parse_reply(inbound.body)
    log.info("inbound SMS %s from person %s: %s", inbound.message_sid, person.id, reply.command)
    answer = respond(session, person, reply, inbound.message_sid, now, invited=invited)
    if answer.reply:
        session.execute(_REPLY, {"b_sid": inbound.message_sid, "b_reply": answer.reply})
    return answer


_INBOUND = InboundMessage.__table__
# The sender, and whether a circle's invitation awaits their YES (so that YES does not load their memberships).
_PERSON_BY_PHONE = select(
    Person,
    exists().where(Membership.person_id == Person.id, Membership.status == "invited").label("invited"),
).where(Person.phone == bindparam("phone"))


def _claim(session: Session, inbound: Inbound, person: Person, now: datetime) -> bool:
    """Insert the message's idempotency row; False when another request already holds this MessageSid.

    One INSERT ... ON CONFLICT DO NOTHING: a concurrent insert of the same key
    blocks until the holder commits (and then inserts nothing), so by the time
    this returns False the first request's reply is readable.
    """
    claimed = session.execute(
        _CLAIM[on_postgres(session)],
        {
            "message_sid": inbound.message_sid,
            "person_id": person.id,
            "body": inbound.body,
            "received_at": now,
        },
    ).first()
    return claimed is not None


# Statements of the hot path, built once (building and caching a statement per request costs more than running it).
_CLAIM = {
    postgres: insert_for(postgres)(_INBOUND)
    .values(
        message_sid=bindparam("message_sid"),
        person_id=bindparam("person_id"),
        body=bindparam("body"),
        reply="",
        received_at=bindparam("received_at"),
    )
    .on_conflict_do_nothing(index_elements=[_INBOUND.c.message_sid])
    .returning(_INBOUND.c.message_sid)
    for postgres in (False, True)
}
_REPLY = update(_INBOUND).where(_INBOUND.c.message_sid == bindparam("b_sid")).values(reply=bindparam("b_reply"))
_FIRST_REPLY = select(_INBOUND.c.reply).where(_INBOUND.c.message_sid == bindparam("sid"))
_OUTCOMES = OccurrenceOutcome.__table__
# The person's outcome, only if still pending (True) or whatever it was (False).
_DECIDE = {
    only_pending: update(_OUTCOMES)
    .where(
        _OUTCOMES.c.occurrence_id == bindparam("b_occurrence"),
        _OUTCOMES.c.person_id == bindparam("b_person"),
        *([_OUTCOMES.c.outcome == "pending"] if only_pending else []),
    )
    .values(outcome=bindparam("b_outcome"), decided_at=bindparam("b_now"))
    for only_pending in (False, True)
}
_ADD_CHECKIN = insert(CheckIn.__table__).returning(CheckIn.__table__.c.id)


def respond(
    session: Session, person: Person, reply: Reply, message_sid: str | None, now: datetime, invited: bool | None = None
) -> Answer:
    """What one parsed reply does for this person, and what to answer (SPEC §4).

    `invited`: whether a circle's invitation awaits this person, when the caller already knows.
    """
    match reply.command:
        case "stop":
            person.sms_status = "opted_out"
            return Answer(sms_text.opted_out_text())
        case "start":
            return _opt_in(session, person, now)
        case "yes" if person.sms_status == "opted_out":
            return _opt_in(session, person, now)
        case _ if person.sms_status == "opted_out":
            return Answer(sms_text.opted_out_text())
        case "yes" if person.sms_status == "pending" or (bool(_invitations(person)) if invited is None else invited):
            return _opt_in(session, person, now, join=True)
        case "yes" | "done" | "skip":
            return _check_in_by_sms(session, person, reply, message_sid, now)
        case "streak":
            figures = streak_figures.person_figures(session, person.id, now)
            return Answer(sms_text.streaks_text([(s.title, s.state.current_streak) for s in figures.subjects]))
        case "pause":
            days = reply.days or DEFAULT_PAUSE_DAYS
            person.paused_until = now + timedelta(days=days)
            return Answer(sms_text.paused_text(days, occurrence_local(person.paused_until, person.timezone).date()))
        case "resume":
            person.paused_until = None
            return Answer(sms_text.resumed_text())
        case _:
            return Answer(sms_text.help_text())


def _invitations(person: Person) -> list[Membership]:
    return [m for m in person.memberships if m.status == "invited"]


def _opt_in(session: Session, person: Person, now: datetime, join: bool = False) -> Answer:
    """Active again (or for the first time); with `join`, also a member of every circle they were invited to."""
    person.sms_status = "active"
    joined = _invitations(person) if join else []
    for membership in joined:
        membership.status = "active"
        session.flush()
        occurrences.include_participant(session, membership.circle_id, person.id, now)
    if not joined:
        return Answer(sms_text.opted_in_text())
    return Answer(_joined_text(", ".join(m.circle.name for m in joined)))


def _check_in_by_sms(session: Session, person: Person, reply: Reply, message_sid: str | None, now: datetime) -> Answer:
    """DONE / SKIP for the items of the latest reminder: only a pending outcome of an open occurrence changes."""
    items = _reminder_items(session, person.id, reply.item)
    if not items:
        if reply.item is not None and latest_reminder(session, person.id):
            return Answer(_no_such_item_text(reply.item))
        return Answer(sms_text.nothing_open_text())
    kept = reply.command != "skip"
    decisions: dict[int, Decided] = {}  # by position in the reminder
    closed: list[int] = []
    already: list[int] = []
    for position, item in sorted(enumerate(items), key=lambda pair: streak_figures.figure_order(pair[1])):
        if not is_open(item, now):
            closed.append(position)
            continue
        decided = decide(
            session,
            item,
            person,
            kept,
            source="sms",
            now=now,
            only_pending=True,
            message_sid=None if decisions else message_sid,
        )
        if decided is None:
            already.append(position)  # decided already, or this person is not expected there
            continue
        decisions[position] = decided
    if decisions:
        for circle_id in sorted({items[p].circle_id for p in decisions if items[p].has_feeds}):
            feed_store.mark_dirty(session, circle_id=circle_id, now=now)  # feeds after figures, as the clock does
        in_order = sorted(decisions.items())
        return Answer(
            _joined_confirmations(
                [sms_text.checkin_confirmation_text(items[p].title, d.outcome, d.streak) for p, d in in_order]
            )
        )
    if closed:
        return Answer(_closed_text(items[min(closed)].title))
    return Answer(_already_text(items[min(already)].title))


def latest_reminder(session: Session, person_id: int) -> list[OutboundSms]:
    """The rows (items) of the last reminder SMS Twilio accepted for this person, in item order."""
    last = session.scalar(
        select(OutboundSms)
        .where(
            OutboundSms.person_id == person_id,
            OutboundSms.kind == "reminder",
            OutboundSms.state.in_(("sent", "delivered")),
            OutboundSms.sid.is_not(None),
        )
        .order_by(OutboundSms.sent_at.desc(), OutboundSms.id.desc())
        .limit(1)
    )
    if last is None:
        return []
    return list(
        session.scalars(
            select(OutboundSms)
            .where(OutboundSms.person_id == person_id, OutboundSms.kind == "reminder", OutboundSms.sid == last.sid)
            .order_by(OutboundSms.item, OutboundSms.id)
        )
    )


def _latest_reminder_items(numbered: bool):
    """One statement: the items of the person's latest accepted reminder (as `latest_reminder`), or only the
    numbered one, as `Target`s: each with its occurrence (row locked, in item order), subject, a promise's
    recipient, and whether any feed shows the subject's circle (`feed_store.feeds_showing`).

    Core, on tables: selecting ORM attributes would cost an ORM compile step per execution.
    """
    sms, occurrence, ritual, promise = (
        OutboundSms.__table__.c,
        Occurrence.__table__,
        Ritual.__table__.c,
        Promise.__table__.c,
    )
    last_sid = (
        select(sms.sid)
        .where(
            sms.person_id == bindparam("person_id"),
            sms.kind == "reminder",
            or_(sms.state == "sent", sms.state == "delivered"),
            sms.sid.is_not(None),
        )
        .order_by(sms.sent_at.desc(), sms.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    circle = func.coalesce(ritual.circle_id, promise.circle_id)
    query = (
        select(
            occurrence.c.id.label("occurrence_id"),
            occurrence.c.ritual_id,
            occurrence.c.promise_id,
            occurrence.c.at,
            occurrence.c.closes_at,
            occurrence.c.closed,
            func.coalesce(ritual.title, promise.title).label("title"),
            circle.label("circle_id"),
            promise.recipient_id,
            exists(feed_store.feeds_showing(circle)).label("has_feeds"),
        )
        .select_from(OutboundSms.__table__)
        .join(occurrence, occurrence.c.id == sms.occurrence_id)
        .outerjoin(Ritual.__table__, ritual.id == occurrence.c.ritual_id)
        .outerjoin(Promise.__table__, promise.id == occurrence.c.promise_id)
        .where(sms.person_id == bindparam("person_id"), sms.kind == "reminder", sms.sid == last_sid)
        .order_by(sms.item, sms.id)
        .with_for_update(of=occurrence)
    )
    return query.where(sms.item == bindparam("item", type_=Integer)) if numbered else query


_REMINDER_ITEMS = {numbered: _latest_reminder_items(numbered) for numbered in (False, True)}


def _reminder_items(session: Session, person_id: int, item: int | None) -> list:
    """The items a DONE/SKIP applies to, their occurrences locked (see `_latest_reminder_items`)."""
    if item is None:
        return list(session.execute(_REMINDER_ITEMS[False], {"person_id": person_id}))
    return list(session.execute(_REMINDER_ITEMS[True], {"person_id": person_id, "item": item}))


# Recording


def decide(
    session: Session,
    target: Target,
    person: Person,
    kept: bool,
    *,
    source: str,
    now: datetime,
    only_pending: bool,
    message_sid: str | None = None,
) -> Decided | None:
    """Decide the person's outcome of the occurrence and fold it in; None when nothing changed.

    The outcome row is set (with `only_pending`, only if still pending), a
    check-in stored, the streak figures advanced, and a promise's recipient
    told when it is kept inside its window. None (and nothing written) when the
    person has no outcome there, or with `only_pending` has one decided
    already. A few Core statements, no ORM flush. The caller holds the
    occurrence's row lock, so the clock cannot close it as missed between our
    read and our write, and marks the circle's feeds dirty after all its
    decisions (locks in one order: occurrences, figures by
    `streak_figures.figure_order`, feeds).
    """
    outcome = _outcome_of(target.promise_id is None, target.at, kept, now)
    changed = session.execute(
        _DECIDE[only_pending],
        {"b_occurrence": target.occurrence_id, "b_person": person.id, "b_outcome": outcome, "b_now": now},
    )
    if changed.rowcount != 1:
        return None
    checkin_id = session.execute(
        _ADD_CHECKIN,
        {
            "occurrence_id": target.occurrence_id,
            "person_id": person.id,
            "outcome": outcome,
            "source": source,
            "received_at": now,
            "message_sid": message_sid,
        },
    ).scalar_one()
    streak = streak_figures.fold(session, streak_figures.key_of(target, person.id), target.at, outcome).current_streak
    if target.promise_id is not None and outcome in KEPT and is_open(target, now):
        queue_sms_row(
            session,
            person_id=target.recipient_id,
            kind="promise_kept",
            body=sms_text.promise_kept_text(person.name, target.title, late=outcome == "late"),
            dedupe_key=f"promise_kept:{target.occurrence_id}",
            due_at=now,
            occurrence_id=target.occurrence_id,
        )
    return Decided(checkin_id, outcome, streak)


def _outcome_of(ritual: bool, at: datetime, kept: bool, received_at: datetime) -> str:
    if not kept:
        return "skipped"
    if ritual:
        return "done"
    return "on_time" if received_at <= at else "late"


def is_open(occurrence: Occurrence | Target, now: datetime) -> bool:
    """Inside its check-in window; the clock may not have marked an ended one closed yet."""
    return not occurrence.closed and now < occurrence.closes_at


def _locked_occurrence(session: Session, occurrence_id: int) -> Occurrence:
    return session.scalars(
        select(Occurrence)
        .where(Occurrence.id == occurrence_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


# Check-ins through the API


def check_in_by_api(
    session: Session, person: Person, subject: Subject, at: datetime | None, kept: bool, now: datetime
) -> Recorded:
    """Check in to one occurrence: the given instant, or by default the open or latest one.

    Past occurrences may be back-filled (a missed one becomes done); one whose
    window has not opened yet cannot be checked in to. Only people expected at
    the occurrence (its participants, a promise's keeper) may check in.
    """
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
        subject.recipient_id if isinstance(subject, Promise) else None,
    )
    decided = decide(session, target, person, kept, source="api", now=now, only_pending=False)
    if decided is None:  # no outcome row: not expected there
        raise Forbidden("Only the people expected at this occurrence can check in to it.")
    feed_store.mark_dirty(session, circle_id=subject.circle_id, now=now)
    checkin = CheckIn(
        id=decided.checkin_id,
        occurrence_id=occurrence.id,
        person_id=person.id,
        outcome=decided.outcome,
        source="api",
        received_at=now,
        message_sid=None,
    )
    return Recorded(checkin, occurrence, subject)


def _requested(session: Session, subject: Subject, at: datetime, now: datetime) -> Occurrence:
    at = at.astimezone(UTC)
    stored = _stored(session, subject, at)
    opens_at = stored.opens_at if stored else at - timedelta(minutes=subject.remind_before_minutes)
    if opens_at > now:
        raise Invalid("That occurrence has not opened for check-ins yet.", "occurrence")
    if stored is not None:
        return stored
    if not is_occurrence(schedule_of(subject), at):
        raise Invalid("That instant is not an occurrence of this schedule.", "occurrence")
    return _materialized(session, subject, at, now)


def _default(session: Session, subject: Subject, now: datetime) -> Occurrence:
    """The open occurrence (the earliest, if several), else the latest that has begun."""
    if subject.materialized_until <= now:
        _materialize_through(session, subject, now, now)
    column = _subject_column(subject)
    occurrence = session.scalar(
        select(Occurrence)
        .where(
            column == subject.id, Occurrence.closed.is_(False), Occurrence.opens_at <= now, Occurrence.closes_at > now
        )
        .order_by(Occurrence.at)
        .limit(1)
    ) or session.scalar(
        select(Occurrence).where(column == subject.id, Occurrence.at <= now).order_by(Occurrence.at.desc()).limit(1)
    )
    if occurrence is None:
        raise Invalid("Nothing has begun yet to check in to.", "occurrence")
    return occurrence


def _materialized(session: Session, subject: Subject, at: datetime, now: datetime) -> Occurrence:
    """The occurrence at `at`, created now as the clock would create it.

    Below the subject's `materialized_until` the clock will never add it (an
    instant of an edited rule), so it is added here; above it, the clock's own
    step runs first, or the clock would later insert the same instant again.
    """
    _materialize_through(session, subject, at, now)
    stored = _stored(session, subject, at)
    if stored is None:
        if at >= subject.materialized_until:  # past the clock's horizon: its own tick will add it
            raise Invalid("That occurrence has not opened for check-ins yet.", "occurrence")
        occurrences.add_occurrence(session, subject, at, now)
        stored = _stored(session, subject, at)
    return stored


def _materialize_through(session: Session, subject: Subject, through: datetime, now: datetime) -> None:
    """Run the clock's materialization for this subject until it covers `through` (or its horizon)."""
    session.refresh(subject, with_for_update=True)  # a concurrent clock tick waits, or we wait for it
    while subject.materialized_until <= through:
        reached = subject.materialized_until
        occurrences.materialize(session, [subject], now)
        if subject.materialized_until == reached:
            return


def _stored(session: Session, subject: Subject, at: datetime) -> Occurrence | None:
    return session.scalar(select(Occurrence).where(_subject_column(subject) == subject.id, Occurrence.at == at))


def _subject_column(subject: Subject):
    return Occurrence.ritual_id if isinstance(subject, Ritual) else Occurrence.promise_id


# Replies that only this conversation needs


def _joined_text(circles: str) -> str:
    return sms_text.fit_segments(
        lambda names: (
            f'Tend: You joined "{names}"! You\'ll get reminders for your rituals. Reply HELP for help, STOP to opt out.'
        ),
        circles,
    )


def _no_such_item_text(item: int) -> str:
    return f"Your last reminder has no item {item}. Reply DONE or SKIP with a number from that reminder."


def _closed_text(title: str) -> str:
    return sms_text.fit_segments(lambda t: f"Too late to check in for {t}: its time has passed.", title)


def _already_text(title: str) -> str:
    return sms_text.fit_segments(lambda t: f"Already recorded for {t}. Reply STREAK to see your streaks.", title)


def _joined_confirmations(confirmations: list[str]) -> str:
    """Each item's confirmation, or a count when they would not fit two segments together."""
    joined = " ".join(confirmations)
    if sms_text.segment_count(joined) <= sms_text.MAX_SEGMENTS:
        return joined
    return f"Recorded {len(confirmations)} check-ins. Reply STREAK to see your streaks."
