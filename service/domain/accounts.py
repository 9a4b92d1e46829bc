"""People, circles and memberships: sign-in by code, device sessions, invitations, and who may see what.

Consent (SPEC §3): a number gets nothing from Tend but a sign-in code it asked
for and one invitation per circle until its owner verifies a code or joins.
Codes and invitations are counted per destination number in the database (so
the limits hold across every web process), whoever asks; past a limit the
request is refused with `TooManyMessages` and nothing is written or sent.

No enumeration: asking for a code answers the same whether or not the number
has an account, and an invitation echoes only what the inviter typed. A number
is never held by someone who has not proved it: a code request or an
invitation for an unknown number makes an `invited` Person with provisional
details, which the number's owner claims by verifying a code.

Decisions the spec leaves open:

- A code request for an unknown number creates that provisional Person (the
  outbox needs a recipient); it holds nothing and blocks nobody.
- A code goes to an `invited` or `active` number; an opted-out number gets
  none (it said STOP: START first), yet the answer is the same.
- Verifying a code makes the person `active` (the code text says so); an
  opted-out person who verifies is active again. Invitations stay pending:
  consent to Tend's texts is not joining anyone's circle.
- A NO (or API decline) removes the invitation; that inviter may not invite
  the person again for 30 days: such an invitation is refused as too many
  messages, like any other the number may not get.
- Leaving a circle takes the person out of its rituals' participant lists,
  deletes the circle's promises they keep or receive, and drops their open
  outcomes and queued reminders there; history stays with the person.
- A device session opens only the door it was made at (`SessionDoor`): an
  API session's bearer token is no page cookie, and a page session's cookie
  secret is no bearer token. Signing out everywhere ends both kinds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, time, timedelta

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session, joinedload

from service.core import sms_text
from service.core.streaks import Outcome
from service.domain import feed_changes, occurrences
from service.domain.errors import Conflict, Invalid, NotFound, TooManyMessages
from service.domain.models import (
    Circle,
    Decline,
    DeviceSession,
    InvitationSent,
    Membership,
    MembershipStatus,
    Occurrence,
    OccurrenceOutcome,
    OutboundSms,
    Person,
    PersonStatus,
    Promise,
    Ritual,
    RitualParticipant,
    SessionDoor,
    SignInCode,
    SmsKind,
    SmsState,
)
from service.domain.outbox import queue_sms
from service.domain.tokens import new_token, token_digest

MAX_CIRCLE_MEMBERS = 8
CODE_DIGITS = 6
CODE_VALID_FOR = timedelta(minutes=10)
CODE_TRIES = 5
CODES_PER_HOUR = 3
CODES_PER_DAY = 10
INVITATIONS_PER_DAY = 3
DECLINE_BLOCKS_FOR = timedelta(days=30)
DEFAULT_QUIET_HOURS = (time(22, 0), time(7, 0))  # SPEC §3: local quiet hours of a new person

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def new_person(
    *, phone: str, now: datetime, name: str = "", timezone: str = "UTC", status: str = PersonStatus.INVITED
) -> Person:
    """A person row as SPEC §3 starts one: default quiet hours set here, not by a column default (None is "none")."""
    quiet_start, quiet_end = DEFAULT_QUIET_HOURS
    return Person(
        name=name,
        phone=phone,
        timezone=timezone,
        sms_status=status,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        created_at=now,
    )


class WrongCode(Invalid):
    """The code is wrong, used up or expired: the try is counted, so the caller commits before answering."""

    def __init__(self) -> None:
        super().__init__("That code is wrong or has expired. Ask for a new one.", "code", code="wrong_code")


# Sign-in by code (SPEC §8)


def code_digest(secret: str, phone: str, code: str) -> str:
    """A keyed digest: six digits alone would be found from a plain hash in a moment."""
    return hmac.new(secret.encode(), f"code:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def request_code(session: Session, *, phone: str, secret: str, now: datetime) -> None:
    """Text a 6-digit code to `phone` (valid 10 minutes, 5 tries); the same outcome whether or not it has an account.

    Raises TooManyMessages, writing nothing, past 3 codes an hour or 10 a day to this number.
    """
    sent = session.execute(
        select(
            func.count().filter(SignInCode.created_at > now - HOUR),
            func.count(),
        ).where(SignInCode.phone == phone, SignInCode.created_at > now - DAY)
    ).one()
    if sent[0] >= CODES_PER_HOUR or sent[1] >= CODES_PER_DAY:
        raise TooManyMessages("This number has had as many codes as it may get for now. Try again later.", "phone")
    forget_old_counts(session, now)
    session.execute(update(SignInCode).where(SignInCode.phone == phone, SignInCode.used.is_(False)).values(used=True))
    person = session.scalar(select(Person).where(Person.phone == phone))
    if person is None:
        person = new_person(phone=phone, now=now)
        session.add(person)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row = SignInCode(
        phone=phone,
        code_hash=code_digest(secret, phone, code),
        tries=0,
        expires_at=now + CODE_VALID_FOR,
        used=False,
        created_at=now,
    )
    session.add(row)
    session.flush()
    queue_sms(
        session,
        person=person,
        kind=SmsKind.CODE,
        body=sms_text.code_text(code),
        dedupe_key=f"code:{row.id}",
        due_at=now,
    )


def sign_in(
    session: Session,
    *,
    phone: str,
    code: str,
    name: str | None,
    timezone: str | None,
    secret: str,
    now: datetime,
    door: SessionDoor,
) -> tuple[Person, str]:
    """Trade a valid code for a new device session at `door`: (person, the session's secret, shown once).

    A wrong code counts a try (raises WrongCode; the caller commits that). A
    number with no active account needs `name` and `timezone`: without them,
    Invalid names the field and the code stays valid.
    """
    row = session.scalar(
        select(SignInCode)
        .where(SignInCode.phone == phone, SignInCode.used.is_(False), SignInCode.expires_at > now)
        .order_by(SignInCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    if row is None or row.tries >= CODE_TRIES:
        raise WrongCode()
    if not (code.isascii() and hmac.compare_digest(row.code_hash, code_digest(secret, phone, code))):
        row.tries += 1
        raise WrongCode()
    person = session.scalar(select(Person).where(Person.phone == phone))
    if person is None or person.sms_status != PersonStatus.ACTIVE:
        for field, value in (("name", name), ("timezone", timezone)):
            if value is None:
                raise Invalid(f"'{field}' is required to sign up.", field)
        if person is None:
            person = new_person(phone=phone, now=now)
            session.add(person)
        assert name is not None and timezone is not None  # required above when the number has no account
        person.name, person.timezone, person.sms_status = name, timezone, PersonStatus.ACTIVE
    row.used = True
    session.flush()
    # The code's text is a secret until used; the outbox keeps no copy of it after.
    session.execute(
        update(OutboundSms)
        .where(
            OutboundSms.person_id == person.id,
            OutboundSms.kind == SmsKind.CODE,
            OutboundSms.state.not_in((SmsState.QUEUED, SmsState.SENDING)),
        )
        .values(body=None)
    )
    return person, open_session(session, person, now, door)


def open_session(session: Session, person: Person, now: datetime, door: SessionDoor) -> str:
    """A new device session that only `door` accepts; its secret (shown once: a bearer token or the cookie's)."""
    token, digest = new_token()
    session.add(DeviceSession(person_id=person.id, token_hash=digest, door=door, created_at=now))
    session.flush()
    return token


def device_session(session: Session, secret: str, door: SessionDoor) -> DeviceSession | None:
    """The device session that `secret` opens at `door` (with its person), or None: one lookup for every door."""
    if not secret or len(secret) > 200 or not secret.isascii():
        return None
    return session.scalar(
        select(DeviceSession)
        .where(DeviceSession.token_hash == token_digest(secret), DeviceSession.door == door)
        .options(joinedload(DeviceSession.person))
    )


def rotate_token(session: Session, device: DeviceSession) -> str:
    """A new token for this device session; the old one stops working at once."""
    token, digest = new_token()
    device.token_hash = digest
    session.flush()
    return token


def sign_out(session: Session, device: DeviceSession, everywhere: bool = False) -> None:
    """End this device session, or every one of the person's (API tokens and page cookies alike)."""
    if everywhere:
        session.execute(delete(DeviceSession).where(DeviceSession.person_id == device.person_id))
    else:
        session.execute(delete(DeviceSession).where(DeviceSession.id == device.id))


# Circles and invitations


def create_circle(session: Session, *, owner: Person, name: str, now: datetime) -> Circle:
    circle = Circle(name=name, created_at=now)
    session.add(circle)
    session.flush()
    session.add(
        Membership(
            circle_id=circle.id, person_id=owner.id, status=MembershipStatus.ACTIVE, joined_order=1, created_at=now
        )
    )
    session.flush()
    session.refresh(circle)
    return circle


def circle_for(session: Session, person: Person, circle_id: int) -> Circle:
    """The circle if `person` is an active member of it; otherwise 404, so ids leak nothing."""
    circle = session.scalar(
        select(Circle)
        .join(Membership)
        .where(Circle.id == circle_id, Membership.person_id == person.id, Membership.status == MembershipStatus.ACTIVE)
    )
    if circle is None:
        raise NotFound("Circle")
    return circle


def active_member_ids(circle: Circle) -> list[int]:
    """Members who joined and may be texted: only they can take part in rituals and promises (SPEC §3)."""
    return [
        m.person_id
        for m in circle.memberships
        if m.status == MembershipStatus.ACTIVE and m.person.sms_status == PersonStatus.ACTIVE
    ]


def invite_member(
    session: Session,
    *,
    circle: Circle,
    inviter: Person,
    name: str,
    phone: str,
    now: datetime,
    timezone: str | None = None,
) -> Membership:
    """Invite a number to the circle under the name the inviter typed, and queue the one invitation SMS.

    Refused as TooManyMessages (nothing written) past 3 invitations a day to the
    number, whoever invites, or within 30 days of the person declining this inviter.
    """
    if len(circle.memberships) >= MAX_CIRCLE_MEMBERS:
        raise Conflict(f"A circle has at most {MAX_CIRCLE_MEMBERS} members.", code="circle_full")
    person = session.scalar(select(Person).where(Person.phone == phone))
    if person is not None and any(m.person_id == person.id for m in circle.memberships):
        raise Conflict("This number is already in the circle.", "phone", code="already_member")
    invited_today = session.scalars(
        select(func.count()).where(InvitationSent.phone == phone, InvitationSent.created_at > now - DAY)
    ).one()
    declined = person is not None and session.scalar(
        select(
            exists().where(
                Decline.person_id == person.id,
                Decline.inviter_id == inviter.id,
                Decline.declined_at > now - DECLINE_BLOCKS_FOR,
            )
        )
    )
    if invited_today >= INVITATIONS_PER_DAY or declined:
        raise TooManyMessages("This number can't get another invitation now. Try again later.", "phone")
    if person is None:
        person = new_person(phone=phone, now=now, name=name, timezone=timezone or inviter.timezone)
        session.add(person)
        session.flush()
    elif person.sms_status == PersonStatus.INVITED and not person.name:
        person.name = name  # a provisional name, until its owner signs up
    order = session.scalar(select(func.max(Membership.joined_order)).where(Membership.circle_id == circle.id)) or 0
    membership = Membership(
        circle_id=circle.id,
        person_id=person.id,
        status=MembershipStatus.INVITED,
        invited_by_id=inviter.id,
        label=name,
        joined_order=order + 1,
        created_at=now,
    )
    session.add(membership)
    session.flush()
    session.refresh(circle)
    queued = queue_sms(
        session,
        person=person,
        kind=SmsKind.INVITATION,
        body=sms_text.invitation_text(inviter.name),
        dedupe_key=f"invitation:{circle.id}:{person.id}",
        due_at=now,
    )
    if queued is not None:
        forget_old_counts(session, now)
        session.add(InvitationSent(phone=phone, created_at=now))
        session.flush()
    return membership


def forget_old_counts(session: Session, now: datetime) -> None:
    """Codes and invitation counts older than the longest limit's window (a day) name numbers for nothing."""
    session.execute(delete(SignInCode).where(SignInCode.created_at <= now - DAY))
    session.execute(delete(InvitationSent).where(InvitationSent.created_at <= now - DAY))


def forget_number(session: Session, phone: str) -> None:
    """On erasure: the codes and invitation counts of this number go too."""
    session.execute(delete(SignInCode).where(SignInCode.phone == phone))
    session.execute(delete(InvitationSent).where(InvitationSent.phone == phone))


def invitations(session: Session, person: Person) -> list[Membership]:
    """This person's pending invitations, newest first."""
    return list(
        session.scalars(
            select(Membership)
            .where(Membership.person_id == person.id, Membership.status == MembershipStatus.INVITED)
            .order_by(Membership.created_at.desc(), Membership.circle_id.desc())
        )
    )


def invitation_for(session: Session, person: Person, circle_id: int) -> Membership:
    membership = session.get(Membership, (circle_id, person.id))
    if membership is None or membership.status != MembershipStatus.INVITED:
        raise NotFound("Invitation")
    return membership


def accept(session: Session, membership: Membership, now: datetime) -> Circle:
    """Join the circle: an active member from now on, in its shared rituals' open occurrences too."""
    membership.status = MembershipStatus.ACTIVE
    membership.person.sms_status = PersonStatus.ACTIVE
    session.flush()
    occurrences.include_participant(session, membership.circle_id, membership.person_id, now)
    return membership.circle


def decline(session: Session, membership: Membership, now: datetime) -> None:
    """Decline: the invitation goes, and its inviter may not invite this person again for 30 days."""
    if membership.invited_by_id is not None:
        block = session.get(Decline, (membership.person_id, membership.invited_by_id))
        if block is None:
            session.add(Decline(person_id=membership.person_id, inviter_id=membership.invited_by_id, declined_at=now))
        else:
            block.declined_at = now
    session.delete(membership)
    session.flush()


def leave(session: Session, person: Person, circle: Circle, now: datetime) -> None:
    """Leave a circle (see the module docstring for what goes with it); an empty circle is deleted."""
    ritual_ids = select(Ritual.id).where(Ritual.circle_id == circle.id)
    session.execute(
        delete(RitualParticipant).where(
            RitualParticipant.person_id == person.id, RitualParticipant.ritual_id.in_(ritual_ids)
        )
    )
    session.execute(
        delete(Promise).where(
            Promise.circle_id == circle.id, (Promise.keeper_id == person.id) | (Promise.recipient_id == person.id)
        )
    )
    open_here = select(Occurrence.id).where(Occurrence.ritual_id.in_(ritual_ids), Occurrence.closed.is_(False))
    session.execute(
        delete(OutboundSms).where(
            OutboundSms.person_id == person.id,
            OutboundSms.occurrence_id.in_(open_here),
            OutboundSms.state == SmsState.QUEUED,
        )
    )
    session.execute(
        delete(OccurrenceOutcome).where(
            OccurrenceOutcome.person_id == person.id,
            OccurrenceOutcome.occurrence_id.in_(open_here),
            OccurrenceOutcome.outcome == Outcome.PENDING,
        )
    )
    session.execute(delete(Membership).where(Membership.circle_id == circle.id, Membership.person_id == person.id))
    session.flush()
    session.expire(circle)
    if session.scalar(select(Membership.person_id).where(Membership.circle_id == circle.id).limit(1)) is None:
        session.delete(circle)
    else:
        feed_changes.mark_dirty(session, circle_id=circle.id, now=now)
    session.flush()


def latest_invitation(session: Session, person: Person) -> Membership | None:
    """The pending invitation of the latest SMS Tend sent this person, if that SMS is an invitation (SPEC §4)."""
    latest = session.execute(
        select(OutboundSms.kind, OutboundSms.dedupe_key)
        .where(
            OutboundSms.person_id == person.id,
            OutboundSms.state.in_((SmsState.SENT, SmsState.DELIVERED)),
        )
        .order_by(OutboundSms.sent_at.desc(), OutboundSms.id.desc())
        .limit(1)
    ).first()
    if latest is None or latest.kind != SmsKind.INVITATION:
        return None
    circle_id = int(latest.dedupe_key.split(":")[1])
    membership = session.get(Membership, (circle_id, person.id))
    return membership if membership is not None and membership.status == MembershipStatus.INVITED else None
