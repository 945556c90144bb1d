"""``GET /metrics``: the service's own health in Prometheus' text format, scraped after an
investigation whose model called Linear twice (one answer, one 503) and used tokens."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from service_helpers import AUTH, TICKETS, FakeZendesk, diagnosis_step, read_sse, settings

from casefile.agent.models.base import LoopState, ModelReply, ToolCall, TurnUsage
from casefile.agent.models.scripted import ScriptedModel
from casefile.agent.pipeline import Environment
from casefile.agent.service.app import create_app
from casefile.agent.store import Store
from casefile.tools.base import Toolbox
from casefile.tools.bugs import LinearConnector
from casefile.tools.settings import LinearSettings

LINEAR = "https://api.linear.app/graphql"
PRICES = {"scripted": {"input": 3.0, "output": 15.0, "cached": 0.3}}


def _search(request: httpx.Request) -> httpx.Response:
    if "outage" in json.loads(request.content)["variables"]["term"]:
        return httpx.Response(503, json={"errors": [{"message": "unavailable"}]})
    nodes: list[dict[str, str]] = []
    return httpx.Response(
        200,
        json={
            "data": {"searchIssues": {"totalCount": 0, "nodes": nodes, "pageInfo": {"hasNextPage": False}}}
        },
    )


def _look(state: LoopState) -> ModelReply:
    calls = [
        ToolCall(id="m1", tool="bugs_search", arguments={"query": "rate limit"}),
        ToolCall(id="m2", tool="bugs_search", arguments={"query": "outage"}),
    ]
    return ModelReply(tool_calls=calls, usage=TurnUsage(input_tokens=1200, output_tokens=40))


def _conclude(state: LoopState) -> ModelReply:
    diagnosis = dict(diagnosis_step(state).diagnosis or {}, evidence=[])  # the searches found nothing to cite
    usage = TurnUsage(input_tokens=1500, output_tokens=300, cached_tokens=1000)
    return ModelReply(diagnosis=diagnosis, usage=usage)


def _scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_after_an_investigation(store: Store, waits: list[float]) -> None:
    env = Environment(
        toolbox=Toolbox([LinearConnector(LinearSettings(api_key=SecretStr("lin_api_test")))]),
        directory=None,
        runbooks=[],
        world=None,
        description="test",
    )
    app = create_app(
        settings().model_copy(update={"prices": PRICES}),
        env=env,
        model_factory=lambda ticket: ScriptedModel([_look, _conclude]),
        store=store,
        helpdesk_transport=FakeZendesk().transport(),
    )
    ticket = json.loads((TICKETS / "429-spike.json").read_text())
    with respx.mock(assert_all_mocked=False) as mock, TestClient(app) as client:
        mock.post(LINEAR).mock(side_effect=_search)
        before = _scrape(client)
        assert before[("casefile_investigations_running", ())] == 0
        assert before[("casefile_investigations_queued", ())] == 0
        inv = client.post("/v1/investigations", json=ticket, headers=AUTH).json()["id"]
        assert read_sse(client, inv)[-1][1]["status"] == "done"
        after = _scrape(client)
        audit = client.get(f"/v1/investigations/{inv}/audit", headers=AUTH).json()
    # Every tool call of the investigation (the model's two, routing's packet searches) is counted.
    calls = [row for row in audit if row["source"] == "bugs"]
    failed = [row for row in calls if not row["ok"]]
    assert len(calls) >= 2 and {row["error_kind"] for row in failed} == {"unavailable"}
    bugs = (("source", "bugs"),)
    assert after[("casefile_tool_call_duration_seconds_count", bugs)] == len(calls)
    assert after[("casefile_tool_call_duration_seconds_sum", bugs)] == pytest.approx(
        sum(row["duration_ms"] for row in calls) / 1000
    )
    errors = (("error_kind", "unavailable"), ("source", "bugs"))
    assert after[("casefile_tool_call_errors_total", errors)] == len(failed) >= 1
    assert after[("casefile_model_tokens_total", (("kind", "input"), ("model", "scripted")))] == 2700
    assert after[("casefile_model_tokens_total", (("kind", "output"), ("model", "scripted")))] == 340
    assert after[("casefile_model_tokens_total", (("kind", "cached"), ("model", "scripted")))] == 1000
    expected_cost = (1700 * 3.0 + 1000 * 0.3 + 340 * 15.0) / 1_000_000
    assert after[("casefile_model_cost_usd_total", (("model", "scripted"),))] == pytest.approx(expected_cost)
    assert after[("casefile_investigations_total", (("outcome", "escalate"),))] == 1
    assert after[("casefile_investigations_running", ())] == 0
    # Nothing private: no ticket, account or argument in any label.
    assert not any("acme" in value or "T-1001" in value for _, labels in after for _, value in labels)
