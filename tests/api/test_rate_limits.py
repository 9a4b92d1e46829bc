"""SPEC §8's 429: the JSON API is rate limited per token (or address); SMS-sending calls more tightly."""

from __future__ import annotations

import dataclasses
import subprocess
import time

import pytest

from service.web.app import create_app
from tests.conftest import People


def limited_client(runtime, redis_url=None, **limits):
    runtime.config = dataclasses.replace(runtime.config, redis_url=redis_url, **limits)
    return create_app(runtime).test_client()


def test_a_token_over_its_budget_gets_429_with_retry_after_in_the_error_shape(runtime):
    client = limited_client(runtime, api_rate_limit="3 per minute")
    people = People(client)
    people.create("Alice")
    people.create("Bob")
    answers = [client.get("/api/v1/me", headers=people.headers("Alice")) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].get_json()["error"]["code"] == "rate_limited"
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert "Retry-After" not in answers[0].headers and answers[0].headers["X-RateLimit-Remaining"] == "2"
    assert client.get("/api/v1/me", headers=people.headers("Bob")).status_code == 200  # each token its own budget


def test_sign_ups_from_one_address_have_their_own_tighter_limit(runtime):
    client = limited_client(runtime, signup_rate_limit="2 per hour")
    statuses = [
        client.post(
            "/api/v1/people",
            json={"name": name, "phone": phone, "timezone": "Europe/London"},
            environ_base={"REMOTE_ADDR": "203.0.113.7"},
        ).status_code
        for name, phone in People.PHONES.items()
    ]
    assert statuses == [201, 201, 429, 429]
    other = client.post(
        "/api/v1/people",
        json={"name": "Eve", "phone": "+15005550105", "timezone": "Europe/London"},
        environ_base={"REMOTE_ADDR": "198.51.100.9"},
    )
    assert other.status_code == 201


def test_a_made_up_token_does_not_buy_a_fresh_sign_up_budget(runtime):
    client = limited_client(runtime, signup_rate_limit="2 per hour")
    statuses = [
        client.post(
            "/api/v1/people",
            json={"name": name, "phone": phone, "timezone": "Europe/London"},
            headers={"Authorization": f"Bearer made-up-{name}"},
        ).status_code
        for name, phone in People.PHONES.items()
    ]
    assert statuses == [201, 201, 429, 429]


def test_only_sign_ups_that_were_made_use_up_the_sign_up_limit(runtime):
    client = limited_client(runtime, signup_rate_limit="1 per hour")

    def sign_up(name, phone):
        return client.post("/api/v1/people", json={"name": name, "phone": phone, "timezone": "UTC"}).status_code

    assert [sign_up("Alice", "not a phone"), sign_up("Alice", "+15005550101"), sign_up("Bob", "+15005550102")] == [
        422,
        201,
        429,
    ]


def test_behind_a_trusted_proxy_the_forwarded_address_counts(runtime):
    client = limited_client(runtime, signup_rate_limit="1 per hour", trusted_proxies=1)

    def sign_up(name, forwarded_for):
        return client.post(
            "/api/v1/people",
            json={"name": name, "phone": People.PHONES[name], "timezone": "UTC"},
            headers={"X-Forwarded-For": forwarded_for},
        ).status_code

    assert [sign_up("Alice", "203.0.113.7"), sign_up("Bob", "198.51.100.9"), sign_up("Charlie", "203.0.113.7")] == [
        201,
        201,
        429,
    ]


@pytest.mark.parametrize("path", ["/healthz", "/feeds/nothing-here.ics", "/d/nothing-here"])
def test_polled_and_operational_paths_are_not_limited(runtime, path):
    client = limited_client(runtime, api_rate_limit="1 per minute")
    statuses = {client.get(path).status_code for _ in range(3)}
    assert 429 not in statuses


def test_with_redis_every_web_process_shares_one_budget(runtime, redis_url):
    first = limited_client(runtime, redis_url, api_rate_limit="2 per minute")
    second = limited_client(runtime, redis_url, api_rate_limit="2 per minute")
    people = People(first)
    people.create("Alice")
    statuses = [c.get("/api/v1/me", headers=people.headers("Alice")).status_code for c in (first, second, second)]
    assert statuses == [200, 200, 429]


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
    first = limited_client(runtime, unix_redis, api_rate_limit="2 per minute")
    second = limited_client(runtime, unix_redis, api_rate_limit="2 per minute")
    people = People(first)
    people.create("Alice")
    statuses = [c.get("/api/v1/me", headers=people.headers("Alice")).status_code for c in (first, second, second)]
    assert statuses == [200, 200, 429]
