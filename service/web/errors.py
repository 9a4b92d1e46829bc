"""One error shape for every failure: {"error": {"code", "message", "field"}} (SPEC §8).

HTTP errors (bad JSON, schema validation, auth) come from APIFlask as
`HTTPError`s; the domain's refusals come as `DomainError`s and are mapped to
their status here, once.
"""

from __future__ import annotations

from typing import Any

from apiflask import HTTPError

from service.domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, TooManyMessages

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
            },
        }
    },
}

CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


class ApiError(HTTPError):
    """An error a client can act on; `field` names the input at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(status, message, extra_data={"code": code, "field": field})


# The HTTP status of each kind of domain refusal; the most specific kind first.
DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (Forbidden, 403),
    (Invalid, 422),
    (Conflict, 409),
    (TooManyMessages, 429),
)


def domain_error_answer(error: DomainError) -> tuple[dict[str, Any], int]:
    """The JSON envelope and status for a refusal raised by the domain."""
    status = next((status for kind, status in DOMAIN_STATUS if isinstance(error, kind)), 400)
    return {"error": {"code": error.code, "message": error.message, "field": error.field}}, status


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def _first_validation_problem(detail: dict[str, Any]) -> tuple[str | None, str]:
    """Flatten webargs' {"json": {"field": ["msg"]}} to the first (dotted field, message)."""
    for problems in detail.values():
        path: list[str] = []
        node: Any = problems
        while isinstance(node, dict) and node:
            key, node = next(iter(node.items()))
            path.append(str(key))
        message = node[0] if isinstance(node, list) and node else str(node)
        field = ".".join(p for p in path if p != "_schema") or None
        return field, str(message)
    return None, "Invalid input."


UNAUTHENTICATED = (
    "Authentication required: send the header 'Authorization: Bearer <token>' with the token "
    "you were given when you signed in."
)


def error_body(error: HTTPError) -> tuple[dict[str, Any], int, Any]:
    extra = error.extra_data or {}
    status = error.status_code
    code = extra.get("code") or CODES_BY_STATUS.get(status, "error" if status < 500 else "internal")
    field = extra.get("field")
    message = error.message or "Error"
    if status == 422 and error.detail and not extra.get("code"):
        field, message = _first_validation_problem(error.detail)
    if status == 401:
        message = UNAUTHENTICATED
    return {"error": {"code": code, "message": message, "field": field}}, status, error.headers
