"""Check-in notes are one line of at most 160 characters (service/core/notes.py)."""

import pytest

from service.core.notes import MAX_NOTE_LENGTH, NoteTooLong, clean_note, cut_note


def test_a_note_is_one_trimmed_line():
    assert clean_note("  loved\r\nit\t ") == "loved it"
    assert clean_note("a\u2028b\x00c\u200bd") == "a b c d"


def test_no_words_is_no_note():
    assert clean_note(None) is None and clean_note(" \r\n ") is None


def test_the_api_refuses_what_an_sms_cuts():
    assert clean_note("x" * MAX_NOTE_LENGTH) == "x" * MAX_NOTE_LENGTH
    with pytest.raises(NoteTooLong):
        clean_note("x" * (MAX_NOTE_LENGTH + 1))
    assert cut_note("x" * 500) == "x" * 157 + "..."
