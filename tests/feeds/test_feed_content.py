"""What a feed shows: its subjects, paused dates, edits and past outcomes, read by independent parsers."""

from datetime import UTC, datetime, timedelta

import recurring_ical_events
import vobject
from sqlalchemy import select, update

from service.domain import feed_changes, occurrences
from service.domain.models import Occurrence, OccurrenceOutcome, Person
from tests.builders import add_promise, add_ritual, couple
from tests.checkins.helpers import joined_by_text
from tests.feeds.helpers import calendar, events, fetch, new_feed, render
from workers import clock as clock_module

FIRST = datetime(2026, 12, 2, 12, 30, tzinfo=UTC)  # the ritual's first 07:30 in New York


def materialize_first(runtime, clock):
    """Run the clock the morning before FIRST: its occurrence exists, pending."""
    clock.set(FIRST - timedelta(hours=6))
    assert clock_module.tick(runtime).materialized


def starts(cal, start, end):
    return [event["DTSTART"].dt.astimezone(UTC) for event in recurring_ical_events.of(cal).between(start, end)]


def summaries(client, feed):
    return {str(event["SUMMARY"]) for event in events(client, feed)}


def overrides(client, feed):
    return {
        event["RECURRENCE-ID"].dt.astimezone(UTC): (str(event["SUMMARY"]), str(event.get("DESCRIPTION", "")))
        for event in events(client, feed)
        if "RECURRENCE-ID" in event
    }


def test_a_circle_feed_shows_the_circles_ritual_at_its_local_time(client, people, db):
    circle_id = couple(client, people, db)
    add_ritual(client, people, circle_id)
    cal = calendar(client, new_feed(client, people, scope="circle", circle_id=circle_id))
    assert str(cal["X-WR-CALNAME"]) == "Tend — Us"
    expected = [FIRST + timedelta(days=d) for d in range(3)]
    assert starts(cal, FIRST - timedelta(days=1), FIRST + timedelta(days=3)) == expected


def test_a_person_feed_shows_only_what_that_person_takes_part_in(client, people, db):
    circle_id = couple(client, people, db)
    add_ritual(client, people, circle_id, title="Coffee")
    add_ritual(client, people, circle_id, title="Bob's run", participants=[people.ids["Bob"]])
    add_promise(client, people, circle_id, by="Bob", to="Alice")
    alice = new_feed(client, people)
    assert str(calendar(client, alice)["X-WR-CALNAME"]) == "Tend — Alice"
    assert summaries(client, alice) == {"Coffee", "Book the restaurant"}
    assert summaries(client, new_feed(client, people, "Bob")) == {"Coffee", "Bob's run", "Book the restaurant"}
    promise = next(e for e in events(client, alice) if e["SUMMARY"] == "Book the restaurant")
    assert promise["DESCRIPTION"] == "Promised by Bob to Alice."
    assert promise["DURATION"].dt == timedelta(minutes=15)


def test_a_member_who_joined_by_text_is_named_as_their_circle_shows_them(client, people, db, sms, texts):
    """Dana replied JOIN and never chose a name: her own feed's title and the promise she is owed show the label
    Alice gave her (accounts.own_name, names_in), never an empty name."""
    circle_id = couple(client, people, db)
    dana = joined_by_text(client, people, sms, texts, circle_id, "Dee")
    with db.session() as s:
        dana_id = s.scalar(select(Person.id).where(Person.phone == dana))
    body = {"circle_id": circle_id, "to": dana_id, "title": "Call", "due": "2026-12-04T18:00"}
    body |= {"timezone": "America/New_York", "remind_before_minutes": 60}
    assert client.post("/api/v1/promises", json=body, headers=people.headers("Alice")).status_code == 201
    link = texts.send(dana, "FEED")
    assert link.startswith("Your calendar: http://tend.test/feeds/"), link
    dee = calendar(client, {"url": link.split()[2]})
    assert str(dee["X-WR-CALNAME"]) == "Tend — Dee"
    (promise,) = dee.walk("VEVENT")
    assert promise["DESCRIPTION"] == "Promised by Alice to Dee."


def test_paused_dates_are_left_out_as_exdates(client, people, db):
    circle_id = couple(client, people, db)
    ritual = add_ritual(client, people, circle_id)
    client.post(
        f"/api/v1/rituals/{ritual['id']}/pause", json={"until": "2026-12-05T00:00"}, headers=people.headers("Alice")
    )
    feed = new_feed(client, people)
    expected = [FIRST + timedelta(days=d) for d in (3, 4)]
    assert starts(calendar(client, feed), FIRST, FIRST + timedelta(days=5)) == expected
    vevent = vobject.readOne(fetch(client, feed).data.decode()).vevent  # an independent parser reads the same dates
    assert [d.astimezone(UTC) for d in vevent.getrruleset().between(FIRST, FIRST + timedelta(days=5))] == expected


def test_an_edit_raises_the_sequence_and_keeps_the_uid(client, people, db):
    circle_id = couple(client, people, db)
    ritual = add_ritual(client, people, circle_id)
    first = new_feed(client, people)
    before = events(client, first)[0]
    client.patch(f"/api/v1/rituals/{ritual['id']}", json={"duration_minutes": 30}, headers=people.headers("Alice"))
    after = events(client, new_feed(client, people))[0]
    assert (before["SEQUENCE"], after["SEQUENCE"]) == (0, 1)
    assert before["UID"] == after["UID"]


def test_a_missed_occurrence_shows_as_a_crossed_override(client, people, db, runtime, clock):
    circle_id = couple(client, people, db)
    add_ritual(client, people, circle_id)
    feed = new_feed(client, people, scope="circle", circle_id=circle_id)
    materialize_first(runtime, clock)
    assert overrides(client, feed) == {}
    clock.set(datetime(2026, 12, 3, 6, 0, tzinfo=UTC))  # its window (to the end of its local day) has closed
    assert clock_module.tick(runtime).ended
    with db.session() as session:  # the worker the clock rang closes it
        assert occurrences.close(session, runtime.doorbell.closings.pop(), clock())
    assert render(runtime, feed["id"])  # closing marked it dirty
    assert overrides(client, feed) == {FIRST: ("✗ Morning coffee talk", "Alice ✗, Bob ✗")}


def test_a_check_in_shows_in_the_persons_feed_before_the_partner_decides(client, people, db, runtime, clock):
    circle_id = couple(client, people, db)
    add_ritual(client, people, circle_id)
    alice, shared = new_feed(client, people), new_feed(client, people, scope="circle", circle_id=circle_id)
    materialize_first(runtime, clock)
    with db.session() as session:
        occurrence = session.scalar(select(Occurrence.id).where(Occurrence.at == FIRST))
        session.execute(
            update(OccurrenceOutcome)
            .values(outcome="done", decided_at=FIRST)
            .where(OccurrenceOutcome.occurrence_id == occurrence, OccurrenceOutcome.person_id == people.ids["Alice"])
        )
        feed_changes.mark_dirty(session, circle_id=circle_id, now=runtime.now())
    for feed in (alice, shared):
        render(runtime, feed["id"])
    assert overrides(client, alice) == {FIRST: ("✓ Morning coffee talk", "Alice ✓, Bob …")}
    assert overrides(client, shared) == {}  # Bob may still make it
