"""Fixtures for the attacks of issue 10 (see helpers.py)."""

from __future__ import annotations

import pytest

from tests.security.helpers import MALLORY


@pytest.fixture
def mallory(people, client):
    """Mallory, signed up by code, with a circle of her own; returns (headers, circle id)."""
    people.PHONES = people.PHONES | {"Mallory": MALLORY}
    people.create("Mallory")
    headers = people.headers("Mallory")
    circle = client.post("/api/v1/circles", json={"name": "Mallory's"}, headers=headers).get_json()
    return headers, circle["id"]
