"""What only Anthropic's Messages API does, through the real loop and real tools, scripted with respx.

Prompt caching (a stable system prefix, one moving cache breakpoint, cache reads and writes in
the usage), content blocks replayed turn by turn, schema errors sent back with ``is_error`` and
the transcript. The wire objects are built in provider_wires.py; what every provider does alike
(retries, fallbacks, grounding repairs, prompt injection, configuration errors) is tested once
for both in test_model_contract.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import provider_wires as wires
import pytest
import respx
from llm_fixtures import request_json, run

from casefile.agent.config import DEFAULT_PRICES, Settings
from casefile.tools.base import Toolbox


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    wires.ANTHROPIC.set_key(monkeypatch)


async def test_three_turns_with_parallel_calls_and_caching(
    router: respx.MockRouter, toolbox: Toolbox
) -> None:
    route = router.post(wires.ANTHROPIC.url).mock(
        side_effect=[
            wires.message(
                wires.parallel("toolu_01A", "toolu_01B"),
                text="Let me look at the failing requests and the error rate.",
                usage=(500, 90, 0, 3500),
            ),
            wires.message([("toolu_01C", "logs_schema", {})], usage=(700, 40, 3500, 600)),
            wires.ANTHROPIC.submit(evidence=wires.CITED),
        ]
    )
    result = await run(wires.ANTHROPIC.model_for(router), toolbox, prices=DEFAULT_PRICES)

    diagnosis = result.diagnosis
    assert diagnosis.fallback_reason is None
    assert diagnosis.model == "anthropic:claude-haiku-4-5"
    assert diagnosis.grounding.verified == 2
    assert route.call_count == 3
    model_calls = [(o.call_id, o.tool, o.ok) for o in result.outcomes if o.origin == "model"]
    assert model_calls == wires.THREE_TURN_CALLS
    # input = fresh + cache reads + cache writes; cached = cache reads
    assert diagnosis.usage.input_tokens == (500 + 3500) + (700 + 3500 + 600) + (300 + 4000)
    assert diagnosis.usage.cached_tokens == 3500 + 4000
    assert diagnosis.usage.output_tokens == 90 + 40 + 400
    assert diagnosis.usage.cost_usd == pytest.approx((5600 * 1.00 + 7500 * 0.10 + 530 * 5.00) / 1e6)

    first = request_json(router, 0)
    assert first["model"] == wires.ANTHROPIC.model and first["max_tokens"] > 0
    assert first["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "RUNBOOK-GUIDANCE" in first["system"][0]["text"] and "untrusted data" in first["system"][0]["text"]
    assert [t["name"] for t in first["tools"]][-1] == "submit_diagnosis"
    assert "input_schema" in first["tools"][0] and "tool_choice" not in first
    opening = first["messages"][0]["content"]
    assert '<tool_result call_id="c1" tool="logs_error_summary"' in opening[0]["text"]

    second = request_json(router, 1)
    assert second["system"] == first["system"] and second["tools"] == first["tools"]  # stable cached prefix
    assistant = second["messages"][1]
    assert assistant["role"] == "assistant"
    assert [b["type"] for b in assistant["content"]] == ["text", "tool_use", "tool_use"]
    assert assistant["content"][1]["input"]["limit"] == 3
    user = second["messages"][2]["content"]
    assert [b["type"] for b in user][:2] == ["tool_result", "tool_result"]  # results come first
    assert [b["tool_use_id"] for b in user[:2]] == ["toolu_01A", "toolu_01B"]
    assert (
        'call_id="c3" tool="logs_recent_requests"' in user[0]["content"]
        and "req_000119" in user[0]["content"]
    )
    # One moving cache breakpoint: on the newest wires.message only.
    assert user[-1]["cache_control"] == {"type": "ephemeral"}
    assert all("cache_control" not in b for b in second["messages"][0]["content"])


async def test_malformed_input_then_repair(router: respx.MockRouter, toolbox: Toolbox) -> None:
    # The input parses but is not a diagnosis (root_cause as a string, no reply): sent back, then fixed.
    bad = {"summary": "rate limited", "root_cause": "rate_limit", "confidence": 0.7}
    router.post(wires.ANTHROPIC.url).mock(
        side_effect=[
            wires.message([("toolu_bad", "submit_diagnosis", bad)]),
            wires.ANTHROPIC.submit("toolu_good"),
        ]
    )
    result = await run(wires.ANTHROPIC.model_for(router), toolbox)
    assert result.diagnosis.fallback_reason is None
    assert result.diagnosis.model == "anthropic:claude-haiku-4-5"
    answer = wires.tool_results(router, 1)[0]
    assert answer["tool_use_id"] == "toolu_bad" and answer["is_error"] is True
    assert "root_cause" in answer["content"] and "customer_reply" in answer["content"]


async def test_transcript_is_redacted_jsonl(
    router: respx.MockRouter, toolbox: Toolbox, tmp_path: Path
) -> None:
    transcript = tmp_path / "t.jsonl"
    router.post(wires.ANTHROPIC.url).mock(return_value=wires.ANTHROPIC.submit())
    await run(wires.ANTHROPIC.model_for(router, settings=Settings(transcript=transcript)), toolbox)
    lines = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["request", "response"]
    assert lines[1]["body"]["stop_reason"] == "tool_use"
    assert "sk-ant-api03" not in transcript.read_text()
