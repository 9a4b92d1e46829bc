"""The per-number limits (issue 18) and the one-name rules (issue 22) hold under parallel requests, on PostgreSQL
and on SQLite.

A real threaded HTTP server and parallel clients: before the limits were
counted under the number's lock, 20 parallel code requests texted 17 codes, and
parallel invitations of a new number answered 500 (a unique key on the number).
Before the name checks read under the owner's or the circle's lock, parallel
creates of one name all passed the check and made several.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from werkzeug.serving import make_server

from service.domain.db import Database
from service.domain.migrate import upgrade
from service.domain.models import SmsKind
from service.domain.runtime import Runtime
from service.web.app import create_app
from tests.builders import People, add_circle, add_ritual, make_config, ritual_body
from tests.rules.doors import texts_to

NEW_NUMBER = "+14155550188"
PARALLEL_CODES, PARALLEL_INVITATIONS, PARALLEL_NAMES = 20, 6, 8


class Served:
    """Tend on loopback over one database; `people` sign up through the same app."""

    def __init__(self, runtime: Runtime) -> None:
        self.db = runtime.db
        self.app = create_app(runtime)
        self.people = People(self.app.test_client(), runtime.db)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def all_at_once(self, calls: list[tuple[str, dict, dict]], method: str = "POST") -> list[int]:
        """Send every (path, json, headers) in parallel, released together; their status codes."""
        start = threading.Barrier(len(calls))

        def post(call: tuple[str, dict, dict]) -> int:
            path, body, headers = call
            with requests.Session() as http:
                start.wait()
                return http.request(method, self.url + path, json=body, headers=headers, timeout=60).status_code

        with ThreadPoolExecutor(len(calls)) as pool:
            return list(pool.map(post, calls))

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(5)
        self.server.server_close()


@pytest.fixture(params=["postgresql", "sqlite"])
def served(request, tmp_path, clock, doorbell) -> Iterator[Served]:
    if request.param == "postgresql":
        runtime = request.getfixturevalue("runtime")
    else:
        url = f"sqlite:///{tmp_path}/tend.db"
        upgrade(url)
        runtime = Runtime(
            config=make_config(tmp_path, DATABASE_URL=url), db=Database(url), now=clock, doorbell=doorbell
        )
    server = Served(runtime)
    yield server
    server.close()
    if request.param == "sqlite":
        runtime.db.dispose()


def test_parallel_code_requests_text_at_most_the_limit(served):
    calls = [("/api/v1/codes", {"phone": NEW_NUMBER}, {})] * PARALLEL_CODES
    statuses = served.all_at_once(calls)
    assert sorted(statuses) == [202] * 3 + [429] * (PARALLEL_CODES - 3)
    assert texts_to(served.db, NEW_NUMBER, SmsKind.CODE) == 3


def test_parallel_invitations_of_a_new_number_text_at_most_the_limit(served):
    people = served.people
    people.create("Alice")
    circles = [add_circle(people.client, people, name=f"Circle {n}") for n in "ABCDEF"]
    headers = people.headers("Alice")
    calls = [(f"/api/v1/circles/{c}/members", {"name": "Sam", "phone": NEW_NUMBER}, headers) for c in circles]
    statuses = served.all_at_once(calls)
    assert sorted(statuses) == [201] * 3 + [429] * (PARALLEL_INVITATIONS - 3)
    assert texts_to(served.db, NEW_NUMBER, SmsKind.INVITATION) == 3


def test_parallel_circles_of_one_name_make_one(served):
    served.people.create("Alice")
    calls = [("/api/v1/circles", {"name": "Alice & Bob"}, served.people.headers("Alice"))] * PARALLEL_NAMES
    assert sorted(served.all_at_once(calls)) == [201] + [409] * (PARALLEL_NAMES - 1)
    listed = served.people.client.get("/api/v1/circles", headers=served.people.headers("Alice")).get_json()
    assert [circle["name"] for circle in listed["items"]] == ["Alice & Bob"]


def test_parallel_rituals_of_one_title_make_one(served):
    people = served.people
    people.create("Alice")
    circle = add_circle(people.client, people)
    calls = [(f"/api/v1/circles/{circle}/rituals", ritual_body(title="Evening walk"), people.headers("Alice"))]
    assert sorted(served.all_at_once(calls * PARALLEL_NAMES)) == [201] + [409] * (PARALLEL_NAMES - 1)
    listed = people.client.get("/api/v1/rituals", headers=people.headers("Alice")).get_json()
    assert [ritual["title"] for ritual in listed["items"]] == ["Evening walk"]


def test_parallel_renames_to_one_title_rename_one(served):
    people = served.people
    people.create("Alice")
    circle = add_circle(people.client, people)
    rituals = [add_ritual(people.client, people, circle, title=f"Walk {n}")["id"] for n in "ABCDEFGH"]
    calls = [(f"/api/v1/rituals/{ritual}", {"title": "Evening walk"}, people.headers("Alice")) for ritual in rituals]
    assert sorted(served.all_at_once(calls, method="PATCH")) == [200] + [409] * (len(rituals) - 1)
    listed = people.client.get("/api/v1/rituals", headers=people.headers("Alice")).get_json()
    assert sorted(ritual["title"] for ritual in listed["items"]).count("Evening walk") == 1
