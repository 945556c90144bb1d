"""How evidence is weighed (session 9), on invented companies: rules about the shape of the evidence.

A deploy that reached one stack of production concerns the accounts that stack serves. No bundled
world's names.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_differential import best, billing, cited, elsewhere, row, state, summary, top

from casefile.agent.catalog import Catalog, Component
from casefile.agent.differential import Evidence, assess
from casefile.tools.deploys_results import Deployment, DeploysList
from casefile.tools.logs_results import Latency

# NOW is 2027-03-04T15:00Z (test_differential.state).

_CATALOG = Catalog(
    components=[
        Component(id="ferry-api", kind="api", repos=["ferrywell/crossings"], paths=["/v2/"], team="core-eng")
    ]
)


@pytest.mark.parametrize(
    ("environment", "production", "stack"),
    [
        ("production", True, None),
        (None, True, None),
        ("prod", True, None),
        ("production-ap", True, "ap"),
        ("prod_sa", True, "sa"),
        ("north-production", True, "north"),
        ("staging", False, None),
        ("production-preview-3", False, None),
        ("preproduction", False, None),
    ],
)
def test_a_production_environment_and_the_stack_it_names(
    environment: str | None, production: bool, stack: str | None
) -> None:
    d = Deployment(repo="ferrywell/crossings", sha="a" * 40, environment=environment, created_at="2027-03-04")
    assert (d.production, d.stack, d.live) == (production, stack, production)


def _stacked(environment: str, served_in: str) -> Evidence:
    """500s on one route since 09:12 at this account and six others; a deploy of the API's repository
    to ``environment`` at 09:10; the account's requests served in ``served_in``."""
    deployments: list[dict[str, Any]] = [
        {
            "repo": "ferrywell/crossings",
            "sha": sha,
            "ref": ref,
            "environment": env,
            "created_at": at,
            "status": "success",
        }
        for sha, ref, env, at in (
            ("b" * 40, "crossings-8.1.0", environment, "2027-03-04T09:10:00Z"),
            ("c" * 40, "crossings-8.0.4", "production-ap", "2027-03-02T09:00:00Z"),
            ("c" * 40, "crossings-8.0.4", "production-sa", "2027-03-02T14:00:00Z"),
        )
    ]
    return Evidence(
        summary=summary(
            140,
            status=500,
            base_rate=0.0,
            spike={
                "start": "2027-03-04T09:10:00.000Z",
                "first_error_at": "2027-03-04T09:12:00.000Z",
                "status": 500,
            },
        ),
        top=top(
            [row(500, "fault", 140, path="/v2/crossings/{id}", first="2027-03-04T09:12:00.000Z")],
            others=[elsewhere(500, "fault", 6, 900)],
        ),
        billing=billing(),
        deploys=cited(DeploysList, {"deployments": deployments}, "c4", "deploys_list"),
        served=cited(
            Latency,
            {"scope": "account", "by_region": [{"region": served_in, "requests": 4000}]},
            "c8",
            "logs_latency",
        ),
    )


_TICKET = "Rebooking a crossing gives HTTP 500 since this morning; new bookings still work."


def test_a_deploy_to_the_stack_that_serves_the_account_is_the_regression_of_its_accounts() -> None:
    # Every account on that stack fails right after: a regression of that deploy, not a platform incident.
    diff = assess(state(_TICKET, catalog=_CATALOG), _stacked("production-ap", "ap-south-1"))
    h = best(diff)
    assert h.category == "deploy_regression", diff.render()
    assert h.team == "core-eng" and "crossings-8.1.0" in h.statement


def test_a_deploy_to_another_stack_is_ruled_out_for_this_account() -> None:
    diff = assess(state(_TICKET, catalog=_CATALOG), _stacked("production-sa", "ap-south-1"))
    assert best(diff).category == "platform_incident", diff.render()
    assert "b" * 40 in diff.ruled_out_deploys
    assert any("production-sa" in r and "ap-south-1" in r for r in diff.ruled_out)
    # Where the account is served is not known (or names no stack): no deploy is set aside for its stack.
    diff = assess(state(_TICKET, catalog=_CATALOG), _stacked("production-sa", "dc2"))
    assert best(diff).category == "deploy_regression", diff.render()
