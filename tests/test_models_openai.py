"""What only OpenAI's Chat Completions does, through the real loop and real tools, scripted with respx.

Tool calls replayed by ``tool_call_id`` with arguments as a JSON *string* (so invalid JSON is
possible), ``tool_choice: required``, cached prompt tokens, OpenAI-compatible local servers
(no key, reused call ids) and the transcript. The wire objects are built in provider_wires.py;
what every provider does alike is tested once for both in test_model_contract.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import provider_wires as wires
import pytest
import respx
from llm_fixtures import make_ticket, request_json, run

from casefile.agent.config import DEFAULT_PRICES, Budgets, Settings
from casefile.agent.models import openai as provider
from casefile.tools.base import Toolbox


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    wires.OPENAI.set_key(monkeypatch)


async def test_three_turns_with_parallel_calls(router: respx.MockRouter, toolbox: Toolbox) -> None:
    route = router.post(wires.OPENAI.url).mock(
        side_effect=[
            wires.completion(wires.parallel("call_a", "call_b"), usage=(1500, 60, 0)),
            wires.completion([("call_c", "logs_schema", {})], usage=(2500, 40, 1024)),
            wires.OPENAI.submit(evidence=wires.CITED),
        ]
    )
    m = wires.OPENAI.model_for(router)
    result = await run(m, toolbox, prices=DEFAULT_PRICES)

    diagnosis = result.diagnosis
    assert diagnosis.fallback_reason is None
    assert diagnosis.model == "openai:gpt-4.1"
    assert diagnosis.grounding.verified == 2 and not diagnosis.grounding.rejected
    assert [e.tool for e in diagnosis.evidence] == ["logs_recent_requests", "logs_error_summary"]
    assert route.call_count == 3
    # Both calls of turn 1 ran (as c3, c4), then c5; all through the loop, all succeeded.
    model_calls = [(o.call_id, o.tool, o.ok) for o in result.outcomes if o.origin == "model"]
    assert model_calls == wires.THREE_TURN_CALLS
    assert diagnosis.usage.turns == 3
    assert diagnosis.usage.input_tokens == 1500 + 2500 + 2000
    assert diagnosis.usage.cached_tokens == 1024 + 1024
    assert diagnosis.usage.output_tokens == 60 + 40 + 300
    assert diagnosis.usage.cost_usd > 0

    first = request_json(router, 0)
    assert first["model"] == wires.OPENAI.model and first["max_completion_tokens"] > 0
    assert "tool_choice" not in first
    names = [t["function"]["name"] for t in first["tools"]]
    assert "logs_sql" in names and names[-1] == "submit_diagnosis"
    system, opening = first["messages"][0], first["messages"][1]
    assert system["role"] == "system" and "RUNBOOK-GUIDANCE" in system["content"]
    assert "untrusted data" in system["content"]
    assert '<tool_result call_id="c1" tool="logs_error_summary"' in opening["content"]
    assert '<ticket id="T-1001">' in opening["content"]

    # Turn 2 replays the assistant's calls and answers each by its tool_call_id, labelled with our id.
    second = wires.messages_of(router, 1)
    assistant = second[2]
    assert assistant["role"] == "assistant"
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_a", "call_b"]
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"])["limit"] == 3
    tool_messages = [m for m in second if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_a", "call_b"]
    assert 'call_id="c3" tool="logs_recent_requests"' in tool_messages[0]["content"]
    assert "req_000119" in tool_messages[0]["content"]
    assert 'call_id="c4"' in tool_messages[1]["content"]
    # The prefix (system prompt, tools) is identical every turn: OpenAI's prompt cache can hit it.
    assert second[0] == first["messages"][0]
    assert request_json(router, 1)["tools"] == first["tools"]


async def test_invalid_json_arguments_then_repair(router: respx.MockRouter, toolbox: Toolbox) -> None:
    router.post(wires.OPENAI.url).mock(
        side_effect=[
            wires.completion(
                [("call_bad", "submit_diagnosis", '{"summary": "Acme is rate limited", "root_cause": ')]
            ),
            wires.OPENAI.submit("call_good"),
        ]
    )
    result = await run(wires.OPENAI.model_for(router), toolbox)
    assert result.diagnosis.fallback_reason is None
    assert result.diagnosis.model == "openai:gpt-4.1"
    rejected = [e for e in result.events if e.kind == "diagnosis_rejected"]
    assert len(rejected) == 1
    answer = next(m for m in wires.messages_of(router, 1) if m["role"] == "tool")
    assert answer["tool_call_id"] == "call_bad"
    assert "not valid JSON" in answer["content"] and "rejected" in answer["content"]


async def test_ungrounded_until_repairs_run_out_falls_back(
    router: respx.MockRouter, toolbox: Toolbox
) -> None:
    bad = {"evidence": [{"call_id": "c9", "value": "48", "claim": "made up call"}]}
    router.post(wires.OPENAI.url).mock(
        side_effect=[wires.OPENAI.submit("call_1", **bad), wires.OPENAI.submit("call_2", **bad)]
    )
    result = await run(wires.OPENAI.model_for(router), toolbox, budgets=Budgets(max_repairs=1))
    assert result.diagnosis.model == "offline"
    assert result.diagnosis.fallback_reason is not None
    assert "no valid, grounded diagnosis" in result.diagnosis.fallback_reason
    assert "never made" in result.diagnosis.fallback_reason


async def test_other_client_errors_fall_back_unretried(router: respx.MockRouter, toolbox: Toolbox) -> None:
    route = router.post(wires.OPENAI.url).mock(
        return_value=wires.openai_error(400, "Invalid 'messages': too long.", "invalid_value")
    )
    result = await run(wires.OPENAI.model_for(router), toolbox)
    assert route.call_count == 1
    assert "HTTP 400" in (result.diagnosis.fallback_reason or "")


async def test_calls_after_budget_are_not_run(router: respx.MockRouter, toolbox: Toolbox) -> None:
    # Forced to conclude, the model still asks for a tool: nothing runs, the loop falls back.
    router.post(wires.OPENAI.url).mock(return_value=wires.completion([("call_a", "logs_schema", {})]))
    result = await run(wires.OPENAI.model_for(router), toolbox, budgets=Budgets(max_turns=1))
    assert [o.origin for o in result.outcomes] == ["preflight", "preflight"]
    assert "did not conclude" in (result.diagnosis.fallback_reason or "")


async def test_transcript_is_redacted_jsonl(
    router: respx.MockRouter, toolbox: Toolbox, tmp_path: Path
) -> None:
    transcript = tmp_path / "t.jsonl"
    router.post(wires.OPENAI.url).mock(
        side_effect=[wires.openai_error(503, "overloaded", "server_error"), wires.OPENAI.submit()]
    )
    ticket = make_ticket(
        "429s since this morning. Our key is sk_live_51H8abcdefGHIJklmnopQRST, does that matter?"
    )
    m = wires.OPENAI.model_for(router, settings=Settings(transcript=transcript))
    await run(m, toolbox, ticket=ticket)
    lines = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["request", "retry", "response"]
    assert lines[0]["provider"] == "openai" and lines[0]["ticket_id"] == "T-1001" and lines[0]["turn"] == 1
    text = transcript.read_text()
    assert "sk-test-abcdefghij" not in text  # the API key never appears
    assert "sk_live_51H8" not in text and "[REDACTED:stripe_key]" in text
    assert "submit_diagnosis" in json.dumps(lines[-1]["body"])


def test_base_url_for_compatible_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    m = provider.connect("qwen2.5-7b-instruct", None).one_off()
    assert str(m.client.base_url).startswith("http://127.0.0.1:8000/v1")
    assert m.client.max_retries == 0 and m.compatible


async def test_a_reused_provider_id_is_not_an_alias(router: respx.MockRouter, toolbox: Toolbox) -> None:
    """Local servers may answer every turn with ``call_0``: which call it names is unknowable, so it is refused."""
    router.post(wires.OPENAI.url).mock(
        side_effect=[
            wires.completion([("call_0", "logs_recent_requests", {"account_id": "acme", "limit": 3})]),
            wires.completion([("call_0", "logs_schema", {})]),
            wires.OPENAI.submit(
                evidence=[{"call_id": "call_0", "value": "req_000119", "claim": "the latest request"}]
            ),
            wires.OPENAI.submit(
                evidence=[{"call_id": "c3", "value": "req_000119", "claim": "the latest request"}]
            ),
        ]
    )
    result = await run(wires.OPENAI.model_for(router), toolbox)
    rejected = [e for e in result.events if e.kind == "diagnosis_rejected"]
    assert len(rejected) == 1 and "'call_0'" in rejected[0].data["reason"]
    assert result.diagnosis.evidence[0].call_id == "c3" and result.diagnosis.fallback_reason is None
