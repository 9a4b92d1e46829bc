"""People stored with no quiet hours are texted at any hour: None is "none", never a column default's 22:00–07:00.

The real-process tests and the benchmarks seed such people; while an ORM default filled in 22:00–07:00 at INSERT,
every reminder due to them at night waited for 07:00 UTC, and those tests passed only in daytime.
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from service.domain.models import OutboundSms, Person
from tests.builders import due_phone, people_due_at

NIGHT = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # inside the default quiet hours, were they filled in


def test_people_seeded_without_quiet_hours_get_their_reminders_at_3am_utc(db, clock, sms, fake_twilio):
    clock.set(NIGHT)
    people_due_at(db, 3, due_at=NIGHT, created_at=NIGHT - timedelta(hours=1))
    with db.session() as s:
        assert s.execute(select(Person.quiet_start, Person.quiet_end)).all() == [(None, None)] * 3
    sms.tick()
    assert sorted(m["to"] for m in fake_twilio.messages) == [due_phone(n) for n in (1, 2, 3)]
    with db.session() as s:
        assert set(s.scalars(select(OutboundSms.state))) == {"sent"}


def test_a_new_person_gets_default_quiet_hours(client, people):
    people.create("Alice")
    me = client.get("/api/v1/me", headers=people.headers("Alice")).get_json()
    assert me["quiet_hours"] == {"start": "22:00", "end": "07:00"}
