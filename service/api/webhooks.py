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
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from service import checkins
from service.api.context import commit, now, runtime, session
from service.errors import ApiError
from service.models import OutboundSms, Person

log = logging.getLogger(__name__)

bp = APIBlueprint("webhooks", __name__, url_prefix="/webhooks/twilio", enable_openapi=False)

# Twilio's final statuses, as outbound SMS states; earlier ones (accepted, queued, sending, sent) never move a row back.
FINAL_STATES = {"delivered": "delivered", "read": "delivered", "undelivered": "undelivered", "failed": "failed"}
NOT_FINAL = ("queued", "sending", "sent")
OPTED_OUT_CODE = "21610"
MAX_SID_LENGTH = 64


@bp.before_request
def require_twilio_signature() -> None:
    config = runtime().config
    signature = request.headers.get("X-Twilio-Signature", "")
    url = config.public_url + request.full_path.removesuffix("?")
    if not (config.twilio_auth_token and signature
            and RequestValidator(config.twilio_auth_token).validate(url, request.form, signature)):
        log.warning("refused an unsigned or wrongly signed Twilio webhook to %s", request.path)
        raise ApiError(403, "forbidden", "Missing or invalid X-Twilio-Signature.")


@bp.post("/sms")
def inbound_sms() -> Response:
    """An SMS to Tend's number: apply it once per MessageSid and answer in TwiML."""
    inbound = checkins.Inbound(
        message_sid=_message_sid(), sender=request.form.get("From", ""), body=request.form.get("Body", ""),
        opt_out_type=request.form.get("OptOutType"),
    )
    answer = checkins.handle_inbound(session(), inbound, now())
    commit(answer.sms_ids)
    reply = MessagingResponse()
    if answer.reply:
        reply.message(answer.reply)
    return Response(str(reply), mimetype="text/xml")


@bp.post("/status")
def delivery_status() -> tuple[str, int]:
    """Twilio's report on an SMS Tend sent: final states only, never backwards; 21610 opts the person out."""
    record_delivery(session(), _message_sid(), request.form.get("MessageStatus", ""), request.form.get("ErrorCode"))
    commit()
    return "", 204


def record_delivery(session: Session, sid: str, status: str, error_code: str | None) -> None:
    """Idempotent: a repeated or out-of-order callback finds the rows already final and changes nothing."""
    state = FINAL_STATES.get(status)
    if state is not None:
        values: dict[str, str] = {"state": state} | ({"error_code": error_code} if error_code else {})
        session.execute(update(OutboundSms).where(OutboundSms.sid == sid, OutboundSms.state.in_(NOT_FINAL))
                        .values(**values))
    if error_code == OPTED_OUT_CODE:
        recipients = select(OutboundSms.person_id).where(OutboundSms.sid == sid)
        session.execute(update(Person).where(Person.id.in_(recipients)).values(sms_status="opted_out"))
        log.info("SMS %s: recipient opted out at the carrier (21610)", sid)


def _message_sid() -> str:
    sid = request.form.get("MessageSid", "")
    if not sid or len(sid) > MAX_SID_LENGTH:
        raise ApiError(400, "bad_request", "MessageSid is missing or malformed.", "MessageSid")
    return sid
