"""SPEC §8's 429: the JSON API is rate limited per person (or address); SMS-sending calls more tightly."""

from __future__ import annotations

import dataclasses
import subprocess
import time

import pytest

from service.web.app import create_app
from tests.builders import People


def limited_client(runtime, redis_url=None, **limits):
    runtime.config = dataclasses.replace(runtime.config, redis_url=redis_url, **limits)
    return create_app(runtime).test_client()


def test_a_token_over_its_budget_gets_429_with_retry_after_in_the_error_shape(runtime):
    client = limited_client(runtime, api_rate_limit="3 per minute")
    people = People(client, runtime.db)
    people.create("Alice")
    people.create("Bob")
    answers = [client.get("/api/v1/me", headers=people.headers("Alice")) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].get_json()["error"]["code"] == "rate_limited"
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert "Retry-After" not in answers[0].headers and answers[0].headers["X-RateLimit-Remaining"] == "2"
    assert client.get("/api/v1/me", headers=people.headers("Bob")).status_code == 200  # each person their own budget


def ask_code(client, phone, **kwargs):
    return client.post("/api/v1/codes", json={"phone": phone}, **kwargs).status_code


def test_code_requests_from_one_address_have_their_own_tighter_limit(runtime):
    client = limited_client(runtime, signup_rate_limit="2 per hour")
    here = {"environ_base": {"REMOTE_ADDR": "203.0.113.7"}}
    statuses = [ask_code(client, phone, **here) for phone in People.PHONES.values()]
    assert statuses == [202, 202, 429, 429]
    assert ask_code(client, "+14155550105", environ_base={"REMOTE_ADDR": "198.51.100.9"}) == 202


def test_a_made_up_token_does_not_buy_a_fresh_code_budget(runtime):
    client = limited_client(runtime, signup_rate_limit="2 per hour")
    statuses = [
        ask_code(client, phone, headers={"Authorization": f"Bearer made-up-{name}"})
        for name, phone in People.PHONES.items()
    ]
    assert statuses == [202, 202, 429, 429]


def test_failed_requests_use_up_the_code_limit_too(runtime):
    client = limited_client(runtime, signup_rate_limit="1 per hour")
    assert [ask_code(client, "not a phone"), ask_code(client, "+14155550101")] == [422, 429]


def test_behind_a_trusted_proxy_the_forwarded_address_counts(runtime):
    client = limited_client(runtime, signup_rate_limit="1 per hour", trusted_proxies=1)

    def code_for(name, forwarded_for):
        return ask_code(client, People.PHONES[name], headers={"X-Forwarded-For": forwarded_for})

    assert [code_for("Alice", "203.0.113.7"), code_for("Bob", "198.51.100.9"), code_for("Charlie", "203.0.113.7")] == [
        202,
        202,
        429,
    ]


@pytest.mark.parametrize("path", ["/healthz", "/feeds/nothing-here.ics", "/d/nothing-here"])
def test_polled_and_operational_paths_are_not_limited(runtime, path):
    client = limited_client(runtime, api_rate_limit="1 per minute")
    statuses = {client.get(path).status_code for _ in range(3)}
    assert 429 not in statuses


def answers_of_two_web_processes(runtime, redis_url: str) -> list[int]:
    """Two apps on one Redis, 2 requests a minute each: Alice asks the first once, then the second twice."""
    first = limited_client(runtime, redis_url, api_rate_limit="2 per minute")
    second = limited_client(runtime, redis_url, api_rate_limit="2 per minute")
    people = People(first, runtime.db)
    people.create("Alice")
    return [c.get("/api/v1/me", headers=people.headers("Alice")).status_code for c in (first, second, second)]


def test_with_redis_every_web_process_shares_one_budget(runtime, redis_url):
    assert answers_of_two_web_processes(runtime, redis_url) == [200, 200, 429]


def test_the_openapi_document_lists_429_on_every_operation(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert all(path.startswith("/api/v1/") for path in paths)  # only the limited API is documented
    assert all("429" in operation["responses"] for operations in paths.values() for operation in operations.values())


@pytest.fixture
def unix_redis(tmp_path):
    """A Redis server listening only on a unix socket: REDIS_URL=unix:///…."""
    socket_path = tmp_path / "redis.sock"
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(socket_path), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not socket_path.exists():
            assert time.monotonic() < deadline, "redis-server did not open its socket"
            time.sleep(0.05)
        yield f"unix://{socket_path}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_unix_socket_redis_url_starts_the_app_and_shares_its_counters(runtime, unix_redis):
    assert answers_of_two_web_processes(runtime, unix_redis) == [200, 200, 429]
