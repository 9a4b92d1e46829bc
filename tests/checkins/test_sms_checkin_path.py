"""What an SMS check-in touches: the feeds that show the circle (and only when there are any), in a few statements."""

import logging

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from service.domain.models import Feed
from tests.builders import activate
from tests.checkins.helpers import checkin_count, reminded_couple
from tests.feeds.helpers import fetch, new_feed


@pytest.fixture
def statements(db):
    """The SQL statements and ORM flushes of the block run under `with statements.recording():`."""

    class Recorder:
        def __init__(self) -> None:
            self.sql: list[str] = []
            self.flushes = 0

        def recording(self):
            recorder = self

            class Recording:
                def __enter__(self):
                    recorder.sql.clear()
                    recorder.flushes = 0
                    event.listen(db.retrying_engine, "before_cursor_execute", recorder._statement)
                    event.listen(Session, "after_flush", recorder._flush)

                def __exit__(self, *exc):
                    event.remove(db.retrying_engine, "before_cursor_execute", recorder._statement)
                    event.remove(Session, "after_flush", recorder._flush)

            return Recording()

        def _statement(self, _conn, _cursor, statement, *_rest):
            self.sql.append(statement)

        def _flush(self, *_args):
            self.flushes += 1

    return Recorder()


def feeds_of_the_couple(client, people, circle_id, names):
    """Rendered feeds among Alice's and Bob's own and the circle's ("Us"), and always Charlie's (no member)."""
    people.create("Charlie")
    made = {"Charlie": new_feed(client, people, "Charlie")}
    for name in names:
        made[name] = (
            new_feed(client, people, scope="circle", circle_id=circle_id)
            if name == "Us"
            else new_feed(client, people, name)
        )
    for feed in made.values():
        assert fetch(client, feed).status_code == 200  # rendered: clean until something changes
    return made


def dirty(db, feed_id):
    with db.session() as s:
        return s.scalar(select(Feed.dirty_since).where(Feed.id == feed_id))


@pytest.mark.parametrize("names", [("Alice", "Bob", "Us"), ("Alice",), ("Bob",), ("Us",), ()])
def test_a_check_in_by_sms_marks_and_rings_exactly_the_feeds_that_show_the_circle(
    client, people, db, clock, sms, fake_twilio, texts, doorbell, names
):
    circle_id, _ = reminded_couple(client, people, db, clock, sms, fake_twilio)
    feeds = feeds_of_the_couple(client, people, circle_id, names)
    doorbell.feeds.clear()
    assert texts.send("Alice", "DONE").startswith("Kept!")
    shown = sorted(feeds[name]["id"] for name in names)
    assert doorbell.feeds == ([shown] if shown else [])
    assert all(dirty(db, feeds[name]["id"]) is not None for name in names)
    assert dirty(db, feeds["Charlie"]["id"]) is None


def test_a_done_takes_a_few_statements_and_no_orm_flush(client, people, db, clock, sms, fake_twilio, texts, statements):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    with statements.recording():
        assert texts.send("Alice", "DONE") == "Kept! Morning coffee talk: a new streak begins."
    # the sender with the MessageSid claim, the reminder's items, outcome, check-in, streak figure, the stored reply
    assert len(statements.sql) == 6, statements.sql
    assert statements.flushes == 0
    assert not [sql for sql in statements.sql if sql.lstrip().startswith("SELECT memberships.")]  # no lazy load
    assert checkin_count(db) == 1


def test_a_done_on_a_connection_the_server_dropped_is_done_again_once(
    client, people, db, clock, sms, fake_twilio, texts, caplog
):
    """The webhook's pool tests no connection before use (a round trip per request): the transaction is retried."""
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    assert texts.send("Bob", "STREAK")  # the pool of units of work now holds a connection
    assert db.retrying_engine.pool.checkedin() >= 1
    with db.engine.connect() as admin:
        killed = admin.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    assert killed >= 1
    with caplog.at_level(logging.WARNING, logger="service.domain.unit_of_work"):
        assert texts.send("Alice", "DONE") == "Kept! Morning coffee talk: a new streak begins."
    assert "the database connection was dropped, trying again" in caplog.text
    assert checkin_count(db) == 1


def test_yes_from_an_active_member_checks_in_without_loading_their_memberships(
    client, people, db, clock, sms, fake_twilio, texts, statements
):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    with statements.recording():
        assert texts.send("Bob", "Y") == "Kept! Morning coffee talk: a new streak begins."
    assert not [sql for sql in statements.sql if sql.lstrip().startswith("SELECT memberships.")], statements.sql
    assert checkin_count(db) == 1


def test_a_numbered_item_that_the_latest_reminder_lacks_is_named(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=({}, {"title": "Evening walk"}))
    assert texts.send("Alice", "DONE 3").startswith("Your last reminder has no item 3.")
    assert texts.send("Alice", "DONE 2") == "Kept! Evening walk: a new streak begins."
    assert texts.send("Alice", "DONE 2").startswith("Already recorded for Evening walk")
    assert checkin_count(db) == 1


def test_a_numbered_reply_with_no_reminder_at_all_says_nothing_is_open(client, people, db, texts):
    people.create("Alice")
    client.post("/api/v1/circles", json={"name": "Us"}, headers=people.headers("Alice"))
    activate(db, people.ids["Alice"])
    assert texts.send("Alice", "DONE 2") == texts.send("Alice", "DONE")
    assert checkin_count(db) == 0
