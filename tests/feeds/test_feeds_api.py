"""Creating, listing and revoking feeds, and serving them with HTTP caching (SPEC §6, §8)."""

import base64
import gzip
import re

import pytest

from tests.builders import add_ritual, couple
from tests.feeds.helpers import PUBLIC_URL, events, fetch, new_feed, render

TOKEN_URL = re.compile(rf"^{re.escape(PUBLIC_URL)}/feeds/(?P<token>[A-Za-z0-9_-]+)\.ics$")


def token_of(feed) -> str:
    match = TOKEN_URL.match(feed["url"])
    assert match, feed["url"]
    return match["token"]


def test_it_creates_a_person_feed_with_its_url_and_webcal_url(client, people):
    people.create("Alice")
    feed = new_feed(client, people)
    assert feed["scope"] == "person" and feed["circle_id"] is None
    assert feed["webcal_url"] == "webcal://tend.test/feeds/" + token_of(feed) + ".ics"


def test_each_token_is_new_random_and_at_least_128_bits(client, people):
    people.create("Alice")
    tokens = [token_of(new_feed(client, people)) for _ in range(3)]
    assert len(set(tokens)) == 3
    for token in tokens:
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128


def test_the_feed_url_carries_no_id_and_uids_no_sequential_number(client, people, db):
    circle_id = couple(client, people, db)
    rituals = [add_ritual(client, people, circle_id, title=f"Ritual {n}") for n in range(2)]
    feed = new_feed(client, people, scope="circle", circle_id=circle_id)
    assert token_of(feed) not in {str(feed["id"]), str(circle_id)}
    uids = sorted(str(event["UID"]) for event in events(client, feed))
    assert all(re.fullmatch(r"ritual-[0-9a-f]{16}@tend", uid) for uid in uids), uids
    assert not {f"ritual-{ritual['id']}@tend" for ritual in rituals} & set(uids)


def test_a_circle_feed_needs_a_circle_you_are_an_active_member_of(client, people, db):
    circle_id = couple(client, people, db)
    people.create("Charlie")
    outsider = client.post(
        "/api/v1/feeds", json={"scope": "circle", "circle_id": circle_id}, headers=people.headers("Charlie")
    )
    assert outsider.status_code == 404
    assert outsider.get_json()["error"]["code"] == "not_found"


def test_circle_id_goes_with_the_circle_scope_only(client, people, db):
    circle_id = couple(client, people, db)
    for body in ({"scope": "circle"}, {"scope": "person", "circle_id": circle_id}):
        response = client.post("/api/v1/feeds", json=body, headers=people.headers("Alice"))
        assert response.status_code == 422
        assert response.get_json()["error"]["field"] == "circle_id"


def test_revoking_a_feed_makes_its_url_404_at_once(client, people):
    people.create("Alice")
    feed = new_feed(client, people)
    assert fetch(client, feed).status_code == 200
    assert client.delete(f"/api/v1/feeds/{feed['id']}", headers=people.headers("Alice")).status_code == 204
    gone = fetch(client, feed)
    assert gone.status_code == 404
    assert gone.get_json()["error"]["code"] == "not_found"


def test_only_its_owner_can_revoke_a_feed(client, people):
    people.create("Alice")
    people.create("Bob")
    feed = new_feed(client, people)
    assert client.delete(f"/api/v1/feeds/{feed['id']}", headers=people.headers("Bob")).status_code == 404
    assert fetch(client, feed).status_code == 200


def test_it_lists_your_feeds_without_their_urls(client, people):
    people.create("Alice")
    people.create("Bob")
    feed = new_feed(client, people)
    new_feed(client, people, "Bob")
    listed = client.get("/api/v1/feeds", headers=people.headers("Alice")).get_json()["feeds"]
    assert [f["id"] for f in listed] == [feed["id"]]
    assert "url" not in listed[0]


def test_an_unknown_token_is_a_json_404(client):
    for path in ("/feeds/" + "A" * 43 + ".ics", "/feeds/" + "A" * 500 + ".ics"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_it_serves_the_feed_as_a_cacheable_calendar(client, people):
    people.create("Alice")
    response = fetch(client, new_feed(client, people))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["ETag"])
    assert response.headers["Last-Modified"] == "Tue, 01 Dec 2026 12:00:00 GMT"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    assert response.data.startswith(b"BEGIN:VCALENDAR")


def test_a_matching_if_none_match_gets_304_and_no_body(client, people):
    people.create("Alice")
    feed = new_feed(client, people)
    etag = fetch(client, feed).headers["ETag"]
    again = fetch(client, feed, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag


def test_a_stale_etag_gets_the_new_feed(client, people, db, runtime, doorbell):
    circle_id = couple(client, people, db)
    ritual = add_ritual(client, people, circle_id)
    feed = new_feed(client, people)
    etag = fetch(client, feed).headers["ETag"]
    client.patch(f"/api/v1/rituals/{ritual['id']}", json={"title": "Evening tea"}, headers=people.headers("Alice"))
    assert render(runtime, feed["id"])
    fresh = fetch(client, feed, **{"If-None-Match": etag})
    assert fresh.status_code == 200
    assert b"Evening tea" in fresh.data
    assert fresh.headers["ETag"] != etag


def test_a_client_that_accepts_gzip_gets_the_same_feed_compressed(client, people):
    people.create("Alice")
    feed = new_feed(client, people)
    plain = fetch(client, feed)
    packed = fetch(client, feed, **{"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    assert packed.headers["ETag"] == plain.headers["ETag"]
    assert "Content-Encoding" not in plain.headers


@pytest.mark.parametrize("refusal", ["gzip;q=0", "identity, *;q=0", "br, deflate"])
def test_a_client_that_refuses_gzip_gets_plain_bytes(client, people, refusal):
    people.create("Alice")
    feed = new_feed(client, people)
    for _ in range(2):  # the first poll may be the view's (first render), the next the middleware's
        answer = fetch(client, feed, **{"Accept-Encoding": refusal})
        assert answer.status_code == 200 and "Content-Encoding" not in answer.headers
        assert answer.data.startswith(b"BEGIN:VCALENDAR")
