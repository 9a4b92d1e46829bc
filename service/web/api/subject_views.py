"""What the ritual and promise views share: a PATCH lays the body over the subject's fields, and a changed
schedule (rule, start, zone) is checked again as a whole, as on creation."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from service.web.api.schemas import check_rrule
from service.web.errors import ApiError

SCHEDULE = {"rrule", "timezone"}


def patched(current: dict[str, Any], body: dict[str, Any], start_field: str) -> dict[str, Any]:
    """`current` with `body` over it; 422 naming the field when a changed schedule no longer holds together."""
    merged = current | body
    if body.keys() & (SCHEDULE | {start_field}):
        try:
            check_rrule(merged, start_field)
        except ValidationError as exc:
            raise ApiError(422, "invalid", str(exc.messages[0]), exc.field_name) from None
    return merged
