"""Rings workers after a commit. Only a hint: losing a ring delays work until the next clock tick."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import dramatiq

from service.domain.runtime import BULK_RING_CHUNK, RING_CHUNK
from service.entry.broker import ping, queue_length
from workers.actors import Actors

log = logging.getLogger(__name__)


class DramatiqDoorbell:
    """Enqueues actor messages; a broker hiccup is logged, never raised: the clock re-derives the work."""

    def __init__(self, broker: dramatiq.Broker, actors: Actors) -> None:
        self.broker = broker
        self.actors = actors

    def ping(self) -> None:
        ping(self.broker)

    def send_sms(self, outbound_ids: Sequence[int], bulk: bool = False) -> None:
        if bulk:
            self._ring(self.actors.send_bulk_sms, outbound_ids, "SMS", chunk=BULK_RING_CHUNK)
        else:
            self._ring(self.actors.send_sms, outbound_ids, "SMS")

    def render_feeds(self, feed_ids: Sequence[int]) -> None:
        for feed_id in feed_ids:
            self._ring(self.actors.render_feed, [feed_id], "feeds", chunked=False)

    def reconcile_sms(self, outbound_ids: Sequence[int]) -> None:
        self._ring(self.actors.reconcile_sms, outbound_ids, "reconciliation")

    def make_digests(self, person_ids: Sequence[int]) -> None:
        self._ring(self.actors.make_digests, person_ids, "digests")

    def close_occurrences(self, occurrence_ids: Sequence[int]) -> None:
        self._ring(self.actors.close_occurrences, occurrence_ids, "streaks")

    def sms_waiting(self, bulk: bool = False) -> int | None:
        """Messages in a lane's SMS queue (not those a worker holds); None when the broker cannot be asked."""
        try:
            return queue_length(self.broker, (self.actors.send_bulk_sms if bulk else self.actors.send_sms).queue_name)
        except Exception:
            log.warning("could not ask the broker how many SMS doorbells wait", exc_info=True)
            return None

    def digests_waiting(self) -> int | None:
        """Messages in the digest queue (not those a worker holds); None when the broker cannot be asked."""
        try:
            return queue_length(self.broker, self.actors.make_digests.queue_name)
        except Exception:
            log.warning("could not ask the broker how many digest doorbells wait", exc_info=True)
            return None

    def _ring(
        self, actor: dramatiq.Actor, ids: Sequence[int], what: str, chunked: bool = True, chunk: int = RING_CHUNK
    ) -> None:
        try:
            if not chunked:
                actor.send(*ids)
                return
            for start in range(0, len(ids), chunk):
                actor.send(list(ids[start : start + chunk]))
        except Exception:
            log.warning("could not ring the %s doorbell; the clock will pick the work up", what, exc_info=True)
