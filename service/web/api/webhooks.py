"""Twilio's webhooks: inbound SMS (answered with TwiML) and delivery status callbacks (SPEC §4).

Both are form-encoded and signed, so they stay out of the JSON schema layer
and the OpenAPI document. Every request must carry a valid X-Twilio-Signature
computed over TEND_PUBLIC_URL + path + query (behind a proxy the request's own
URL differs, twilio-python #751); otherwise 403 and nothing changes. Without a
Twilio auth token (the console transport) there is no way to verify anything,
so both webhooks always answer 403.

Twilio gives a webhook 15 s: nothing here calls Twilio; SMS to others go to
the outbox and the doorbell rings after commit.
"""

from __future__ import annotations

import logging

from apiflask import APIBlueprint
from flask import Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from service.domain import conversation, delivery_reports, texted_setup, unit_of_work
from service.web.context import commit, now, runtime, session
from service.web.errors import ApiError

log = logging.getLogger(__name__)

bp = APIBlueprint("webhooks", __name__, url_prefix="/webhooks/twilio", enable_openapi=False)

MAX_SID_LENGTH = 64
MAX_PHONE_LENGTH = 32
MAX_BODY_LENGTH = 1600  # Twilio's own limit for one message's body


@bp.before_request
def require_twilio_signature() -> None:
    config = runtime().config
    signature = request.headers.get("X-Twilio-Signature", "")
    url = config.public_url + request.full_path.removesuffix("?")
    if not (
        config.twilio_auth_token
        and signature
        and RequestValidator(config.twilio_auth_token).validate(url, request.form, signature)
    ):
        log.warning("refused an unsigned or wrongly signed Twilio webhook to %s", request.path)
        raise ApiError(403, "forbidden", "Missing or invalid X-Twilio-Signature.")


@bp.post("/sms")
def inbound_sms() -> Response:
    """An SMS to Tend's number: apply it once per MessageSid and answer in TwiML."""
    inbound = conversation.Inbound(
        message_sid=_message_sid(),
        sender=_field("From", MAX_PHONE_LENGTH),
        body=request.form.get("Body", "").replace("\x00", "")[:MAX_BODY_LENGTH],
        opt_out_type=_field("OptOutType", 20) or None,
    )
    # A reply to a numbered reminder locks several streak figures while the clock may be closing other
    # occurrences of the same subjects: PostgreSQL can then abort one of the two, and the reply is done again.
    answer = unit_of_work.run(
        runtime().db,
        runtime().doorbell,
        lambda s: conversation.handle_inbound(s, inbound, now(), _links()),
        what=f"inbound SMS {inbound.message_sid}",
    )
    reply = MessagingResponse()
    if answer.reply:
        reply.message(answer.reply)
    return Response(str(reply), mimetype="text/xml")


@bp.post("/status")
def delivery_status() -> tuple[str, int]:
    """Twilio's report on an SMS Tend sent: final states only, never backwards; 21610 opts the person out.

    The URL's `row` names the outbox rows the SMS carries (signed with the rest of the URL): the report ties the
    SID to them even when the worker died before recording it.
    """
    error_code = request.form.get("ErrorCode")
    delivery_reports.record(
        session(),
        _message_sid(),
        _field("MessageStatus", 16),
        error_code if error_code and error_code.isascii() and error_code.isdigit() and len(error_code) <= 20 else None,
        now(),
        rows=delivery_reports.parse_callback_rows(request.args.get("row")),
        to=_field("To", 32) or None,
    )
    commit()
    return "", 204


def _links() -> texted_setup.Links:
    config = runtime().config
    return texted_setup.Links(config.public_url, config.sms_countries)


def _message_sid() -> str:
    sid = request.form.get("MessageSid", "")
    if not (sid and len(sid) <= MAX_SID_LENGTH and sid.isascii() and sid.isalnum()):
        raise ApiError(400, "bad_request", "MessageSid is missing or malformed.", "MessageSid")
    return sid


def _field(name: str, longest: int) -> str:
    """A short form field as the database can store it: no NUL, bounded; otherwise 400."""
    value = request.form.get(name, "")
    if len(value) > longest or "\x00" in value:
        raise ApiError(400, "bad_request", f"{name} is malformed.", name)
    return value
