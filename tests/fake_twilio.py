"""A fake Twilio REST API on loopback that the real twilio SDK talks to.

Tests point `TwilioTransport(api_base_url=fake.base_url)` at it, so the SDK's
request building, error parsing and paging are exercised for real. It serves
what Tend uses of the Messages resource (create, list, fetch) in Twilio's JSON
shapes, can be told to fail for a number, and can send signed status callbacks.
The fake "sends" instantly: a message's date_sent is its date_created.

Like real Twilio it can be slow and crowded: `latency` (seconds, fixed) or
`latency_p50`/`latency_p99` (a log-normal distribution through those two
percentiles) delays every REST answer, `max_concurrent` answers requests past
that many in flight with HTTP 429 and error 20429 (Twilio's default account
limit is 100), `slow(to, seconds)` delays answers to one number, and
`callbacks` makes it post signed status callbacks (`sent`, then `delivered`)
to each message's StatusCallback by itself. A message is recorded before its
answer is delayed, as Twilio accepts it before the answer reaches the client.

As its own process, for benchmarks and crash tests:

    python -m tests.fake_twilio --port 8765 [--latency-ms 200 | --latency-p50-ms 150 --latency-p99-ms 400]
                                [--concurrency 100] [--callbacks]

prints its base URL once ready and adds control endpoints for other processes:
GET /_fake/messages, GET /_fake/stats, POST /_fake/reset, POST /_fake/fail
(JSON body: the arguments of `FakeTwilio.fail`), POST /_fake/slow (those of
`FakeTwilio.slow`), POST /_fake/configure (those of `FakeTwilio.configure`).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import random
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "test-auth-token"
# Twilio picks a sender from the Messaging Service's pool; the fake has one number in it.
SERVICE_POOL_NUMBER = "+15005550006"
LIST_FILTERS = ("To", "From", "DateSent>", "DateSent<")


class _Reply(NamedTuple):
    status: int
    payload: Any
    headers: dict[str, str] = {}


@dataclass
class _Failure:
    status: int
    code: int | None
    message: str
    retry_after: int | None
    remaining: int | None  # attempts still to fail; None: every attempt

    def reply(self) -> _Reply:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        return _error(self.status, self.code, self.message, headers)


def _error(status: int, code: int | None, message: str, headers: dict[str, str] | None = None) -> _Reply:
    """Twilio's error body; without `code` the SDK falls back to the HTTP status."""
    payload: dict[str, Any] = {"message": message, "status": status}
    if code is not None:
        payload |= {"code": code, "more_info": f"https://www.twilio.com/docs/errors/{code}"}
    return _Reply(status, payload, headers or {})


def _not_found(path: str) -> _Reply:
    return _error(404, 20404, f"The requested resource {path} was not found")


def _instant(value: str) -> datetime:
    """A DateSent filter value: `YYYY-MM-DD` or the SDK's `YYYY-MM-DDTHH:MM:SSZ`, as aware UTC."""
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _matches(record: dict, filters: dict[str, str]) -> bool:
    sent = record["date_created"].replace(microsecond=0)  # the API's dates have second precision
    return (
        filters.get("To", record["to"]) == record["to"]
        and filters.get("From", record["from_"]) == record["from_"]
        and ("DateSent>" not in filters or sent >= _instant(filters["DateSent>"]))
        and ("DateSent<" not in filters or sent <= _instant(filters["DateSent<"]))
    )


class FakeTwilio:
    """The fake's state and its answers, in Twilio's terms; `_Handler` does the HTTP."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._address = (host, port)
        self._basic_auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._account_path = f"/{API_VERSION}/Accounts/{account_sid}"
        self._messages_path = re.compile(re.escape(self._account_path) + r"/Messages\.json")
        self._message_path = re.compile(re.escape(self._account_path) + r"/Messages/(?P<sid>\w+)\.json")
        self._lock = threading.Lock()
        self._messages: list[dict] = []
        self._failures: dict[str, _Failure] = {}
        self._slow: dict[str, float] = {}  # number → seconds before answering a create to it
        self.reply_delay = 0.0  # seconds between recording a message and answering: widens crash windows
        self.latency: float = 0.0  # seconds before every REST answer, fixed…
        self.latency_p50: float | None = None  # …or log-normal through these two percentiles
        self.latency_p99: float | None = None
        self.max_concurrent: int | None = None  # REST requests in flight past this: 429 / 20429
        self.callbacks = False  # post `sent` and `delivered` status callbacks by itself
        self.callback_delay = 0.05  # seconds after the answer
        self.in_flight = 0
        self.peak_in_flight = 0
        self.too_many_requests = 0  # 20429 answers given
        self._random = random.Random()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeTwilio:
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-twilio", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_open_connections()  # or pooled keep-alive clients would still be served
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def messages(self) -> list[dict]:
        """Copies of the messages created so far, oldest first."""
        with self._lock:
            return [dict(record) for record in self._messages]

    def bodies_to(self, phone: str) -> list[str]:
        """The bodies of the messages created for `phone` so far, oldest first."""
        return [m["body"] for m in self.messages if m["to"] == phone]

    def fail(
        self,
        to: str,
        *,
        status: int,
        code: int | None = None,
        times: int | None = None,
        message: str = "Simulated failure",
        retry_after: int | None = None,
    ) -> None:
        """Answer sends to `to` with this error: `times` attempts, or every one if None."""
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for always)")
        with self._lock:
            self._failures[to] = _Failure(status, code, message, retry_after, times)

    def slow(self, to: str, seconds: float) -> None:
        """Answer every create to `to` only after `seconds` (the message is recorded at once); 0 undoes it."""
        with self._lock:
            if seconds:
                self._slow[to] = seconds
            else:
                self._slow.pop(to, None)

    def configure(
        self,
        *,
        latency_ms: float | None = None,
        latency_p50_ms: float | None = None,
        latency_p99_ms: float | None = None,
        concurrency: int | None = None,
        callbacks: bool | None = None,
        reply_delay: float | None = None,
    ) -> FakeTwilio:
        """Latency (fixed, or p50 and p99), the account's concurrency limit (0: none), automatic callbacks."""
        if (latency_p50_ms is None) != (latency_p99_ms is None):
            raise ValueError("latency_p50_ms and latency_p99_ms go together")
        if latency_p50_ms is not None and not 0 < latency_p50_ms <= latency_p99_ms:
            raise ValueError("need 0 < latency_p50_ms <= latency_p99_ms")
        with self._lock:
            if latency_ms is not None:
                self.latency, self.latency_p50, self.latency_p99 = latency_ms / 1000, None, None
            if latency_p50_ms is not None:
                self.latency, self.latency_p50, self.latency_p99 = 0.0, latency_p50_ms / 1000, latency_p99_ms / 1000
            if concurrency is not None:
                self.max_concurrent = concurrency or None
            if callbacks is not None:
                self.callbacks = callbacks
            if reply_delay is not None:
                self.reply_delay = reply_delay
        return self

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "messages": len(self._messages),
                "in_flight": self.in_flight,
                "peak_in_flight": self.peak_in_flight,
                "too_many_requests": self.too_many_requests,
            }

    def _delay(self) -> float:
        if self.latency_p50 is None:
            return self.latency
        # log-normal: median p50, and p99 = p50 · e^(2.326 σ)
        sigma = math.log(self.latency_p99 / self.latency_p50) / 2.326
        return self.latency_p50 * math.exp(self._random.gauss(0.0, sigma))

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._failures.clear()
            self._slow.clear()
            self.peak_in_flight = self.too_many_requests = 0

    def send_status_callback(self, sid: str, status: str, error_code: int | None = None) -> int:
        """POST a signed status callback for message `sid`, as Twilio does; returns the HTTP status."""
        url, params, signature = self.status_callback(sid, status, error_code)
        return requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10).status_code

    def status_callback(self, sid: str, status: str, error_code: int | None = None) -> tuple[str, dict, str]:
        """The status callback Twilio would post for message `sid` now: URL, form and signature."""
        with self._lock:
            record = self._find(sid)
            if record is None:
                raise KeyError(f"no message {sid}")
            url = record["status_callback"]
            if not url:
                raise ValueError(f"message {sid} was sent without a StatusCallback")
            record |= {"status": status, "error_code": error_code}
            params = {
                "MessageSid": sid,
                "SmsSid": sid,
                "MessageStatus": status,
                "SmsStatus": status,
                "To": record["to"],
                "From": record["from_"] or SERVICE_POOL_NUMBER,
                "AccountSid": self.account_sid,
                "ApiVersion": API_VERSION,
                "MessagingServiceSid": record["messaging_service_sid"],
                "ErrorCode": error_code,
            }
        params = {name: str(value) for name, value in params.items() if value is not None}
        return url, params, RequestValidator(self.auth_token).compute_signature(url, params)

    def answer(self, method: str, path: str, authorization: str | None, query: dict[str, str], body: bytes) -> _Reply:
        """The reply to one HTTP request (called by the request handler's threads)."""
        if path.startswith("/_fake/"):
            return self._control(method, path, body)
        if authorization != self._basic_auth:
            return _error(401, 20003, "Authenticate")
        with self._lock:
            if self.max_concurrent is not None and self.in_flight >= self.max_concurrent:
                self.too_many_requests += 1
                return _error(429, 20429, "Too Many Requests", {"Retry-After": "1"})
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            delay = self._delay()
        try:
            started = time.monotonic()
            reply = self._rest(method, path, query, body)
            time.sleep(max(0.0, delay - (time.monotonic() - started)))
            return reply
        finally:
            with self._lock:
                self.in_flight -= 1

    def _rest(self, method: str, path: str, query: dict[str, str], body: bytes) -> _Reply:
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        if self._messages_path.fullmatch(path):
            return self._create(form) if method == "POST" else self._list(path, query)
        if method == "GET" and (match := self._message_path.fullmatch(path)):
            return self._fetch(match["sid"])
        return _not_found(path)

    def _create(self, form: dict[str, str]) -> _Reply:
        to, body = form.get("To"), form.get("Body")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        with self._lock:
            failure = self._take_failure(to)
            if failure is not None:
                return failure.reply()
            record = {
                "sid": "SM" + uuid.uuid4().hex,
                "to": to,
                "from_": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": body,
                "status_callback": form.get("StatusCallback"),
                # Twilio answers "accepted" when it still has to pick the service's sender.
                "status": "queued" if form.get("From") else "accepted",
                "error_code": None,
                "date_created": datetime.now(UTC),
            }
            self._messages.append(record)
            reply = _Reply(201, self._resource(record))
            delay = self.reply_delay + self._slow.get(to, 0.0)
        if delay:
            time.sleep(delay)
        record["answered_at"] = datetime.now(UTC)
        if self.callbacks and record["status_callback"]:
            threading.Timer(self.callback_delay, self._report, (record["sid"],)).start()
        return reply

    def _report(self, sid: str) -> None:
        """Twilio's own callbacks for a message it sent: `sent`, then `delivered` (failures are only logged)."""
        for status in ("sent", "delivered"):
            try:
                self.send_status_callback(sid, status)
            except (requests.RequestException, KeyError):
                return

    def _take_failure(self, to: str) -> _Failure | None:
        failure = self._failures.get(to)
        if failure is not None and failure.remaining is not None:
            failure.remaining -= 1
            if failure.remaining == 0:
                del self._failures[to]
        return failure

    def _list(self, path: str, query: dict[str, str]) -> _Reply:
        filters = {name: query[name] for name in LIST_FILTERS if name in query}
        size, page = int(query.get("PageSize", 50)), int(query.get("Page", 0))
        with self._lock:
            matching = [record for record in reversed(self._messages) if _matches(record, filters)]
            records = [self._resource(record) for record in matching[page * size : (page + 1) * size]]

        def page_uri(number: int) -> str:
            return f"{path}?{urlencode({**filters, 'PageSize': size, 'Page': number})}"

        return _Reply(
            200,
            {
                "messages": records,
                "page": page,
                "page_size": size,
                "start": page * size,
                "end": page * size + max(len(records) - 1, 0),
                "uri": page_uri(page),
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(page + 1) if (page + 1) * size < len(matching) else None,
                "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            },
        )

    def _fetch(self, sid: str) -> _Reply:
        with self._lock:
            record = self._find(sid)
            return _Reply(200, self._resource(record)) if record else _not_found(f"Message {sid}")

    def _find(self, sid: str) -> dict | None:
        return next((record for record in self._messages if record["sid"] == sid), None)

    def _resource(self, record: dict) -> dict:
        """A Message resource as Twilio's API returns it."""
        created = format_datetime(record["date_created"])
        uri = f"{self._account_path}/Messages/{record['sid']}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": record["body"],
            "date_created": created,
            "date_sent": created,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": record["error_code"],
            "error_message": None,
            "from": record["from_"],
            "messaging_service_sid": record["messaging_service_sid"],
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": record["sid"],
            "status": record["status"],
            "to": record["to"],
            "uri": uri,
            "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
        }

    def _control(self, method: str, path: str, body: bytes) -> _Reply:
        """The endpoints other processes use to inspect and steer a fake running on its own."""
        if (method, path) == ("GET", "/_fake/messages"):
            return _Reply(
                200,
                [
                    record
                    | {
                        "date_created": record["date_created"].isoformat(),
                        "answered_at": record["answered_at"].isoformat() if record.get("answered_at") else None,
                    }
                    for record in self.messages
                ],
            )
        if (method, path) == ("GET", "/_fake/stats"):
            return _Reply(200, self.stats())
        if (method, path) == ("POST", "/_fake/reset"):
            self.reset()
            return _Reply(200, {})
        steer = {"/_fake/fail": self.fail, "/_fake/slow": self.slow, "/_fake/configure": self.configure}
        if method == "POST" and path in steer:
            try:
                steer[path](**json.loads(body))
            except (ValueError, TypeError) as exc:
                return _Reply(400, {"message": str(exc)})
            return _Reply(200, {})
        return _not_found(path)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 with Content-Length keeps the SDK's pooled connections alive.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """No per-request line on stderr: thousands of requests a second would drown test output."""

    def _handle(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = self.server.fake.answer(
            self.command, url.path, self.headers.get("Authorization"), dict(parse_qsl(url.query)), body
        )
        content = json.dumps(reply.payload).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(content)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], fake: FakeTwilio):
        self.fake = fake
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, a slow reverse DNS lookup on some hosts.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self._open_lock:
            self._open.add(connection)
        return connection, address

    def shutdown_request(self, request: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the client closed it meanwhile

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is no error
            super().handle_error(request, client_address)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a fake Twilio REST API until terminated.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument("--latency-ms", type=float, help="answer every REST request after this long")
    parser.add_argument("--latency-p50-ms", type=float, help="or log-normal latency with this median…")
    parser.add_argument("--latency-p99-ms", type=float, help="…and this 99th percentile")
    parser.add_argument("--concurrency", type=int, help="REST requests in flight past this get 429 / 20429")
    parser.add_argument("--callbacks", action="store_true", help="post sent/delivered status callbacks")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with FakeTwilio(args.account_sid, args.auth_token, args.host, args.port) as fake:
        try:
            fake.configure(
                latency_ms=args.latency_ms,
                latency_p50_ms=args.latency_p50_ms,
                latency_p99_ms=args.latency_p99_ms,
                concurrency=args.concurrency,
                callbacks=args.callbacks,
            )
        except ValueError as exc:
            parser.error(str(exc))
        print(fake.base_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
