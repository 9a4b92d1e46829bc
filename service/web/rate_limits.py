"""Rate limits on the JSON API (SPEC §8's 429), with Flask-Limiter.

Counters live in Redis when REDIS_URL is set, so every web process shares one
budget; in memory otherwise (the embedded default). A client is its bearer
person when it sends a valid bearer token, else its address: a made-up token
counts as the address, so it buys no fresh budget. Webhooks (signed by Twilio),
feeds (polled by calendars), digest pages and health checks are not limited.
Asking for a code, trading one for a session and inviting members send SMS or
guess at codes: they have their own, tighter limit by the same key, and every
attempt counts, failed ones too. Per destination number, the database counts
codes and invitations whoever asks (service/domain/accounts.py).

The defaults are generous, so that the embedded mode and automation against
it are never throttled; the Helm chart sets production limits.

Should Redis fail, requests go on under in-memory limits rather than fail.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from service.config import Config
from service.web.api.context import verified_person_id

LIMITED_PREFIX = "/api/v1/"
# Endpoints that send an SMS to a number, or try a code.
SMS_SENDING_ENDPOINTS = ("people.request_code", "people.create_session", "circles.add_member")


def address_key() -> str:
    return "addr:" + get_remote_address()


def client_key() -> str:
    """The verified token's person, else the client's address."""
    person_id = verified_person_id()
    return address_key() if person_id is None else f"person:{person_id}"


def retry_after_only_on_429(response: Response) -> Response:
    """Flask-Limiter sends Retry-After with every limited answer; it means "wait" only on a 429."""
    if response.status_code != 429:
        response.headers.pop("Retry-After", None)
    return response


def outside_the_api() -> bool:
    return not request.path.startswith(LIMITED_PREFIX)


def install(app: Flask, config: Config) -> Limiter:
    """Limit every /api/v1/ route by `TEND_API_RATE_LIMIT`, and SMS-sending ones by `TEND_SIGNUP_RATE_LIMIT` too.

    The API limit counts per person (or address), so people behind one address
    do not share it; a flood of made-up tokens counts against its address.
    """
    if config.trusted_proxies:
        # the client's address, not the proxy's (Flask documents replacing wsgi_app with middleware)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxies)  # type: ignore[method-assign]
    app.after_request(retry_after_only_on_429)  # registered first, so it runs after the limiter's own hook
    limiter = Limiter(
        client_key,
        app=app,
        default_limits=[config.api_rate_limit],
        storage_uri=config.limits_storage_uri,
        strategy="moving-window",
        headers_enabled=True,
        key_prefix="tend-api",
        swallow_errors=True,
        in_memory_fallback_enabled=True,
    )
    limiter.request_filter(outside_the_api)  # the earliest way out: webhooks and polls pay nearly nothing
    for endpoint in SMS_SENDING_ENDPOINTS:
        app.view_functions[endpoint] = limiter.limit(  # type: ignore[assignment]  # Flask-Limiter's wrapper type
            config.signup_rate_limit,
            override_defaults=False,
        )(app.view_functions[endpoint])
    return limiter
