"""Schemathesis against /openapi.json: no 5xx and every response matches the schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance


@pytest.fixture
def api_schema(app, people, client):
    people.create("Alice")
    circle = client.post("/api/v1/circles", json={"name": "Us"}, headers=people.headers("Alice")).get_json()
    client.post(f"/api/v1/circles/{circle['id']}/rituals", headers=people.headers("Alice"), json={
        "title": "Walk", "starts": "2026-12-06T10:00", "timezone": "UTC", "rrule": "FREQ=WEEKLY",
        "duration_minutes": 60, "remind_before_minutes": 30})
    app.config["TEND_TEST_AUTH"] = people.headers("Alice")
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_honours_its_openapi_document(case, app):
    case.call_and_validate(
        headers=app.config["TEND_TEST_AUTH"],
        checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
    )


def test_the_document_is_openapi_3_and_lists_the_contract_paths(client):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    for path in ("/api/v1/people", "/api/v1/me", "/api/v1/circles", "/api/v1/circles/{circle_id}/members",
                 "/api/v1/circles/{circle_id}/rituals", "/api/v1/rituals/{ritual_id}", "/api/v1/rituals/{ritual_id}/pause",
                 "/api/v1/promises"):
        assert path in document["paths"], path
