"""Deciding what to send: claim due outbox rows, drop what must not go, delay what falls in quiet hours,
and batch one person's reminders of one minute into one numbered SMS (SPEC §3, §4).

Pure policy on database rows; the worker's delivery mechanics (lease, send,
record, back off, reconcile) live in workers/delivery.py.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core import sms_text
from service.core.quiet_hours import quiet_end_at
from service.core.schedule import occurrence_local, parse_timezone
from service.core.streaks import KEPT, Outcome
from service.domain import accounts, outbox
from service.domain.accounts import CircleNames
from service.domain.models import (
    NUDGES,
    REMINDER_KINDS,
    Occurrence,
    OccurrenceOutcome,
    OutboundSms,
    Person,
    PersonStatus,
    SmsKind,
    SmsState,
    Subject,
    SubjectKind,
)
from service.domain.subjects import with_people

log = logging.getLogger(__name__)

# All a number that has not consented may get: a code it asked for, and invitations (SPEC §3, Consent).
SENDABLE_WITHOUT_CONSENT = frozenset({SmsKind.CODE, SmsKind.INVITATION})
# What the person asked for just now (a sign-in code, a digest sample) goes at once: they are awake. Every
# other text Tend starts waits for the end of their quiet hours (SPEC §4: quiet hours delay reminders), but an
# invitation, whose time was decided when it was queued (`accounts.invitation_due`).
ASKED_FOR = frozenset({SmsKind.CODE, SmsKind.SAMPLE})
NOT_HELD = ASKED_FOR | {SmsKind.INVITATION}


@dataclass
class OutgoingSms:
    person: Person
    rows: list[OutboundSms]
    body: str
    taken_back: bool = False  # a reconciler took the rows back: never send it from here


def claim_due(session: Session, outbound_ids: Sequence[int], now: datetime) -> list[OutgoingSms]:
    """Claim the due, queued rows among `outbound_ids` (queued → sending, body fixed) and plan what to send.

    Rows another worker holds are skipped (SKIP LOCKED); the caller commits the claim before sending.
    """
    rows = session.scalars(
        select(OutboundSms)
        .where(OutboundSms.id.in_(outbound_ids), OutboundSms.state == SmsState.QUEUED, OutboundSms.due_at <= now)
        .order_by(OutboundSms.id)
        .with_for_update(skip_locked=True)
    ).all()
    outgoing = plan(session, rows, now)
    for sms in outgoing:
        outbox.claim(sms.rows, sms.body, now)
    return outgoing


def plan(session: Session, rows: Iterable[OutboundSms], now: datetime) -> list[OutgoingSms]:
    """Decide what to send now: drop what must not go, delay what is in quiet hours, batch reminders.

    Quiet hours hold for every text Tend starts (reminders, promise-kept notices, digests); what the person asked
    for (`ASKED_FOR`) goes at once, like the TwiML answer to their own text, and an invitation when it is due.
    """
    rows = list(rows)
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_({r.person_id for r in rows})))}
    reminders: dict[tuple[int, datetime], list[OutboundSms]] = defaultdict(list)
    outgoing: list[OutgoingSms] = []
    for row in rows:
        person = people[row.person_id]
        if (reason := refusal(session, person, row, now)) is not None:
            log.info("SMS %s (%s) to person %s cancelled: %s", row.id, row.kind, person.id, reason)
            outbox.cancel(row)
        elif row.kind == SmsKind.FOLLOW_UP and quiet_end(person, now) is not None:
            log.info("follow-up %s to person %s dropped: quiet hours", row.id, person.id)
            outbox.cancel(row)  # a second nudge is not worth waking anyone, nor worth sending late
        elif row.kind not in NOT_HELD and (delay_to := quiet_end(person, now)) is not None:
            outbox.defer(row, delay_to)
        elif row.kind in NUDGES:
            reminders[(person.id, row.due_at.replace(second=0, microsecond=0))].append(row)
        else:
            outgoing.append(OutgoingSms(person, [row], row.body or ""))
    facts = ReminderFacts.load(session, [row for group in reminders.values() for row in group])
    for (person_id, _minute), group in reminders.items():
        person = people[person_id]
        follow_ups = [row for row in group if row.kind == SmsKind.FOLLOW_UP]
        outgoing.extend(sms for row in follow_ups if (sms := follow_up_sms(facts, person, row, now)) is not None)
        sms = reminder_sms(facts, person, [row for row in group if row.kind in REMINDER_KINDS], now)
        if sms is not None:
            outgoing.append(sms)
    return outgoing


def refusal(session: Session, person: Person, row: OutboundSms, now: datetime) -> str | None:
    """Why this SMS must not go, or None: nothing goes to an opted-out number, nothing but codes and
    invitations to one that has not consented, no reminder to a paused person, and no invitation that no
    longer stands (joined, declined, its inviter gone, its circle deleted)."""
    if person.sms_status == PersonStatus.OPTED_OUT:
        return "the recipient opted out"
    if person.sms_status != PersonStatus.ACTIVE and row.kind not in SENDABLE_WITHOUT_CONSENT:
        return "the recipient has not consented (no verified code, never joined)"
    if row.kind in NUDGES and person.paused_until is not None and person.paused_until > now:
        return "the recipient paused reminders"
    if row.kind == SmsKind.INVITATION and not accounts.invitation_stands(
        session, outbox.invitation_circle(row.dedupe_key), person.id
    ):
        return "the invitation no longer stands (joined, declined, its inviter or circle gone)"
    return None


def quiet_end(person: Person, now: datetime) -> datetime | None:
    return quiet_end_at(now, parse_timezone(person.timezone), person.quiet_start, person.quiet_end)


@dataclass
class ReminderFacts:
    """Everything reminder texts need, loaded in a handful of queries for a whole batch."""

    occurrences: dict[int, Occurrence]
    decided: set[tuple[int, int]]  # (occurrence id, person id) already checked in
    done: dict[int, list[int]]  # occurrence id → the people who checked in done (kept), in id order
    subjects: dict[tuple[SubjectKind, int], Subject]  # with the people in each loaded
    names: CircleNames  # as each subject's circle shows its people

    @classmethod
    def load(cls, session: Session, rows: list[OutboundSms]) -> ReminderFacts:
        occurrences = {
            o.id: o
            for o in session.scalars(select(Occurrence).where(Occurrence.id.in_({r.occurrence_id for r in rows})))
        }
        decided: set[tuple[int, int]] = set()
        done: dict[int, list[int]] = defaultdict(list)
        for occurrence_id, person_id, outcome in session.execute(
            select(OccurrenceOutcome.occurrence_id, OccurrenceOutcome.person_id, OccurrenceOutcome.outcome)
            .where(OccurrenceOutcome.occurrence_id.in_(occurrences), OccurrenceOutcome.outcome != Outcome.PENDING)
            .order_by(OccurrenceOutcome.person_id)
        ):
            decided.add((occurrence_id, person_id))
            if outcome in KEPT:
                done[occurrence_id].append(person_id)
        subjects = with_people(session, {occurrence.subject_key for occurrence in occurrences.values()})
        wanted = {person_id for subject in subjects.values() for person_id in subject.involved()}
        names = accounts.names_in(session, {subject.circle_id for subject in subjects.values()}, wanted)
        return cls(occurrences, decided, done, subjects, names)

    def others(self, person: Person, subject: Subject, among: Iterable[int]) -> tuple[str, ...]:
        """The people of `among` but `person`, as the subject's circle shows them."""
        return tuple(self.names.of(subject.circle_id, p) for p in among if p != person.id and p in self.names.chosen)

    def item(self, person: Person, occurrence: Occurrence) -> sms_text.ReminderItem:
        subject = self.subjects[occurrence.subject_key]
        others = self.others(person, subject, subject.involved())
        return sms_text.ReminderItem(
            subject.title, occurrence_local(occurrence.at, person.timezone), others, subject.kind
        )


def still_wanted(facts: ReminderFacts, person: Person, row: OutboundSms, now: datetime) -> Occurrence | None:
    """The occurrence a reminder or follow-up asks about, or None (and the row cancelled) when it is too late or
    the person already checked in: a nudge now would be wrong."""
    occurrence = facts.occurrences.get(row.occurrence_id) if row.occurrence_id is not None else None
    if (
        occurrence is None
        or occurrence.closed
        or occurrence.closes_at <= now
        or (occurrence.id, person.id) in facts.decided
    ):
        outbox.cancel(row)  # too late, or already checked in: a nudge now would be wrong
        log.info("%s %s to person %s cancelled: its occurrence closed or was checked in", row.kind, row.id, person.id)
        return None
    return occurrence


def follow_up_sms(facts: ReminderFacts, person: Person, row: OutboundSms, now: datetime) -> OutgoingSms | None:
    """The second nudge (SPEC §3, Follow-up), naming the other participants who checked in done."""
    occurrence = still_wanted(facts, person, row, now)
    if occurrence is None:
        return None
    subject = facts.subjects[occurrence.subject_key]
    done = facts.others(person, subject, facts.done.get(occurrence.id, ()))
    return OutgoingSms(person, [row], sms_text.follow_up_text(subject.title, done))


def reminder_sms(facts: ReminderFacts, person: Person, rows: list[OutboundSms], now: datetime) -> OutgoingSms | None:
    """One numbered SMS for all of a person's reminders due in the same minute."""
    live = []
    for row in rows:
        occurrence = still_wanted(facts, person, row, now)
        if occurrence is not None:
            live.append((occurrence, row))
    if not live:
        return None
    live.sort(key=lambda pair: (pair[0].at, pair[1].id))
    for number, (_, row) in enumerate(live, start=1):
        row.item = number
    items = [facts.item(person, occurrence) for occurrence, _ in live]
    return OutgoingSms(person, [row for _, row in live], sms_text.reminder_text(items))
