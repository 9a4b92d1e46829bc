"""Twilio's delivery status callbacks, applied to outbound SMS idempotently and never backwards.

Twilio may report on a message before the worker has recorded the SID Twilio
returned for it (results are written in groups, and a crash between the two
leaves the SID to reconciliation). Each message's callback URL names its
outbox rows (`?row=12-13`), so a report ties its SID to them at once. A report
that names no rows and whose SID is unknown is held in
`delivery_reports`; each clock tick applies the held reports whose SID has
appeared since, so no final status is lost. A report whose SID never appears
(another application on the same Twilio account) is forgotten after HOLD_FOR.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from service.domain import outbox
from service.domain.db import insert_for, on_postgres
from service.domain.models import DeliveryReport, OutboundSms, SmsState

log = logging.getLogger(__name__)

# Twilio's final statuses, as outbound SMS states; earlier ones (accepted, queued, sending, sent) never move a row back.
FINAL_STATES = {
    "delivered": SmsState.DELIVERED,
    "read": SmsState.DELIVERED,
    "undelivered": SmsState.UNDELIVERED,
    "failed": SmsState.FAILED,
}
HOLD_FOR = timedelta(days=2)


def status_callback_url(base: str | None, rows: Sequence[int]) -> str | None:
    """The status callback URL naming the outbox rows an SMS carries (`?row=12`, `?row=12-13`).

    Twilio signs the whole URL, query included, so the ids in a verified callback are the ones Tend sent.
    """
    if not base or not rows:
        return base
    return f"{base}{'&' if '?' in base else '?'}row={'-'.join(str(row) for row in sorted(rows))}"


def parse_callback_rows(value: str | None) -> list[int]:
    """The row ids of `status_callback_url`'s `row` parameter; none for a missing or malformed one."""
    parts = (value or "").split("-")
    return [int(part) for part in parts] if value and all(part.isdigit() for part in parts) else []


def record(
    session: Session,
    sid: str,
    status: str,
    error_code: str | None,
    now: datetime,
    rows: Sequence[int] = (),
    to: str | None = None,
) -> None:
    """The status webhook: apply the report when its SID is known, hold it when not; ignore what changes nothing.

    `rows` (from the callback URL) and `to` first tie the SID to rows that never had it recorded.
    """
    if rows:
        adopt(session, sid, rows, to, now)
    if status not in FINAL_STATES and error_code != str(outbox.OPTED_OUT_CODE):
        return
    if session.scalar(select(exists().where(OutboundSms.sid == sid))):
        apply(session, sid, status, error_code)
        return
    values = {"status": status, "error_code": error_code, "received_at": now}
    session.execute(
        insert_for(on_postgres(session))(DeliveryReport)
        .values(message_sid=sid, **values)
        .on_conflict_do_update(index_elements=["message_sid"], set_=values)
    )
    log.info("status %s for SMS %s arrived before its SID was recorded: held", status, sid)


def adopt(session: Session, sid: str, rows: Sequence[int], to: str | None, now: datetime) -> int:
    """Twilio has this message for these rows: record its SID on those still without one; returns how many.

    A worker that died before recording the SID left the rows `sending`; reconciliation that did not find the
    message yet may have queued them again. Either way Twilio accepted it, so the rows are `sent` and nothing is
    sent again. Rows already settled (a SID recorded, cancelled, failed) stay as they are.
    """
    changed = outbox.adopt(session, sid, rows, to, now)
    if changed:
        log.info("status callback tied SMS %s to outbox rows %s", sid, list(rows))
    return changed


def apply(session: Session, sid: str, status: str, error_code: str | None) -> None:
    """Idempotent: a repeated or out-of-order report finds the rows already final and changes nothing."""
    state = FINAL_STATES.get(status)
    if state is not None:
        outbox.settle_final(session, sid, state, error_code)
    if error_code == str(outbox.OPTED_OUT_CODE):
        outbox.recipients_opted_out(session, select(OutboundSms.person_id).where(OutboundSms.sid == sid))
        log.info("SMS %s: recipient opted out at the carrier (21610)", sid)


def apply_held(session: Session, now: datetime, limit: int) -> int:
    """The clock's part: apply held reports whose SID is now recorded, forget stale ones; returns how many applied."""
    reports = session.scalars(
        select(DeliveryReport)
        .where(exists().where(OutboundSms.sid == DeliveryReport.message_sid))
        .order_by(DeliveryReport.received_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for report in reports:
        apply(session, report.message_sid, report.status, report.error_code)
        session.delete(report)
    session.execute(delete(DeliveryReport).where(DeliveryReport.received_at < now - HOLD_FOR))
    return len(reports)
