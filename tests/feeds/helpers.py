"""Creating and fetching feeds through the API, for feed tests."""

from urllib.parse import urlsplit

import icalendar

from service.domain import feed_content

PUBLIC_URL = "http://tend.test"  # TEND_PUBLIC_URL in tests/conftest.py


def new_feed(client, people, name="Alice", **body):
    """POST /api/v1/feeds as `name` (a person feed unless told otherwise); the answer's JSON."""
    response = client.post("/api/v1/feeds", json={"scope": "person"} | body, headers=people.headers(name))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def fetch(client, feed, **headers):
    """GET the feed's URL on the test client."""
    return client.get(urlsplit(feed["url"]).path, headers=headers)


def calendar(client, feed) -> icalendar.Calendar:
    response = fetch(client, feed)
    assert response.status_code == 200, response.get_data(as_text=True)
    return icalendar.Calendar.from_ical(response.data)


def events(client, feed) -> list[icalendar.Event]:
    return list(calendar(client, feed).walk("VEVENT"))


def render(runtime, feed_id: int) -> bool:
    """What the render_feed actor does, returning whether there was anything to render."""
    with runtime.db.session() as session:
        return feed_content.refresh(session, feed_id, now=runtime.now(), secret=runtime.config.secret_key)
