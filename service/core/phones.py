"""Phone numbers: one reading of a number for configuration and every door, and one way to write a number in logs."""

from __future__ import annotations

import phonenumbers


class PhoneError(ValueError):
    """Not a phone number Tend can use; the message says why, for people."""


# Number types that can receive SMS (SPEC §3); premium-rate, toll-free, shared-cost, pager,
# personal and landline-only numbers cannot, and are where SMS pumping sends its traffic.
TEXTABLE_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        phonenumbers.PhoneNumberType.VOIP,
    }
)


def textable(raw: str, countries: tuple[str, ...]) -> str:
    """The number in E.164 if Tend may text it (a textable type in one of `countries`), or PhoneError saying why.

    A number in national format is read in the first of `countries` (SPEC §3).
    """
    what_tend_texts = f"Tend can text mobile numbers in {', '.join(countries)}"
    try:
        normalized = e164(raw, countries[0])
    except PhoneError as exc:
        raise PhoneError(f"{exc} {what_tend_texts}.") from None
    number = phonenumbers.parse(normalized, None)
    if phonenumbers.region_code_for_number(number) not in countries:
        raise PhoneError(f"Tend can't text numbers of that country. {what_tend_texts}.")
    if phonenumbers.number_type(number) not in TEXTABLE_TYPES:
        raise PhoneError(f"That number can't receive texts from Tend. {what_tend_texts}.")
    return normalized


def e164(raw: str, region: str | None = None) -> str:
    """The number in E.164 (`+15551234567`), or PhoneError: valid, and international unless a `region` reads it."""
    text = raw.strip()
    if not (text.startswith("+") or region) or len(text) > 32:
        raise PhoneError("Give the number in international format, e.g. +15551234567.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise PhoneError("Not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("Not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def international(phone: str) -> str:
    """A stored E.164 number as people read it: "+1 415-555-0101"."""
    return str(phonenumbers.format_number(phonenumbers.parse(phone), phonenumbers.PhoneNumberFormat.INTERNATIONAL))


def masked(phone: str) -> str:
    """A number as logs may show it: country code and the last two digits (`+1*********81`)."""
    if len(phone) <= 5:
        return "*" * len(phone)
    return phone[:2] + "*" * (len(phone) - 4) + phone[-2:]
