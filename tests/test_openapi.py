"""The service's OpenAPI description is true: schemathesis sends requests generated from it and checks
each response (status documented, media type, body against its schema, no 5xx)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_helpers import AUTH, FakeZendesk, light_env, scripted_factory, serving
from service_helpers import settings as service_settings

from casefile.agent.service.app import create_app
from casefile.agent.store import Store

app = create_app(
    service_settings(rate_limit_per_minute=1_000_000, rate_limit_burst=1_000_000),
    env=light_env(),
    model_factory=scripted_factory(),
    store=Store("sqlite:///:memory:"),
    helpdesk_transport=FakeZendesk().transport(),
)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The service on a real socket: requests and responses go over HTTP."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    with serving(config) as port:
        yield f"http://127.0.0.1:{port}"


# The description exactly as /openapi.json serves it (app.openapi is what that route returns).
schema = schemathesis.openapi.from_dict(app.openapi())


# One test per operation, each with its own id: schemathesis's own ``parametrize()`` gives every
# operation the same node id, and pytest-xdist then ran one of the twelve.
OPERATIONS = [
    result.ok() for result in schema.exclude(path="/v1/investigations/{inv}/events").get_all_operations()
]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_every_operation_conforms(operation: Any, base_url: str) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    def conforms(case: Any) -> None:
        case.call_and_validate(
            base_url=base_url,
            headers=AUTH,
            checks=[status_code_conformance, content_type_conformance, response_schema_conformance],
        )

    conforms()


def test_every_operation_is_checked() -> None:
    assert len(OPERATIONS) == len({operation.label for operation in OPERATIONS}) >= 12


def test_the_create_body_accepts_a_zendesk_reference_and_a_ticket() -> None:
    import jsonschema_rs  # schemathesis's own validator

    spec = app.openapi()
    body = spec["paths"]["/v1/investigations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    valid = jsonschema_rs.validator_for(body).is_valid
    assert valid({"zendesk_ticket_id": 48213})  # exactly one branch matches
    assert valid({"id": "T-1", "body": "429s since 08:12"})
    assert not valid({"zendesk_ticket_id": 48213, "body": "both"})
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    listing = spec["paths"]["/v1/investigations/{inv}"]["get"]
    assert {"400", "401", "404"} <= set(listing["responses"]) and "422" in listing["responses"]
    assert listing["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
