"""The attacks of issue 10, tried as an attacker would: Mallory against Alice, who never asked for anything."""

from __future__ import annotations

from sqlalchemy import select

from service.domain.models import OutboundSms

MALLORY = "+12125550177"
ALICE = "+14155550111"  # a number that never asked Tend for anything


def outbox_to(db, phone: str) -> list[OutboundSms]:
    with db.session() as s:
        return list(s.scalars(select(OutboundSms).where(OutboundSms.to == phone).order_by(OutboundSms.id)))
