"""Rings workers after a commit. Only a hint: losing a ring delays work until the next clock tick."""

from __future__ import annotations

import logging
from typing import Sequence

log = logging.getLogger(__name__)

CHUNK = 200


class DramatiqDoorbell:
    def ping(self) -> None:
        from workers.broker import broker, ping

        ping(broker)

    def send_sms(self, outbound_ids: Sequence[int]) -> None:
        from workers import actors

        try:
            for start in range(0, len(outbound_ids), CHUNK):
                actors.send_sms.send(list(outbound_ids[start:start + CHUNK]))
        except Exception:  # the clock re-derives the work; a broker hiccup must not fail the request
            log.warning("could not ring the SMS doorbell; the clock will pick the work up", exc_info=True)

    def render_feeds(self, feed_ids: Sequence[int]) -> None:
        from workers import actors

        try:
            for feed_id in feed_ids:
                actors.render_feed.send(feed_id)
        except Exception:  # the clock renders feeds left dirty; a broker hiccup must not fail the request
            log.warning("could not ring the feeds doorbell; the clock will pick the work up", exc_info=True)
