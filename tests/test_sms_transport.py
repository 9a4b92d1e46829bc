"""The SMS transports against a fake Twilio API, spoken to by the real twilio SDK."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import requests
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from service.web.app import create_app
from tests.fake_twilio import FakeTwilio
from workers import delivery
from workers import runtime as worker_runtime
from workers.runtime import WorkerContext
from workers.send_rate import SendRate
from workers.sms_transport import ConsoleTransport, TransportError, TwilioTransport

ALICE = "+15551230001"
BOB = "+15551230002"
SENDER = "+15557770000"
SERVICE_SID = "MG" + "1" * 32
CALLBACK_URL = "https://tend.example/twilio/status"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


def transport_for(fake: FakeTwilio, **options) -> TwilioTransport:
    options = {"from_number": SENDER, "api_base_url": fake.base_url, "timeout": 5.0} | options
    return TwilioTransport(fake.account_sid, fake.auth_token, **options)


def send_error(transport: TwilioTransport, to: str = ALICE, body: str = "Tend: hello") -> TransportError:
    with pytest.raises(TransportError) as caught:
        transport.send(to, body)
    return caught.value


def test_it_sends_from_a_number(fake_twilio):
    sid = transport_for(fake_twilio).send(ALICE, "Tend: Morning coffee talk with Sam at 7:30.")

    [message] = fake_twilio.messages
    assert sid == message["sid"] and sid.startswith("SM")
    assert (message["to"], message["from_"], message["messaging_service_sid"]) == (ALICE, SENDER, None)
    assert message["body"] == "Tend: Morning coffee talk with Sam at 7:30."
    assert message["date_created"].tzinfo is not None


def test_it_sends_through_a_messaging_service(fake_twilio):
    transport = transport_for(fake_twilio, from_number=None, messaging_service_sid=SERVICE_SID)

    transport.send(ALICE, "Tend: hello")

    [message] = fake_twilio.messages
    assert (message["from_"], message["messaging_service_sid"]) == (None, SERVICE_SID)


def test_it_needs_a_sender():
    with pytest.raises(ValueError):
        TwilioTransport("AC" + "0" * 32, "token")


def test_it_passes_the_status_callback_through(fake_twilio):
    transport_for(fake_twilio, status_callback=CALLBACK_URL).send(ALICE, "Tend: hello")

    assert fake_twilio.messages[0]["status_callback"] == CALLBACK_URL


def test_wrong_credentials_are_a_permanent_error(fake_twilio):
    transport = TwilioTransport(
        fake_twilio.account_sid, "wrong-token", from_number=SENDER, api_base_url=fake_twilio.base_url
    )

    error = send_error(transport)

    assert (error.permanent, error.status, error.code) == (True, 401, 20003)
    assert fake_twilio.messages == []


def test_too_many_requests_is_retryable_after_the_advertised_delay(fake_twilio):
    fake_twilio.fail(ALICE, status=429, code=20429, times=1, retry_after=7)
    transport = transport_for(fake_twilio)

    error = send_error(transport)
    sid = transport.send(ALICE, "Tend: hello")

    assert (error.permanent, error.retry_after, error.code) == (False, 7.0, 20429)
    assert [message["sid"] for message in fake_twilio.messages] == [sid]


def test_a_twilio_server_error_is_retryable(fake_twilio):
    fake_twilio.fail(ALICE, status=500)

    error = send_error(transport_for(fake_twilio))

    assert (error.permanent, error.status, error.retry_after) == (False, 500, None)


def test_an_opted_out_recipient_is_a_permanent_error(fake_twilio):
    fake_twilio.fail(ALICE, status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    transport = transport_for(fake_twilio)

    errors = [send_error(transport), send_error(transport)]

    assert all(error.permanent and error.opted_out for error in errors)
    assert fake_twilio.messages == []


def test_an_invalid_number_is_permanent_but_not_an_opt_out(fake_twilio):
    fake_twilio.fail(ALICE, status=400, code=21211, message="Invalid 'To' Phone Number")

    error = send_error(transport_for(fake_twilio))

    assert (error.permanent, error.opted_out, error.code) == (True, False, 21211)


def test_an_empty_body_is_rejected_as_permanent(fake_twilio):
    error = send_error(transport_for(fake_twilio), body="")

    assert (error.permanent, error.code) == (True, 21602)


def test_unreachable_twilio_is_retryable(fake_twilio):
    transport = transport_for(fake_twilio)
    transport.send(ALICE, "Tend: opens a pooled connection")
    fake_twilio.stop()

    error = send_error(transport)

    assert not error.permanent and error.status is None


def test_find_recent_finds_the_sent_message_by_body(fake_twilio):
    transport = transport_for(fake_twilio)
    since = datetime.now(UTC) - timedelta(seconds=1)
    transport.send(BOB, "Tend: hello")
    sid = transport.send(ALICE, "Tend: hello")
    transport.send(ALICE, "Tend: another")

    assert transport.find_recent(ALICE, "Tend: hello", since) == sid
    assert transport.find_recent(ALICE, "Tend: never sent", since) is None
    assert transport.find_recent(ALICE, "Tend: hello", since + timedelta(minutes=5)) is None


def test_find_recent_takes_since_in_any_timezone(fake_twilio):
    transport = transport_for(fake_twilio)
    since_in_new_york = datetime.now(timezone(timedelta(hours=-5))) - timedelta(seconds=1)
    sid = transport.send(ALICE, "Tend: hello")

    assert transport.find_recent(ALICE, "Tend: hello", since_in_new_york) == sid


def test_the_fake_pages_lists_like_twilio(fake_twilio):
    client = Client(fake_twilio.account_sid, fake_twilio.auth_token)
    client.api.base_url = fake_twilio.base_url
    sids = [transport_for(fake_twilio).send(ALICE, f"Tend: {number}") for number in range(5)]

    listed = client.messages.list(to=ALICE, page_size=2)

    assert [message.sid for message in listed] == sids[::-1]
    assert client.messages(sids[0]).fetch().body == "Tend: 0"


@pytest.fixture
def callback_receiver() -> Iterator[tuple[str, list[tuple[dict, str | None]]]]:
    """A webhook endpoint that records each POST's form and X-Twilio-Signature."""
    received: list[tuple[dict, str | None]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append((dict(parse_qsl(body)), self.headers.get("X-Twilio-Signature")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/twilio/status", received
    server.shutdown()
    server.server_close()
    thread.join()


def test_status_callbacks_are_signed_so_request_validator_accepts_them(fake_twilio, callback_receiver):
    url, received = callback_receiver
    sid = transport_for(fake_twilio, status_callback=url).send(ALICE, "Tend: hello")

    assert fake_twilio.send_status_callback(sid, "undelivered", error_code=30003) == 204

    [(form, signature)] = received
    assert (
        form
        | {
            "MessageSid": sid,
            "MessageStatus": "undelivered",
            "To": ALICE,
            "From": SENDER,
            "AccountSid": fake_twilio.account_sid,
            "ErrorCode": "30003",
        }
        == form
    )
    assert RequestValidator(fake_twilio.auth_token).validate(url, form, signature)
    assert not RequestValidator("another-token").validate(url, form, signature)
    assert fake_twilio.messages[0]["status"] == "undelivered"


def test_console_transport_prints_each_message():
    stream = io.StringIO()

    sid = ConsoleTransport(stream).send(ALICE, "Tend: Sunday walk at 10:00.")

    assert stream.getvalue() == f"SMS to {ALICE}: Tend: Sunday walk at 10:00.\n"
    assert sid.startswith("console-")
    assert ConsoleTransport(stream).find_recent(ALICE, "Tend: Sunday walk at 10:00.", datetime.now(UTC)) is None


def test_one_transport_sends_from_many_threads_exactly_once_each(fake_twilio):
    transport = transport_for(fake_twilio)
    bodies = [f"Tend: thread {thread} message {number}" for thread in range(8) for number in range(50)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        sids = list(pool.map(lambda body: transport.send(ALICE, body), bodies))

    messages = fake_twilio.messages
    assert len(set(sids)) == len(bodies)
    assert sorted(message["body"] for message in messages) == sorted(bodies)
    assert {message["sid"] for message in messages} == set(sids)


def test_the_fake_runs_as_its_own_process():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_twilio", "--port", "0"], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        base_url = process.stdout.readline().strip()
        transport = TwilioTransport("AC" + "0" * 32, "test-auth-token", from_number=SENDER, api_base_url=base_url)
        sid = transport.send(ALICE, "Tend: hello")
        requests.post(
            f"{base_url}/_fake/fail", data=json.dumps({"to": BOB, "status": 400, "code": 21610}), timeout=5
        ).raise_for_status()

        listed = requests.get(f"{base_url}/_fake/messages", timeout=5).json()
        assert send_error(transport, to=BOB).opted_out
        requests.post(f"{base_url}/_fake/reset", timeout=5).raise_for_status()

        assert [(message["sid"], message["to"]) for message in listed] == [(sid, ALICE)]
        assert requests.get(f"{base_url}/_fake/messages", timeout=5).json() == []
    finally:
        process.terminate()
        process.communicate(timeout=10)  # waits, and closes the pipe


@pytest.mark.parametrize("transport, where", [(ConsoleTransport, "the console"), (None, "Twilio")])
def test_the_log_names_where_sent_sms_went(runtime, doorbell, fake_twilio, caplog, transport, where):
    """`tend up` without Twilio prints each SMS: its log says "handed to the console", not "to Twilio"."""
    chosen = transport(io.StringIO()) if transport else transport_for(fake_twilio)
    ctx = WorkerContext(runtime, chosen, SendRate(10_000))
    client = create_app(runtime).test_client()
    assert client.post("/api/v1/codes", json={"phone": "+14155550101"}).status_code == 202
    worker_runtime.install(ctx)
    try:
        with caplog.at_level(logging.INFO, logger="workers.delivery"):
            assert delivery.send_batch(ctx, doorbell.sms.pop(0)) == 1
    finally:
        worker_runtime.install(None)
    assert f"1 SMS handed to {where} (row=SID)" in caplog.text
