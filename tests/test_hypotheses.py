"""Ranked hypotheses: the chosen cause first, at most three, each grounded, from every model.

The offline investigator lays out what it weighed (runbook findings and the differential's
causes); an LLM submits them in ``submit_diagnosis`` (scripted here over OpenAI's wire
format); the CLI prints them; evals score top-1 and top-3.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import respx
from llm_fixtures import diagnosis_args, run
from provider_wires import OPENAI, completion
from pydantic import ValidationError

from casefile import PACKAGE_DIR
from casefile.agent.config import load_settings
from casefile.agent.diagnosis import Diagnosis
from casefile.agent.intake import load_ticket
from casefile.agent.pipeline import open_environment, run_investigation
from casefile.evals.cases import Expected
from casefile.evals.scoring import score_diagnosis, summarise
from casefile.tools.base import Toolbox

TICKETS = PACKAGE_DIR / "examples" / "tickets"


@pytest.fixture(autouse=True)
def _openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    OPENAI.set_key(monkeypatch)


def _diagnosis(**overrides: Any) -> dict[str, Any]:
    raw = diagnosis_args(**overrides)
    raw["ticket_id"] = "T-1"
    return raw


def cause(category: str, *, supporting: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "category": category,
        "statement": f"{category} explains it",
        "confidence": 0.5,
        "supporting": supporting or [],
        **extra,
    }


def test_the_chosen_cause_comes_first_and_each_cause_once() -> None:
    Diagnosis.model_validate(_diagnosis(hypotheses=[cause("rate_limit"), cause("billing_past_due")]))
    with pytest.raises(
        ValidationError, match="hypotheses\\[0\\] is billing_past_due, but the root cause is rate_limit"
    ):
        Diagnosis.model_validate(_diagnosis(hypotheses=[cause("billing_past_due"), cause("rate_limit")]))
    with pytest.raises(ValidationError, match="repeat a category"):
        Diagnosis.model_validate(_diagnosis(hypotheses=[cause("rate_limit"), cause("rate_limit")]))
    with pytest.raises(ValidationError, match="at most 3"):
        Diagnosis.model_validate(
            _diagnosis(
                hypotheses=[
                    cause(c) for c in ("rate_limit", "known_bug", "deploy_regression", "customer_error")
                ]
            )
        )


def _submit(call_id: str, **overrides: Any) -> Any:
    return completion([(call_id, "submit_diagnosis", diagnosis_args(**overrides))], usage=(2000, 300, 0))


async def test_an_llm_submits_ranked_hypotheses_and_each_item_is_grounded(
    router: respx.MockRouter, toolbox: Toolbox
) -> None:
    grounded = {"call_id": "c1", "value": "rate_limit_exceeded", "claim": "the error code"}
    invented = {"call_id": "c1", "value": "card_declined", "claim": "the card was declined"}
    router.post(OPENAI.url).mock(
        side_effect=[
            # An alternative listed first: sent back with the reason.
            _submit("call_1", hypotheses=[cause("billing_past_due"), cause("rate_limit")]),
            # A refutation that no tool returned: sent back, naming the hypothesis.
            _submit(
                "call_2",
                hypotheses=[
                    cause("rate_limit", supporting=[grounded]),
                    cause("billing_past_due", refuting=[invented]),
                ],
            ),
            _submit(
                "call_3",
                hypotheses=[
                    cause("rate_limit", supporting=[grounded]),
                    cause("billing_past_due", refuting=[{**grounded, "claim": "a rate limit, not billing"}]),
                ],
            ),
        ]
    )
    result = await run(OPENAI.model_for(router), toolbox)

    rejected = [e.data["errors"] for e in result.events if e.kind == "diagnosis_rejected"]
    assert len(rejected) == 2
    assert any("list the chosen cause first" in err for err in rejected[0])
    assert any(
        "hypothesis 2 (billing_past_due): refuting" in err and "card_declined" in err for err in rejected[1]
    )
    d = result.diagnosis
    assert d.fallback_reason is None
    assert [h.category for h in d.hypotheses] == ["rate_limit", "billing_past_due"]
    # The loop, not the model, names the tool behind each cited call.
    assert d.hypotheses[0].supporting[0].tool == "logs_error_summary"
    assert d.hypotheses[1].refuting[0].claim == "a rate limit, not billing"


def test_the_submit_schema_asks_for_hypotheses_without_the_loops_fields() -> None:
    from casefile.agent.models._chat import submit_tool

    props = submit_tool().parameters["properties"]["hypotheses"]
    assert props["maxItems"] == 3
    item = props["items"]["properties"]
    assert set(item) >= {"category", "statement", "confidence", "supporting", "refuting"}
    assert "tool" not in item["supporting"]["items"]["properties"]


def test_the_offline_investigator_ranks_what_it_weighed() -> None:
    d = demo_diagnosis("429-spike.json")
    categories = [h.category for h in d.hypotheses]
    assert categories[0] == d.root_cause.category == "known_bug"
    assert len(categories) == 3 and len(set(categories)) == 3
    assert d.grounding.rejected == []
    ranks = [h.confidence for h in d.hypotheses]
    assert ranks == sorted(ranks, reverse=True)
    assert all(h.supporting for h in d.hypotheses)
    # Every alternative says what argues against it, cited from a tool result.
    for alternative in d.hypotheses[1:]:
        assert alternative.refuting, alternative.category
        assert all(e.tool and e.call_id.startswith("c") for e in alternative.refuting)


def test_evals_score_top1_and_top3() -> None:
    ranked = Diagnosis.model_validate(
        _diagnosis(hypotheses=[cause("rate_limit"), cause("known_bug"), cause("deploy_regression")])
    )
    expected_bug = Expected(category="known_bug", action="resolve")
    expected_billing = Expected(category="billing_past_due", action="resolve")
    second = score_diagnosis("a", expected_bug, ranked)
    assert (second.category_ok, second.top3_ok) == (False, True)
    missing = score_diagnosis("b", expected_billing, ranked)
    assert (missing.category_ok, missing.top3_ok) == (False, False)
    first = score_diagnosis("c", Expected(category="rate_limit", action="resolve"), ranked)
    assert (first.category_ok, first.top3_ok) == (True, True)
    # Without hypotheses, the root cause alone is the top three.
    bare = score_diagnosis("d", expected_bug, Diagnosis.model_validate(_diagnosis()))
    assert bare.top3_ok is False
    summary = summarise([second, missing, first])
    assert summary.category_accuracy == pytest.approx(1 / 3, abs=1e-3)
    assert summary.top3_accuracy == pytest.approx(2 / 3, abs=1e-3)


def demo_diagnosis(ticket_file: str) -> Diagnosis:
    """The offline investigator's diagnosis of a demo ticket, in process."""
    settings = load_settings(env={})
    env = open_environment(settings)

    async def run() -> Diagnosis:
        try:
            return (await run_investigation(load_ticket(TICKETS / ticket_file), env, settings)).diagnosis
        finally:
            await env.aclose()

    return asyncio.run(run())
