"""Phone numbers: one reading of E.164 for configuration and API input, and one way to write a number in logs."""

from __future__ import annotations

import phonenumbers


class PhoneError(ValueError):
    """Not a phone number Tend can use; the message says why, for people."""


def e164(raw: str) -> str:
    """The number in E.164 (`+15551234567`), or PhoneError: it must be international and valid."""
    text = raw.strip()
    if not text.startswith("+"):
        raise PhoneError("Give the number in international format, e.g. +15551234567.")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise PhoneError("Not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("Not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(phone: str) -> str:
    """A number as logs may show it: country code and the last two digits (`+1*********81`)."""
    if len(phone) <= 5:
        return "*" * len(phone)
    return phone[:2] + "*" * (len(phone) - 4) + phone[-2:]
