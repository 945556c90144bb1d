"""Round-9 attacks on "one tenant": the helpdesk's help center through ``docs_search``/``docs_article``.

The help center is read from the service helpdesk's own account (``HelpCenterConnector`` is a
``ZendeskAccountConnector``, with that account's agent credentials when configured, which also
read the articles only agents or a user segment may see). Round 8 refused that account's
resolved tickets (``tickets_similar``) to another tenant's investigation, but its articles were
still searched and read for any tenant: tenant B's investigation read tenant A's help center,
and its reply could link A's articles to B's customer. Now both operations are refused for an
investigation whose tenant is not the helpdesk's (``CallContext.check_helpdesk``), and so is the
docs-gap search of tenant B's escalation review (it is "not measured" for B). The helpdesk's own
tenant and the operator's CLI (no tenant) read the help center as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from test_attack_helpdesk_tenants import DEMO, HELPDESK_TENANT, call_as
from test_demo import TICKETS

from casefile.agent.config import load_settings
from casefile.agent.intake import load_ticket
from casefile.agent.pipeline import Environment, open_environment, run_investigation
from casefile.tools.base import ToolCall

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("docs_search", {"query": "429 too many requests"}),
    ("docs_search", {"query": "saml certificate", "locale": "de"}),
    ("docs_article", {"article_id": 360887}),
]
TENANTS: list[tuple[str | None, bool]] = [
    (HELPDESK_TENANT, True),
    (None, True),
    ("tenant-b", False),
    (HELPDESK_TENANT.upper(), False),
]


@pytest.fixture(scope="module")
def env() -> Iterator[Environment]:
    environment = open_environment(load_settings(env={}), world=DEMO)
    yield environment
    asyncio.run(environment.aclose())


@pytest.mark.parametrize(("tool", "arguments"), CALLS, ids=[f"{t}-{i}" for i, (t, _) in enumerate(CALLS)])
@pytest.mark.parametrize(("tenant", "reads"), TENANTS)
def test_only_the_helpdesk_s_tenant_reads_its_help_center(
    env: Environment, tool: str, arguments: dict[str, Any], tenant: str | None, reads: bool
) -> None:
    outcome = call_as(env, tenant, "acme", ToolCall(id="d1", tool=tool, arguments=arguments))
    if reads:
        assert outcome.ok, outcome.error
        assert "help-center" in outcome.rendered or "#360887" in outcome.rendered, outcome.rendered[:200]
    else:
        assert not outcome.ok, (tenant, tool, outcome.rendered[:200])
        assert outcome.error_kind == "refused" and "tenant" in (outcome.error or "")


def test_another_tenant_s_investigation_links_no_article_of_the_helpdesk(env: Environment) -> None:
    ticket = load_ticket(TICKETS / "429-spike.json")
    result = asyncio.run(run_investigation(ticket, env, load_settings(env={}), tenant="tenant-b"))
    docs = [o for o in result.outcomes if o.tool.startswith("docs_")]
    assert docs, "the investigation never searched the help center: the attack tests nothing"
    assert not any(o.ok for o in docs), [(o.tool, o.error) for o in docs]
    text = result.diagnosis.model_dump_json()
    assert "support.relayhq.dev" not in text, "an article of the helpdesk's help center reached tenant B"
    own = asyncio.run(run_investigation(ticket, env, load_settings(env={}), tenant=HELPDESK_TENANT))
    assert any(o.ok for o in own.outcomes if o.tool == "docs_search")  # the helpdesk's tenant still reads it


@pytest.mark.parametrize(("tenant", "reads"), TENANTS)
def test_another_tenant_s_review_does_not_search_the_helpdesk_s_help_center(
    tenant: str | None, reads: bool
) -> None:
    """The escalation review's docs gap searches the help center again for each bounced escalation
    (``/v1/reports/escalations``): for another tenant's review it searched the helpdesk's."""
    from datetime import timedelta

    from test_similar_review import ARTICLE, NOW, _diagnosis, _save, _settings

    from casefile.agent.metrics.escalations import escalation_report
    from casefile.agent.similar.review import measure_docs_gap
    from casefile.agent.store import Store
    from casefile.tools.base import Toolbox
    from casefile.tools.docs import HelpCenterConnector
    from casefile.tools.world.loader import World

    store = Store("sqlite:///:memory:")
    escalated = _diagnosis("a", "rate_limit", [], escalate=True)
    inv = _save(store, "T-1", "429 nightly", escalated, "429 Too Many Requests")
    store.add_feedback(inv, bounced=True, article=ARTICLE, note=None, by="l2")
    report = escalation_report(store.list(), store.feedback(), since=NOW - timedelta(days=1))
    toolbox = Toolbox([HelpCenterConnector.build(_settings(), World(DEMO))])

    async def measure() -> Any:
        try:
            return await measure_docs_gap(
                report.preventable, store, toolbox, tenant=tenant, helpdesk_tenant=HELPDESK_TENANT
            )
        finally:
            await toolbox.aclose()

    gap = asyncio.run(measure())
    store.close()
    assert gap is not None
    if reads:
        assert gap.unavailable is None and gap.findable == 1
    else:
        assert gap.findable == 0 and gap.unavailable and "tenant" in gap.unavailable, gap
