"""Schemathesis over the whole API with any Unicode (lone surrogates and NUL included), valid and invalid input:
no answer is a 5xx (SPEC §8: never a 500 for bad input)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.published_api import published_document

schema = schemathesis.openapi.from_dict(published_document())
schema.config.generation.update(codec=None, allow_x00=True, modes=["positive", "negative"])


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_anywhere_in_the_api_gets_a_5xx(case, live_api):
    base_url, headers = live_api
    case.call_and_validate(base_url=base_url, headers=headers, checks=[not_a_server_error])
