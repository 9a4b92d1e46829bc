"""Attack 2: SMS pumping, texting premium-rate, toll-free, landline and foreign numbers, or one number over and over."""

from __future__ import annotations

import dataclasses

import pytest

from service.web.app import create_app
from tests.security.helpers import ALICE, outbox_to


@pytest.mark.parametrize(
    "phone",
    [
        "+449012345678",  # premium rate, and not a country Tend texts
        "+19002345678",  # premium rate
        "+37190123456",  # premium rate, Latvia
        "+18002345678",  # toll-free
        "+441212345678",  # landline
        "+15005550101",  # a personal number (Twilio's magic test range)
    ],
)
def test_codes_are_not_texted_to_numbers_that_cannot_receive_sms(client, db, phone):
    response = client.post("/api/v1/codes", json={"phone": phone})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "phone" and "Tend can text mobile numbers in US, CA" in error["message"]
    assert outbox_to(db, phone) == []


def test_tend_sms_countries_chooses_the_countries_tend_texts(runtime, db):
    runtime.config = dataclasses.replace(runtime.config, sms_countries=("GB",))
    client = create_app(runtime).test_client()
    assert client.post("/api/v1/codes", json={"phone": "+447700900123"}).status_code == 422  # a drama number
    uk_mobile = client.post("/api/v1/codes", json={"phone": "+447400123456"})
    assert uk_mobile.status_code == 202, uk_mobile.get_json()
    assert client.post("/api/v1/codes", json={"phone": ALICE}).status_code == 422


def test_codes_to_one_number_are_limited_whoever_asks(client, db, clock):
    answers = [
        client.post("/api/v1/codes", json={"phone": ALICE}, environ_base={"REMOTE_ADDR": f"203.0.113.{n}"})
        for n in range(4)
    ]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert answers[-1].get_json()["error"]["code"] == "too_many_messages"
    assert len(outbox_to(db, ALICE)) == 3
    sent = 3
    for _ in range(10):  # 3 an hour, 10 a day
        clock.advance(hours=1, minutes=1)
        sent += sum(client.post("/api/v1/codes", json={"phone": ALICE}).status_code == 202 for _ in range(3))
    assert sent == 10 and len(outbox_to(db, ALICE)) == 10
    clock.advance(hours=24)
    assert client.post("/api/v1/codes", json={"phone": ALICE}).status_code == 202


def test_the_code_text_carries_nothing_of_the_requesters_choosing(client, db):
    response = client.post("/api/v1/codes", json={"phone": ALICE, "name": "Win at evil.example"})
    assert response.status_code == 422  # no such field
    client.post("/api/v1/codes", json={"phone": ALICE})
    (code,) = outbox_to(db, ALICE)
    assert code.kind == "code" and "Signing in with it means you agree" in code.body
