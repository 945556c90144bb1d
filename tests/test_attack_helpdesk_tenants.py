"""Round-8 attacks on "one tenant": the helpdesk's history through ``tickets_similar``.

One service may serve two tenants (two helpdesks, two teams). Its helpdesk is ``service.tenant``'s:
another tenant may not start an investigation from one of its tickets (403, round 6), and its past
investigations are not read by another's (``cases_similar``, round 6). But ``tickets_similar`` read
the service helpdesk's resolved tickets (subjects, resolutions, the articles they pointed to) for
any tenant's investigation: tenant B's escalation packet quoted tenant A's solved tickets. Now the
call is refused for an investigation whose tenant is not the helpdesk's (``CallContext.check_helpdesk``);
the helpdesk's own tenant and the operator's CLI (no tenant) read it as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from test_demo import TICKETS

from casefile.agent.config import load_settings
from casefile.agent.intake import load_ticket
from casefile.agent.pipeline import Environment, open_environment, run_investigation
from casefile.tools.base import CallContext, ToolCall, ToolOutcome

DEMO = TICKETS.parent.parent / "examples" / "world"
HELPDESK_TENANT = load_settings(env={}).service.tenant


@pytest.fixture(scope="module")
def env() -> Iterator[Environment]:
    environment = open_environment(load_settings(env={}), world=DEMO)
    yield environment
    asyncio.run(environment.aclose())


def call_as(env: Environment, tenant: str | None, account: str, call: ToolCall) -> ToolOutcome:
    """``call`` made by an investigation of ``tenant`` (None: single-tenant) for ``account``, in the demo
    world whose helpdesk (and help center) belongs to the service's own tenant."""
    assert env.directory is not None
    ctx = CallContext.for_account(
        account,
        env.directory.as_mapping(),
        now=datetime(2026, 11, 20, 12, tzinfo=UTC),
        tenant=tenant,
        helpdesk_tenant=HELPDESK_TENANT,
    )
    return asyncio.run(env.toolbox.execute(call, ctx))


@pytest.mark.parametrize(
    ("tenant", "reads"),
    [(HELPDESK_TENANT, True), (None, True), ("tenant-b", False), (HELPDESK_TENANT.upper() + "-b", False)],
)
def test_only_the_helpdesk_s_tenant_reads_its_resolved_tickets(
    env: Environment, tenant: str | None, reads: bool
) -> None:
    call = ToolCall(id="t1", tool="tickets_similar", arguments={"text": "export endpoint returning 500"})
    outcome = call_as(env, tenant, "hooli", call)
    assert outcome.ok is reads, (tenant, outcome.error)
    if reads:
        assert outcome.data and outcome.data.get("tickets"), "nothing was found: the attack tests nothing"
    else:
        assert outcome.error_kind == "refused" and "tenant" in (outcome.error or "")


def test_another_tenant_s_investigation_quotes_no_resolved_ticket(env: Environment) -> None:
    ticket = load_ticket(TICKETS / "export-regression.json")
    result = asyncio.run(run_investigation(ticket, env, load_settings(env={}), tenant="tenant-b"))
    similar = [o for o in result.outcomes if o.tool == "tickets_similar"]
    assert similar, "the investigation never searched the helpdesk: the attack tests nothing"
    assert not any(o.ok for o in similar), [(o.ok, o.error) for o in similar]
    assert result.diagnosis.action == "escalate"  # the refusal is not an outage: the decision stands
