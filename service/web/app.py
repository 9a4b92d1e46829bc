"""The Flask application factory; `service.entry.wsgi` builds the app of `tend web` with it."""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask, HTTPError
from prometheus_client import CollectorRegistry

from service.domain.errors import DomainError
from service.domain.models import MAX_ROW_ID
from service.domain.runtime import Runtime
from service.web import json_bodies, pages, rate_limits
from service.web.api import (
    checkins,
    circles,
    digests,
    feeds,
    health,
    people,
    privacy,
    promises,
    rituals,
    streaks,
    webhooks,
)
from service.web.context import close_session
from service.web.errors import ERROR_SCHEMA, domain_error_answer, error_body, not_found
from service.web.metrics import OutboxCollector
from service.web.pages.blueprint import error_page, wants_page
from service.web.security import SecurityHeaders

MAX_BODY_BYTES = 64 * 1024


def reject_impossible_ids(_endpoint: str | None, values: dict | None) -> None:
    """An id beyond the database's range names nothing: 404, rather than an overflow deep in a query."""
    for value in (values or {}).values():
        if isinstance(value, int) and value > MAX_ROW_ID:
            raise not_found("Resource")


def create_app(runtime: Runtime) -> APIFlask:
    """Build the app around a runtime (config, database, clock, doorbell); service.entry.wsgi reads one from the environment."""
    # No /docs: APIFlask's docs page loads its scripts from a CDN, and pages make no request to third parties.
    app = APIFlask("tend", title="Tend API", version="1", spec_path="/openapi.json", docs_path=None)
    # No SECRET_KEY: the API is stateless (bearer tokens, no cookies), so Flask's cookie session is never opened.
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        HTTP_ERROR_SCHEMA=ERROR_SCHEMA,
        VALIDATION_ERROR_SCHEMA=ERROR_SCHEMA,
        INFO={"description": "Tend keeps couples' rituals and promises on schedule. See SPEC §8."},
        SECURITY_SCHEMES={"BearerAuth": {"type": "http", "scheme": "bearer"}},
    )
    app.url_value_preprocessor(reject_impossible_ids)
    app.extensions["tend"] = runtime
    app.extensions["tend_metrics"] = CollectorRegistry(auto_describe=True)
    app.extensions["tend_metrics"].register(OutboxCollector(runtime.db, runtime.now))
    app.error_processor(answer_error)
    app.register_error_handler(DomainError, domain_error_answer)
    app.spec_processor(document_common_errors)
    app.teardown_appcontext(close_session)
    for blueprint in (
        health.bp,
        people.bp,
        privacy.bp,
        circles.bp,
        rituals.bp,
        promises.bp,
        streaks.bp,
        checkins.bp,
        webhooks.bp,
        feeds.bp,
        digests.bp,
    ):
        app.register_blueprint(blueprint)
    pages.install(app, runtime)
    rate_limits.install(app, runtime.config)
    app.before_request(json_bodies.check_body)  # after the limits: a refused body still counts
    # calendar polls skip Flask's per-request machinery (middleware in front of wsgi_app, as Flask documents)
    app.wsgi_app = feeds.FeedPolls(app, app.wsgi_app)  # type: ignore[method-assign]
    app.wsgi_app = SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]  # outermost: every answer
    return app


def answer_error(error: HTTPError) -> tuple[Any, int, Any]:
    """Every HTTP error, wherever found (routing, a view, a check): Tend's page on a page's path, else JSON."""
    return error_page(error) if wants_page() else error_body(error)


def document_common_errors(spec: dict[str, Any] | str) -> dict[str, Any] | str:
    """Every documented operation (all /api/v1) can answer 429; those that take a body 400 (not JSON) and 413."""
    if isinstance(spec, str):  # APIFlask hands over the JSON document as a dict; a YAML one is left alone
        return spec
    error = {"content": {"application/json": {"schema": ERROR_SCHEMA}}}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault("429", {"description": "Too many requests; see Retry-After"} | error)
            if "requestBody" in operation:
                responses.setdefault("400", {"description": "The body is not valid JSON"} | error)
                responses.setdefault("413", {"description": "The body is over 64 KiB"} | error)
    return spec
