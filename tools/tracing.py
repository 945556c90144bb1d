"""OpenTelemetry traces of an investigation, named by the GenAI semantic conventions; off by default.

One trace per investigation: an ``invoke_agent casefile`` span, a ``chat <model>`` span per
model turn and an ``execute_tool <tool>`` span per tool call, with the attributes the
conventions define (``gen_ai.operation.name``, ``gen_ai.provider.name``,
``gen_ai.request.model``, ``gen_ai.usage.input_tokens`` / ``output_tokens``,
``gen_ai.tool.name``, ``gen_ai.tool.call.id``, ``error.type``) plus a few ``casefile.*`` ones.

Nothing is exported unless an OTLP endpoint is configured, through the standard variables
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (a full ``…/v1/traces`` URL) or
``OTEL_EXPORTER_OTLP_ENDPOINT`` (a base URL): :func:`configure_tracing` is a no-op
without them and every span below is then OpenTelemetry's non-recording span (no cost
worth measuring). Spans carry ids, names, counts and categories, never ticket text or
tool output: a trace backend is not a place for customer data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span

    from casefile.agent.investigation import Investigation
    from casefile.tools.base import ToolCall, ToolOutcome

__all__ = [
    "AGENT_NAME",
    "agent_span",
    "chat_span",
    "configure_tracing",
    "record_investigation",
    "record_outcome",
    "record_usage",
    "tool_span",
    "use_tracer_provider",
]

AGENT_NAME = "casefile"

_provider: trace.TracerProvider | None = None


def use_tracer_provider(provider: trace.TracerProvider | None) -> None:
    """Send casefile's spans to ``provider`` (None: OpenTelemetry's global one). Tests pass an SDK provider."""
    global _provider
    _provider = provider


def _tracer() -> trace.Tracer:
    from casefile import __version__

    return (_provider or trace.get_tracer_provider()).get_tracer(AGENT_NAME, __version__)


def configure_tracing(environ: dict[str, str] | None = None) -> TracerProvider | None:
    """Export spans over OTLP/HTTP when an endpoint variable is set; the provider, or None (off)."""
    env = os.environ if environ is None else environ
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not (endpoint or "").strip():
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from casefile import __version__

    provider = TracerProvider(
        resource=Resource.create({"service.name": AGENT_NAME, "service.version": __version__})
    )
    # The exporter reads the endpoint, headers and timeout from the OTEL_EXPORTER_OTLP_* variables.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    use_tracer_provider(provider)
    return provider


def _vendor(model_name: str) -> str:
    """``openai:gpt-4.1`` → ``openai``; the embedded investigator is casefile's own."""
    vendor, _, name = model_name.partition(":")
    return vendor if name else AGENT_NAME


def _request_model(model_name: str) -> str:
    return model_name.partition(":")[2] or model_name


@contextmanager
def agent_span(ticket_id: str, model_name: str) -> Iterator[Span]:
    """The investigation: ``invoke_agent casefile``, the parent of its turns and tool calls."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": AGENT_NAME,
        "gen_ai.provider.name": _vendor(model_name),
        "gen_ai.request.model": _request_model(model_name),
        "casefile.ticket.id": ticket_id,
    }
    with _tracer().start_as_current_span(
        f"invoke_agent {AGENT_NAME}", kind=SpanKind.INTERNAL, attributes=attributes
    ) as span:
        yield span


@contextmanager
def chat_span(model_name: str, turn: int) -> Iterator[Span]:
    """One model turn: ``chat <model>`` (a client call to the provider; the offline one runs in-process)."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": _vendor(model_name),
        "gen_ai.request.model": _request_model(model_name),
        "casefile.turn": turn,
    }
    kind = SpanKind.CLIENT if ":" in model_name else SpanKind.INTERNAL
    with _tracer().start_as_current_span(
        f"chat {_request_model(model_name)}", kind=kind, attributes=attributes
    ) as span:
        yield span


def record_investigation(span: Span, result: Investigation) -> None:
    """How the investigation ended: tokens over all turns, the category, action and who diagnosed."""
    diagnosis = result.diagnosis
    usage = diagnosis.usage
    record_usage(span, usage.input_tokens, usage.output_tokens)
    span.set_attribute("casefile.category", diagnosis.root_cause.category)
    span.set_attribute("casefile.action", diagnosis.action)
    span.set_attribute("casefile.confidence", diagnosis.confidence.score)
    span.set_attribute("casefile.diagnosed_by", diagnosis.model)
    span.set_attribute("casefile.tool_calls", len(result.outcomes))
    if diagnosis.fallback_reason:
        span.set_attribute("casefile.fallback_reason", diagnosis.fallback_reason[:300])


def record_usage(span: Span, input_tokens: int, output_tokens: int) -> None:
    span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
    span.set_attribute("gen_ai.usage.output_tokens", output_tokens)


@contextmanager
def tool_span(call: ToolCall) -> Iterator[Span]:
    """One tool call: ``execute_tool <tool>``; :func:`record_outcome` adds how it ended."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": call.tool,
        "gen_ai.tool.call.id": call.id,
        # Our tools call out to external systems on the agent's side: the conventions' "extension".
        "gen_ai.tool.type": "extension",
        "casefile.call.origin": call.origin,
    }
    with _tracer().start_as_current_span(
        f"execute_tool {call.tool}", kind=SpanKind.INTERNAL, attributes=attributes
    ) as span:
        yield span


def record_outcome(span: Span, outcome: ToolOutcome) -> None:
    span.set_attribute("casefile.source", outcome.source)
    span.set_attribute("casefile.duration_ms", outcome.duration_ms)
    if not outcome.ok:
        span.set_attribute("error.type", outcome.error_kind or "error")
        span.set_status(Status(StatusCode.ERROR, outcome.error_kind or "error"))
