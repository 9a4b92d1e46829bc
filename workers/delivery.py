"""Delivering claimed SMS exactly once: send, record in groups, back off, and reconcile stale claims.

A row moves queued → sending (claimed, body fixed, committed) → sent before
and after the one call to Twilio. The claim is a lease: the worker's
heartbeat renews it while the SMS is in its hands, so a live, slow worker
keeps its rows and a dead one's go stale within `TEND_CLAIM_TIMEOUT`. A
stale claim is reconciled: Twilio is asked whether that exact message went
out before it is queued again, so a crash never sends twice. An ambiguous
failure (a timeout, a dropped connection, a 5xx) is settled the same way,
never by sending again at once. What to send is the domain's decision
(service/domain/sending.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service.core import sms_text
from service.domain import outbox
from service.domain.models import OutboundSms
from service.domain.sending import OutgoingSms, claim_due
from workers.runtime import WorkerContext
from workers.sms_transport import TransportError

log = logging.getLogger(__name__)

IMMEDIATE_TRIES = 3
MAX_ATTEMPTS = 10
LOOK_BACK = timedelta(minutes=1)  # Twilio's dates have second precision; clocks differ a little


def send_batch(ctx: WorkerContext, outbound_ids: Sequence[int]) -> int:
    """Claim the due rows among `outbound_ids`, send them, record the result; returns SMS sent."""
    claim_time = ctx.runtime.now()
    with ctx.runtime.db.session() as session:
        outgoing = claim_due(session, outbound_ids, claim_time)
    if not outgoing:
        return 0
    return Delivery(ctx, claim_time).run(outgoing)


def sent_since(sms_rows: Sequence[OutboundSms]) -> datetime:
    """Where to start looking at Twilio for a claimed SMS: a row is claimed only once due, and every retry
    moves `due_at` past the previous attempt, so nothing older can be this attempt's message."""
    return min(row.due_at for row in sms_rows) - LOOK_BACK


@dataclass(frozen=True)
class Outcome:
    """What one SMS's attempt came to: a SID, in doubt (Twilio may have it), failed, or not ours any more."""

    sid: str | None = None
    error: TransportError | None = None
    in_doubt: bool = False


NOT_OURS = Outcome()


class Delivery:
    """Sends a claimed batch through the process's sending pool, holding the claim as a lease.

    Every SMS of the batch is in flight at once (up to the pool's and Twilio's concurrency), so one slow
    request holds up nothing else. The heartbeat renews the lease of rows still in hand; an SMS whose rows
    were taken back meanwhile is left alone. Results are written every RECORD_EVERY sends or RECORD_WITHIN
    seconds, whichever comes first: a crash before that is settled by the rows' status callbacks or by
    reconciliation (Twilio has the message), so grouping cannot double a send. An SMS in doubt leaves the
    heartbeat, so its lease runs out and reconciliation settles it after that grace.
    """

    RECORD_EVERY = 50
    RECORD_WITHIN = 0.5

    def __init__(self, ctx: WorkerContext, claim_time: datetime):
        self.ctx = ctx
        self.lease = claim_time
        self.lock = threading.Lock()  # the lease, the rows in hand and unrecorded results: heartbeat vs. recording
        self.in_hand: dict[int, OutgoingSms] = {}  # row id → its SMS, renewed by the heartbeat
        self.sent: list[dict[str, Any]] = []
        self.first_unrecorded = 0.0

    def run(self, outgoing: list[OutgoingSms]) -> int:
        self.in_hand = {row.id: sms for sms in outgoing for row in sms.rows}
        pool = self.ctx.sending
        pool.heartbeat.add(self)
        count = 0
        futures: dict[Future[Outcome], OutgoingSms] = {}
        try:
            futures = {pool.submit(self.attempt, sms): sms for sms in outgoing}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=self.RECORD_WITHIN, return_when=FIRST_COMPLETED)
                for future in done:
                    count += self.settle(futures[future], self.outcome(future))
                if self.sent and (
                    len(self.sent) >= self.RECORD_EVERY
                    or time.monotonic() - self.first_unrecorded >= self.RECORD_WITHIN
                ):
                    self.record_sent()
            self.record_sent()
        finally:
            pool.heartbeat.discard(self)
            for future, sms in futures.items():  # cut short (time limit, shutdown): send nothing more from here
                if not future.done():
                    sms.taken_back = True
        return count

    @staticmethod
    def outcome(future: Future[Outcome]) -> Outcome:
        """The attempt's outcome; one that broke (Redis or the database away) leaves its SMS to reconciliation."""
        try:
            return future.result()
        except Exception:
            log.exception("an SMS attempt failed unexpectedly; it is reconciled once its lease runs out")
            return Outcome(in_doubt=True)

    def attempt(self, sms: OutgoingSms) -> Outcome:
        """Send one SMS (in a pool thread): transient failures are retried briefly, ambiguous ones looked up."""
        error: TransportError | None = None
        for attempt in range(IMMEDIATE_TRIES):
            if sms.taken_back:
                return NOT_OURS
            try:
                with self.ctx.in_flight.slot(sms_text.segment_count(sms.body)):
                    return Outcome(sid=self.ctx.transport.send(sms.person.phone, sms.body, [r.id for r in sms.rows]))
            except TransportError as exc:
                error = exc
                if exc.ambiguous:
                    return self.look_up(sms, exc)
                if exc.permanent:
                    break
                time.sleep(min(exc.retry_after or 0.2 * 2**attempt, 5.0))
        return Outcome(error=error)

    def look_up(self, sms: OutgoingSms, error: TransportError) -> Outcome:
        """Twilio may have the message: adopt its SID if it is listed, else leave the SMS in doubt."""
        try:
            with self.ctx.in_flight.slot():
                sid = self.ctx.transport.find_recent(sms.person.phone, sms.body, sent_since(sms.rows))
        except TransportError as exc:
            log.warning("SMS %s in doubt after %s; the look-up failed too: %s", [r.id for r in sms.rows], error, exc)
            sid = None
        if sid is not None:
            log.info("SMS %s: %s, but Twilio has it as %s", [r.id for r in sms.rows], error, sid)
            return Outcome(sid=sid)
        log.warning("SMS %s in doubt after %s: reconciled once its lease runs out", [r.id for r in sms.rows], error)
        return Outcome(error=error, in_doubt=True)

    def settle(self, sms: OutgoingSms, outcome: Outcome) -> int:
        """Take one SMS's outcome (in the batch's thread); returns 1 if it was sent."""
        if outcome.sid is not None:
            with self.lock:
                if not self.sent:
                    self.first_unrecorded = time.monotonic()
                now = self.ctx.runtime.now()
                self.sent.extend({"row_id": row.id, "sid": outcome.sid, "sent_at": now} for row in sms.rows)
            return 1
        with self.lock:
            for row in sms.rows:
                self.in_hand.pop(row.id, None)
            if outcome.error is not None and not outcome.in_doubt:
                self._record_sent()
                settle_failure(self.ctx, sms, [row.id for row in sms.rows], self.lease, outcome.error)
        return 0

    def renew(self) -> None:
        """The heartbeat: extend the lease on every row still in hand; rows someone took back are let go."""
        with self.lock:
            if not self.in_hand:
                return
            renewed = self.ctx.runtime.now()
            with self.ctx.runtime.db.session() as session:
                kept = outbox.renew(session, list(self.in_hand), self.lease, renewed)
            self.lease = renewed
            for row_id, sms in list(self.in_hand.items()):
                if row_id not in kept:
                    sms.taken_back = True
                    del self.in_hand[row_id]

    def record_sent(self) -> None:
        with self.lock:
            self._record_sent()

    def _record_sent(self) -> None:
        if not self.sent:
            return
        with self.ctx.runtime.db.session() as session:
            outbox.record_sent(session, self.sent, self.lease)
        pairs = " ".join(f"{result['row_id']}={result['sid']}" for result in self.sent)
        log.info("%d SMS handed to %s (row=SID): %s", len(self.sent), self.ctx.transport.name, pairs)
        for result in self.sent:
            self.in_hand.pop(result["row_id"], None)
        try:
            self.ctx.runtime.pipeline_rate.count_sent(len(self.sent))
        except Exception:  # Redis away: the figure misses these, dispatch plans with the one it has
            log.warning("could not count %d sent SMS in the pipeline's rate", len(self.sent), exc_info=True)
        self.sent = []


def settle_failure(
    ctx: WorkerContext, sms: OutgoingSms, ids: list[int], claim_time: datetime, error: TransportError
) -> None:
    now = ctx.runtime.now()
    code = str(error.code or error.status or "transport")
    attempts = max(row.attempts for row in sms.rows)
    if error.permanent or attempts >= MAX_ATTEMPTS:
        log.warning("SMS %s to person %s failed for good: %s", ids, sms.person.id, error)
        with ctx.runtime.db.session() as session:
            outbox.fail(session, ids, claim_time, code)
            if error.opted_out:
                outbox.recipients_opted_out(session, [sms.person.id])
        return
    backoff = timedelta(seconds=min(30 * 2**attempts, 3600))
    log.info("SMS %s to person %s deferred %s after: %s", ids, sms.person.id, backoff, error)
    with ctx.runtime.db.session() as session:
        outbox.back_off(session, ids, claim_time, code, now + backoff)


def reconcile(ctx: WorkerContext, outbound_ids: Sequence[int], stale_after: timedelta) -> int:
    """Settle claims whose lease ran out: sent if Twilio has the message, queued again if not; returns how many.

    A lease runs out when its worker died, or after an ambiguous failure Twilio did not list at once; by then
    Twilio has had the lease's length to list the message and to send its status callback (which settles the
    rows by itself, see service/domain/delivery_reports.py). The rows are first taken over with a fresh lease
    (committed), so Twilio is asked without any row lock held; results are written only over that lease. A
    Twilio that cannot answer leaves the rows claimed: they go stale again and the clock rings for them later.
    """
    lease = ctx.runtime.now()
    with ctx.runtime.db.session() as session:
        groups: dict[tuple[str, str, datetime], list[OutboundSms]] = defaultdict(list)
        for row, claimed_at in outbox.take_over_stale(session, outbound_ids, lease, stale_after):
            groups[(row.to, row.body or "", claimed_at)].append(row)
    settled = 0
    for (to, body, _claimed_at), group in groups.items():
        ids = [row.id for row in group]
        try:
            with ctx.in_flight.slot():
                sid = ctx.transport.find_recent(to, body, sent_since(group))
        except TransportError as exc:
            log.warning("could not reconcile SMS %s yet: %s", ids, exc)
            continue
        with ctx.runtime.db.session() as session:
            if sid is not None:
                outbox.mark_sent(session, ids, lease, sid, ctx.runtime.now())
            else:
                log.info("SMS %s: Twilio has no such message, queued again", ids)
                outbox.requeue(session, ids, lease, ctx.runtime.now())
        settled += len(ids)
    return settled
