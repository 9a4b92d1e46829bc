"""Only requests signed by Twilio for TEND_PUBLIC_URL change anything."""

from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from service.domain.models import InboundMessage, Person
from tests.checkins.helpers import checkin_count, reminded_couple, sent_reminder_sid
from tests.texting import signed


def stored_messages(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage))


def test_a_forged_signature_is_refused_and_nothing_is_stored(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    form = texts.inbound_form("Alice", "DONE")
    response = texts.post("/webhooks/twilio/sms", form, headers=signed("/webhooks/twilio/sms", form, "not-the-token"))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert stored_messages(db) == 0 and checkin_count(db) == 0


def test_a_missing_signature_is_refused(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    response = texts.post("/webhooks/twilio/sms", texts.inbound_form("Alice", "DONE"), headers={})
    assert response.status_code == 403
    assert stored_messages(db) == 0 and checkin_count(db) == 0


def test_a_signature_for_other_parameters_is_refused(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    form = texts.inbound_form("Alice", "SKIP")
    headers = signed("/webhooks/twilio/sms", form, texts.auth_token)
    response = texts.post("/webhooks/twilio/sms", form | {"Body": "DONE"}, headers=headers)
    assert response.status_code == 403
    assert checkin_count(db) == 0


def test_a_signature_for_another_host_is_refused(client, people, db, clock, sms, fake_twilio, texts):
    """The URL signed must be TEND_PUBLIC_URL's, not whatever host the request reached us on."""
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    form = texts.inbound_form("Alice", "DONE")
    internal = RequestValidator(texts.auth_token).compute_signature("http://localhost/webhooks/twilio/sms", form)
    response = texts.post("/webhooks/twilio/sms", form, headers={"X-Twilio-Signature": internal})
    assert response.status_code == 403


def test_a_forged_status_callback_changes_nothing(client, people, db, clock, sms, fake_twilio, texts):
    reminded_couple(client, people, db, clock, sms, fake_twilio)
    sid = sent_reminder_sid(db, people.ids["Alice"])
    params = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "21610"}
    forged = signed("/webhooks/twilio/status", params, "forged")
    response = texts.post("/webhooks/twilio/status", params, headers=forged)
    assert response.status_code == 403
    with db.session() as s:
        assert s.get(Person, people.ids["Alice"]).sms_status == "active"


def test_without_twilio_credentials_every_webhook_is_refused(client, people, db):
    """The console transport has no auth token, so no request can be verified."""
    people.create("Alice")
    form = {"MessageSid": "SM" + "1" * 32, "From": people.PHONES["Alice"], "Body": "YES"}
    for path in ("/webhooks/twilio/sms", "/webhooks/twilio/status"):
        response = client.post(path, data=form, headers=signed(path, form, "test-auth-token"))
        assert response.status_code == 403
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_a_signed_request_without_message_sid_is_a_bad_request(texts, people):
    people.create("Alice")
    form = texts.inbound_form("Alice", "YES")
    del form["MessageSid"]
    assert texts.post("/webhooks/twilio/sms", form).status_code == 400


def test_the_webhooks_stay_out_of_the_openapi_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert not [path for path in paths if path.startswith("/webhooks")]
    assert "/api/v1/checkins" in paths
