"""The SMS outbox: every SMS Tend sends is first a row here, so nothing is lost or doubled.

Rows are inserted once per `dedupe_key` (a second insert is ignored), and a
worker later claims and sends them. Callers ring the doorbell after commit.

This module is the one home of a row's states (`SmsState`); every move
between them is one function here, and no other module writes `state`:

    queued ──claim──▶ sending ──record_sent / mark_sent──▶ sent ──settle_final──▶ delivered | failed | undelivered
      │  ▲               │ └──fail──▶ failed
      │  └──back_off / requeue (Twilio has no such message)
      └──cancel──▶ cancelled          queued | sending ──adopt (a status callback names the rows)──▶ sent

Moves made by a worker (`record_sent`, `mark_sent`, `fail`, `back_off`,
`requeue`, `renew`) apply only over the worker's own claim (`lease`, the
row's `claimed_at`): a reconciler that took a row over is never overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, select, update
from sqlalchemy.orm import Session

from service.domain.db import insert_for, on_postgres
from service.domain.models import BULK_KINDS, NUDGES, OutboundSms, Person, PersonStatus, SmsKind, SmsState, table
from service.domain.unit_of_work import ring_sms

OPTED_OUT_CODE = 21610  # Twilio: the recipient opted out (replied STOP); never text them again
# Where a delivery report may still move a row: it never moves one back, nor out of cancelled.
NOT_FINAL = (SmsState.QUEUED, SmsState.SENDING, SmsState.SENT)
FINAL = frozenset({SmsState.DELIVERED, SmsState.FAILED, SmsState.UNDELIVERED})

_OUTBOX = table(OutboundSms)
_PEOPLE = table(Person)


def _queue_statement(postgres: bool):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id, addressed to the person's phone as stored.

    A concurrent insert of the same key waits for its holder and then inserts
    nothing, where a read-then-insert would fail on the unique key.
    """
    person_id = bindparam("person_id", type_=_PEOPLE.c.id.type)
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
            rung_at=bindparam("rung_at", type_=_OUTBOX.c.rung_at.type),
            created_at=bindparam("due_at"),
            attempts=0,
        )
        .on_conflict_do_nothing()
        .returning(_OUTBOX.c.id, _OUTBOX.c.dedupe_key)
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
    new = queue_sms_rows(
        session,
        [
            {
                "person_id": person_id,
                "kind": kind,
                "body": body,
                "dedupe_key": dedupe_key,
                "due_at": due_at,
                "occurrence_id": occurrence_id,
                "item": item,
            }
        ],
    )
    return new[0] if new else None


def queue_sms_rows(session: Session, rows: Sequence[Mapping[str, Any]], rung: datetime | None = None) -> list[int]:
    """`queue_sms_row` for many SMS in one statement (a batch of digests): the ids of the rows added.

    Each row gives person_id, kind, body, dedupe_key, due_at, occurrence_id and item. SMS of `BULK_KINDS`
    are rung on the bulk lane, which workers take only after everything else (reminders first). `rung`
    (now, for rows due now) is stored as their `rung_at`: the doorbell rung after commit is the clock's
    ring, which rings them again only if they still wait a few ticks later (for 100,000 digests, not at
    once); None leaves them to the clock's next tick too.
    """
    if not rows:
        return []
    added = session.execute(_QUEUE[on_postgres(session)], [{**row, "rung_at": rung} for row in rows]).all()
    kinds = {row["dedupe_key"]: row["kind"] for row in rows}
    ids = [sms_id for sms_id, _ in added]
    ring_sms(session, [sms_id for sms_id, key in added if kinds[key] not in BULK_KINDS])
    ring_sms(session, [sms_id for sms_id, key in added if kinds[key] in BULK_KINDS], bulk=True)
    return ids


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


def queued(**values: Any) -> OutboundSms:
    """A new queued row as an ORM object (for callers that add many at once, like the clock's reminders)."""
    return OutboundSms(state=SmsState.QUEUED, attempts=0, **values)


def claim(rows: Iterable[OutboundSms], body: str, now: datetime) -> None:
    """queued → sending: a worker took these rows (one SMS) to send now, with this body, the lease `now`."""
    for row in rows:
        row.state, row.claimed_at, row.body = SmsState.SENDING, now, body
        row.attempts += 1


def defer(row: OutboundSms, until: datetime) -> None:
    """queued, held: the SMS waits until `until` (the end of the person's quiet hours) and is rung again then;
    `held_from` keeps when it was first due, so that a change of those hours can re-plan it (`release_held`)."""
    row.held_from = row.held_from or row.due_at
    row.due_at, row.rung_at = until, None


def release_held(session: Session, person_id: int, now: datetime) -> None:
    """queued, due now: what the person's quiet hours held goes again now, rung at once (they changed their quiet
    hours); the sender holds it again, until the new hours end, if they are still quiet."""
    released = session.execute(
        update(OutboundSms)
        .where(
            OutboundSms.person_id == person_id,
            OutboundSms.state == SmsState.QUEUED,
            OutboundSms.held_from.is_not(None),
            OutboundSms.due_at > now,
        )
        .values(due_at=now, rung_at=None)
        .returning(OutboundSms.id, OutboundSms.kind)
    ).all()
    ring_sms(session, [sms_id for sms_id, kind in released if kind not in BULK_KINDS])
    ring_sms(session, [sms_id for sms_id, kind in released if kind in BULK_KINDS], bulk=True)


def replace_waiting(session: Session, person: Person, kind: str, body: str, dedupe_key: str, now: datetime) -> None:
    """The person's SMS of this kind still queued takes this body and goes now; with none queued, a new one is
    queued under `dedupe_key` (one that went already under that key is not sent twice)."""
    session.flush()
    replaced = session.scalars(
        update(OutboundSms)
        .where(OutboundSms.person_id == person.id, OutboundSms.kind == kind, OutboundSms.state == SmsState.QUEUED)
        .values(body=body, due_at=now, rung_at=None, held_from=None)
        .returning(OutboundSms.id)
    ).all()
    if replaced:
        ring_sms(session, list(replaced))
    else:
        queue_sms_row(session, person_id=person.id, kind=kind, body=body, dedupe_key=dedupe_key, due_at=now)


def defer_waiting(session: Session, occurrence_id: int, person_id: int, kind: str, until: datetime) -> bool:
    """queued, later: the person's SMS of this kind for the occurrence, if it still waits, goes at `until` instead.

    False when there is none still queued (it went already, or was cancelled).
    """
    moved = session.execute(
        update(_OUTBOX)
        .where(
            _OUTBOX.c.occurrence_id == occurrence_id,
            _OUTBOX.c.person_id == person_id,
            _OUTBOX.c.kind == kind,
            _OUTBOX.c.state == SmsState.QUEUED,
        )
        .values(due_at=until, rung_at=None, held_from=None)  # held no more: a change of quiet hours leaves it be
    )
    return cast(CursorResult[Any], moved).rowcount > 0


def invitation_key(circle_id: int, person_id: int) -> str:
    """The one invitation a circle sends a person (SPEC §3: one invitation per circle)."""
    return f"{SmsKind.INVITATION}:{circle_id}:{person_id}"


def invitation_circle(dedupe_key: str) -> int:
    """The circle an invitation row invites to (its key names it)."""
    return int(dedupe_key.split(":")[1])


def cancel_invitations(session: Session, circle_id: int, person_ids: Iterable[int]) -> None:
    """queued → cancelled: the circle's invitations to these people will not go (they joined or declined, or
    their inviter left or was erased). One a worker already claimed is left to it."""
    session.execute(
        update(_OUTBOX)
        .where(
            _OUTBOX.c.dedupe_key.in_([invitation_key(circle_id, p) for p in person_ids]),
            _OUTBOX.c.state == SmsState.QUEUED,
        )
        .values(state=SmsState.CANCELLED)
    )


def cancel(row: OutboundSms) -> None:
    """queued → cancelled: the SMS must not go (no consent, opted out, paused, too late, already checked in)."""
    row.state = SmsState.CANCELLED


def renew(session: Session, ids: Sequence[int], lease: datetime, renewed: datetime) -> set[int]:
    """Extend a worker's lease on its rows still `sending` under it; returns the ids it still holds."""
    return set(
        session.scalars(
            update(OutboundSms)
            .where(
                OutboundSms.id.in_(list(ids)), OutboundSms.state == SmsState.SENDING, OutboundSms.claimed_at == lease
            )
            .values(claimed_at=renewed)
            .returning(OutboundSms.id)
        )
    )


_OUTBOX_SENT = (
    _OUTBOX.update()
    .where(
        _OUTBOX.c.id == bindparam("row_id"),
        _OUTBOX.c.state == SmsState.SENDING,
        _OUTBOX.c.claimed_at == bindparam("lease"),
    )
    .values(state=SmsState.SENT, sid=bindparam("sid"), sent_at=bindparam("sent_at"))
)


def record_sent(session: Session, results: Sequence[Mapping[str, Any]], lease: datetime) -> None:
    """sending → sent for many rows at once: `results` are {row_id, sid, sent_at}, written over the lease."""
    session.execute(_OUTBOX_SENT, [dict(result, lease=lease) for result in results])


def _over_lease(session: Session, ids: Sequence[int], lease: datetime, **values: object) -> None:
    session.execute(
        update(OutboundSms)
        .where(OutboundSms.id.in_(list(ids)), OutboundSms.state == SmsState.SENDING, OutboundSms.claimed_at == lease)
        .values(**values)
    )


def mark_sent(session: Session, ids: Sequence[int], lease: datetime, sid: str, now: datetime) -> None:
    """sending → sent: Twilio has the message (found by a look-up)."""
    _over_lease(session, ids, lease, state=SmsState.SENT, sid=sid, sent_at=now)


def fail(session: Session, ids: Sequence[int], lease: datetime, error_code: str) -> None:
    """sending → failed: for good (a permanent error, or too many attempts)."""
    _over_lease(session, ids, lease, state=SmsState.FAILED, error_code=error_code)


def back_off(session: Session, ids: Sequence[int], lease: datetime, error_code: str, due_at: datetime) -> None:
    """sending → queued: a transient failure, tried again at `due_at`."""
    _over_lease(
        session, ids, lease, state=SmsState.QUEUED, error_code=error_code, due_at=due_at, rung_at=None, claimed_at=None
    )


def requeue(session: Session, ids: Sequence[int], lease: datetime, now: datetime) -> None:
    """sending → queued: a stale claim Twilio has no message for goes again now."""
    _over_lease(session, ids, lease, state=SmsState.QUEUED, claimed_at=None, rung_at=None, due_at=now)


def take_over_stale(
    session: Session, ids: Sequence[int], lease: datetime, stale_after: timedelta
) -> list[tuple[OutboundSms, datetime]]:
    """Claims among `ids` whose lease ran out, taken over under a fresh `lease` (still sending) for reconciling:
    each row with the claim it had (the rows of one SMS share it)."""
    rows = session.scalars(
        select(OutboundSms)
        .where(
            OutboundSms.id.in_(list(ids)),
            OutboundSms.state == SmsState.SENDING,
            OutboundSms.claimed_at < lease - stale_after,
        )
        .order_by(OutboundSms.id)
        .with_for_update(skip_locked=True)
    ).all()
    taken = [(row, row.claimed_at or lease) for row in rows]
    for row in rows:
        row.claimed_at = lease
    return taken


def adopt(session: Session, sid: str, ids: Sequence[int], to: str | None, now: datetime) -> int:
    """queued | sending → sent: Twilio has message `sid` for these rows (its status callback names them); rows
    already settled (a SID recorded, cancelled, failed) stay as they are. Returns how many moved."""
    return len(
        session.execute(
            update(_OUTBOX)
            .where(
                _OUTBOX.c.id.in_(list(ids)),
                _OUTBOX.c.sid.is_(None),
                _OUTBOX.c.state.in_((SmsState.SENDING, SmsState.QUEUED)),
                *([_OUTBOX.c.to == to] if to else []),
            )
            .values(state=SmsState.SENT, sid=sid, sent_at=now)
            .returning(_OUTBOX.c.id)
        ).all()
    )


def settle_final(session: Session, sid: str, state: SmsState, error_code: str | None) -> None:
    """→ delivered | failed | undelivered, from a delivery report; never backwards, never out of cancelled."""
    assert state in FINAL, state
    values: dict[str, str] = {"state": state} | ({"error_code": error_code} if error_code else {})
    session.execute(
        update(OutboundSms).where(OutboundSms.sid == sid, OutboundSms.state.in_(NOT_FINAL)).values(**values)
    )


def recipients_opted_out(session: Session, person_ids: Any) -> None:
    """Twilio refused an SMS with OPTED_OUT_CODE (21610): its recipients opted out at the carrier, and Tend
    texts them nothing more (`person_ids`: ids, or a select of them)."""
    session.execute(update(Person).where(Person.id.in_(person_ids)).values(sms_status=PersonStatus.OPTED_OUT))


def restore_follow_up(session: Session, occurrence_id: int, person_id: int, now: datetime) -> None:
    """A person pending again (NOT ME) gets back the follow-up a decision cancelled, if it is still to come.

    The sender drops it as it drops any follow-up: in quiet hours, after the window, after a check-in.
    """
    session.execute(
        update(_OUTBOX)
        .where(
            _OUTBOX.c.occurrence_id == occurrence_id,
            _OUTBOX.c.person_id == person_id,
            _OUTBOX.c.kind == SmsKind.FOLLOW_UP,
            _OUTBOX.c.state == SmsState.CANCELLED,
            _OUTBOX.c.due_at > now,
        )
        .values(state=SmsState.QUEUED, rung_at=None)
    )


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
