"""Twilio's delivery status callbacks, applied to outbound SMS idempotently and never backwards.

Twilio may report on a message before the worker has recorded the SID Twilio
returned for it (results are written in groups, and a crash between the two
leaves the SID to reconciliation). Such a report is held in
`delivery_reports`; each clock tick applies the held reports whose SID has
appeared since, so no final status is lost. A report whose SID never appears
(another application on the same Twilio account) is forgotten after HOLD_FOR.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from service.domain.db import insert_for, on_postgres
from service.domain.models import DeliveryReport, OutboundSms, Person, PersonStatus

log = logging.getLogger(__name__)

# Twilio's final statuses, as outbound SMS states; earlier ones (accepted, queued, sending, sent) never move a row back.
FINAL_STATES = {"delivered": "delivered", "read": "delivered", "undelivered": "undelivered", "failed": "failed"}
NOT_FINAL = ("queued", "sending", "sent")
OPTED_OUT_CODE = 21610  # Twilio: the recipient opted out (replied STOP); never text them again
HOLD_FOR = timedelta(days=2)


def record(session: Session, sid: str, status: str, error_code: str | None, now: datetime) -> None:
    """The status webhook: apply the report when its SID is known, hold it when not; ignore what changes nothing."""
    if status not in FINAL_STATES and error_code != str(OPTED_OUT_CODE):
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


def apply(session: Session, sid: str, status: str, error_code: str | None) -> None:
    """Idempotent: a repeated or out-of-order report finds the rows already final and changes nothing."""
    state = FINAL_STATES.get(status)
    if state is not None:
        values: dict[str, str] = {"state": state} | ({"error_code": error_code} if error_code else {})
        session.execute(
            update(OutboundSms).where(OutboundSms.sid == sid, OutboundSms.state.in_(NOT_FINAL)).values(**values)
        )
    if error_code == str(OPTED_OUT_CODE):
        recipients = select(OutboundSms.person_id).where(OutboundSms.sid == sid)
        session.execute(update(Person).where(Person.id.in_(recipients)).values(sms_status=PersonStatus.OPTED_OUT))
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
