"""OpenTelemetry spans of an investigation, in the GenAI semantic conventions, collected and exported."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from llm_fixtures import make_ticket
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from quiet_server import QuietHTTPServer

from casefile.agent.config import Settings
from casefile.agent.models.base import ModelReply, TurnUsage
from casefile.agent.models.scripted import ScriptedModel
from casefile.agent.pipeline import open_environment, run_investigation
from casefile.tools import tracing
from casefile.tools.base import ToolCall


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracing.use_tracer_provider(provider)
    yield memory
    tracing.use_tracer_provider(None)
    provider.shutdown()


def _by_operation(spans: tuple[ReadableSpan, ...], operation: str) -> list[ReadableSpan]:
    return [s for s in spans if (s.attributes or {}).get("gen_ai.operation.name") == operation]


async def _investigate(world_dir: Path, model: ScriptedModel | None = None) -> None:
    env = open_environment(Settings(), world_dir)
    try:
        await run_investigation(make_ticket(), env, Settings(), model=model)
    finally:
        await env.aclose()


async def test_an_offline_investigation_is_one_trace(exporter: InMemorySpanExporter, world_dir: Path) -> None:
    await _investigate(world_dir)
    spans = exporter.get_finished_spans()
    (agent,) = _by_operation(spans, "invoke_agent")
    assert agent.name == "invoke_agent casefile"
    attributes = agent.attributes or {}
    assert attributes["gen_ai.agent.name"] == "casefile"
    assert attributes["gen_ai.request.model"] == "offline"
    assert attributes["casefile.category"] == "rate_limit"
    assert attributes["casefile.action"] in ("resolve", "escalate")
    assert attributes["casefile.diagnosed_by"] == "offline"

    tools = _by_operation(spans, "execute_tool")
    assert len(tools) == attributes["casefile.tool_calls"] >= 3
    assert {s.name for s in tools} == {
        f"execute_tool {(s.attributes or {})['gen_ai.tool.name']}" for s in tools
    }
    assert all((s.attributes or {})["casefile.call.origin"] for s in tools)
    chats = _by_operation(spans, "chat")
    assert [s.name for s in chats] == ["chat offline"]

    # Every span belongs to the investigation's trace, under its span.
    assert agent.context is not None and agent.parent is None
    for span in [*tools, *chats]:
        assert span.context is not None and span.context.trace_id == agent.context.trace_id
        assert span.parent is not None and span.parent.span_id == agent.context.span_id
    # No customer text on spans: the ticket's words are nowhere among the attribute values.
    values = " ".join(str(v) for s in spans for v in (s.attributes or {}).values())
    assert "since this morning" not in values


async def test_model_turns_carry_tokens_and_failed_tools_an_error(
    exporter: InMemorySpanExporter, world_dir: Path
) -> None:
    model = ScriptedModel(
        [
            ModelReply(
                tool_calls=[ToolCall(id="m1", tool="no_such_tool", arguments={})],
                usage=TurnUsage(input_tokens=1200, output_tokens=80),
            ),
            ModelReply(
                refusal="I cannot help with that", usage=TurnUsage(input_tokens=1500, output_tokens=12)
            ),
        ],
        name="openai:gpt-4.1",
    )
    await _investigate(world_dir, model)
    spans = exporter.get_finished_spans()
    chats = _by_operation(spans, "chat")
    assert [s.name for s in chats] == ["chat gpt-4.1", "chat gpt-4.1"]
    assert [(s.attributes or {})["gen_ai.usage.input_tokens"] for s in chats] == [1200, 1500]
    assert [(s.attributes or {})["gen_ai.usage.output_tokens"] for s in chats] == [80, 12]
    assert all((s.attributes or {})["gen_ai.provider.name"] == "openai" for s in chats)

    (failed,) = [s for s in _by_operation(spans, "execute_tool") if s.name == "execute_tool no_such_tool"]
    assert (failed.attributes or {})["error.type"] == "bad_arguments"
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["casefile.call.origin"] == "model"

    (agent,) = _by_operation(spans, "invoke_agent")
    attributes = agent.attributes or {}
    assert attributes["gen_ai.usage.input_tokens"] == 2700
    assert "refused" in str(attributes["casefile.fallback_reason"])
    assert attributes["casefile.diagnosed_by"] == "offline"


def test_tracing_is_off_without_an_endpoint() -> None:
    assert tracing.configure_tracing({}) is None
    with tracing.agent_span("T-1", "offline") as span:
        assert not span.is_recording()


class _Collector(QuietHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CollectorHandler)
        self.requests: list[tuple[str, bytes]] = []


class _CollectorHandler(BaseHTTPRequestHandler):
    server: _Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.server.requests.append((self.path, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


async def test_spans_are_exported_over_otlp_when_an_endpoint_is_set(
    world_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    collector = _Collector()
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{collector.server_address[1]}")
    provider = tracing.configure_tracing()
    assert provider is not None
    try:
        await _investigate(world_dir)
        assert provider.force_flush(10_000)
    finally:
        tracing.use_tracer_provider(None)
        provider.shutdown()
        collector.shutdown()
        collector.server_close()
    assert collector.requests and {path for path, _ in collector.requests} == {"/v1/traces"}
    names: list[str] = []
    services: set[str] = set()
    for _, body in collector.requests:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            services.update(
                a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"
            )
            names += [span.name for scope in resource_spans.scope_spans for span in scope.spans]
    assert services == {"casefile"}
    assert "invoke_agent casefile" in names and "chat offline" in names
    assert any(name.startswith("execute_tool ") for name in names)
