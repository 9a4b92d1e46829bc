"""SPEC §3's names (letters of any script, spaces, ' - and .; 1–40 characters) and national numbers."""

import pytest

from service.core.names import MAX_NAME_LENGTH, BadName, valid_name
from service.core.phones import PhoneError, textable


@pytest.mark.parametrize(
    "name",
    ["Sam", "Zoë", "Jean-Luc", "O'Brien", "Dr. Who", "李小龍", "Ана Мария", "देवनागरी", "x" * MAX_NAME_LENGTH],
)
def test_names_of_any_script_are_names(name):
    assert valid_name(f"  {name} ") == name


@pytest.mark.parametrize(
    "name",
    ["", "   ", "x" * (MAX_NAME_LENGTH + 1), "Sam2", "Sam٣", "a@b", "evil.example/x", "Prize: yes", "...", "Sam!"],
)
def test_anything_else_is_not(name):
    with pytest.raises(BadName):
        valid_name(name)


def test_a_national_number_is_read_in_the_first_country():
    assert textable("415 555 0188", ("US", "CA")) == "+14155550188"
    assert textable("+1 415 555 0188", ("GB", "US")) == "+14155550188"
    with pytest.raises(PhoneError):
        textable("415 555 0188", ("GB", "US"))  # read as a British number: not valid
