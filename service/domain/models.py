"""Database tables (SQLAlchemy 2, typed): the source of truth for everything Tend does.

Uniqueness constraints carry the reliability promises: one outbound SMS per
(occurrence, person, kind), one check-in per inbound MessageSid, one
occurrence per (subject, instant). Instants are stored as UTC; schedules keep
their local wall time and IANA zone.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    and_,
    case,
    exists,
    func,
    null,
    or_,
    text,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import DeclarativeBase, Mapped, joinedload, mapped_column, relationship, selectinload
from sqlalchemy.orm.interfaces import LoaderOption, ORMOption
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from service.core.schedule import Schedule, local_to_utc, occurrence_local, parse_timezone
from service.core.streaks import Outcome

ID = BigInteger().with_variant(Integer(), "sqlite")
MAX_ROW_ID = 2**63 - 1  # the largest id a row can have: anything beyond names nothing


def random_person_id() -> int:
    """A person's id: random below 2**53 (exact in JSON numbers), so ids are not sequential and an id
    given out for a number Tend has never seen cannot be told from one it knew (SPEC §3, §8)."""
    return secrets.randbelow(2**53 - 1) + 1


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:

        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class PersonStatus(StrEnum):
    """Whether Tend may text a person (SPEC §3, Consent).

    `invited`: the number has not consented (someone invited it, or it asked for
    a code it has not verified): it may get codes it asked for and invitations.
    `active`: its owner verified a code or replied JOIN. `opted_out`: STOP.
    """

    INVITED = "invited"
    ACTIVE = "active"
    OPTED_OUT = "opted_out"


class MembershipStatus(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"


class SmsState(StrEnum):
    """An outbound SMS: queued → sending (claimed) → sent → delivered | failed | undelivered; or cancelled."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNDELIVERED = "undelivered"
    CANCELLED = "cancelled"


class SmsKind(StrEnum):
    REMINDER = "reminder"
    CODE = "code"
    INVITATION = "invitation"
    PROMISE_KEPT = "promise_kept"
    NOTICE = "notice"  # a change someone else made by SMS (a dropped ritual)
    AGAIN = "again"  # a reminder sent again, as its person asked (LATER 30)
    DIGEST = "digest"
    FOLLOW_UP = "follow_up"  # a second nudge to a person still pending (SPEC §3, Follow-up)
    TOGETHER = "together"  # a together ritual checked in for this person by another participant
    SAMPLE = "sample"  # a digest of the last 7 days the person asked for ("send me a sample now")


# A reminder, first sent or sent again (LATER n): those due in one minute go as one numbered SMS.
REMINDER_KINDS = (SmsKind.REMINDER, SmsKind.AGAIN)
# SMS that stop making sense once the person's outcome is decided, and go only while they have not paused.
NUDGES = (*REMINDER_KINDS, SmsKind.FOLLOW_UP)
# SMS sent in bulk at one instant (every digest of a slot): workers take them after everything else due, so a
# reminder due in the same minute is never queued behind them (docs/decisions.md, "Digests at scale").
BULK_KINDS = (SmsKind.DIGEST,)
# SMS that ask the person about one occurrence: a DONE, SKIP or NOT ME answers the latest of them.
PROMPTS = (*NUDGES, SmsKind.TOGETHER)


class RitualMode(StrEnum):
    """SPEC §3, Together or each: `together`: the first participant's check-in counts for every participant."""

    EACH = "each"
    TOGETHER = "together"


class CheckinSource(StrEnum):
    SMS = "sms"
    API = "api"


class FeedScope(StrEnum):
    PERSON = "person"
    CIRCLE = "circle"


class SubjectKind(StrEnum):
    RITUAL = "ritual"
    PROMISE = "promise"


def subject_key(ritual_id: int | None, promise_id: int | None) -> tuple[SubjectKind, int]:
    """(kind, id) of the subject of anything that carries a `ritual_id` and a `promise_id` (an occurrence, a row)."""
    if ritual_id is not None:
        return SubjectKind.RITUAL, ritual_id
    assert promise_id is not None, "an occurrence belongs to a ritual or a promise"
    return SubjectKind.PROMISE, promise_id


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SubjectRules:
    """What `Ritual` and `Promise` share as subjects: the check-in window of an occurrence and how a check-in
    counts. Each sets `keeps_early` and `on_time_counts`; callers never branch on the kind (a test checks it)."""

    keeps_early: ClassVar[bool]  # may be kept before its reminder, and that counts as on time (SPEC §8)
    on_time_counts: ClassVar[bool]  # kept on time or late (an on-time rate), not just done
    if TYPE_CHECKING:  # columns of each model
        remind_before_minutes: int
        timezone: str

        def window_end(self, at: datetime, local: datetime) -> datetime: ...

    def opens_at(self, at: datetime) -> datetime:
        """When check-ins (and the reminder) for the occurrence at `at` open."""
        return at - timedelta(minutes=self.remind_before_minutes)

    def window(self, at: datetime, local: datetime | None = None) -> tuple[datetime, datetime]:
        """The check-in window [opens, closes) of the occurrence at `at` (wall time `local`); it never closes before
        the occurrence begins."""
        local = occurrence_local(at, self.timezone) if local is None else local
        return self.opens_at(at), max(self.window_end(at, local), at)

    def may_check_in(self, at: datetime, now: datetime) -> bool:
        """Whether the occurrence at `at` has opened for check-ins by `now` (a promise may be kept early)."""
        return self.opened(self.opens_at(at), now)

    @classmethod
    def opened(cls, opens_at: datetime, now: datetime) -> bool:
        """Whether an occurrence whose window opens at `opens_at` (a stored one's own) takes check-ins by `now`."""
        return cls.keeps_early or opens_at <= now

    @classmethod
    def outcome(cls, at: datetime, kept: bool, received_at: datetime) -> Outcome:
        """The kept rule: a skip is skipped; a ritual kept is done, a promise on time or late."""
        if not kept:
            return Outcome.SKIPPED
        if not cls.on_time_counts:
            return Outcome.DONE
        return Outcome.ON_TIME if received_at <= at else Outcome.LATE


def table(model: type[Base]) -> Table:
    """The Core table behind a model, for statements built once on tables (`__table__` is only a FromClause to mypy)."""
    return cast(Table, model.__table__)


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (CheckConstraint("sms_status IN ('invited', 'active', 'opted_out')", name="sms_status"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=random_person_id)
    name: Mapped[str] = mapped_column(String(80))  # the name they chose; "" until they give one
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    # No column default: None means "no quiet hours", and an ORM default would turn a None into 22:00 at INSERT.
    # New people get SPEC's default quiet hours from accounts.new_person.
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    digest_weekday: Mapped[int] = mapped_column(Integer, default=6)  # Monday=0 … Sunday=6
    digest_time: Mapped[time] = mapped_column(Time, default=time(18, 0))
    next_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    sms_status: Mapped[str] = mapped_column(String(12), default="invited")
    # When the owner last consented (verified a code or joined); None: never. STOP keeps it, so that START
    # makes `active` again only a number that had consented, and an invited one `invited` (SPEC §3).
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="person", cascade="all, delete-orphan", foreign_keys="Membership.person_id"
    )
    pauses: Mapped[list[PersonPause]] = relationship(cascade="all, delete-orphan", order_by="PersonPause.starts_at")


class PersonPause(Base):
    """A "pause all" of one person, [starts_at, ends_at) in UTC (cut short by RESUME).

    Kept as history, not only as `Person.paused_until`, so an occurrence is judged by the pauses of its own
    time (occurrences.close), also when it is closed long after (a catch-up, a late worker).
    """

    __tablename__ = "person_pauses"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SessionDoor(StrEnum):
    """The door a device session was opened at, and the only one its secret opens.

    `api`: a bearer token (SPEC §8). `page`: the pages' cookie (SPEC §11), a
    secret of its own that is useless as a bearer token, and the other way round.
    """

    API = "api"
    PAGE = "page"


class DeviceSession(Base):
    """One signed-in device: its secret is 256-bit random and stored only as a SHA-256 digest (SPEC §8, §11)."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    door: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship()


class SignInCode(Base):
    """A 6-digit code texted to a number (stored as a keyed digest), valid 10 minutes for 5 tries.

    The rows also count what each destination number was sent, for the
    per-destination limits of SPEC §3, across every web process.
    """

    __tablename__ = "sign_in_codes"
    __table_args__ = (Index("ix_sign_in_codes_phone_created_at", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InvitationSent(Base):
    """One invitation texted to a number: counted for the limit of 3 a day per destination, whoever invites."""

    __tablename__ = "invitations_sent"
    __table_args__ = (Index("ix_invitations_sent_phone_created_at", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Decline(Base):
    """A NO to an invitation: that inviter may not invite this person again for 30 days."""

    __tablename__ = "declines"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    inviter_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    declined_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Circle(Base):
    __tablename__ = "circles"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="circle", cascade="all, delete-orphan", order_by="Membership.joined_order"
    )


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (CheckConstraint("status IN ('invited', 'active')", name="status"),)

    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(10))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    label: Mapped[str | None] = mapped_column(String(80))  # the name the inviter typed; shown until they join
    joined_order: Mapped[int] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    circle: Mapped[Circle] = relationship(back_populates="memberships")
    person: Mapped[Person] = relationship(back_populates="memberships", foreign_keys=[person_id])


class Ritual(SubjectRules, Base):
    __tablename__ = "rituals"
    __table_args__ = (CheckConstraint("mode IN ('each', 'together')", name="mode"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    start_local: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    timezone: Mapped[str] = mapped_column(String(64))
    rrule: Mapped[str | None] = mapped_column(String(500))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    remind_before_minutes: Mapped[int] = mapped_column(Integer)
    grace_minutes: Mapped[int | None] = mapped_column(Integer)  # None: until the end of that local day
    everyone: Mapped[bool] = mapped_column(Boolean, default=True)  # participants = all members
    mode: Mapped[str] = mapped_column(String(10), default=RitualMode.EACH, server_default=RitualMode.EACH)
    follow_up_minutes: Mapped[int | None] = mapped_column(Integer)  # None: no follow-up
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    materialized_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    circle: Mapped[Circle] = relationship()
    participant_links: Mapped[list[RitualParticipant]] = relationship(cascade="all, delete-orphan")
    pauses: Mapped[list[RitualPause]] = relationship(cascade="all, delete-orphan", order_by="RitualPause.starts_at")

    kind: ClassVar[SubjectKind] = SubjectKind.RITUAL
    keeps_early: ClassVar[bool] = False  # a ritual waits for its window
    on_time_counts: ClassVar[bool] = False

    def changeable_by(self, person_id: int) -> bool:
        """Any member who sees a ritual may change or delete it: it is the circle's."""
        return True

    recipient_id: ClassVar[None] = None  # a ritual is kept together, not for someone
    start_field: ClassVar[str] = "starts"  # its start's name in the API, forms and errors

    @property
    def starts(self) -> datetime:
        return self.start_local

    @starts.setter
    def starts(self, local: datetime) -> None:
        self.start_local = local

    def schedule(self) -> Schedule:
        return Schedule(
            self.start_local, self.timezone, self.rrule, tuple((p.starts_at, p.ends_at) for p in self.pauses)
        )

    @classmethod
    def people_loaded(cls) -> tuple[ORMOption, ...]:
        """Loader options for reading many rituals' people (`participant_ids`) in a fixed number of queries."""
        return (selectinload(cls.participant_links), joinedload(cls.circle).selectinload(Circle.memberships))

    @classmethod
    def schedule_loads(cls) -> tuple[LoaderOption, ...]:
        """What `schedule()` reads besides the row (its pauses), loaded with many rituals at once."""
        return (selectinload(cls.pauses),)

    def participant_ids(self) -> list[int]:
        """The people taking part: the circle's active members (as they are now), or those chosen."""
        if self.everyone:
            return [m.person_id for m in self.circle.memberships if m.status == MembershipStatus.ACTIVE]
        return [link.person_id for link in self.participant_links]

    def expected_people(self) -> list[int]:
        return self.participant_ids()

    @classmethod
    def expects(cls, person_id: int | ColumnElement[int]) -> ColumnElement[bool]:
        """`expected_people()` in SQL: the person joined the circle and takes part (everyone, or chosen)."""
        return and_(
            exists()
            .where(
                Membership.circle_id == cls.circle_id,
                Membership.person_id == person_id,
                Membership.status == MembershipStatus.ACTIVE,
            )
            .correlate_except(Membership),  # its own membership row, also inside a query that joins memberships
            or_(
                cls.everyone,
                exists().where(RitualParticipant.ritual_id == cls.id, RitualParticipant.person_id == person_id),
            ),
        )

    @classmethod
    def involves(cls, person_id: int | ColumnElement[int]) -> ColumnElement[bool]:
        """`involved()` in SQL: for a ritual, whoever takes part."""
        return cls.expects(person_id)

    @classmethod
    def keeper_column(cls) -> ColumnElement[Any]:
        """Who keeps it, in SQL: nobody alone (each participant keeps their own)."""
        return sql_cast(null(), ID)

    @classmethod
    def outcome_shown_to(cls, person_id: int | ColumnElement[int]) -> Any:
        """Whose outcome a person's own agenda shows for it: their own."""
        return person_id

    def involved(self) -> list[int]:
        """Everyone in it, as reminders and notices name them: the participants."""
        return self.participant_ids()

    def window_end(self, at: datetime, local: datetime) -> datetime:
        """When check-ins for the occurrence at `at` (wall time `local`) close: grace, or the end of that local day."""
        if self.grace_minutes is None:
            midnight = datetime.combine(local.date() + timedelta(days=1), time())
            return local_to_utc(midnight, parse_timezone(self.timezone))
        return at + timedelta(minutes=self.grace_minutes)


class RitualParticipant(Base):
    __tablename__ = "ritual_participants"

    ritual_id: Mapped[int] = mapped_column(ForeignKey("rituals.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)


class RitualPause(Base):
    """A half-open UTC interval [starts_at, ends_at) with no occurrences; kept for history and EXDATEs."""

    __tablename__ = "ritual_pauses"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    ritual_id: Mapped[int] = mapped_column(ForeignKey("rituals.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Promise(SubjectRules, Base):
    __tablename__ = "promises"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"), index=True)
    keeper_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    due_local: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    timezone: Mapped[str] = mapped_column(String(64))
    rrule: Mapped[str | None] = mapped_column(String(500))
    remind_before_minutes: Mapped[int] = mapped_column(Integer)
    grace_minutes: Mapped[int] = mapped_column(Integer, default=60)
    follow_up_minutes: Mapped[int | None] = mapped_column(Integer)  # None: no follow-up
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    materialized_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    keeper: Mapped[Person] = relationship(foreign_keys=[keeper_id])
    recipient: Mapped[Person] = relationship(foreign_keys=[recipient_id])

    kind: ClassVar[SubjectKind] = SubjectKind.PROMISE
    mode: ClassVar[str] = RitualMode.EACH  # a promise has one keeper
    keeps_early: ClassVar[bool] = True
    on_time_counts: ClassVar[bool] = True

    def changeable_by(self, person_id: int) -> bool:
        """A promise is changed or cancelled by the one who made it."""
        return self.keeper_id == person_id

    start_field: ClassVar[str] = "due"

    @property
    def starts(self) -> datetime:
        return self.due_local

    @starts.setter
    def starts(self, local: datetime) -> None:
        self.due_local = local

    def schedule(self) -> Schedule:
        return Schedule(self.due_local, self.timezone, self.rrule)

    @classmethod
    def people_loaded(cls) -> tuple[ORMOption, ...]:
        return ()  # its people are columns

    @classmethod
    def schedule_loads(cls) -> tuple[LoaderOption, ...]:
        """`schedule()` reads only the row."""
        return ()

    def expected_people(self) -> list[int]:
        return [self.keeper_id]

    @classmethod
    def expects(cls, person_id: int | ColumnElement[int]) -> ColumnElement[bool]:
        return cls.keeper_id == person_id

    @classmethod
    def involves(cls, person_id: int | ColumnElement[int]) -> ColumnElement[bool]:
        """`involved()` in SQL: its keeper or whom it is for."""
        return or_(cls.keeper_id == person_id, cls.recipient_id == person_id)

    @classmethod
    def keeper_column(cls) -> ColumnElement[Any]:
        return cls.keeper_id.expression

    @classmethod
    def outcome_shown_to(cls, person_id: int | ColumnElement[int]) -> Any:
        """Its keeper's: the one outcome a promise has, shown to its keeper and to whom it is for."""
        return cls.keeper_id

    def involved(self) -> list[int]:
        """Everyone in it: its keeper, then whom it is for."""
        return [self.keeper_id, self.recipient_id]

    def window_end(self, at: datetime, local: datetime) -> datetime:
        return at + timedelta(minutes=self.grace_minutes)


Subject = Ritual | Promise
# In the order lists show them: rituals first.
SUBJECT_MODELS: dict[SubjectKind, type[Ritual] | type[Promise]] = {
    SubjectKind.RITUAL: Ritual,
    SubjectKind.PROMISE: Promise,
}


class Occurrence(Base):
    """One instance of a ritual or promise; its check-in window is [opens_at, closes_at)."""

    __tablename__ = "occurrences"
    __table_args__ = (
        UniqueConstraint("ritual_id", "at", name="uq_occurrences_ritual_at"),
        UniqueConstraint("promise_id", "at", name="uq_occurrences_promise_at"),
        CheckConstraint("(ritual_id IS NULL) <> (promise_id IS NULL)", name="one_subject"),
        Index(
            "ix_occurrences_open_closes_at",
            "closes_at",
            postgresql_where=text("NOT closed"),
            sqlite_where=text("NOT closed"),
        ),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    ritual_id: Mapped[int | None] = mapped_column(ForeignKey("rituals.id", ondelete="CASCADE"))
    promise_id: Mapped[int | None] = mapped_column(ForeignKey("promises.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    local: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)

    outcomes: Mapped[list[OccurrenceOutcome]] = relationship(cascade="all, delete-orphan")

    @classmethod
    def of(cls, subject: Subject, **values: Any) -> Occurrence:
        return cls(**{cls.subject_column(subject.kind).key: subject.id}, **values)

    @staticmethod
    def subject_column(kind: SubjectKind) -> Any:
        """The column that points at a subject of this kind."""
        return Occurrence.ritual_id if kind == SubjectKind.RITUAL else Occurrence.promise_id

    @staticmethod
    def of_any(keys: Iterable[tuple[SubjectKind, int]]) -> ColumnElement[bool]:
        """A condition: the occurrence belongs to one of these subjects, given as (kind, id)."""
        ids: dict[SubjectKind, list[int]] = {kind: [] for kind in SubjectKind}
        for kind, subject_id in keys:
            ids[kind].append(subject_id)
        return or_(*(Occurrence.subject_column(kind).in_(found) for kind, found in ids.items()))

    @property
    def subject_key(self) -> tuple[SubjectKind, int]:
        return subject_key(self.ritual_id, self.promise_id)

    @staticmethod
    def kind_expression() -> ColumnElement[str]:
        """SQL: the kind of the occurrence's subject."""
        return case((Occurrence.ritual_id.is_not(None), SubjectKind.RITUAL.value), else_=SubjectKind.PROMISE.value)

    @staticmethod
    def subject_id_expression() -> ColumnElement[int]:
        """SQL: the id of the occurrence's subject."""
        return func.coalesce(Occurrence.ritual_id, Occurrence.promise_id)

    @staticmethod
    def same_subject(one: Any, other: Any) -> ColumnElement[bool]:
        """SQL: two occurrences (aliases) of the same subject."""
        return or_(
            and_(one.ritual_id.is_not(None), one.ritual_id == other.ritual_id),
            and_(one.promise_id.is_not(None), one.promise_id == other.promise_id),
        )


class OccurrenceOutcome(Base):
    __tablename__ = "occurrence_outcomes"
    __table_args__ = (
        CheckConstraint("outcome IN ('pending', 'done', 'on_time', 'late', 'skipped', 'missed')", name="outcome"),
    )

    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True)
    outcome: Mapped[str] = mapped_column(String(10), default="pending")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CheckIn(Base):
    __tablename__ = "checkins"
    __table_args__ = (CheckConstraint("source IN ('sms', 'api')", name="source"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(3))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    message_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    note: Mapped[str | None] = mapped_column(String(160))  # the person's own words (SPEC §3, Check-in)
    # Who checked in for this person: the participant of a together ritual who replied first; None: themselves.
    by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))


class InboundMessage(Base):
    """Every signed inbound SMS, once per MessageSid: the webhook's idempotency record."""

    __tablename__ = "inbound_messages"

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    reply: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TextedSetup(Base):
    """A person's set-up conversation by SMS (SPEC §4): their one draft (saved on OK, until `draft_until`) and the
    items of the latest LIST they got ("ritual:12", "promise:7"), which numbers in replies refer to."""

    __tablename__ = "texted_setups"

    person_id: Mapped[int] = mapped_column(ID, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    draft_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    listed: Mapped[list[str] | None] = mapped_column(JSON)


class OutboundSms(Base):
    """One SMS (or one item of a numbered SMS) to one person; `dedupe_key` makes sending idempotent.

    `due_at` is when it should go; `rung_at` when the clock last enqueued it
    (a doorbell only: a lost message is rung again); `claimed_at` when a worker
    took it to send. Several reminders for one person in one minute share one
    `sid` and carry their `item` numbers.
    """

    __tablename__ = "outbound_sms"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "person_id", "kind", name="uq_outbound_sms_occurrence_person_kind"),
        CheckConstraint(
            "state IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'undelivered', 'cancelled')",
            name="state",
        ),
        Index(
            "ix_outbound_sms_queued_due_at",
            "due_at",
            postgresql_where=text("state = 'queued'"),
            sqlite_where=text("state = 'queued'"),
        ),
        Index("ix_outbound_sms_person_sent_at", "person_id", "sent_at"),
        Index(
            "ix_outbound_sms_sending_claimed_at",
            "claimed_at",
            postgresql_where=text("state = 'sending'"),
            sqlite_where=text("state = 'sending'"),
        ),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"))
    to: Mapped[str] = mapped_column(String(20))
    body: Mapped[str | None] = mapped_column(Text)
    item: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default=SmsState.QUEUED)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    held_from: Mapped[datetime | None] = mapped_column(UTCDateTime)  # due then, held for the quiet hours since
    rung_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    error_code: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryReport(Base):
    """A final Twilio status callback whose MessageSid no outbound SMS carried yet.

    Twilio may report before the worker has recorded the SID it was given; the
    report waits here and the clock applies it once the SID is recorded.
    """

    __tablename__ = "delivery_reports"

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class StreakFigure(Base):
    """Stored streak state per (subject, person), advanced in O(1) as occurrences are counted.

    `ritual_id` / `promise_id` repeat the subject as foreign keys (the check ties them to the key), so
    deleting a ritual or promise deletes its figures in the database, whoever deletes it.
    """

    __tablename__ = "streak_figures"
    __table_args__ = (
        CheckConstraint(
            "(subject_kind = 'ritual' AND ritual_id = subject_id AND promise_id IS NULL)"
            " OR (subject_kind = 'promise' AND promise_id = subject_id AND ritual_id IS NULL)",
            name="subject",
        ),
    )

    subject_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject_id: Mapped[int] = mapped_column(ID, primary_key=True)
    ritual_id: Mapped[int | None] = mapped_column(ForeignKey("rituals.id", ondelete="CASCADE"), index=True)
    promise_id: Mapped[int | None] = mapped_column(ForeignKey("promises.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True)
    current_streak: Mapped[int] = mapped_column(Integer, default=0)
    longest_streak: Mapped[int] = mapped_column(Integer, default=0)
    strength: Mapped[float] = mapped_column(default=0.0)
    last_counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Feed(Base):
    __tablename__ = "feeds"
    __table_args__ = (CheckConstraint("scope IN ('person', 'circle')", name="scope"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    circle_id: Mapped[int | None] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    etag: Mapped[str | None] = mapped_column(String(80))
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dirty_since: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TzDatabaseSeen(Base):
    """The tz database version the clock last planned with: one row (issue 14).

    When the installed version differs, the clock re-plans stored future
    occurrences from their local wall time and re-renders every feed.
    """

    __tablename__ = "tz_database_seen"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(80))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Digest(Base):
    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("person_id", "week_start", name="uq_digests_person_week"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    week_start: Mapped[date] = mapped_column(Date)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the page's token
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
