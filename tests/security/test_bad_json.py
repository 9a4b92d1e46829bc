"""JSON bodies that Python's parser cannot take (issue 18): bounded before parsing, a 400 `bad_json`, never a 500."""

from __future__ import annotations

import time

import pytest

from tests.builders import couple

NESTED = 1_000


@pytest.mark.parametrize(
    "body",
    [
        "[" * NESTED + "]" * NESTED,
        '{"name": ' + '{"a": ' * NESTED + "1" + "}" * NESTED + "}",
        '{"name": ' + "[" * 50_000,  # unbalanced, and deep
        '{"name": "Us", "x": ' + "9" * 4_301 + "}",
        '{"name": "Us", "x": -' + "9" * 5_000 + "}",
        '{"name": "Us", "x": 1e' + "9" * 5_000 + "}",
        '{"name": "Us", "x": [1, 2, ' + "[" * 200 + "]" * 200 + "]}",  # deeper than Tend's bodies ever are
        '{"name": "Us"',
        "\ud800",
        '{"name": "' + '\\"' * 20_000,  # unterminated: a backtracking scan would take minutes
        '"\\' * 20_000,
    ],
)
def test_json_too_deep_too_long_a_number_or_broken_is_a_400_bad_json(client, people, db, body):
    couple(client, people, db)
    for path in ("/api/v1/circles", "/api/v1/codes"):
        began = time.monotonic()
        answer = client.post(
            path,
            data=body.encode("utf-8", "surrogatepass"),
            content_type="application/json",
            headers=people.headers("Alice"),
        )
        assert answer.status_code == 400, (path, answer.status_code)
        assert time.monotonic() - began < 5
        assert answer.get_json()["error"]["code"] == "bad_json"


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "9 [ { [ { ' + "[" * 300 + '"}',  # brackets inside a string are text
        '{"name": "' + "9" * 60 + '"}',  # digits inside a string are text
        '{"name": "Us \\" [[[[ ' + "[" * 300 + '"}',  # an escaped quote does not end the string
    ],
)
def test_brackets_and_digits_inside_strings_are_only_text(client, people, db, body):
    couple(client, people, db)
    answer = client.post("/api/v1/circles", data=body, content_type="application/json", headers=people.headers("Alice"))
    assert answer.status_code in (201, 422), answer.get_json()


def test_a_number_of_4300_digits_is_no_id_but_no_500(client, people, db):
    couple(client, people, db)
    body = '{"name": "Us", "x": ' + "9" * 4_300 + "}"
    answer = client.post("/api/v1/circles", data=body, content_type="application/json", headers=people.headers("Alice"))
    assert answer.status_code < 500
