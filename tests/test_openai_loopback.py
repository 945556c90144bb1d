"""End to end over a real socket: `casefile investigate --model openai:…` against a loopback server.

The server is a threaded ``http.server`` on 127.0.0.1 speaking the Chat
Completions protocol (what vLLM, Ollama and llama.cpp serve). It is reached only
through ``OPENAI_BASE_URL``, exactly as a local model server would be. Its
"model" asks for one tool, then submits a diagnosis citing the call ids it was
shown, so the run exercises the SDK, the real HTTP stack, the loop, the tools on
the demo world, grounding and the CLI in a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_fixtures import ChatServer, chat_completion, chat_server

ROOT = Path(__file__).resolve().parent.parent
WORLD = ROOT / "examples" / "world"
TICKET = ROOT / "examples" / "tickets" / "429-spike.json"
KEY = "sk-loopback-0123456789abcdefghijklmnop"


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    """The scripted model: turn 1 asks for recent requests; turn 2 submits, citing what it saw."""
    messages = body["messages"]
    tool_messages = [m for m in messages if m["role"] == "tool"]
    if not tool_messages:
        call = {
            "id": "call_0",
            "type": "function",
            "function": {
                "name": "logs_recent_requests",
                "arguments": json.dumps({"account_id": "acme", "limit": 3}),
            },
        }
        return chat_completion({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls")
    # A local server may reuse ids ("call_0" again); casefile's own ids (c<n>) keep citations unambiguous.
    seen = re.search(r'call_id="(c\d+)" tool="logs_recent_requests"', tool_messages[-1]["content"])
    preflight = re.search(r'call_id="(c\d+)" tool="logs_error_summary"', messages[1]["content"])
    assert seen and preflight
    diagnosis = {
        "summary": "Acme's shipment requests are rejected with 429 since this morning.",
        "root_cause": {"category": "rate_limit", "statement": "Acme's POST /v2/shipments calls get 429."},
        "evidence": [
            {"call_id": seen.group(1), "value": "/v2/shipments", "claim": "the endpoint of recent requests"},
            {
                "call_id": preflight.group(1),
                "value": "rate_limit_exceeded",
                "claim": "the error code of the 429s",
            },
        ],
        "confidence": {"score": 0.55, "reasons": ["429s in the logs"]},
        "customer_reply": "Thanks for reaching out; we are looking at the 429 responses on your account.",
        "action": "escalate",
        "escalation": {"team": "backend", "reason": "429s need a look"},
    }
    call = {
        "id": "call_0",
        "type": "function",
        "function": {"name": "submit_diagnosis", "arguments": json.dumps(diagnosis)},
    }
    return chat_completion({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls")


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with chat_server(lambda body: (200, _answer(body))) as httpd:
        yield httpd


@pytest.mark.skipif(
    not (WORLD / "accounts.json").is_file() or not TICKET.is_file(), reason="demo world not built"
)
def test_casefile_investigate_through_openai_base_url(server: ChatServer, tmp_path: Path) -> None:
    transcript = tmp_path / "transcript.jsonl"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CASEFILE_CACHE_DIR": os.environ["CASEFILE_CACHE_DIR"],  # the session's: the world is generated once
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": server.base_url,
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from agent.cli import main; sys.exit(main())",
            "investigate",
            str(TICKET),
            "--world",
            str(WORLD),
            "--model",
            "openai:loopback-model",
            "--transcript",
            str(transcript),
            "--json",
            "-q",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    diagnosis = json.loads(proc.stdout)
    assert diagnosis["model"] == "openai:loopback-model"
    assert diagnosis["fallback_reason"] is None
    assert diagnosis["grounding"]["verified"] == 2 and diagnosis["grounding"]["rejected"] == []
    assert diagnosis["usage"]["turns"] == 2 and diagnosis["usage"]["input_tokens"] == 8000

    assert [r["path"] for r in server.requests_seen] == ["/v1/chat/completions"] * 2
    assert all(r["authorization"] == f"Bearer {KEY}" for r in server.requests_seen)
    first = server.requests_seen[0]["body"]
    assert first["model"] == "loopback-model"
    assert "max_tokens" in first  # a compatible server gets the classic parameter
    second = server.requests_seen[1]["body"]["messages"]
    assert [m["tool_call_id"] for m in second if m["role"] == "tool"] == ["call_0"]

    kinds = [json.loads(line)["kind"] for line in transcript.read_text().splitlines()]
    assert kinds == ["request", "response", "request", "response"]
    assert KEY not in transcript.read_text()
