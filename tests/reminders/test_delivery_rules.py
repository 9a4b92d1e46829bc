"""When a reminder goes, to whom, and in what form: DST, quiet hours, batching, opt-out, Twilio errors."""

from datetime import UTC, datetime

from sqlalchemy import select, update

from service.domain.models import OutboundSms, Person
from tests.builders import FIRST_REMINDER, add_ritual, couple


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def reminder_bodies(fake, phone):
    return [m["body"] for m in fake.messages if m["to"] == phone and "Reply DONE" in m["body"]]


def first_reminder_rows(db, person_id):
    """The person's reminder rows for the earliest occurrence (the clock also prepares the next day's)."""
    with db.session() as s:
        rows = s.scalars(
            select(OutboundSms)
            .where(OutboundSms.person_id == person_id, OutboundSms.kind == "reminder")
            .order_by(OutboundSms.occurrence_id)
        ).all()
    return [r for r in rows if r.due_at.date() == rows[0].due_at.date()] if rows else []


def start(client, people, db, sms, fake_twilio, **couple_kwargs):
    circle = couple(client, people, db, **couple_kwargs)
    sms.tick()
    fake_twilio.reset()
    return circle


def remind_alice_while_twilio_fails(client, people, db, clock, sms, fake_twilio, **failure) -> None:
    """The default ritual's first reminder is due (the clock at FIRST_REMINDER, one tick) while Twilio
    answers Alice's messages with `failure` (see FakeTwilio.fail)."""
    circle = start(client, people, db, sms, fake_twilio)
    add_ritual(client, people, circle)
    fake_twilio.fail(people.PHONES["Alice"], **failure)
    clock.set(FIRST_REMINDER)
    sms.tick()


def test_a_daily_ritual_keeps_its_wall_time_across_spring_forward(client, people, db, clock, sms, fake_twilio):
    clock.set(utc(2027, 3, 12, 12, 0))
    circle = start(client, people, db, sms, fake_twilio)
    add_ritual(client, people, circle, starts="2027-03-13T07:30")
    reminded_at = []
    for _ in range(0, 3 * 24 * 60, 5):  # three days in five-minute ticks
        clock.advance(minutes=5)
        before = len(reminder_bodies(fake_twilio, people.PHONES["Alice"]))
        sms.tick()
        if len(reminder_bodies(fake_twilio, people.PHONES["Alice"])) > before:
            reminded_at.append(clock())
    # 07:20 local is 12:20 UTC in EST (before March 14, 2027) and 11:20 UTC in EDT after it
    assert reminded_at == [utc(2027, 3, 13, 12, 20), utc(2027, 3, 14, 11, 20), utc(2027, 3, 15, 11, 20)]
    assert all("at 7:30" in body for body in reminder_bodies(fake_twilio, people.PHONES["Alice"]))


def test_a_nonexistent_local_time_moves_forward_by_the_gap(client, people, db, clock, sms, fake_twilio):
    clock.set(utc(2027, 3, 13, 12, 0))
    circle = start(client, people, db, sms, fake_twilio)
    ritual = add_ritual(client, people, circle, starts="2027-03-14T02:30", remind_before_minutes=0, rrule=None)
    assert ritual["next_occurrence"] == "2027-03-14T07:30:00Z"  # 03:30 EDT


def test_quiet_hours_delay_a_reminder_until_they_end(client, people, db, clock, sms, fake_twilio):
    circle = start(client, people, db, sms, fake_twilio)
    add_ritual(client, people, circle, starts="2026-12-02T06:00", remind_before_minutes=30, grace_minutes=240)
    clock.set(utc(2026, 12, 2, 10, 30))  # 05:30 in New York: quiet until 07:00
    sms.tick()
    assert reminder_bodies(fake_twilio, people.PHONES["Alice"]) == []
    [row] = first_reminder_rows(db, people.ids["Alice"])
    assert (row.state, row.due_at) == ("queued", utc(2026, 12, 2, 12, 0))
    clock.set(utc(2026, 12, 2, 11, 59))
    sms.tick()
    assert reminder_bodies(fake_twilio, people.PHONES["Alice"]) == []
    clock.set(utc(2026, 12, 2, 12, 0))
    sms.tick()
    assert len(reminder_bodies(fake_twilio, people.PHONES["Alice"])) == 1


def test_reminders_due_in_the_same_minute_become_one_numbered_sms(client, people, db, clock, sms, fake_twilio):
    circle = start(client, people, db, sms, fake_twilio)
    add_ritual(client, people, circle, title="Morning coffee talk")
    add_ritual(client, people, circle, title="Vitamins together")
    clock.set(utc(2026, 12, 2, 12, 20))
    sms.tick()
    bodies = reminder_bodies(fake_twilio, people.PHONES["Alice"])
    assert len(bodies) == 1
    assert "1) Morning coffee talk" in bodies[0] and "2) Vitamins together" in bodies[0]
    rows = sorted(first_reminder_rows(db, people.ids["Alice"]), key=lambda r: r.item)
    assert [r.item for r in rows] == [1, 2] and rows[0].sid == rows[1].sid and rows[0].state == "sent"


def test_pending_and_opted_out_people_get_no_reminders(client, people, db, clock, sms, fake_twilio):
    circle = start(client, people, db, sms, fake_twilio)
    with db.session() as s:
        s.execute(update(Person).where(Person.id == people.ids["Bob"]).values(sms_status="opted_out"))
        s.execute(update(Person).where(Person.id == people.ids["Alice"]).values(sms_status="invited"))
    add_ritual(client, people, circle)
    clock.set(utc(2026, 12, 2, 12, 20))
    sms.tick()
    assert fake_twilio.messages == []
    states = [r.state for name in ("Alice", "Bob") for r in first_reminder_rows(db, people.ids[name])]
    assert states == ["cancelled", "cancelled"]


def test_a_429_is_retried_and_the_reminder_sent_once(client, people, db, clock, sms, fake_twilio):
    remind_alice_while_twilio_fails(client, people, db, clock, sms, fake_twilio, status=429, code=20429, times=1)
    assert len(reminder_bodies(fake_twilio, people.PHONES["Alice"])) == 1


def test_a_twilio_refusing_for_a_while_defers_the_reminder_without_losing_it(
    client, people, db, clock, sms, fake_twilio
):
    remind_alice_while_twilio_fails(client, people, db, clock, sms, fake_twilio, status=429, code=20429, times=3)
    assert reminder_bodies(fake_twilio, people.PHONES["Alice"]) == []
    clock.advance(seconds=30)
    sms.tick()  # deferred with backoff: not yet
    assert reminder_bodies(fake_twilio, people.PHONES["Alice"]) == []
    clock.advance(minutes=5)
    sms.tick()
    assert len(reminder_bodies(fake_twilio, people.PHONES["Alice"])) == 1


def test_a_5xx_is_looked_up_at_twilio_before_the_reminder_goes_again(client, people, db, clock, sms, fake_twilio):
    remind_alice_while_twilio_fails(client, people, db, clock, sms, fake_twilio, status=500, times=1)
    [row] = first_reminder_rows(db, people.ids["Alice"])
    assert (row.state, row.sid) == ("sending", None)  # in doubt: Twilio may have it, so no quick retry
    clock.advance(seconds=10)
    sms.tick()
    assert reminder_bodies(fake_twilio, people.PHONES["Alice"]) == []  # its lease has not run out yet
    clock.advance(seconds=30)
    sms.tick()  # reconciled: Twilio has no such message, so it is queued again…
    sms.tick()  # …and sent
    [row] = first_reminder_rows(db, people.ids["Alice"])
    [message] = [m for m in fake_twilio.messages if m["to"] == people.PHONES["Alice"] and "Reply DONE" in m["body"]]
    assert (row.state, row.sid) == ("sent", message["sid"])


def test_error_21610_opts_the_person_out_without_retrying(client, people, db, clock, sms, fake_twilio):
    remind_alice_while_twilio_fails(client, people, db, clock, sms, fake_twilio, status=400, code=21610)
    clock.advance(hours=1)
    sms.tick()
    [row] = first_reminder_rows(db, people.ids["Alice"])
    with db.session() as s:
        alice = s.get(Person, people.ids["Alice"])
    assert alice.sms_status == "opted_out"
    assert (row.state, row.error_code, row.attempts) == ("failed", "21610", 1)


def test_error_21211_is_a_permanent_failure(client, people, db, clock, sms, fake_twilio):
    remind_alice_while_twilio_fails(client, people, db, clock, sms, fake_twilio, status=400, code=21211)
    [row] = first_reminder_rows(db, people.ids["Alice"])
    with db.session() as s:
        alice = s.get(Person, people.ids["Alice"])
    assert (row.state, row.error_code, alice.sms_status) == ("failed", "21211", "active")
