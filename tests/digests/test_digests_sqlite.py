"""A batch of digests on SQLite, the embedded default: its bulk inserts and upserts are dialect-specific."""

from sqlalchemy import select

from service.domain.models import Digest, OutboundSms
from tests import sqlite_database
from tests.digests.helpers import make_batch, people_with_a_week

pg_url, db = sqlite_database.pg_url, sqlite_database.db  # this module runs on SQLite


def test_a_batch_of_digests_and_their_sms_on_sqlite(db, runtime):
    ids = people_with_a_week(db, 1, 3)
    assert make_batch(db, runtime, ids)[0] == 3
    assert make_batch(db, runtime, ids)[0] == 0  # made already: nothing more
    with db.session() as s:
        digests = s.scalars(select(Digest).order_by(Digest.person_id)).all()
        sms = s.scalars(select(OutboundSms).where(OutboundSms.kind == "digest").order_by(OutboundSms.person_id)).all()
    assert [d.person_id for d in digests] == sorted(ids) and [row.person_id for row in sms] == sorted(ids)
    titles = {d.person_id: d.payload["subjects"][0]["title"] for d in digests}
    assert [titles[person_id] for person_id in ids] == ["Walk 1", "Walk 2", "Walk 3"]
    assert all(row.body.startswith("Tend week: Walk ") and row.to for row in sms)
