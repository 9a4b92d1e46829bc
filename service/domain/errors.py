"""Errors the domain raises when a request cannot be honoured: a code, a message for people, and the field at fault.

The domain knows nothing of HTTP. The web layer maps each kind to a status
code and the JSON envelope in one handler (service/web/errors.py), and the
pages show the message beside the field it names.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses; `code` is stable for clients, `message` is for people."""

    code = "error"

    def __init__(self, message: str, field: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class NotFound(DomainError):
    """Nothing by that id among what this person may see (ids leak nothing)."""

    code = "not_found"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")


class Forbidden(DomainError):
    code = "forbidden"


class Invalid(DomainError):
    """Input that is well-formed but breaks a rule; `field` names it."""

    code = "invalid"


class Conflict(DomainError):
    """The request clashes with what exists (`code` says how: phone_taken, already_member, circle_full)."""

    code = "conflict"


class TooManyMessages(DomainError):
    """A destination number has had as many texts as it may get for now."""

    code = "too_many_messages"
