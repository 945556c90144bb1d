"""Each connector links its calls to the source system: the link beside every piece of evidence."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from outcomes import tool_outcome

from casefile.agent.config import load_settings
from casefile.agent.intake import load_ticket
from casefile.agent.pipeline import Environment, run_investigation
from casefile.agent.service.links import source_link, source_links

TICKETS = Path(__file__).resolve().parent.parent / "examples" / "tickets"


def _links(env: Environment, ticket: str, play_url: str | None = None) -> dict[str, dict[str, Any]]:
    settings = load_settings(env={})
    result = asyncio.run(run_investigation(load_ticket(TICKETS / ticket), env, settings))
    accounts = env.directory.as_mapping() if env.directory else None
    by_tool: dict[str, dict[str, Any]] = {}
    for call_id, link in source_links(
        result.outcomes, own=result.diagnosis.account_id, accounts=accounts, clickhouse_play_url=play_url
    ).items():
        tool = next(o.tool for o in result.outcomes if o.call_id == call_id)
        by_tool.setdefault(tool, link)
    return by_tool


def test_every_source_of_the_429_investigation_links_to_its_system(env: Environment) -> None:
    links = _links(env, "429-spike.json", play_url="https://ch.example:8443/play")
    logs = links["logs_error_summary"]
    assert logs["label"] == "ClickHouse query"
    assert "FROM requests WHERE account_id = 'acme'" in logs["query"]
    assert logs["url"].startswith("https://ch.example:8443/play#SELECT%20")
    assert links["bugs_search"]["url"].startswith("https://linear.app/")
    assert links["billing_account"]["url"].startswith("https://dashboard.stripe.com/customers/cus_")
    compare = links["deploys_compare"]
    assert compare["label"].startswith("GitHub compare ") and "/compare/" in compare["url"]
    assert links["deploys_list"]["label"].startswith("GitHub deployments")


def test_the_sso_check_links_the_metadata_document(env: Environment) -> None:
    links = _links(env, "saml-expired-cert.json")
    assert links["sso_check"]["label"] == "IdP metadata"
    assert links["sso_check"]["url"].startswith("https://")


def test_no_play_url_means_a_query_without_a_link(env: Environment) -> None:
    logs = _links(env, "429-spike.json")["logs_error_summary"]
    assert "url" not in logs and logs["query"].startswith("SELECT * FROM requests")


def test_a_call_of_an_unknown_source_has_no_link() -> None:
    outcome = tool_outcome("c1", "nowhere_x")
    assert source_link(outcome) is None
