"""Names people give themselves and labels inviters give members (SPEC §3): text no SMS can turn into an advert.

1–40 characters of letters (any script, with their combining marks), spaces,
`'`, `-` and `.`, with at least one letter: no digits, `@`, `/` or `:`, so no
text Tend sends carries a link or a number someone typed.
"""

from __future__ import annotations

import unicodedata

MAX_NAME_LENGTH = 40
PUNCTUATION = frozenset(" '-.")


class BadName(ValueError):
    """Not a name Tend accepts; the message says why, for people."""


def valid_name(raw: str) -> str:
    """The name with surrounding spaces removed, or BadName saying what a name may hold."""
    name = raw.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise BadName(f"A name is 1 to {MAX_NAME_LENGTH} characters.")
    letters = [unicodedata.category(c)[0] in "LM" for c in name]
    if not all(is_letter or c in PUNCTUATION for c, is_letter in zip(name, letters, strict=True)) or not any(letters):
        raise BadName("A name holds only letters, spaces, ' - and . (no digits, @, / or :).")
    return name
