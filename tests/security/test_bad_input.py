"""Attack 6: a 500 for bad input. Every such request gets a 4xx (or is stored safely) and changes nothing else."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from service.domain.models import DeliveryReport, InboundMessage
from tests.builders import couple, promise_body, ritual_body
from tests.texting import new_sid


@pytest.fixture
def alice(client, people, db):
    return couple(client, people, db), people.headers("Alice")


def test_byday_53su_in_a_monthly_rule_is_a_422(client, alice):
    circle, headers = alice
    body = ritual_body(rrule="FREQ=MONTHLY;BYDAY=53SU", starts="2026-12-06T07:30")
    response = client.post(f"/api/v1/circles/{circle}/rituals", json=body, headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "rrule"


def test_arabic_indic_digits_in_an_rrule_are_a_422(client, alice):
    circle, headers = alice
    response = client.post(
        f"/api/v1/circles/{circle}/rituals", json=ritual_body(rrule="FREQ=DAILY;COUNT=١٢"), headers=headers
    )
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "rrule"


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "nul\x00here"])
def test_a_lone_surrogate_or_nul_in_a_name_or_title_is_a_4xx(client, alice, text):
    circle, headers = alice
    raw = json.dumps({"name": text})  # json.dumps writes lone surrogates as \\ud800 escapes
    response = client.post("/api/v1/circles", data=raw, content_type="application/json", headers=headers)
    assert response.status_code in (400, 422)
    raw = json.dumps(ritual_body(title=text))
    response = client.post(
        f"/api/v1/circles/{circle}/rituals", data=raw, content_type="application/json", headers=headers
    )
    assert response.status_code in (400, 422)


@pytest.mark.parametrize("field", ["circle_id", "to"])
def test_an_id_of_2_to_the_64_is_a_422(client, alice, field):
    circle, headers = alice
    body = promise_body(circle, to=1) | {field: 2**64}
    response = client.post("/api/v1/promises", json=body, headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["field"] == field


def test_participant_ids_beyond_the_database_range_are_a_422(client, alice):
    circle, headers = alice
    response = client.post(f"/api/v1/circles/{circle}/rituals", json=ritual_body(participants=[2**64]), headers=headers)
    assert response.status_code == 422


@pytest.mark.parametrize(
    "fields",
    [
        {"Body": "DONE\x00"},
        {"From": "+14155550101\x00"},
        {"MessageSid": "SM\x00" + "1" * 30},
        {"From": "+1" + "5" * 100},
        {"OptOutType": "STOP\x00"},
    ],
)
def test_a_signed_inbound_webhook_with_nul_or_overlong_fields_never_500s(people, texts, fields):
    people.create("Alice")
    response = texts.post("/webhooks/twilio/sms", texts.inbound_form("Alice", "DONE") | fields)
    assert response.status_code in (200, 400)


def test_a_nul_in_an_inbound_body_is_stored_without_it(people, db, texts):
    people.create("Alice")
    sid = new_sid()
    assert texts.post("/webhooks/twilio/sms", texts.inbound_form("Alice", "HE\x00LP", sid)).status_code == 200
    with db.session() as s:
        assert s.get(InboundMessage, sid).body == "HELP"


def test_a_status_callback_with_an_overlong_error_code_is_stored_safely(texts, db):
    sid = new_sid()
    assert texts.status(sid, "failed", error_code="3" * 40).status_code == 204
    assert texts.status(new_sid(), "fa\x00iled").status_code == 400
    with db.session() as s:
        report = s.scalar(select(DeliveryReport).where(DeliveryReport.message_sid == sid))
    assert (report.status, report.error_code) == ("failed", None)
