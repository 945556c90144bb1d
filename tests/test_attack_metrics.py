"""Round-6 attacks on ``GET /metrics`` (no token, like ``/healthz``): its labels must name no
customer and stay a small, fixed set whatever a model, a ticket or a source chooses.

A model steered by text it read (a ticket, a resolved ticket, an article) chooses the tools it calls.
Before this round an unknown tool's name before its first ``_`` became the ``source`` label of
``casefile_tool_call_duration_seconds`` and ``casefile_tool_call_errors_total``: a customer's
address or name, unauthenticated, and one new time series per name (a model calling 300 invented
tools made 300 series). A connector's error kind is exported as it is too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llm_fixtures import diagnosis_args, run
from prometheus_client.parser import text_string_to_metric_families

from casefile.agent.metrics.prom import ServiceMetrics
from casefile.agent.models.base import LoopState, ModelReply, ToolCall
from casefile.agent.models.scripted import ScriptedModel
from casefile.tools.catalogue import connector_classes
from casefile.tools.errors import ToolError

SECRETS = ["ap@globex.example", "globex", "Globex Retail", "cus_xT6c8gorhiHjUz", "ticket-48213"]
# Tool names an injection can make a model call: each a customer's identity before the first "_".
INJECTED_TOOLS = [
    "ap@globex.example_refund",
    "globex_billing_account",
    "Globex Retail_export",
    "cus_xT6c8gorhiHjUz_charges",
    "ticket-48213_read",
]


def _labels(metrics: ServiceMetrics) -> dict[str, set[str]]:
    """Label name → every value /metrics exports for it."""
    found: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            for name, value in sample.labels.items():
                found.setdefault(name, set()).add(value)
    return found


def _calls(names: list[str]) -> Any:
    def step(state: LoopState) -> ModelReply:
        return ModelReply(
            tool_calls=[ToolCall(id=f"m{i}", tool=n, arguments={}) for i, n in enumerate(names)]
        )

    return step


def _observe(toolbox: Any, names: list[str]) -> ServiceMetrics:
    from casefile.agent.config import Budgets

    model = ScriptedModel([_calls(names), lambda s: ModelReply(diagnosis=diagnosis_args())], name="llm")
    result = asyncio.run(run(model, toolbox, budgets=Budgets(max_tool_calls=len(names) + 20)))
    assert {o.tool for o in result.outcomes} >= set(names), "the injected calls were not made"
    metrics = ServiceMetrics(running=lambda: 0, queued=lambda: 0)
    metrics.observe(result)
    return metrics


@pytest.mark.parametrize("tool", INJECTED_TOOLS)
def test_an_injected_tool_name_is_not_a_label(toolbox: Any, tool: str) -> None:
    labels = _labels(_observe(toolbox, [tool]))
    exported = " ".join(v for values in labels.values() for v in values)
    assert not any(s.lower() in exported.lower() for s in SECRETS), labels
    assert labels["source"] <= {*connector_classes(), "unknown"}


def test_invented_tool_names_do_not_grow_the_series(toolbox: Any) -> None:
    """300 invented tools (one model turn) add one series, not 300."""
    names = [f"acct{i:03d}_lookup" for i in range(300)]
    labels = _labels(_observe(toolbox, names))
    assert labels["source"] <= {*connector_classes(), "unknown"}
    assert len(labels["source"]) <= len(connector_classes()) + 1


class _ChosenKind(ToolError):
    """A plug-in connector that reports the vendor's own error code as its kind."""

    def __init__(self, source: str, reason: str, kind: str) -> None:
        super().__init__(source, reason)
        self.kind = kind


@pytest.mark.parametrize("kind", ["ap@globex.example", *(f"E{i}" for i in range(3))])
def test_a_source_chosen_error_kind_is_not_a_label(toolbox: Any, kind: str) -> None:
    from datetime import UTC, datetime

    from casefile.tools.base import ToolOutcome

    model = ScriptedModel([lambda s: ModelReply(diagnosis=diagnosis_args())], name="llm")
    result = asyncio.run(run(model, toolbox))
    error = _ChosenKind("logs", "vendor said no", kind)
    result.outcomes = [
        ToolOutcome(
            call_id="c1",
            tool="logs_sql",
            source="logs",
            arguments={},
            ok=False,
            error=error.reason,
            error_kind=error.kind,
            started_at=datetime.now(UTC),
            duration_ms=1.0,
        )
    ]
    metrics = ServiceMetrics(running=lambda: 0, queued=lambda: 0)
    metrics.observe(result)
    assert _labels(metrics)["error_kind"] == {"other"}
