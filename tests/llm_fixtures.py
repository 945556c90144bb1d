"""Shared pieces of the provider tests: a tiny world, a runbook, a ticket, and respx behind the SDKs.

The SDKs (openai, anthropic) send through ``httpx2``, which respx does not
patch; :class:`RespxBridge` is an ``httpx2`` transport that hands each request
to a respx router, so the tests mock the providers with respx routes and see
exactly what went over the wire.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import httpx2
import respx
from quiet_server import QuietHTTPServer

from casefile.agent.accounts import AccountDirectory
from casefile.agent.config import Budgets
from casefile.agent.investigation import Investigation
from casefile.agent.loop import investigate
from casefile.agent.models.base import Model
from casefile.agent.runbooks import Finding, PlanStep, Runbook, Triggers
from casefile.agent.signals import extract_signals
from casefile.agent.ticket import Requester, Ticket
from casefile.tools.base import CallContext, Toolbox, ToolCall

SCHEMA = """
CREATE TABLE requests (ts DateTime64(3, 'UTC'), account_id LowCardinality(String),
  api_key_hash LowCardinality(String), method LowCardinality(String), path LowCardinality(String),
  status UInt16, error_code LowCardinality(String), latency_ms Float32, request_id String, trace_id String,
  region LowCardinality(String), user_agent LowCardinality(String), request_headers String,
  response_headers String) ENGINE = MergeTree ORDER BY (account_id, ts);
CREATE TABLE webhook_deliveries (ts DateTime64(3, 'UTC'), account_id LowCardinality(String), delivery_id String,
  webhook_id LowCardinality(String), event_type LowCardinality(String), endpoint_url LowCardinality(String),
  attempt UInt8, response_status UInt16, response_ms Float32, error LowCardinality(String))
  ENGINE = MergeTree ORDER BY (account_id, ts);
CREATE TABLE sso_logins (ts DateTime64(3, 'UTC'), account_id LowCardinality(String), user_email String,
  idp_entity_id LowCardinality(String), outcome LowCardinality(String), error String, clock_skew_s Int32,
  cert_sha1 LowCardinality(String)) ENGINE = MergeTree ORDER BY (account_id, ts);
"""

ACCOUNTS = {
    "accounts": [
        {
            "id": "acme",
            "name": "Acme Logistics",
            "domains": ["acme-logistics.com"],
            "plan": "growth",
            "timezone": "UTC",
            "stripe_customer": "cus_acme",
        }
    ]
}

SPIKE = datetime(2026, 11, 20, 8, 12, tzinfo=UTC)
N_REQUESTS = 120  # one a minute from 07:00; 429 from 08:12 on


def _rows() -> list[dict[str, Any]]:
    rows = []
    start = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    for i in range(N_REQUESTS):
        ts = start + timedelta(minutes=i)
        limited = ts >= SPIKE
        rows.append(
            {
                "ts": ts.isoformat().replace("+00:00", "Z"),
                "account_id": "acme",
                "api_key_hash": "key_acme_1",
                "method": "POST",
                "path": "/v2/shipments",
                "status": 429 if limited else 201,
                "error_code": "rate_limit_exceeded" if limited else "",
                "latency_ms": 40.0,
                "request_id": f"req_{i:06d}",
                "trace_id": f"tr_{i:06d}",
                "region": "eu-west-1",
                "user_agent": "relay-python/3.2",
                "request_headers": "{}",
                "response_headers": "{}",
            }
        )
    return rows


def make_world(root: Path) -> Path:
    (root / "clickhouse").mkdir(parents=True, exist_ok=True)
    (root / "accounts.json").write_text(json.dumps(ACCOUNTS), encoding="utf-8")
    (root / "clickhouse" / "schema.sql").write_text(SCHEMA, encoding="utf-8")
    (root / "clickhouse" / "requests.jsonl").write_text(
        "\n".join(json.dumps(r) for r in _rows()) + "\n", encoding="utf-8"
    )
    return root


RUNBOOK = Runbook(
    id="rate-limit",
    title="429 Too Many Requests",
    team="backend",
    triggers=Triggers(keywords=["429"]),
    plan=[
        PlanStep(
            id="errors",
            tool="logs_error_summary",
            args={"account_id": "{{ account.id }}", "start": "{{ window.start }}", "end": "{{ window.end }}"},
        ),
        PlanStep(
            id="recent", tool="logs_recent_requests", args={"account_id": "{{ account.id }}", "limit": 5}
        ),
    ],
    findings=[
        Finding(
            id="limited",
            when="errors and errors.errors > 0",
            category="rate_limit",
            statement="The account is rate limited: {{ errors.errors }} requests got 429.",
            confidence=0.6,
            action="resolve",
            evidence=[
                {
                    "step": "errors",
                    "value": "{{ errors.errors }}",
                    "field": "errors",
                    "claim": "requests rejected",
                }
            ],  # type: ignore[list-item]
            reply="You are hitting your plan's rate limit; please back off.",
        )
    ],
    body="RUNBOOK-GUIDANCE: 429s are our bug, their traffic, or billing. Check billing before blaming traffic.",
)


def own_ticket(**overrides: Any) -> dict[str, Any]:
    """A ticket in casefile's own JSON format (what `casefile investigate` reads), fields overridden."""
    ticket: dict[str, Any] = {
        "id": "T-1001",
        "subject": "API calls failing with 429 since this morning",
        "body": "Since this morning POST /v2/shipments returns HTTP 429 rate_limit_exceeded.",
        "requester": {"name": "Dana Ruiz", "email": "dana@acme-logistics.com"},
        "created_at": "2026-11-20T11:40:00Z",
        "tags": ["api", "urgent"],
    }
    ticket.update(overrides)
    return ticket


def make_ticket(body: str = "Our API calls fail with 429 since this morning.") -> Ticket:
    return Ticket(
        id="T-1001",
        subject="API calls failing with 429",
        body=body,
        requester=Requester(name="Jonas Weber", email="jonas.weber@acme-logistics.com"),
        created_at=datetime(2026, 11, 20, 11, 40, tzinfo=UTC),
    )


DIRECTORY = AccountDirectory(ACCOUNTS["accounts"])


async def run(
    model: Model,
    toolbox: Toolbox,
    *,
    ticket: Ticket | None = None,
    budgets: Budgets | None = None,
    prices: dict[str, dict[str, float]] | None = None,
    directory: AccountDirectory = DIRECTORY,
) -> Investigation:
    ticket = ticket or make_ticket()
    signals = extract_signals(ticket, directory)
    assert signals.account_id == "acme"
    return await investigate(
        ticket,
        signals=signals,
        account=directory.get("acme"),
        accounts=directory.as_mapping(),
        toolbox=toolbox,
        model=model,
        runbooks=[RUNBOOK],
        budgets=budgets,
        prices=prices,
        # These tests script a provider's wire format against exact call ids: runbook preflight only.
        differential=False,
    )


async def count_rows(toolbox: Toolbox, table: str) -> int:
    ctx = CallContext.for_account("acme", DIRECTORY.as_mapping(), now=datetime(2026, 11, 20, 12, tzinfo=UTC))
    outcome = await toolbox.execute(
        ToolCall(id="count", tool="logs_sql", arguments={"sql": f"SELECT count() FROM {table}"}), ctx
    )
    assert outcome.ok, outcome.error
    return int(outcome.data["rows"][0][0])


# ---------------------------------------------------------------- respx behind httpx2


class RespxBridge(httpx2.AsyncBaseTransport):
    """An httpx2 transport answering from a respx router (which records every call)."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        mirrored = httpx.Request(
            request.method, str(request.url), headers=list(request.headers.multi_items()), content=body
        )
        try:
            response = await self.router.async_handler(mirrored)
        except httpx.TransportError as exc:
            error_type = getattr(httpx2, type(exc).__name__, httpx2.TransportError)
            raise error_type(str(exc), request=request) from None
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
        return httpx2.Response(response.status_code, headers=headers, content=response.content)


def request_json(router: respx.MockRouter, index: int) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(router.calls[index].request.content)
    return payload


class Sleeps:
    """An injectable sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def diagnosis_args(
    call_id: str = "c1", value: str = "rate_limit_exceeded", **overrides: Any
) -> dict[str, Any]:
    """A valid diagnosis as a model would submit it, citing ``value`` from ``call_id``."""
    args: dict[str, Any] = {
        "summary": "Acme is being rate limited on POST /v2/shipments since 08:12 UTC.",
        "root_cause": {
            "category": "rate_limit",
            "statement": "Requests are rejected with 429 since 08:12 UTC.",
        },
        "evidence": [
            {"call_id": call_id, "value": value, "claim": "the account whose requests were rejected"}
        ],
        "confidence": {"score": 0.7, "reasons": ["429s in the logs"]},
        "customer_reply": "Thanks for reaching out. Your requests are being rate limited; please back off and retry.",
        "internal_note": "429s in logs.",
        "action": "resolve",
    }
    args.update(overrides)
    return args


def diagnosis_body(
    category: str, action: str = "resolve", *, team: str | None = None, score: float = 0.5, **fields: Any
) -> dict[str, Any]:
    """The fewest fields of a valid diagnosis (escalated to ``team`` when given); ``fields`` add or replace."""
    body: dict[str, Any] = {
        "summary": "s",
        "root_cause": {"category": category, "statement": "st"},
        "confidence": {"score": score},
        "customer_reply": "r",
        "action": action,
        "escalation": {"team": team, "reason": "why"} if team else None,
    }
    return body | fields


def iter_tool_results(text: str) -> Iterator[str]:
    """call ids of the <tool_result> blocks in a prompt text."""
    import re

    yield from re.findall(r'<tool_result call_id="(c\d+)"', text)


# ---------------------------------------------------------------- a Chat Completions server on loopback


def chat_completion(message: dict[str, Any], finish: str, *, model: str = "loopback-model") -> dict[str, Any]:
    """A ``chat.completion`` body as an OpenAI-compatible server sends it."""
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": 1763638800,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": 4000,
            "completion_tokens": 120,
            "total_tokens": 4120,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }


Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


class ChatServer(QuietHTTPServer):
    """``POST /v1/chat/completions`` on 127.0.0.1 answered by ``answer(body) -> (status, json)``."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(("127.0.0.1", 0), _ChatHandler)
        self.answer = answer
        self.requests_seen: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _ChatHandler(BaseHTTPRequestHandler):
    server: ChatServer

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length))
        self.server.requests_seen.append(
            {"path": self.path, "authorization": self.headers.get("authorization"), "body": body}
        )
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        status, answer = self.server.answer(body)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


@contextmanager
def chat_server(answer: Answer) -> Iterator[ChatServer]:
    httpd = ChatServer(answer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
