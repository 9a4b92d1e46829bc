"""Outbound SMS transports: Twilio for production, the console for trying Tend out (SPEC §1, §4).

Every transport raises one error type, `TransportError`, whose `permanent` flag
tells the caller whether retrying can ever help, so the sending actor needs no
knowledge of Twilio's error codes.
"""

from __future__ import annotations

import logging
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Protocol, TextIO
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from service.config import Config
from service.core.phones import masked
from service.domain.delivery_reports import status_callback_url
from service.domain.outbox import OPTED_OUT_CODE

log = logging.getLogger(__name__)
# The SDK logs every request's headers at INFO: ten lines per SMS at worker log levels.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

TOO_MANY_REQUESTS_CODE = 20429
RECONCILE_WINDOW = 20  # recent messages to one number searched by `find_recent`


class TransportError(Exception):
    """A failed send; `permanent` means the same request will never succeed, `ambiguous` that the provider may
    have accepted the message all the same (a timeout, a connection dropped after the request was written, a 5xx):
    look it up with `find_recent` before sending it again."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        permanent: bool = False,
        ambiguous: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.status = status
        self.permanent = permanent
        self.ambiguous = ambiguous
        self.retry_after = retry_after

    @property
    def opted_out(self) -> bool:
        """The recipient replied STOP: the person must be marked opted out, never retried."""
        return self.code == OPTED_OUT_CODE


class Transport(Protocol):
    name: str  # where sent SMS go, as the log says it ("1 SMS handed to Twilio")

    def send(self, to: str, body: str, rows: Sequence[int] = ()) -> str:
        """Send one SMS and return the provider's message id; raise `TransportError`.

        `rows`: the outbox rows this SMS carries, named in its status callback URL so that the provider's
        report ties the message to them even if the sender dies before recording the id.
        """
        ...

    def find_recent(self, to: str, body: str, since: datetime) -> str | None:
        """The id of a message with this body sent to `to` since `since`, if the provider knows one."""
        ...


class ConsoleTransport:
    """Prints each SMS instead of sending it: the default when no Twilio credentials are set."""

    name = "the console"
    _write_lock = threading.Lock()  # one line per message even when worker threads share stdout

    def __init__(self, stream: TextIO | None = None):
        self._stream = stream

    def send(self, to: str, body: str, rows: Sequence[int] = ()) -> str:
        stream = self._stream or sys.stdout  # looked up per call so a redirected stdout is honoured
        with self._write_lock:
            stream.write(f"SMS to {to}: {body}\n")
            stream.flush()
        return f"console-{uuid.uuid4().hex}"

    def find_recent(self, to: str, body: str, since: datetime) -> None:
        """Printed messages leave no record to reconcile against."""
        return None


class _BaseUrlHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, sending requests for `*.twilio.com` to another base URL.

    `http_client=` is the SDK's documented extension point, and `request()` is the
    one place that sees every final URL (created resources, next-page links, and
    hosts already rewritten for TWILIO_REGION / TWILIO_EDGE). The alternative,
    `client.api.base_url = ...`, is undocumented, covers only the Api domain and is
    mangled by the SDK's region/edge host rewriting.

    It also keeps the last response, because `TwilioRestException` drops the
    headers and Retry-After is only there.
    """

    def __init__(self, *, api_base_url: str | None, timeout: float):
        super().__init__(timeout=timeout)
        self._base = urlsplit(api_base_url.rstrip("/")) if api_base_url else None
        self.last_response: Response | None = None

    def request(self, method: str, url: str, *args, **kwargs) -> Response:
        self.last_response = super().request(method, self._route(url), *args, **kwargs)
        return self.last_response

    def _route(self, url: str) -> str:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if self._base is None or not (host == "twilio.com" or host.endswith(".twilio.com")):
            return url
        return urlunsplit(
            (self._base.scheme, self._base.netloc, self._base.path + parts.path, parts.query, parts.fragment)
        )


class TwilioTransport:
    """Sends through Twilio's Programmable Messaging API with the official SDK.

    Each thread gets its own `Client` and HTTP session, created on first use and
    reused for every later send: `requests.Session` is not documented as
    thread-safe, and the SDK's HTTP client keeps per-request state on itself.
    Keep one transport per process so the connections are reused.

    Errors: 429 / 20429 and 5xx are retryable (with `retry_after` when Twilio sends
    Retry-After in seconds); every other 4xx is permanent, 21610 also `opted_out`.
    Failing to connect is retryable; a timeout, a connection dropped after the
    request was written and a 5xx are `ambiguous`: Twilio may have accepted the
    message. Callers look it up with `find_recent` before sending again.
    """

    name = "Twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        api_base_url: str | None = None,
        timeout: float = 10.0,
    ):
        if not from_number and not messaging_service_sid:
            raise ValueError("TwilioTransport needs from_number or messaging_service_sid")
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._from_number = from_number
        self._messaging_service_sid = messaging_service_sid
        self._status_callback = status_callback
        self._api_base_url = api_base_url
        self._timeout = timeout
        self._per_thread = threading.local()

    def send(self, to: str, body: str, rows: Sequence[int] = ()) -> str:
        with self._twilio() as client:
            message = client.messages.create(
                to=to,
                body=body,
                from_=self._from_number,
                messaging_service_sid=self._messaging_service_sid,
                status_callback=status_callback_url(self._status_callback, rows),
            )
        log.debug("SMS %s handed to Twilio for %s", message.sid, masked(to))  # at INFO, once per recorded group
        return message.sid

    def find_recent(self, to: str, body: str, since: datetime) -> str | None:
        """The SID of a message with exactly this body sent to `to` since `since`, or None.

        For reconciling after a crash or timeout between the Twilio call and
        recording its result. Twilio filters on the *sent* date, so a message
        still queued at Twilio may not be listed yet.
        """
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        # The SDK formats the datetime as UTC ("...Z") without converting it.
        since_utc = since.astimezone(UTC)
        with self._twilio() as client:
            messages = client.messages.list(to=to, date_sent_after=since_utc, limit=RECONCILE_WINDOW)
        return next((message.sid for message in messages if message.body == body), None)

    @contextmanager
    def _twilio(self) -> Iterator[Client]:
        """This thread's client; SDK and network errors come out as `TransportError`."""
        client, http = self._thread_client()
        http.last_response = None
        try:
            yield client
        except requests.RequestException as exc:
            ambiguous = _maybe_accepted(exc)
            what = "no answer from Twilio (it may have the message)" if ambiguous else "Twilio unreachable"
            raise TransportError(f"{what}: {exc}", ambiguous=ambiguous) from exc
        except TwilioException as exc:
            raise _translate(exc, http.last_response) from exc

    def _thread_client(self) -> tuple[Client, _BaseUrlHttpClient]:
        state = self._per_thread
        if not hasattr(state, "client"):
            state.http = _BaseUrlHttpClient(api_base_url=self._api_base_url, timeout=self._timeout)
            state.client = Client(self._account_sid, self._auth_token, http_client=state.http)
        return state.client, state.http


def _maybe_accepted(exc: requests.RequestException) -> bool:
    """Whether Twilio may have received the request: anything but failing to connect at all."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.Timeout):
        return True  # a read timeout: the request was written
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        return not isinstance(reason, (NewConnectionError, ConnectTimeoutError))
    return False


def _translate(exc: TwilioException, response: Response | None) -> TransportError:
    """Classify by HTTP status and Twilio error code (see `TwilioTransport`)."""
    # str(exc) of the SDK's exceptions turns into coloured multi-line text on a terminal.
    if isinstance(exc, TwilioRestException):
        code, detail = exc.code, exc.msg
    elif isinstance(exc, TwilioServiceException):
        code, detail = exc.code, exc.detail or exc.title
    else:  # e.g. a list page that is not a 200
        code, detail = None, exc.args[0] if exc.args else type(exc).__name__
    status = response.status_code if response is not None else None
    server_error = (status or 0) >= 500
    retryable = status == 429 or code == TOO_MANY_REQUESTS_CODE or server_error
    return TransportError(
        f"Twilio refused the request (HTTP {status}, code {code}): {detail}",
        code=code,
        status=status,
        permanent=not retryable,
        ambiguous=server_error,  # a 5xx may come after the message was accepted
        retry_after=_retry_after(response.headers) if response is not None and retryable else None,
    )


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Retry-After in seconds; Twilio sends delta-seconds, so an HTTP-date is ignored."""
    value = (headers or {}).get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def make_transport(config: Config) -> Transport:
    if config.twilio_account_sid is None or config.twilio_auth_token is None:
        return ConsoleTransport()
    return TwilioTransport(
        config.twilio_account_sid,
        config.twilio_auth_token,
        from_number=config.twilio_from_number,
        messaging_service_sid=config.twilio_messaging_service_sid,
        status_callback=f"{config.public_url}/webhooks/twilio/status",
        api_base_url=config.twilio_api_base_url,
    )
