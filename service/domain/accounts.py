"""People, circles and memberships: sign-in by code, device sessions, invitations, and who may see what.

Consent (SPEC §3): a number gets nothing from Tend but a sign-in code it asked
for and one invitation per circle until its owner verifies a code or joins.
Codes and invitations are counted per destination number in the database,
under a lock on the number's person row (so the limits hold across every web
process and parallel request), whoever asks; past a limit the
request is refused with `TooManyMessages` and nothing is written or sent.

No enumeration: asking for a code answers the same whether or not the number
has an account, and an invitation echoes only what the inviter typed. A number
is never held by someone who has not proved it: a code request or an
invitation for an unknown number makes an `invited` Person with no name (an
inviter's label stays on that circle's membership), which the number's owner
claims by verifying a code. Every door reads numbers and names here
(`destination`, `valid_name`), so the rules hold the same through all of them.

Decisions the spec leaves open:

- A code request for an unknown number creates that provisional Person (the
  outbox needs a recipient); it holds nothing and blocks nobody.
- A code goes to an `invited` or `active` number; an opted-out number gets
  none (it said STOP: START first), yet the answer is the same.
- Verifying a code makes the person `active` (the code text says so); an
  opted-out person who verifies is active again. Invitations stay pending:
  consent to Tend's texts is not joining anyone's circle.
- START (or YES) after STOP undoes the STOP, nothing more: a number that had
  consented (`consented_at`) is `active` again, one that was only invited is
  `invited` again (it may get its invitations, and joins only by JOIN).
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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.orm import Session, joinedload

from service.core import names, phones, sms_text
from service.core.quiet_hours import quiet_end_at
from service.core.schedule import parse_timezone
from service.core.streaks import Outcome
from service.domain import feed_changes, occurrences, outbox
from service.domain.db import insert_for, on_postgres
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
    table,
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


def person_values(
    *, phone: str, now: datetime, name: str = "", timezone: str = "UTC", status: str = PersonStatus.INVITED
) -> dict:
    """A new person's row as SPEC §3 starts one: default quiet hours set here, not by a column default (None is "none")."""
    quiet_start, quiet_end = DEFAULT_QUIET_HOURS
    return {
        "name": name,
        "phone": phone,
        "timezone": timezone,
        "sms_status": status,
        "consented_at": now if status == PersonStatus.ACTIVE else None,
        "quiet_start": quiet_start,
        "quiet_end": quiet_end,
        "created_at": now,
    }


def new_person(
    *, phone: str, now: datetime, name: str = "", timezone: str = "UTC", status: str = PersonStatus.INVITED
) -> Person:
    return Person(**person_values(phone=phone, now=now, name=name, timezone=timezone, status=status))


def consent(person: Person, now: datetime) -> None:
    """The owner verified a code or joined a circle: Tend may text them from now on (SPEC §3)."""
    person.sms_status, person.consented_at = PersonStatus.ACTIVE, now


def opt_in(person: Person) -> None:
    """START (or YES) after STOP: the number may get texts again, as much as it might before, no more. Only a
    number that had consented is `active` again; one that was only invited is `invited`: START is no consent."""
    person.sms_status = PersonStatus.ACTIVE if person.consented_at is not None else PersonStatus.INVITED


def destination(phone: str, countries: tuple[str, ...]) -> str:
    """The number in E.164 if Tend may text it (SPEC §3: a textable type of `countries`, national format read in
    the first), else Invalid naming `phone`. Every door that makes Tend text a number reads it here."""
    try:
        return phones.textable(phone, countries)
    except phones.PhoneError as error:
        raise Invalid(str(error), "phone") from None


def valid_name(name: str, field: str = "name") -> str:
    """A person's own name or an inviter's label, as SPEC §3 allows it, else Invalid naming `field`."""
    try:
        return names.valid_name(name)
    except names.BadName as error:
        raise Invalid(str(error), field) from None


def number_holder(session: Session, phone: str, now: datetime, timezone: str = "UTC") -> Person:
    """The person holding `phone` (made `invited`, with no name, if Tend never saw it), locked until commit.

    The per-number limits serialise on this row: PostgreSQL holds its row lock,
    and on SQLite the insert is the transaction's first write, which takes the
    database's write lock before anything is counted. The insert yields to a
    concurrent one for the same number instead of failing.
    """
    insert = insert_for(on_postgres(session))
    session.execute(
        insert(Person)
        .values(**person_values(phone=phone, now=now, timezone=timezone))
        .on_conflict_do_nothing(index_elements=["phone"])
    )
    return session.scalars(
        select(Person).where(Person.phone == phone).with_for_update().execution_options(populate_existing=True)
    ).one()


def hold(session: Session, row_type: type[Person] | type[Circle], row_id: int) -> None:
    """Lock one row until commit, so that a check that reads and then writes (a name no other has) serialises on it.

    The shape of `number_holder`: PostgreSQL holds the row's lock (NO KEY UPDATE: rows
    that only refer to it still go in); on SQLite the statement is a write (of
    nothing), which takes the database's write lock before the check reads.
    """
    if on_postgres(session):
        session.execute(select(row_type.id).where(row_type.id == row_id).with_for_update(key_share=True))
    else:
        session.execute(update(row_type).where(row_type.id == row_id).values(id=row_type.id))


class WrongCode(Invalid):
    """The code is wrong, used up or expired: the try is counted, so the caller commits before answering."""

    def __init__(self) -> None:
        super().__init__("That code is wrong or has expired. Ask for a new one.", "code", code="wrong_code")


# Sign-in by code (SPEC §8)


def code_digest(secret: str, phone: str, code: str) -> str:
    """A keyed digest: six digits alone would be found from a plain hash in a moment."""
    return hmac.new(secret.encode(), f"code:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def request_code(session: Session, *, phone: str, countries: tuple[str, ...], secret: str, now: datetime) -> str:
    """Text a 6-digit code to `phone` (valid 10 minutes, 5 tries); the same outcome whether or not it has an account.

    Returns the number as Tend reads it (E.164). Raises Invalid naming `phone`
    for a number Tend may not text, and TooManyMessages, sending nothing, past 3
    codes an hour or 10 a day to this number: counted under the number's lock.
    """
    phone = destination(phone, countries)
    person = number_holder(session, phone, now)
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
    return phone


class SignUpNeeds(Invalid):
    """A sign-up without the fields a new account needs: `fields` names all of them at once."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        verb = "is" if len(fields) == 1 else "are"
        super().__init__(f"{' and '.join(repr(field) for field in fields)} {verb} required to sign up.", fields[0])
        self.fields = fields


def sign_in(
    session: Session,
    *,
    phone: str,
    code: str,
    name: str | None,
    timezone: str | None,
    countries: tuple[str, ...],
    secret: str,
    now: datetime,
    door: SessionDoor,
) -> tuple[Person, str]:
    """Trade a valid code for a new device session at `door`: (person, the session's secret, shown once).

    A wrong code counts a try (raises WrongCode; the caller commits that). A
    number with no active account needs `name` (as SPEC §3 allows names) and
    `timezone`: without them, SignUpNeeds names all that are missing and the code
    stays valid. A person active without a name (joined by text) gives a name only:
    they keep their zone unless they give another.
    """
    phone = destination(phone, countries)
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
    active = person is not None and person.sms_status == PersonStatus.ACTIVE
    if person is None or not active or not person.name:
        zone = timezone or (person.timezone if person is not None and active else None)
        missing = tuple(field for field, value in (("name", name), ("timezone", zone)) if value is None)
        if missing:
            raise SignUpNeeds(missing)
        assert name is not None and zone is not None  # required above when the number has no account
        chosen = valid_name(name)
        if person is None:
            person = new_person(phone=phone, now=now)
            session.add(person)
        person.name, person.timezone = chosen, zone
        consent(person, now)
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


def same_name(name: str) -> str:
    """What two names are compared by: case and runs of spaces do not tell two circles or rituals apart."""
    return " ".join(name.split()).casefold()


def create_circle(session: Session, *, owner: Person, name: str, now: datetime) -> Circle:
    """A new circle with its owner as its first member; 409 `duplicate_name` when they are in one of that name
    (checked under the owner's lock, so that parallel creates of one name make one)."""
    hold(session, Person, owner.id)
    theirs = session.scalars(
        select(Circle.name)
        .join(Membership)
        .where(Membership.person_id == owner.id, Membership.status == MembershipStatus.ACTIVE)
    )
    if same_name(name) in {same_name(existing) for existing in theirs}:
        raise Conflict(
            f"You already have a circle called “{name.strip()}”; choose another name.", "name", code="duplicate_name"
        )
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


# The rule of `active_member_ids`, as SQL on the memberships and people tables of one row.
ACTIVE_MEMBER = and_(
    table(Membership).c.status == MembershipStatus.ACTIVE, table(Person).c.sms_status == PersonStatus.ACTIVE
)


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
    countries: tuple[str, ...],
    now: datetime,
    timezone: str | None = None,
) -> Membership:
    """Invite a number to the circle under the label the inviter typed, and queue the one invitation SMS.

    Invalid names `phone` for a number Tend may not text and `name` for a label
    SPEC §3 does not allow. Refused as TooManyMessages (nothing sent) past 3
    invitations a day to the number, whoever invites (counted under the number's
    lock), or within 30 days of the person declining this inviter, or while the
    inviter has no name of their own (SPEC §3: an invitation carries their verified name). The label is
    this circle's name for the member only: it never becomes the person's name.
    """
    label = valid_name(name)
    phone = destination(phone, countries)
    if not inviter.name:  # joined by replying JOIN and never chose a name: an invitation names its inviter
        raise Invalid("Choose your own name first (sign in on Tend's pages), then invite.", "name")
    if len(circle.memberships) >= MAX_CIRCLE_MEMBERS:
        raise Conflict(f"A circle has at most {MAX_CIRCLE_MEMBERS} members.", code="circle_full")
    person = number_holder(session, phone, now, timezone or inviter.timezone)
    if session.get(Membership, (circle.id, person.id)) is not None:
        raise Conflict("This number is already in the circle.", "phone", code="already_member")
    invited_today = session.scalars(
        select(func.count()).where(InvitationSent.phone == phone, InvitationSent.created_at > now - DAY)
    ).one()
    declined = session.scalar(
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
    order = session.scalar(select(func.max(Membership.joined_order)).where(Membership.circle_id == circle.id)) or 0
    membership = Membership(
        circle_id=circle.id,
        person_id=person.id,
        status=MembershipStatus.INVITED,
        invited_by_id=inviter.id,
        label=label,
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
        dedupe_key=outbox.invitation_key(circle.id, person.id),
        due_at=invitation_due(inviter, now),
    )
    if queued is not None:
        forget_old_counts(session, now)
        session.add(InvitationSent(phone=phone, created_at=now))
        session.flush()
    return membership


def invitation_due(inviter: Person, now: datetime) -> datetime:
    """When an invitation sent now goes: at once, or when SPEC's default quiet hours (22:00-07:00) end in the
    inviter's zone. Never by the invitee's own zone or hours: they agreed to nothing yet, and an answer saying
    when it goes would tell whether the number has an account."""
    return quiet_end_at(now, parse_timezone(inviter.timezone), *DEFAULT_QUIET_HOURS) or now


def shown_name(status: str, name: str, label: str | None) -> str:
    """How a circle shows a member (SPEC §3): the name they chose once they joined it, else the inviter's label
    there. A label is that circle's only: it never becomes the person's name nor shows in another circle."""
    return name if (status == MembershipStatus.ACTIVE and name) or label is None else label


def own_name(session: Session, person_id: int) -> str:
    """A person's name on what is theirs alone, shown to whoever they share it with (the title of their own
    calendar feed): the name they chose, else as the earliest circle they are in shows them (the label it gave
    them, SPEC §3); "" with neither."""
    row = session.execute(
        select(Person.name, Membership.status, Membership.label)
        .outerjoin(Membership, and_(Membership.person_id == Person.id, Membership.status == MembershipStatus.ACTIVE))
        .where(Person.id == person_id)
        .order_by(Membership.created_at, Membership.circle_id)
        .limit(1)
    ).one()
    return shown_name(row.status or "", row.name, row.label)


def member_name(membership: Membership) -> str:
    return shown_name(membership.status, membership.person.name, membership.label)


@dataclass(frozen=True)
class CircleNames:
    """Names as each circle shows its members; someone no longer in a circle (history) by the name they chose."""

    shown: dict[tuple[int, int], str]
    chosen: dict[int, str]

    def of(self, circle_id: int, person_id: int) -> str:
        return self.shown.get((circle_id, person_id), self.chosen.get(person_id, ""))

    def in_circle(self, circle_id: int) -> dict[int, str]:
        return {person_id: self.of(circle_id, person_id) for person_id in self.chosen}


def names_in(session: Session, circle_ids: Iterable[int], person_ids: Iterable[int]) -> CircleNames:
    """How `circle_ids` show `person_ids`, in two queries whatever their number."""
    people = set(person_ids)
    rows = session.execute(
        select(Membership.circle_id, Membership.person_id, Membership.status, Person.name, Membership.label)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.circle_id.in_(set(circle_ids)), Membership.person_id.in_(people))
    )
    shown = {(circle, person): shown_name(status, name, label) for circle, person, status, name, label in rows}
    chosen: dict[int, str] = {
        i: n for i, n in session.execute(select(Person.id, Person.name).where(Person.id.in_(people)))
    }
    return CircleNames(shown, chosen)


def forget_old_counts(session: Session, now: datetime) -> None:
    """Codes and invitation counts older than the longest limit's window (a day) name numbers for nothing."""
    session.execute(delete(SignInCode).where(SignInCode.created_at <= now - DAY))
    session.execute(delete(InvitationSent).where(InvitationSent.created_at <= now - DAY))


def forget_number(session: Session, phone: str) -> None:
    """On erasure: the codes and invitation counts of this number go too."""
    session.execute(delete(SignInCode).where(SignInCode.phone == phone))
    session.execute(delete(InvitationSent).where(InvitationSent.phone == phone))


def erase(session: Session, person: Person) -> None:
    """Erase a person (every door): their data, promises, sessions, their number's codes and invitation counts,
    and every circle they leave empty."""
    circle_ids = [m.circle_id for m in person.memberships]
    for circle_id in circle_ids:
        withdraw_invitations(session, circle_id, person.id)  # they carry the erased inviter's name
    forget_number(session, person.phone)
    session.delete(person)
    session.flush()
    for circle_id in circle_ids:
        if session.scalar(select(Membership.person_id).where(Membership.circle_id == circle_id).limit(1)) is None:
            session.execute(delete(Circle).where(Circle.id == circle_id))


def withdraw_invitations(session: Session, circle_id: int, inviter_id: int) -> None:
    """The inviter leaves the circle (or is erased): the invitations they sent there that are still queued do
    not go (each names them); the invited members stay invited, as on /invitations."""
    invited = select(Membership.person_id).where(
        Membership.circle_id == circle_id,
        Membership.invited_by_id == inviter_id,
        Membership.status == MembershipStatus.INVITED,
    )
    outbox.cancel_invitations(session, circle_id, session.scalars(invited).all())


def invitation_stands(session: Session, circle_id: int, person_id: int) -> bool:
    """Whether the circle's invitation to this person may still go: they have neither joined nor declined, and
    their inviter is still in the circle to be named."""
    membership = session.get(Membership, (circle_id, person_id))
    return (
        membership is not None
        and membership.status == MembershipStatus.INVITED
        and inviter_name(membership) is not None
    )


def rename(person: Person, name: str) -> None:
    """A person's own name, as SPEC §3 allows names (Invalid naming `name` otherwise)."""
    person.name = valid_name(name)


def invitations(session: Session, person: Person) -> list[Membership]:
    """This person's pending invitations, newest first."""
    return list(
        session.scalars(
            select(Membership)
            .where(Membership.person_id == person.id, Membership.status == MembershipStatus.INVITED)
            .order_by(Membership.created_at.desc(), Membership.circle_id.desc())
        )
    )


def reminders_paused_until(person: Person, now: datetime) -> datetime | None:
    """When the person's "pause all" ends (UTC), while it lasts; None when their reminders are not paused."""
    return person.paused_until if person.paused_until is not None and person.paused_until > now else None


def inviter_name(membership: Membership) -> str | None:
    """Who invited this member: the inviter's own verified name (never a label), None once they left the circle."""
    return next((m.person.name for m in membership.circle.memberships if m.person_id == membership.invited_by_id), None)


def invitation_for(session: Session, person: Person, circle_id: int) -> Membership:
    membership = session.get(Membership, (circle_id, person.id))
    if membership is None or membership.status != MembershipStatus.INVITED:
        raise NotFound("Invitation")
    return membership


def accept(session: Session, membership: Membership, now: datetime) -> Circle:
    """Join the circle: an active member from now on, in its shared rituals' open occurrences too."""
    membership.status = MembershipStatus.ACTIVE
    consent(membership.person, now)
    outbox.cancel_invitations(session, membership.circle_id, [membership.person_id])
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
    outbox.cancel_invitations(session, membership.circle_id, [membership.person_id])
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
    withdraw_invitations(session, circle.id, person.id)
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
    circle_id = outbox.invitation_circle(latest.dedupe_key)
    membership = session.get(Membership, (circle_id, person.id))
    return membership if membership is not None and membership.status == MembershipStatus.INVITED else None
