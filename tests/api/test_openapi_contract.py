"""Schemathesis against /openapi.json: no 5xx and every response matches the schema."""

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.published_api import published_document

schema = schemathesis.openapi.from_dict(published_document())


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_honours_its_openapi_document(case, live_api):
    base_url, headers = live_api
    case.call_and_validate(
        base_url=base_url,
        headers=headers,
        checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
    )


def test_the_document_is_openapi_3_and_lists_the_contract_paths(client):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    for path in (
        "/api/v1/codes",
        "/api/v1/sessions",
        "/api/v1/sessions/current",
        "/api/v1/me/token",
        "/api/v1/me",
        "/api/v1/invitations",
        "/api/v1/invitations/{circle_id}/accept",
        "/api/v1/invitations/{circle_id}/decline",
        "/api/v1/circles/{circle_id}/members/me",
        "/api/v1/circles",
        "/api/v1/circles/{circle_id}/members",
        "/api/v1/circles/{circle_id}/rituals",
        "/api/v1/rituals/{ritual_id}",
        "/api/v1/rituals/{ritual_id}/pause",
        "/api/v1/promises",
    ):
        assert path in document["paths"], path
    assert "/api/v1/people" not in document["paths"]


def test_the_document_validates_as_openapi(client):
    from openapi_spec_validator import validate

    validate(client.get("/openapi.json").get_json())  # raises on the first violation, e.g. a duplicate tag
