"""Delivering claimed SMS exactly once: send, record in groups, back off, and reconcile stale claims.

A row moves queued → sending (claimed, body fixed, committed) → sent before
and after the one call to Twilio. A worker that dies between the two leaves
the row `sending`; `reconcile` later asks Twilio whether that exact message
went out before it is queued again, so a crash never sends twice. What to
send is the domain's decision (service/domain/sending.py).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update

from service.core import sms_text
from service.domain.models import OutboundSms, Person, PersonStatus, SmsState, table
from service.domain.sending import OutgoingSms, claim_due
from workers.runtime import WorkerContext
from workers.sms_transport import TransportError

log = logging.getLogger(__name__)

IMMEDIATE_TRIES = 3
MAX_ATTEMPTS = 10


def send_batch(ctx: WorkerContext, outbound_ids: Sequence[int]) -> int:
    """Claim the due rows among `outbound_ids`, send them, record the result; returns SMS sent."""
    claim_time = ctx.runtime.now()
    with ctx.runtime.db.session() as session:
        outgoing = claim_due(session, outbound_ids, claim_time)
    return Delivery(ctx, claim_time).run(outgoing)


class Delivery:
    """Sends a claimed batch, holding the claim as a lease and recording results in groups.

    The lease is renewed before it could look stale to a reconciler; an SMS
    whose rows were taken back meanwhile is left alone. Results are written
    every RECORD_EVERY sends or RECORD_WITHIN seconds, whichever comes first
    (status callbacks look rows up by SID): a crash before that is settled by
    reconciliation (Twilio has the message), so batching cannot double a send.
    """

    RECORD_EVERY = 50
    RECORD_WITHIN = 0.5

    def __init__(self, ctx: WorkerContext, claim_time: datetime):
        self.ctx = ctx
        self.lease = claim_time
        self.renew_after = timedelta(seconds=ctx.runtime.config.claim_timeout / 3)
        self.sent: list[dict[str, object]] = []
        self.first_unrecorded = 0.0

    def run(self, outgoing: list[OutgoingSms]) -> int:
        count = 0
        for position, sms in enumerate(outgoing):
            if self.ctx.runtime.now() - self.lease > self.renew_after and not self.renew(outgoing[position:]):
                continue
            count += self.deliver(sms)
        self.record_sent()
        return count

    def renew(self, remaining: list[OutgoingSms]) -> bool:
        """Extend the lease on every unsent row; returns whether the next SMS is still ours."""
        self.record_sent()
        renewed = self.ctx.runtime.now()
        ids = [row.id for sms in remaining if not sms.taken_back for row in sms.rows]
        with self.ctx.runtime.db.session() as session:
            kept = set(
                session.scalars(
                    update(OutboundSms)
                    .where(
                        OutboundSms.id.in_(ids),
                        OutboundSms.state == SmsState.SENDING,
                        OutboundSms.claimed_at == self.lease,
                    )
                    .values(claimed_at=renewed)
                    .returning(OutboundSms.id)
                )
            )
        self.lease = renewed
        for sms in remaining:
            sms.taken_back = sms.taken_back or not all(row.id in kept for row in sms.rows)
        return not remaining[0].taken_back

    def deliver(self, sms: OutgoingSms) -> int:
        """Send one SMS; a transient failure is retried briefly, then handed back to the outbox."""
        if sms.taken_back:
            return 0
        error: TransportError | None = None
        for attempt in range(IMMEDIATE_TRIES):
            self.ctx.send_rate.wait(sms_text.segment_count(sms.body))
            try:
                sid = self.ctx.transport.send(sms.person.phone, sms.body)
            except TransportError as exc:
                error = exc
                if exc.permanent:
                    break
                time.sleep(min(exc.retry_after or 0.2 * 2**attempt, 5.0))
                continue
            now = self.ctx.runtime.now()
            if not self.sent:
                self.first_unrecorded = time.monotonic()
            self.sent.extend({"row_id": row.id, "sid": sid, "sent_at": now} for row in sms.rows)
            if len(self.sent) >= self.RECORD_EVERY or time.monotonic() - self.first_unrecorded >= self.RECORD_WITHIN:
                self.record_sent()
            return 1
        assert error is not None
        self.record_sent()
        settle_failure(self.ctx, sms, [row.id for row in sms.rows], self.lease, error)
        return 0

    def record_sent(self) -> None:
        if not self.sent:
            return
        outbox = table(OutboundSms)
        with self.ctx.runtime.db.session() as session:
            session.execute(
                outbox.update()
                .where(
                    outbox.c.id == bindparam("row_id"),
                    outbox.c.state == SmsState.SENDING,
                    outbox.c.claimed_at == self.lease,
                )
                .values(state=SmsState.SENT, sid=bindparam("sid"), sent_at=bindparam("sent_at")),
                self.sent,
            )
        self.sent = []


def settle_failure(
    ctx: WorkerContext, sms: OutgoingSms, ids: list[int], claim_time: datetime, error: TransportError
) -> None:
    now = ctx.runtime.now()
    code = str(error.code or error.status or "transport")
    attempts = max(row.attempts for row in sms.rows)
    if error.permanent or attempts >= MAX_ATTEMPTS:
        log.warning("SMS %s to person %s failed for good: %s", ids, sms.person.id, error)
        record(ctx, ids, claim_time, state=SmsState.FAILED, error_code=code)
        if error.opted_out:
            with ctx.runtime.db.session() as session:
                session.execute(
                    update(Person).where(Person.id == sms.person.id).values(sms_status=PersonStatus.OPTED_OUT)
                )
        return
    backoff = timedelta(seconds=min(30 * 2**attempts, 3600))
    log.info("SMS %s to person %s deferred %s after: %s", ids, sms.person.id, backoff, error)
    record(
        ctx,
        ids,
        claim_time,
        state=SmsState.QUEUED,
        error_code=code,
        due_at=now + backoff,
        rung_at=None,
        claimed_at=None,
    )


def record(ctx: WorkerContext, ids: list[int], claim_time: datetime, **values: object) -> None:
    """Write the outcome, but only over our own claim (a reconciler may have taken the row since)."""
    with ctx.runtime.db.session() as session:
        session.execute(
            update(OutboundSms)
            .where(OutboundSms.id.in_(ids), OutboundSms.state == SmsState.SENDING, OutboundSms.claimed_at == claim_time)
            .values(**values)
        )


def reconcile(ctx: WorkerContext, outbound_ids: Sequence[int], stale_after: timedelta) -> int:
    """Settle claims whose worker vanished: sent if Twilio has the message, queued again if not; returns how many.

    The rows are first taken over with a fresh lease (committed), so Twilio is
    asked without any row lock held; results are written only over that lease.
    A Twilio that cannot answer leaves the rows claimed: they go stale again
    and the clock rings for them later.
    """
    lease = ctx.runtime.now()
    with ctx.runtime.db.session() as session:
        rows = session.scalars(
            select(OutboundSms)
            .where(
                OutboundSms.id.in_(outbound_ids),
                OutboundSms.state == SmsState.SENDING,
                OutboundSms.claimed_at < lease - stale_after,
            )
            .order_by(OutboundSms.id)
            .with_for_update(skip_locked=True)
        ).all()
        groups: dict[tuple[str, str, datetime], list[int]] = defaultdict(list)
        for row in rows:
            groups[(row.to, row.body or "", row.claimed_at or lease)].append(row.id)
            row.claimed_at = lease
    settled = 0
    for (to, body, claimed_at), ids in groups.items():
        try:
            sid = ctx.transport.find_recent(to, body, claimed_at - timedelta(minutes=1))
        except TransportError as exc:
            log.warning("could not reconcile SMS %s yet: %s", ids, exc)
            continue
        if sid is not None:
            record(ctx, ids, lease, state=SmsState.SENT, sid=sid, sent_at=ctx.runtime.now())
        else:
            record(ctx, ids, lease, state=SmsState.QUEUED, claimed_at=None, rung_at=None, due_at=ctx.runtime.now())
        settled += len(ids)
    return settled
