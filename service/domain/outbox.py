"""The SMS outbox: every SMS Tend sends is first a row here, so nothing is lost or doubled.

Rows are inserted once per `dedupe_key` (a second insert is ignored), and a
worker later claims and sends them. Callers ring the doorbell after commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, bindparam, select, update
from sqlalchemy.orm import Session

from service.domain.db import insert_for, on_postgres
from service.domain.models import NUDGES, OutboundSms, Person, SmsState, table
from service.domain.unit_of_work import ring_sms

_OUTBOX = table(OutboundSms)
_PEOPLE = table(Person)


def _queue_statement(postgres: bool):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id, addressed to the person's phone as stored.

    A concurrent insert of the same key waits for its holder and then inserts
    nothing, where a read-then-insert would fail on the unique key.
    """
    person_id = bindparam("person_id", type_=Integer())
    return (
        insert_for(postgres)(_OUTBOX)
        .values(
            dedupe_key=bindparam("dedupe_key"),
            kind=bindparam("kind"),
            person_id=person_id,
            occurrence_id=bindparam("occurrence_id"),
            body=bindparam("body"),
            item=bindparam("item"),
            to=select(_PEOPLE.c.phone).where(_PEOPLE.c.id == person_id).scalar_subquery(),
            state=SmsState.QUEUED,
            due_at=bindparam("due_at"),
            created_at=bindparam("due_at"),
            attempts=0,
        )
        .on_conflict_do_nothing()
        .returning(_OUTBOX.c.id)
    )


# Built once per backend: the check-in webhook queues SMS on its hot path.
_QUEUE = {postgres: _queue_statement(postgres) for postgres in (False, True)}


def queue_sms_row(
    session: Session,
    *,
    person_id: int,
    kind: str,
    body: str | None,
    dedupe_key: str,
    due_at: datetime,
    occurrence_id: int | None = None,
    item: int | None = None,
) -> int | None:
    """Add an SMS to the outbox unless one with this key exists: the new row's id, or None.

    One statement, no ORM object and no flush: the caller's pending ORM
    changes are not written first (`queue_sms` does that).
    """
    sms_id = session.execute(
        _QUEUE[on_postgres(session)],
        {
            "person_id": person_id,
            "kind": kind,
            "body": body,
            "dedupe_key": dedupe_key,
            "due_at": due_at,
            "occurrence_id": occurrence_id,
            "item": item,
        },
    ).scalar()
    if sms_id is not None:
        ring_sms(session, [sms_id])
    return sms_id


def queue_sms(
    session: Session,
    *,
    person: Person,
    kind: str,
    body: str | None,
    dedupe_key: str,
    due_at: datetime,
    occurrence_id: int | None = None,
    item: int | None = None,
) -> OutboundSms | None:
    """`queue_sms_row` for ORM callers: flushes their changes first, returns the new row as an object or None."""
    session.flush()  # the person (and whatever the row refers to) may be pending
    sms_id = queue_sms_row(
        session,
        person_id=person.id,
        kind=kind,
        body=body,
        dedupe_key=dedupe_key,
        due_at=due_at,
        occurrence_id=occurrence_id,
        item=item,
    )
    return None if sms_id is None else session.get(OutboundSms, sms_id)


def cancel_nudges(session: Session, occurrence_id: int, person_ids: list[int]) -> None:
    """The reminders and follow-ups of an occurrence still queued for these people will not go: they are decided.

    A row a worker already claimed is left to it (the SMS may be on its way).
    """
    session.execute(
        update(_OUTBOX)
        .where(
            _OUTBOX.c.occurrence_id == occurrence_id,
            _OUTBOX.c.person_id.in_(person_ids),
            _OUTBOX.c.kind.in_(NUDGES),
            _OUTBOX.c.state == SmsState.QUEUED,
        )
        .values(state=SmsState.CANCELLED)
    )
