"""Prometheus metrics read from the database at scrape time.

The database is the truth for every process (web, workers, clocks), so
gauges computed from it at scrape need no multi-process bookkeeping and
stay correct however many replicas run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from service.domain.db import Database
from service.domain.models import DeliveryReport, Feed, Occurrence, OutboundSms, SmsState

# States with partial indexes, so a scrape counts only what is in flight; the
# history of sent SMS grows without bound and is not scanned.
IN_FLIGHT = (SmsState.QUEUED, SmsState.SENDING)


class OutboxCollector(Collector):
    def __init__(self, db: Database, now: Callable[[], datetime]):
        self.db = db
        self.now = now

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # the names are fixed below; describing must not touch the database at start

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.now()
        with self.db.session() as session:
            in_flight = {
                state: session.scalar(select(func.count()).where(OutboundSms.state == state)) for state in IN_FLIGHT
            }
            oldest_due = session.scalar(
                select(func.min(OutboundSms.due_at)).where(
                    OutboundSms.state == SmsState.QUEUED, OutboundSms.due_at <= now
                )
            )
            open_windows = session.scalar(select(func.count()).where(Occurrence.closed.is_(False)))
            dirty_feeds = session.scalar(select(func.count()).where(Feed.dirty_since.is_not(None)))
            held_reports = session.scalar(select(func.count()).select_from(DeliveryReport))
        by_state = GaugeMetricFamily(
            "tend_outbound_sms", "Outbound SMS waiting to go or going, by state", labels=["state"]
        )
        for state in IN_FLIGHT:
            by_state.add_metric([state], in_flight[state] or 0)
        yield by_state
        yield GaugeMetricFamily(
            "tend_outbound_sms_oldest_due_seconds",
            "How late the oldest due, unsent SMS is (0 when none)",
            value=(now - oldest_due).total_seconds() if oldest_due else 0.0,
        )
        yield GaugeMetricFamily(
            "tend_open_occurrences", "Occurrences whose check-in window is still open", value=open_windows
        )
        yield GaugeMetricFamily("tend_dirty_feeds", "Feeds waiting for a new render", value=dirty_feeds)
        yield GaugeMetricFamily(
            "tend_held_delivery_reports", "Twilio status callbacks waiting for their SID", value=held_reports
        )
