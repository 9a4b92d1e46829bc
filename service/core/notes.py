"""Check-in notes: a few words a person keeps with a check-in (SPEC §3, Check-in).

A note is one line of plain text: whitespace (line breaks included) collapses
to single spaces, so no note can carry a line into an SMS, a page or a
calendar feed; every door still escapes it for its own format.
"""

from __future__ import annotations

MAX_NOTE_LENGTH = 160
_ELLIPSIS = "..."


class NoteTooLong(ValueError):
    """More than MAX_NOTE_LENGTH characters once whitespace is collapsed."""


def clean_note(text: str | None) -> str | None:
    """The note as kept: one line, trimmed; None for no words at all. Raises NoteTooLong past 160 characters."""
    note = _one_line(text or "")
    if len(note) > MAX_NOTE_LENGTH:
        raise NoteTooLong(f"A note is at most {MAX_NOTE_LENGTH} characters.")
    return note or None


def cut_note(text: str) -> str | None:
    """A note from an SMS, which cannot be sent back for editing: cut to MAX_NOTE_LENGTH with "..." if longer."""
    note = _one_line(text)
    if len(note) > MAX_NOTE_LENGTH:
        note = note[: MAX_NOTE_LENGTH - len(_ELLIPSIS)].rstrip() + _ELLIPSIS
    return clean_note(note)


def _one_line(text: str) -> str:
    """Control and format characters (CR, LF, tabs, zero-width marks) become spaces; runs of spaces one."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
