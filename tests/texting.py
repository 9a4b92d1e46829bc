"""Texting Tend as Twilio would: signed form posts to the webhooks, TwiML back (the `texts` fixture is in tests/conftest.py)."""

from __future__ import annotations

import uuid
from xml.etree import ElementTree

from twilio.request_validator import RequestValidator

from tests.builders import PUBLIC_URL

TEND_NUMBER = "+15005550006"


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


def signed(path: str, params: dict[str, str], auth_token: str) -> dict[str, str]:
    """The X-Twilio-Signature header Twilio would send, computed by the real SDK."""
    return {"X-Twilio-Signature": RequestValidator(auth_token).compute_signature(PUBLIC_URL + path, params)}


def twiml_message(response) -> str:
    """The text of the TwiML <Message>, or "" when the reply is empty."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    message = ElementTree.fromstring(response.get_data()).find("Message")
    return "" if message is None else message.text or ""


class Texts:
    """People's phones: `send("Alice", "DONE")` posts a signed inbound SMS and returns Tend's answer."""

    def __init__(self, client, auth_token: str, phones: dict[str, str]):
        self.client = client
        self.auth_token = auth_token
        self.phones = phones

    def inbound_form(self, sender: str, body: str, sid: str | None = None, **extra: str) -> dict[str, str]:
        return {
            "MessageSid": sid or new_sid(),
            "SmsSid": sid or new_sid(),
            "AccountSid": "AC" + "0" * 32,
            "From": self.phones.get(sender, sender),
            "To": TEND_NUMBER,
            "Body": body,
            "NumMedia": "0",
        } | extra

    def post(self, path: str, params: dict[str, str], headers: dict[str, str] | None = None):
        headers = signed(path, params, self.auth_token) if headers is None else headers
        return self.client.post(path, data=params, headers=headers)

    def send(self, sender: str, body: str, sid: str | None = None, **extra: str) -> str:
        return twiml_message(self.post("/webhooks/twilio/sms", self.inbound_form(sender, body, sid, **extra)))

    def status(self, sid: str, status: str, error_code: str | None = None):
        params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
        if error_code:
            params["ErrorCode"] = error_code
        return self.post("/webhooks/twilio/status", params)
