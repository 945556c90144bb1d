"""The service's own health for Prometheus (``GET /metrics``), with ``prometheus_client``.

Not the team's numbers (those are :mod:`casefile.agent.metrics.compute`): how the service is
doing. Each app has its own :class:`~prometheus_client.CollectorRegistry`, so two apps in one
process (tests, replicas in a benchmark) never share counters.

=====================================================  ==============================================
``casefile_investigations_running``                    investigations this replica is running now
``casefile_investigations_queued``                     accepted work no worker holds (the whole store)
``casefile_investigations_total{outcome}``             finished investigations: resolve, escalate, failed
``casefile_tool_call_duration_seconds{source}``        tool call latency (histogram)
``casefile_tool_call_errors_total{source,error_kind}`` failed tool calls
``casefile_model_tokens_total{model,kind}``            input, output and cached tokens
``casefile_model_cost_usd_total{model}``               estimated model cost
=====================================================  ==============================================

Nothing private is exported: no ticket, account or argument, only sources, error kinds and
model names, so ``/metrics`` needs no token (as ``/healthz``). A label is one of a fixed set: a source
is an installed connector's (an unknown tool a model asked for counts as ``unknown``: its name is the
model's choice, and was a customer's address when an injection chose it), an error kind one of
casefile's :class:`~casefile.tools.errors.ToolError` kinds (else ``other``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from casefile.agent.investigation import Investigation

__all__ = ["CONTENT_TYPE", "ServiceMetrics"]

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE

# Tool calls take milliseconds (a world) to the per-call cap (30 s by default).
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _error_kinds() -> frozenset[str]:
    """Every kind a tool error class declares (a plug-in's too), and the two the toolbox gives itself;
    not a kind an instance chose at run time (a vendor's error code)."""
    from casefile.tools.errors import ToolError

    kinds, classes = {"timeout", "internal"}, [ToolError]
    while classes:
        cls = classes.pop()
        kinds.add(cls.kind)
        classes += cls.__subclasses__()
    return frozenset(kinds)


def _source_label(source: str) -> str:
    from casefile.tools.catalogue import connector_classes

    return source if source in connector_classes() else "unknown"


def _kind_label(kind: str | None, known: frozenset[str]) -> str:
    kind = kind or "error"
    return kind if kind in known else "other"


class _Load(Collector):
    """Running and queued, read when Prometheus scrapes (never stale)."""

    def __init__(self, running: Callable[[], int], queued: Callable[[], int]) -> None:
        self._running = running
        self._queued = queued

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "casefile_investigations_running", "Investigations this replica is running", value=self._running()
        )
        try:
            queued = self._queued()
        except Exception:  # the store is down: /healthz says so; the scrape still answers
            return
        yield GaugeMetricFamily(
            "casefile_investigations_queued", "Accepted work no worker holds (all replicas)", value=queued
        )


class ServiceMetrics:
    """The registry behind ``/metrics`` and what the service tells it."""

    def __init__(self, running: Callable[[], int], queued: Callable[[], int]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_Load(running, queued))
        self.investigations = Counter(
            "casefile_investigations",
            "Finished investigations by outcome (resolve, escalate, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.tool_latency = Histogram(
            "casefile_tool_call_duration_seconds",
            "Tool call latency by source",
            ["source"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tool_errors = Counter(
            "casefile_tool_call_errors",
            "Failed tool calls by source and error kind",
            ["source", "error_kind"],
            registry=self.registry,
        )
        self.tokens = Counter(
            "casefile_model_tokens",
            "Model tokens by model and kind",
            ["model", "kind"],
            registry=self.registry,
        )
        self.cost = Counter(
            "casefile_model_cost_usd", "Estimated model cost in USD", ["model"], registry=self.registry
        )

    def observe(self, result: Investigation) -> None:
        """Count one finished investigation: its tool calls, tokens and cost."""
        diagnosis = result.diagnosis
        self.investigations.labels(diagnosis.action).inc()
        kinds = _error_kinds()
        for outcome in result.outcomes:
            source = _source_label(outcome.source)
            self.tool_latency.labels(source).observe(outcome.duration_ms / 1000)
            if not outcome.ok:
                self.tool_errors.labels(source, _kind_label(outcome.error_kind, kinds)).inc()
        usage = diagnosis.usage
        for kind, count in (
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
            ("cached", usage.cached_tokens),
        ):
            self.tokens.labels(diagnosis.model, kind).inc(count)
        self.cost.labels(diagnosis.model).inc(usage.cost_usd)

    def failed(self) -> None:
        self.investigations.labels("failed").inc()

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
