"""The SMS outbox: every SMS Tend sends is first a row here, so nothing is lost or doubled.

Rows are inserted once per `dedupe_key` (a second insert is ignored), and a
worker later claims and sends them. Callers ring the doorbell after commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.models import OutboundSms, Person


def queue_sms(session: Session, *, person: Person, kind: str, body: str | None, dedupe_key: str,
              due_at: datetime, occurrence_id: int | None = None, item: int | None = None) -> OutboundSms | None:
    """Add an SMS to the outbox unless one with this key exists; returns the new row or None."""
    existing = session.scalar(select(OutboundSms.id).where(OutboundSms.dedupe_key == dedupe_key))
    if existing is not None:
        return None
    row = OutboundSms(
        dedupe_key=dedupe_key, kind=kind, person_id=person.id, occurrence_id=occurrence_id,
        to=person.phone, body=body, item=item, state="queued", due_at=due_at, created_at=due_at,
        attempts=0,
    )
    session.add(row)
    session.flush()
    return row


def queue_sms_row(session: Session, *, person_id: int, to: str, kind: str, body: str | None, dedupe_key: str,
                  due_at: datetime, occurrence_id: int | None = None, item: int | None = None) -> int | None:
    """`queue_sms` in one statement and without an ORM object: the new row's id, or None when the key exists.

    INSERT ... ON CONFLICT DO NOTHING: a concurrent insert of the same key
    waits for its holder and then inserts nothing, where a read-then-insert
    would fail on the unique key.
    """
    table = OutboundSms.__table__
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return session.execute(
        insert(table).values(
            dedupe_key=dedupe_key, kind=kind, person_id=person_id, occurrence_id=occurrence_id, to=to, body=body,
            item=item, state="queued", due_at=due_at, created_at=due_at, attempts=0,
        ).on_conflict_do_nothing().returning(table.c.id)
    ).scalar()
