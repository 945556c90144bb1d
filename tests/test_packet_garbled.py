"""Garbage from a connector (not an object, wrong types, missing fields, null lists) gives the packet
a one-line "<source> garbled: …" for the field, never a crash, and never hides a good result."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from outcomes import tool_outcome
from pydantic import SecretStr
from test_packet import packet_of

from casefile.agent.packet import FIELDS, PacketField, Sources, build_fields, render_markdown
from casefile.tools.base import CallContext, Toolbox, ToolCall, ToolOutcome
from casefile.tools.bugs import LinearConnector
from casefile.tools.settings import LinearSettings

# One bad shape per tool, each in the tool's real field names. The class of garbage is named.
GARBAGE: dict[str, tuple[str, Any, str]] = {
    "logs_recent_requests": (
        "wrong type",
        {"requests": [{"ts": "2026-11-19T09:19:13Z", "status": "five hundred", "request_id": "r1"}]},
        "requests.0.status: Input should be a valid integer",
    ),
    "logs_error_summary": ("not an object", ["500", "503"], "list, not an object"),
    "deploys_list": (
        "missing field",
        {"deployments": [{"repo": "org/api", "sha": "7dec52f", "environment": "production"}]},
        "deployments.0.created_at: Field required",
    ),
    "deploys_compare": (
        "missing field",
        {"repo": "org/api", "head": "7dec52f", "files": [{"filename": "src/a.py"}]},
        "base: Field required",
    ),
    "logs_latency": (
        "wrong type",
        {"scope": "account", "p95_ms": "slow", "slowest": [{"trace_id": "t1"}]},
        "p95_ms: Input should be a valid number",
    ),
    "logs_webhook_deliveries": (
        "null where a list is",
        {"attempts": 10, "failures": 9, "history": None},
        "history: Input should be a valid list",
    ),
    "logs_sql": (
        "wrong type",
        {"sql": "SELECT attempt FROM db.webhook_deliveries", "columns": ["attempt"], "rows": "3 rows"},
        "rows: Input should be a valid list",
    ),
    "sso_check": (
        "wrong type",
        {"vendor": "okta", "certificates": [{"use": "signing", "expired": "maybe"}]},
        "certificates.0.expired: Input should be a valid boolean",
    ),
    "logs_sso_logins": (
        "not an object",
        "44 failures since 06:48",
        "str, not an object",
    ),
    "billing_account": (
        "null where a list is",
        {"customer": {"id": "cus_G"}, "subscriptions": None},
        "subscriptions: Input should be a valid list",
    ),
    "bugs_search": (
        "missing field",
        {"issues": [{"title": "Gateway double-counts retries", "state": "In Progress"}]},
        "issues.0.identifier: Field required",
    ),
    "tickets_similar": (
        "missing field",
        {"tickets": [{"id": 887, "subject": "429 nightly sync"}]},
        "tickets.0.score: Field required",
    ),
}


def _garbled(call_id: str, tool: str) -> ToolOutcome:
    return tool_outcome(call_id, tool, GARBAGE[tool][1])


# The fields read from tool results, and the tools each reads (the rest come from the ticket).
READS = {
    "failing_requests": ["logs_recent_requests"],
    "api_key_hash": ["logs_recent_requests"],
    "error_summary": ["logs_error_summary"],
    "deploys": ["deploys_list", "deploys_compare"],
    "trace_ids": ["logs_latency", "logs_recent_requests"],
    "latency": ["logs_latency"],
    "affected_accounts": ["logs_latency"],
    "webhook_retry_log": ["logs_sql", "logs_webhook_deliveries"],
    "endpoint_response_times": ["logs_webhook_deliveries"],
    "sso_metadata": ["sso_check"],
    "sso_failures": ["logs_sso_logins"],
    "billing_status": ["billing_account"],
    "related_bugs": ["bugs_search"],
    "similar_tickets": ["tickets_similar"],
}


def test_every_field_read_from_tool_results_is_covered() -> None:
    from casefile.agent.packet import ticket_fields

    from_ticket = {n for n, spec in FIELDS.items() if spec.collect.__module__ == ticket_fields.__name__}
    assert set(READS) == set(FIELDS) - from_ticket


def _garbled_field(field: str) -> tuple[str, list[ToolOutcome]]:
    """The one reason ``field`` is missing when every tool it reads answered garbage."""
    outcomes = [_garbled(f"c{i}", tool) for i, tool in enumerate(READS[field], 1)]
    fields, missing = build_fields([field], Sources(outcomes))
    assert fields == [] and len(missing) == 1
    return missing[0], outcomes


def _named(reason: str, outcomes: list[ToolOutcome]) -> list[ToolOutcome]:
    return [o for o in outcomes if f"{o.tool} ({o.call_id}) returned {GARBAGE[o.tool][2]}" in reason]


@pytest.mark.parametrize("field", sorted(READS))
def test_a_garbled_result_is_named_for_every_field(field: str) -> None:
    reason, outcomes = _garbled_field(field)
    # The reason names the source, the call and what in its result does not fit, in one line.
    assert reason.startswith(FIELDS[field].label + ": ") and "\n" not in reason
    assert " garbled: " in reason and _named(reason, outcomes), reason


def test_every_class_of_garbage_is_named() -> None:
    named = {GARBAGE[o.tool][0] for field in READS for o in _named(*_garbled_field(field))}
    assert named == {kind for kind, _, _ in GARBAGE.values()}


def test_a_garbled_source_is_named_before_one_not_called() -> None:
    compare = _garbled("c1", "deploys_compare")
    _, missing = build_fields(["deploys"], Sources([compare]))
    assert missing == [
        "Deploys around the incident: deploys garbled: deploys_compare (c1) returned base: Field required"
    ]


def test_a_garbled_retry_does_not_hide_the_good_result() -> None:
    good = tool_outcome(
        "c1",
        "logs_error_summary",
        {"requests": 3214, "errors": 193, "error_rate": 0.06, "by_status": [{"status": 500, "count": 132}]},
    )
    fields, missing = build_fields(["error_summary"], Sources([good, _garbled("c2", "logs_error_summary")]))
    assert missing == [] and fields[0].sources == ["c1"]
    assert fields[0].value["requests"] == 3214 and fields[0].value["by_status"] == [
        {"status": 500, "count": 132}
    ]


def test_a_field_the_result_lacks_shows_null_not_a_default() -> None:
    # A view's default (0 errors, an empty baseline) is not what the logs said.
    summary = tool_outcome("c1", "logs_error_summary", {"requests": 12})
    fields, _ = build_fields(["error_summary"], Sources([summary]))
    value = fields[0].value
    assert value["requests"] == 12
    assert value["errors"] is None and value["error_rate"] is None and value["baseline_error_rate"] is None


@respx.mock
async def test_garbage_through_the_linear_connector_is_named_in_the_packet() -> None:
    """A Linear answer whose issue title is a number passes the connector; the packet says so."""
    issue = {
        "id": "9f1c2b7e-3a4d-4e5f-8a9b-0c1d2e3f4a5b",
        "identifier": "ABC-12",
        "title": 404,
        "description": "Export fails for large accounts.",
        "url": "https://linear.app/example/issue/ABC-12",
        "priority": 1,
        "createdAt": "2026-11-20T09:30:00.000Z",
        "updatedAt": "2026-11-20T10:10:00.000Z",
        "dueDate": None,
        "state": {"name": "In Progress", "type": "started"},
        "labels": {"nodes": []},
        "team": {"key": "ABC", "name": "Example"},
        "comments": {"nodes": []},
    }
    body = {
        "data": {
            "searchIssues": {
                "totalCount": 1,
                "nodes": [issue],
                "pageInfo": {"hasNextPage": False, "endCursor": None},
            }
        }
    }
    respx.post("https://api.linear.app/graphql").mock(return_value=httpx.Response(200, json=body))
    toolbox = Toolbox([LinearConnector(LinearSettings(api_key=SecretStr("lin_api_k")))])
    try:
        outcome = await toolbox.execute(
            ToolCall(id="c1", tool="bugs_search", arguments={"query": "export fails"}), CallContext()
        )
    finally:
        await toolbox.aclose()
    assert outcome.ok  # the connector passed it on
    _, missing = build_fields(["related_bugs"], Sources([outcome]))
    assert missing == [
        "Related bugs: bugs garbled: bugs_search (c1) returned issues.0.title: Input should be a valid string"
    ]


def test_a_stored_packet_of_another_shape_renders_as_json() -> None:
    """Markdown reads similar tickets through tickets_similar's view; a packet stored in another
    shape (an older record) is shown as it is, not a crash."""
    odd = PacketField(
        name="similar_tickets", label="Similar tickets", value=[{"ticket": 887}], sources=["c1"]
    )
    assert '"ticket": 887' in render_markdown(packet_of([odd]))
