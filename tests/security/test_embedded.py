"""The embedded default without Twilio: a cancelled reminder says why in the log (the console transport
prints codes and `tend sms in` texts Tend: see tests/test_cli.py)."""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from service.domain.models import OutboundSms, Person
from tests.builders import FIRST_REMINDER, add_ritual, couple


def test_a_cancelled_reminder_says_why_in_the_log(client, people, db, clock, sms, caplog):
    circle = couple(client, people, db)
    add_ritual(client, people, circle)
    sms.tick()
    with db.session() as s:
        s.execute(update(Person).where(Person.id == people.ids["Bob"]).values(sms_status="opted_out"))
        s.commit()
    clock.set(FIRST_REMINDER)
    with caplog.at_level(logging.INFO, logger="service.domain.sending"):
        sms.tick()
    with db.session() as s:
        (row,) = s.scalars(
            select(OutboundSms).where(
                OutboundSms.person_id == people.ids["Bob"],
                OutboundSms.kind == "reminder",
                OutboundSms.due_at <= FIRST_REMINDER,
            )
        ).all()
    assert row.state == "cancelled"
    assert f"SMS {row.id} (reminder) to person {people.ids['Bob']} cancelled: the recipient opted out" in caplog.text
