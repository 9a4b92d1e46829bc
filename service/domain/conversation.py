"""The SMS conversation: what an inbound reply means for this person now, and the answer (SPEC §4).

An inbound SMS is handled once per MessageSid: its InboundMessage row is the
first thing written, so a concurrent replay of the same webhook waits on that
insert and then answers what the first request answered (SPEC §3). Functions
here work in the caller's session; the caller commits through the unit of
work, which rings for whatever SMS they queued.

Decisions the spec leaves open:

- A reply applies to the person's latest prompt: a reminder, a follow-up, or the
  notice that a together ritual was checked in for them (NOT ME answers it). A plain DONE/SKIP on a
  numbered reminder applies to every item of it still open ("all done"); the
  first check-in carries the MessageSid (the column is unique), the others none.
- By SMS only a pending outcome changes: a second DONE is answered "already
  recorded", since a thumb-typed reply cannot be undone. The API may overwrite
  any outcome: that is how back-fills and corrections are made.
- A closed occurrence takes no SMS check-in (the answer says so); the API can
  back-fill it.
- YES from an opted-out person opts them back in: Twilio treats YES as an
  opt-in keyword too, and unblocks the number on its side.
- JOIN, NO and YES answer an invitation only when the latest SMS Tend sent the
  number is that invitation (JOIN also takes the newest pending one): a YES to
  a reminder never joins a circle (SPEC §4). Joining makes the person active.
- An `invited` number (no consent yet) can only join, decline, opt out or get
  help: it has nothing to check in and gets no reminders.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Integer, and_, bindparam, exists, func, literal, or_, select, union_all, update
from sqlalchemy.orm import Session

from service.core import sms_text
from service.core.replies import Reply, parse_reply
from service.core.schedule import occurrence_local
from service.core.streaks import Outcome
from service.domain import accounts, checkins, editing, feed_changes, outbox, streak_figures, texted_setup
from service.domain.checkins import Decided, decide, is_open
from service.domain.db import Direct, insert_for, on_postgres
from service.domain.errors import Invalid
from service.domain.models import (
    PROMPTS,
    CheckinSource,
    InboundMessage,
    Membership,
    MembershipStatus,
    Occurrence,
    OccurrenceOutcome,
    OutboundSms,
    Person,
    PersonStatus,
    Promise,
    Ritual,
    RitualMode,
    SmsKind,
    SmsState,
    table,
)
from service.domain.outbox import queue_sms

log = logging.getLogger(__name__)

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


def handle_inbound(
    session: Session, inbound: Inbound, now: datetime, links: texted_setup.Links | None = None
) -> Answer:
    """Apply one signed inbound SMS and compose the reply; a replayed MessageSid changes nothing.

    `links`: the service's public URL and SMS countries, for setting up by text (FEED, INVITE).
    """
    reply = OPT_OUT_TYPES.get((inbound.opt_out_type or "").upper()) or parse_reply(inbound.body)
    found = _claimed_sender(session, inbound, reply, now)
    if found is None:
        log.info("inbound SMS %s from an unknown number: nothing stored", inbound.message_sid)
        return Answer(sms_text.unknown_sender_text())
    person, invited, claimed = found
    if not claimed:
        log.info("inbound SMS %s from person %s is a replay", inbound.message_sid, person.id)
        return Answer(_FIRST_REPLY(session, {"sid": inbound.message_sid}).scalar() or "")
    log.info("inbound SMS %s from person %s: %s", inbound.message_sid, person.id, reply.command)
    answer = respond(session, person, reply, inbound.message_sid, now, invited=invited, links=links)
    if answer.reply:
        _REPLY(session, {"b_sid": inbound.message_sid, "b_reply": answer.reply})
    return answer


class Sender(Protocol):
    """The person who texted, as the conversation reads them: a row, or the ORM person where a command changes them."""

    id: int
    sms_status: str


# Replies that only read their sender: a row will do (no ORM object built). Others change the person.
_READING = frozenset({"yes", "done", "skip", "not_me", "streak", "help", "unknown"})
_INBOUND = table(InboundMessage)


def _invited(person_id):
    """Whether a circle's invitation awaits the sender's YES (so that YES does not load their memberships)."""
    return exists().where(Membership.person_id == person_id, Membership.status == MembershipStatus.INVITED)


_PEOPLE = table(Person)
_SENDER = select(_PEOPLE.c.id, _PEOPLE.c.sms_status, _invited(_PEOPLE.c.id).label("invited")).where(
    _PEOPLE.c.phone == bindparam("phone")
)
_SENDER_ROW = Direct(_SENDER)
_SENDER_PERSON = select(Person, _invited(Person.id).label("invited")).where(Person.phone == bindparam("phone"))


def _claiming_sender():
    """PostgreSQL: the sender (as `_SENDER`) and their claim of the MessageSid (as `_claim`) in one statement."""
    sender = _SENDER.cte("sender")
    values = select(
        bindparam("message_sid", type_=_INBOUND.c.message_sid.type),
        sender.c.id,
        bindparam("body", type_=_INBOUND.c.body.type),
        literal(""),
        bindparam("received_at", type_=_INBOUND.c.received_at.type),
    )
    claim = (
        insert_for(True)(_INBOUND)
        .from_select(["message_sid", "person_id", "body", "reply", "received_at"], values)
        .on_conflict_do_nothing(index_elements=[_INBOUND.c.message_sid])
        .returning(_INBOUND.c.message_sid)
        .cte("claim")
    )
    return select(sender, select(claim.c.message_sid).exists().label("claimed"))


_CLAIMING_SENDER = Direct(_claiming_sender())


def _claimed_sender(
    session: Session, inbound: Inbound, reply: Reply, now: datetime
) -> tuple[Sender, bool, bool] | None:
    """The sender, whether an invitation awaits them, and whether this request claimed the MessageSid (`_claim`);
    None for an unknown number (nothing stored). A reply that only reads its sender takes one statement on
    PostgreSQL; other replies load the ORM person."""
    if reply.command not in _READING:
        found = session.execute(_SENDER_PERSON, {"phone": inbound.sender}).first()
        return None if found is None else (found[0], found[1], _claim(session, inbound, found[0], now))
    if on_postgres(session):
        row = _CLAIMING_SENDER(session, _claim_values(inbound, now) | {"phone": inbound.sender}).first()
        return None if row is None else (row, row.invited, row.claimed)
    row = _SENDER_ROW(session, {"phone": inbound.sender}).first()
    return None if row is None else (row, row.invited, _claim(session, inbound, row, now))


def _loaded(session: Session, sender: Sender) -> Person:
    """The ORM person behind the sender, for a command that changes them."""
    return sender if isinstance(sender, Person) else session.get_one(Person, sender.id)


def _claim(session: Session, inbound: Inbound, person: Sender, now: datetime) -> bool:
    """Insert the message's idempotency row; False when another request already holds this MessageSid.

    One INSERT ... ON CONFLICT DO NOTHING: a concurrent insert of the same key
    blocks until the holder commits (and then inserts nothing), so by the time
    this returns False the first request's reply is readable.
    """
    claimed = _CLAIM[on_postgres(session)](session, _claim_values(inbound, now) | {"person_id": person.id}).first()
    return claimed is not None


def _claim_values(inbound: Inbound, now: datetime) -> dict:
    return {"message_sid": inbound.message_sid, "body": inbound.body, "received_at": now}


# Statements of the hot path, built once (building and caching a statement per request costs more than running it).
_CLAIM = {
    postgres: Direct(
        insert_for(postgres)(_INBOUND)
        .values(
            message_sid=bindparam("message_sid"),
            person_id=bindparam("person_id"),
            body=bindparam("body"),
            reply="",
            received_at=bindparam("received_at"),
        )
        .on_conflict_do_nothing(index_elements=[_INBOUND.c.message_sid])
        .returning(_INBOUND.c.message_sid)
    )
    for postgres in (False, True)
}
_REPLY = Direct(update(_INBOUND).where(_INBOUND.c.message_sid == bindparam("b_sid")).values(reply=bindparam("b_reply")))
_FIRST_REPLY = Direct(select(_INBOUND.c.reply).where(_INBOUND.c.message_sid == bindparam("sid")))


def respond(
    session: Session,
    person: Sender,
    reply: Reply,
    message_sid: str | None,
    now: datetime,
    invited: bool | None = None,
    links: texted_setup.Links | None = None,
) -> Answer:
    """What one parsed reply does for this person, and what to answer (SPEC §4).

    `invited`: whether a circle's invitation awaits this person, when the caller already knows.
    """
    match reply.command:
        case "stop":
            _loaded(session, person).sms_status = PersonStatus.OPTED_OUT
            return Answer(sms_text.opted_out_text())
        case "start":
            return _opt_in(_loaded(session, person))
        case "join" | "no" | "yes" if (invitation := _answered_invitation(session, person, reply, invited)) is not None:
            if reply.command == "no":
                accounts.decline(session, invitation, now)
                return Answer(sms_text.declined_text())
            circle = accounts.accept(session, invitation, now)
            return Answer(sms_text.joined_text(circle.name))
        case "yes" if person.sms_status == PersonStatus.OPTED_OUT:
            return _opt_in(_loaded(session, person))
        case _ if person.sms_status == PersonStatus.OPTED_OUT:
            return Answer(sms_text.opted_out_text())
        case "join" | "no":
            return Answer(sms_text.not_joined_text())
        case _ if person.sms_status == PersonStatus.INVITED:
            return Answer(sms_text.help_text())  # no consent yet: nothing to check in, pause or report
        case "yes" | "done" | "skip":
            return _check_in_by_sms(session, person, reply, message_sid, now)
        case "not_me":
            return _not_me(session, person, now)
        case "streak":
            figures = streak_figures.person_figures(session, person.id, now)
            return Answer(sms_text.streaks_text([(s.title, s.state.current_streak) for s in figures.subjects]))
        case "pause":
            days = editing.DEFAULT_PAUSE_DAYS if reply.days is None else reply.days
            paused = _loaded(session, person)
            try:
                until = editing.pause_person(paused, days, now)
            except Invalid as refused:
                return Answer(sms_text.refused_text(refused.message))
            return Answer(sms_text.paused_text(days, occurrence_local(until, paused.timezone).date()))
        case "resume":
            editing.resume_person(_loaded(session, person), now)
            return Answer(sms_text.resumed_text())
        case "later":
            return _later(session, _loaded(session, person), reply.minutes or 0, now)
        case "new" | "promise" | "invite" | "move" | "drop" | "choose" | "ok" | "list" | "feed" if links:
            return Answer(texted_setup.respond(session, _loaded(session, person), reply, now, links))
        case _:
            return Answer(sms_text.help_text())


def _answered_invitation(session: Session, sender: Sender, reply: Reply, invited: bool | None) -> Membership | None:
    """The invitation a JOIN, NO or YES answers: the latest SMS Tend sent this number, if an invitation.

    JOIN also answers the newest pending invitation when the latest SMS was something else.
    `invited` (whether any invitation is pending, when known) spares the look-up for everyday replies.
    """
    if invited is False:
        return None
    person = _loaded(session, sender)
    latest = accounts.latest_invitation(session, person)
    if latest is None and reply.command == "join":
        pending = accounts.invitations(session, person)
        return pending[0] if pending else None
    return latest


def _opt_in(person: Person) -> Answer:
    """Back in after STOP (START, or YES: Twilio treats YES as an opt-in keyword too); a number that never
    consented is told it has still to join."""
    accounts.opt_in(person)
    if person.sms_status == PersonStatus.INVITED:
        return Answer(sms_text.opted_in_not_joined_text())
    return Answer(sms_text.opted_in_text())


def _check_in_by_sms(session: Session, person: Sender, reply: Reply, message_sid: str | None, now: datetime) -> Answer:
    """DONE / SKIP for the items of the latest reminder, or, when none of them is open, for what is open for the
    person now (as /today offers it): only a pending outcome of an open occurrence changes."""
    items = _reminder_items(session, person.id, reply.item)
    if not any(is_open(item, now) for item in items):
        items = _open_now(session, person.id, reply.item, now) or items
    if not items:
        if reply.item is not None and latest_reminder(session, person.id):
            return Answer(sms_text.no_such_item_text(reply.item))
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
            person.id,
            kept,
            source=CheckinSource.SMS,
            now=now,
            only_pending=True,
            message_sid=None if decisions else message_sid,
            note=reply.note,
        )
        if decided is None:
            already.append(position)  # decided already, or this person is not expected there
            continue
        decisions[position] = decided
    if decisions:
        for circle_id in sorted({items[p].circle_id for p in decisions if items[p].has_feeds}):
            feed_changes.mark_dirty(session, circle_id=circle_id, now=now)  # feeds after figures, as the clock does
        in_order = sorted(decisions.items())
        return Answer(
            sms_text.joined_confirmations(
                [sms_text.checkin_confirmation_text(items[p].title, d.outcome, d.streak) for p, d in in_order]
            )
        )
    if closed:
        return Answer(sms_text.too_late_text(items[min(closed)].title))
    return Answer(sms_text.already_recorded_text(items[min(already)].title))


def _later(session: Session, person: Person, minutes: int, now: datetime) -> Answer:
    """LATER n: the latest reminder's open items come again in n minutes, if their check-in window is still open then.

    One re-sent reminder per occurrence and person; a second LATER before it went moves it. The sender drops it
    when the window has closed or the person checked in by then, as it does any reminder.
    """
    items = [row for row in latest_reminder(session, person.id) if row.occurrence_id is not None]
    if not items:
        return Answer(sms_text.nothing_open_text())
    due = now + timedelta(minutes=minutes)
    occurrences = {
        o.id: o for o in session.scalars(select(Occurrence).where(Occurrence.id.in_([r.occurrence_id for r in items])))
    }
    pending = set(
        session.scalars(
            select(OccurrenceOutcome.occurrence_id).where(
                OccurrenceOutcome.occurrence_id.in_(occurrences),
                OccurrenceOutcome.person_id == person.id,
                OccurrenceOutcome.outcome == Outcome.PENDING,
            )
        )
    )
    if not pending:
        return Answer(sms_text.nothing_open_text())
    again = [o for o in occurrences.values() if o.id in pending and not o.closed and o.closes_at > due]
    if not again:
        return Answer(sms_text.too_late_for_later_text(minutes))
    planned = 0
    for occurrence in again:
        queued = queue_sms(
            session,
            person=person,
            kind=SmsKind.AGAIN,
            body=None,
            dedupe_key=f"again:{occurrence.id}:{person.id}",
            due_at=due,
            occurrence_id=occurrence.id,
        )
        # one again per occurrence and person: a second LATER moves it while it waits
        planned += queued is not None or outbox.defer_waiting(session, occurrence.id, person.id, SmsKind.AGAIN, due)
    return Answer(sms_text.later_text(minutes) if planned else sms_text.again_already_text())


def _not_me(session: Session, person: Sender, now: datetime) -> Answer:
    """NOT ME: the together check-ins someone made for this person on the items of their latest prompt are undone."""
    undone = checkins.not_me(session, person.id, _reminder_items(session, person.id, None), now)
    if not undone:
        return Answer(sms_text.nobody_checked_in_for_you_text())
    for circle_id in sorted({target.circle_id for target in undone}):
        feed_changes.mark_dirty(session, circle_id=circle_id, now=now)
    return Answer(sms_text.not_me_text(undone[0].title))


def latest_reminder(session: Session, person_id: int) -> list[OutboundSms]:
    """The rows (items) of the last reminder SMS that may have reached this person, in item order.

    That is the last one Twilio accepted, or one a worker claimed and may be sending right now (`sending`, SID
    not recorded yet: the worker records results in groups, or died before it could). A reply counts for it all
    the same; the rows of one claimed SMS share their claim time and body until its SID is recorded.
    """
    anchor_id = session.scalar(_LATEST_REMINDER_ID, {"person_id": person_id})
    if anchor_id is None:
        return []
    return list(
        session.scalars(
            select(OutboundSms)
            .join(_SAME_SMS, _SAME_SMS.c.id == anchor_id)
            .where(_same_sms())
            .order_by(OutboundSms.item, OutboundSms.id)
        )
    )


def _latest_reminder_id():
    """The id of the person's latest reminder row that may have reached them (see `latest_reminder`).

    Two index walks, one on (person, sent_at) for the last accepted SMS and one for a claim in flight (no
    `sent_at` yet), and the later of the two.
    """
    sms = table(OutboundSms).c
    person = sms.person_id == bindparam("person_id")
    accepted = (
        select(sms.id.label("id"), sms.sent_at.label("at"))
        .where(
            person,
            sms.kind.in_(PROMPTS),
            or_(sms.state == SmsState.SENT, sms.state == SmsState.DELIVERED),
            sms.sid.is_not(None),
        )
        .order_by(sms.sent_at.desc(), sms.id.desc())
        .limit(1)
        .subquery()
    )
    in_flight = (
        select(sms.id.label("id"), sms.claimed_at.label("at"))
        .where(person, sms.sent_at.is_(None), sms.kind.in_(PROMPTS), sms.state == SmsState.SENDING)
        .order_by(sms.claimed_at.desc(), sms.id.desc())
        .limit(1)
        .subquery()
    )
    either = union_all(select(accepted.c.id, accepted.c.at), select(in_flight.c.id, in_flight.c.at)).subquery()
    return select(either.c.id).order_by(either.c.at.desc(), either.c.id.desc()).limit(1)


_LATEST_REMINDER_ID = _latest_reminder_id()
_SAME_SMS = table(OutboundSms).alias("anchor")


def _same_sms():
    """Rows of the anchor's SMS: the same SID once recorded, else the same claim (person, time, body) in flight."""
    sms, anchor = table(OutboundSms).c, _SAME_SMS.c
    return and_(
        sms.person_id == anchor.person_id,
        sms.kind.in_(PROMPTS),
        or_(
            and_(anchor.sid.is_not(None), sms.sid == anchor.sid),
            and_(
                anchor.sid.is_(None),
                sms.state == SmsState.SENDING,
                sms.claimed_at == anchor.claimed_at,
                sms.body == anchor.body,
            ),
        ),
    )


def _targets(source, numbered: bool):
    """The `Target` columns of the occurrences `source` names (a select with its own joins to `occurrence`): each
    with its subject, a promise's recipient and whether any feed shows the subject's circle
    (`feed_changes.feeds_showing`), occurrence rows locked.

    Core, on tables: selecting ORM attributes would cost an ORM compile step per execution.
    """
    occurrence, ritual, promise = table(Occurrence), table(Ritual).c, table(Promise).c
    circle = func.coalesce(ritual.circle_id, promise.circle_id)
    return (
        source.add_columns(
            occurrence.c.id.label("occurrence_id"),
            occurrence.c.ritual_id,
            occurrence.c.promise_id,
            occurrence.c.at,
            occurrence.c.closes_at,
            occurrence.c.closed,
            func.coalesce(ritual.title, promise.title).label("title"),
            circle.label("circle_id"),
            promise.recipient_id,
            (func.coalesce(ritual.mode, RitualMode.EACH.value) == RitualMode.TOGETHER.value).label("together"),
            exists(feed_changes.feeds_showing(circle)).label("has_feeds"),
        )
        .outerjoin(table(Ritual), ritual.id == occurrence.c.ritual_id)
        .outerjoin(table(Promise), promise.id == occurrence.c.promise_id)
        .with_for_update(of=occurrence)
    )


def _latest_reminder_items(numbered: bool):
    """One statement: the items of the person's latest reminder (as `latest_reminder`), or only the numbered
    one, as `Target`s (`_targets`), in item order."""
    sms, occurrence = table(OutboundSms).c, table(Occurrence)
    source = (
        select()
        .select_from(table(OutboundSms))
        .join(_SAME_SMS, _SAME_SMS.c.id == _LATEST_REMINDER_ID.scalar_subquery())
        .join(occurrence, occurrence.c.id == sms.occurrence_id)
        .where(_same_sms())
        .order_by(sms.item, sms.id)
    )
    query = _targets(source, numbered)
    return query.where(sms.item == bindparam("item", type_=Integer)) if numbered else query


def _open_items(numbered: bool):
    """One statement: what this person can check in now, whatever was texted: their pending outcomes of
    occurrences whose check-in window (SPEC §3: from the reminder's time to start + grace; the window in which
    /today offers Done and Skip) is open, in time order, or only the numbered one of them."""
    outcome, occurrence = table(OccurrenceOutcome).c, table(Occurrence)
    now = bindparam("now", type_=occurrence.c.at.type)
    source = (
        select()
        .select_from(table(OccurrenceOutcome))
        .join(occurrence, occurrence.c.id == outcome.occurrence_id)
        .where(
            outcome.person_id == bindparam("person_id"),
            outcome.outcome == Outcome.PENDING,
            occurrence.c.closed.is_(False),
            occurrence.c.opens_at <= now,
            occurrence.c.closes_at > now,
        )
        .order_by(occurrence.c.at, occurrence.c.id)
    )
    query = _targets(source, numbered)
    return query.offset(bindparam("offset", type_=Integer)).limit(1) if numbered else query


_REMINDER_ITEMS = {numbered: Direct(_latest_reminder_items(numbered)) for numbered in (False, True)}
_OPEN_ITEMS = {numbered: Direct(_open_items(numbered)) for numbered in (False, True)}


def _reminder_items(session: Session, person_id: int, item: int | None) -> list:
    """The items a DONE/SKIP applies to, their occurrences locked (see `_latest_reminder_items`)."""
    if item is None:
        return list(_REMINDER_ITEMS[False](session, {"person_id": person_id}))
    return list(_REMINDER_ITEMS[True](session, {"person_id": person_id, "item": item}))


def _open_now(session: Session, person_id: int, item: int | None, now: datetime) -> list:
    """What a DONE/SKIP applies to when no item of the latest reminder is open (none was sent: the person joined
    after its time, or quiet hours hold it): every occurrence open for them now, or the `item`-th of them."""
    if item is None:
        return list(_OPEN_ITEMS[False](session, {"person_id": person_id, "now": now}))
    return list(_OPEN_ITEMS[True](session, {"person_id": person_id, "now": now, "offset": item - 1}))
