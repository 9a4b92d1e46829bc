"""Publishing: changes mark feeds dirty and ring, workers render them, the clock catches lost rings."""

import threading
import time
from datetime import timedelta

import pytest
from dramatiq import Worker
from sqlalchemy import select

from service.domain import feed_changes, feed_content
from service.domain.models import Feed
from service.entry.broker import install as install_broker
from service.entry.wiring import runtime_on
from tests.builders import add_ritual, couple
from tests.feeds.helpers import fetch, new_feed, render
from workers import clock as clock_module
from workers import runtime as worker_runtime


@pytest.fixture
def couple_feeds(client, people, db):
    """Alice and Bob's circle with a ritual, a rendered feed each and one for the circle; Charlie's own feed."""
    circle_id = couple(client, people, db)
    people.create("Charlie")
    ritual = add_ritual(client, people, circle_id)
    feeds = {
        "Alice": new_feed(client, people),
        "Bob": new_feed(client, people, "Bob"),
        "Us": new_feed(client, people, scope="circle", circle_id=circle_id),
        "Charlie": new_feed(client, people, "Charlie"),
    }
    for feed in feeds.values():
        assert fetch(client, feed).status_code == 200  # the first fetch renders it
    return ritual, feeds


def rename(client, people, ritual, title):
    response = client.patch(f"/api/v1/rituals/{ritual['id']}", json={"title": title}, headers=people.headers("Alice"))
    assert response.status_code == 200


def dirty(db, feed_id):
    with db.session() as session:
        return session.scalar(select(Feed.dirty_since).where(Feed.id == feed_id))


def test_an_edit_marks_and_rings_every_feed_that_shows_the_circle(client, people, db, doorbell, couple_feeds):
    ritual, feeds = couple_feeds
    doorbell.feeds.clear()
    rename(client, people, ritual, "Evening tea")
    assert doorbell.feeds == [sorted(feeds[name]["id"] for name in ("Alice", "Bob", "Us"))]
    assert dirty(db, feeds["Us"]["id"]) is not None and dirty(db, feeds["Charlie"]["id"]) is None


def test_a_burst_of_edits_costs_one_render(client, people, couple_feeds, runtime):
    ritual, feeds = couple_feeds
    for title in ("Tea", "Evening tea", "Late tea"):
        rename(client, people, ritual, title)
    assert render(runtime, feeds["Us"]["id"])
    assert not render(runtime, feeds["Us"]["id"])  # the later rings find it clean


def test_a_change_made_during_a_render_marks_the_feed_dirty_again(client, people, db, runtime, couple_feeds):
    ritual, feeds = couple_feeds
    rename(client, people, ritual, "Evening tea")

    def change():
        with db.session() as session:
            feed_changes.mark_dirty(session, circle_id=ritual["circle_id"], now=runtime.now())

    changer = threading.Thread(target=change)
    with db.sessions() as rendering:
        assert feed_content.refresh(rendering, feeds["Us"]["id"], now=runtime.now(), secret="s")  # locked until commit
        changer.start()
        changer.join(0.5)
        waited = changer.is_alive()  # for the render it may have raced
        rendering.commit()
    changer.join(5)
    assert waited
    assert dirty(db, feeds["Us"]["id"]) is not None


def test_a_feed_another_worker_is_rendering_is_left_to_it(client, people, db, couple_feeds, runtime):
    ritual, feeds = couple_feeds
    rename(client, people, ritual, "Evening tea")
    with db.session() as session:
        session.scalar(select(Feed.id).where(Feed.id == feeds["Us"]["id"]).with_for_update())
        assert not render(runtime, feeds["Us"]["id"])
    assert render(runtime, feeds["Us"]["id"])


def test_the_clock_rings_again_for_feeds_whose_ring_was_lost(client, people, clock, couple_feeds, runtime, doorbell):
    ritual, feeds = couple_feeds
    rename(client, people, ritual, "Evening tea")
    doorbell.feeds.clear()  # the rename's ring is lost
    assert (
        clock_module.ring_forgotten_feeds(runtime, clock() + timedelta(seconds=5), 10) == 0
    )  # a worker may still be on it
    assert clock_module.ring_forgotten_feeds(runtime, clock() + timedelta(seconds=11), 10) == 3
    assert sorted(doorbell.feeds[0]) == sorted(feed["id"] for name, feed in feeds.items() if name != "Charlie")
    for feed_id in doorbell.feeds.pop():
        assert render(runtime, feed_id)
    assert clock_module.ring_forgotten_feeds(runtime, clock() + timedelta(seconds=30), 10) == 0
    assert b"Evening tea" in fetch(client, feeds["Us"]).data


def test_a_render_with_nothing_new_keeps_etag_and_last_modified(client, people, db, clock, couple_feeds, runtime):
    ritual, feeds = couple_feeds
    feed = new_feed(client, people)
    before = fetch(client, feed).headers
    clock.advance(minutes=5)
    with db.session() as session:
        feed_changes.mark_dirty(session, circle_id=ritual["circle_id"], now=clock())
    assert render(runtime, feed["id"])
    after = fetch(client, feed).headers
    assert (after["ETag"], after["Last-Modified"]) == (before["ETag"], before["Last-Modified"])


@pytest.fixture
def feed_worker(runtime):
    """A real Dramatiq worker on the in-process broker, rendering feeds as rung by the real doorbell."""
    broker = install_broker(None)
    runtime.doorbell = runtime_on(runtime.config, broker).doorbell
    worker_runtime.install(worker_runtime.for_runtime(runtime))
    worker = Worker(broker, queues={"feeds"}, worker_threads=1, worker_timeout=50)
    worker.start()
    yield
    worker.stop()
    broker.flush_all()
    worker_runtime.install(None)


def test_a_rename_reaches_the_feed_within_5_seconds_with_a_worker_running(client, people, couple_feeds, feed_worker):
    ritual, feeds = couple_feeds
    rename(client, people, ritual, "Evening tea")
    deadline = time.monotonic() + 5
    while b"Evening tea" not in fetch(client, feeds["Us"]).data:
        assert time.monotonic() < deadline, "the feed still shows the old title after 5 s"
        time.sleep(0.05)
