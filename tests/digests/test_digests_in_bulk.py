"""Digests at scale: a batch of people costs the same statements as one, and each gets only their own week."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from service.domain import dispatch, outbox
from service.domain.models import Digest, OutboundSms, SmsKind
from tests.digests.helpers import SLOT, make_batch, people_with_a_week
from workers import clock


def test_making_twenty_digests_takes_the_statements_of_two(db, runtime):
    made_two, for_two = make_batch(db, runtime, people_with_a_week(db, 1, 2))
    made_twenty, for_twenty = make_batch(db, runtime, people_with_a_week(db, 100, 20))
    assert (made_two, made_twenty) == (2, 20)
    assert for_twenty == for_two


def test_each_digest_of_a_batch_holds_only_its_own_person_s_week(db, runtime):
    ids = people_with_a_week(db, 1, 3)
    assert make_batch(db, runtime, ids)[0] == 3
    with db.session() as s:
        payloads = {d.person_id: d.payload for d in s.scalars(select(Digest).where(Digest.person_id.in_(ids)))}
    for number, person_id in enumerate(ids, start=1):
        [subject] = payloads[person_id]["subjects"]
        # the week before the slot (18:00) holds the noons of days 6..1 before it, kept on the even ones
        assert (subject["title"], subject["kept"], subject["expected"]) == (f"Walk {number}", 3, 6)
        assert payloads[person_id]["best_streak"]["current_streak"] == number
        # the week before that: days 13..7, kept on 12, 10 and 8
        assert payloads[person_id]["reliability_change"] == round(0.5 - round(3 / 7, 3), 3)


def test_digest_sms_go_on_the_bulk_lane_and_stand_before_no_reminder(db, runtime, doorbell):
    """Workers take the bulk lane after reminders, and dispatch plans reminders without the digests."""
    ids = people_with_a_week(db, 1, 2)
    with db.session() as s:
        reminder = outbox.queue_sms_row(
            s, person_id=ids[0], kind=SmsKind.REMINDER, body=None, dedupe_key="reminder", due_at=SLOT
        )
    assert make_batch(db, runtime, ids)[0] == 2
    with db.session() as s:
        digest_sms = set(s.scalars(select(OutboundSms.id).where(OutboundSms.kind == SmsKind.DIGEST)))
        assert dispatch.backlog(s, SLOT) == 1  # the reminder; the two digests go after it
    assert len(digest_sms) == 2 and doorbell.bulk == digest_sms
    doorbell.sms.clear()
    doorbell.bulk.clear()
    # the next tick rings the reminder, never rung, but not the digests its commit just rang
    assert clock.ring_due(runtime, SLOT, 100, timedelta(seconds=2)) == 1
    assert doorbell.sms == [[reminder]] and not doorbell.bulk
    doorbell.sms.clear()
    later = SLOT + timedelta(minutes=1)
    doorbell.send_sms([min(digest_sms)], bulk=True)  # a digest doorbell still waits in the broker
    assert clock.ring_due(runtime, later, 100, timedelta(seconds=2)) == 1  # the reminder: the bulk lane waits
    doorbell.sms.clear()
    doorbell.bulk.clear()
    # the bulk lane empty and the digests still queued: rung again, on their lane
    assert clock.ring_due(runtime, later, 100, timedelta(seconds=2)) == 2
    assert doorbell.bulk == digest_sms
