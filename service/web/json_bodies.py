"""JSON bodies bounded before they are parsed: Python's parser recurses once per nesting level (a RecursionError
from about 1,000 deep) and refuses integer literals of 4,301+ digits with a ValueError; both would be a 500.

Tend's bodies are a few levels deep and its numbers short, so a body nested
deeper than MAX_DEPTH or with a number of more than MAX_NUMBER_DIGITS digits is
refused, like a body that is not JSON at all, with 400 `bad_json` (SPEC §8).
The scan reads the text in linear time with regular expressions: strings are
blanked first, so brackets and digits inside them are only text.
"""

from __future__ import annotations

import json
import re

from flask import request

from service.web.errors import ApiError

MAX_DEPTH = 32
MAX_NUMBER_DIGITS = 100

# A string, or an unterminated one to the end of the text (then json.loads refuses the body): possessive, so
# the scan is linear whatever the quotes and backslashes (a backtracking pattern is quadratic on `"\"\"\"…`).
STRING = re.compile(r'"(?>[^"\\]+|\\.)*+(?:"|\\?\Z)', re.DOTALL)
BRACKET = re.compile(r"[\[\]{}]")
LONG_NUMBER = re.compile(rf"\d{{{MAX_NUMBER_DIGITS + 1},}}")


def within_bounds(text: str) -> bool:
    """Whether a JSON text nests at most MAX_DEPTH deep and has no number longer than MAX_NUMBER_DIGITS digits."""
    bare = STRING.sub('""', text)
    if LONG_NUMBER.search(bare):
        return False
    depth = 0
    for bracket in BRACKET.finditer(bare):
        depth += 1 if bracket[0] in "[{" else -1
        if depth > MAX_DEPTH:
            return False
    return True


def check_body() -> None:
    """Before any view: a JSON body must be UTF-8, within bounds and JSON, else 400 `bad_json`.

    (webargs parses it again for the view: bounded, that is cheap, and its own
    refusal of bad JSON would reach the client as a bare 400.)
    """
    if not request.is_json:
        return
    try:
        text = request.get_data(cache=True).decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "bad_json", "The request body is not UTF-8.") from None
    if not within_bounds(text):
        raise ApiError(
            400,
            "bad_json",
            f"The request body nests deeper than {MAX_DEPTH} or has a number over {MAX_NUMBER_DIGITS} digits.",
        )
    try:
        json.loads(text)
    except ValueError:
        raise ApiError(400, "bad_json", "The request body is not valid JSON.") from None
