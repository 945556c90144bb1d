"""The two hosted model APIs on the wire, for tests that script them with respx.

Responses are real wire objects, checked against the SDKs' own types: Anthropic ``message``
objects (``content`` blocks of type ``text`` and ``tool_use``, ``stop_reason``, ``usage`` with
cache reads and writes) and OpenAI ``chat.completion`` objects (``tool_calls`` whose
``function.arguments`` is a JSON *string*, ``finish_reason``, ``usage`` with cached tokens);
errors are each vendor's error envelope. A :class:`Wire` is what a provider-independent test
needs of one of them (tests/test_model_contract.py runs each such test against both).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import httpx
import pytest
import respx
from anthropic.types import Message
from llm_fixtures import RespxBridge, Sleeps, diagnosis_args, request_json
from openai.types.chat import ChatCompletion

from casefile.agent.config import Settings
from casefile.agent.models.base import Model

Call = tuple[str, str, Any]  # (the provider's call id, tool, arguments)

# The first turn of a scripted investigation: two calls at once (by our ids c3 and c4).
PARALLEL_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("logs_recent_requests", {"account_id": "acme", "limit": 3, "status": 429}),
    (
        "logs_error_summary",
        {"account_id": "acme", "start": "2026-11-20T07:00:00Z", "end": "2026-11-20T09:00:00Z", "status": 429},
    ),
]
# What those calls, then logs_schema, run as, and the evidence a diagnosis then cites of them.
THREE_TURN_CALLS = [
    ("c3", "logs_recent_requests", True),
    ("c4", "logs_error_summary", True),
    ("c5", "logs_schema", True),
]
CITED = [
    {"call_id": "c3", "value": "req_000119", "claim": "the latest request was rejected with 429"},
    {"call_id": "c1", "value": "rate_limit_exceeded", "claim": "the error code"},
]


def parallel(*ids: str) -> list[Call]:
    """The first turn's calls under the provider's own call ids."""
    return [(i, name, args) for i, (name, args) in zip(ids, PARALLEL_CALLS, strict=True)]


class Wire:
    """What a provider-independent test needs of one hosted API's wire format."""

    name: str
    url: str
    turn: Callable[..., httpx.Response]  # this API's response builder
    id_prefix: str  # how this API's call ids begin
    submit_usage: tuple[int, ...]  # the usage a submitting turn reports

    def __init__(self, model: str, key: str, sample_id: str) -> None:
        self.model = model
        self.key = key
        self.sample_id = sample_id  # a call id as this provider writes them

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.model}"

    @property
    def provider(self) -> ModuleType:
        return importlib.import_module(f"casefile.agent.models.{self.name}")

    @property
    def key_env(self) -> str:
        return f"{self.name.upper()}_API_KEY"

    @property
    def base_url_env(self) -> str:
        return f"{self.name.upper()}_BASE_URL"

    def set_key(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(self.key_env, self.key)
        monkeypatch.delenv(self.base_url_env, raising=False)

    def model_for(
        self, router: respx.MockRouter, sleeps: Sleeps | None = None, settings: Settings | None = None
    ) -> Model:
        connected = self.provider.connect(
            self.model, settings, transport=RespxBridge(router), sleep=sleeps or Sleeps()
        )
        model: Model = connected.one_off(settings)
        return model

    def reply(self, calls: list[Call]) -> httpx.Response:
        """A turn that asks for ``calls``."""
        return self.turn(calls)

    def submit(self, call_id: str | None = None, **overrides: Any) -> httpx.Response:
        """A turn that submits diagnosis_args(**overrides), by a call id as this API writes them."""
        call = (call_id or f"{self.id_prefix}submit", "submit_diagnosis", diagnosis_args(**overrides))
        return self.turn([call], usage=self.submit_usage)

    def refusal(self, text: str) -> httpx.Response:
        raise NotImplementedError

    def error(self, status: int, headers: dict[str, str] | None = None) -> httpx.Response:
        """The API's error for ``status``: rate limited (429), misconfigured (401, 403, 404) or down."""
        raise NotImplementedError

    def outage(self) -> httpx.Response:
        """The error this API answers with when it is down (retried, then the offline fallback)."""
        raise NotImplementedError

    def answers(self, router: respx.MockRouter, index: int) -> list[tuple[str, str]]:
        """(the provider's call id, content) of each tool result the newest turn of request ``index`` sent."""
        raise NotImplementedError

    def opening(self, router: respx.MockRouter) -> str:
        """The text of the first user message: the ticket and the preflight results."""
        raise NotImplementedError

    def forced_conclusion(self, last: dict[str, Any], first: dict[str, Any]) -> None:
        """Asserts that request ``last`` (after ``first``) forces submit_diagnosis."""
        raise NotImplementedError


# ---------------------------------------------------------------- Anthropic Messages API

ANTHROPIC_URL = "https://api.anthropic.com/v1/messages"


def message(
    tool_uses: list[Call] | None = None,
    *,
    text: str | None = None,
    stop_reason: str | None = None,
    usage: tuple[int, int, int, int] = (900, 80, 0, 0),
) -> httpx.Response:
    """A Messages API response; usage is (input, output, cache_read, cache_creation)."""
    content: list[dict[str, Any]] = []
    if text:
        content.append({"type": "text", "text": text})
    content += [{"type": "tool_use", "id": i, "name": n, "input": args} for i, n, args in tool_uses or []]
    fresh, output, cache_read, cache_write = usage
    body = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": content,
        "stop_reason": stop_reason or ("tool_use" if tool_uses else "end_turn"),
        "stop_sequence": None,
        "usage": {
            "input_tokens": fresh,
            "cache_creation_input_tokens": cache_write,
            "cache_read_input_tokens": cache_read,
            "output_tokens": output,
            "service_tier": "standard",
        },
    }
    Message.model_validate(body)  # the fixture itself must be a valid wire object
    return httpx.Response(200, json=body)


def anthropic_error(
    status: int, kind: str, text: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {
        "type": "error",
        "error": {"type": kind, "message": text},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    }
    return httpx.Response(status, json=body, headers=headers or {})


def tool_results(router: respx.MockRouter, index: int) -> list[dict[str, Any]]:
    """The tool_result blocks of the newest user message of request ``index``."""
    blocks: list[dict[str, Any]] = request_json(router, index)["messages"][-1]["content"]
    return [b for b in blocks if b["type"] == "tool_result"]


_ANTHROPIC_MISCONFIGURED = {401: "authentication_error", 403: "permission_error", 404: "not_found_error"}


class AnthropicWire(Wire):
    name = "anthropic"
    url = ANTHROPIC_URL
    turn = staticmethod(message)
    id_prefix = "toolu_"
    submit_usage = (300, 400, 4000, 0)

    def refusal(self, text: str) -> httpx.Response:
        return message(text=text, stop_reason="refusal")

    def error(self, status: int, headers: dict[str, str] | None = None) -> httpx.Response:
        if status == 429:
            text = "Number of request tokens has exceeded your per-minute rate limit"
            return anthropic_error(429, "rate_limit_error", text, headers)
        return anthropic_error(status, _ANTHROPIC_MISCONFIGURED[status], "model: claude-typo", headers)

    def outage(self) -> httpx.Response:
        return anthropic_error(529, "overloaded_error", "Overloaded")

    def answers(self, router: respx.MockRouter, index: int) -> list[tuple[str, str]]:
        return [(b["tool_use_id"], b["content"]) for b in tool_results(router, index)]

    def opening(self, router: respx.MockRouter) -> str:
        return str(request_json(router, 0)["messages"][0]["content"][0]["text"])

    def forced_conclusion(self, last: dict[str, Any], first: dict[str, Any]) -> None:
        assert last["tool_choice"] == {"type": "tool", "name": "submit_diagnosis"}
        assert len(last["tools"]) == len(first["tools"])  # unchanged: keeps the cache
        texts = [b["text"] for b in last["messages"][-1]["content"] if b["type"] == "text"]
        assert any("Conclude now" in t for t in texts)


# ---------------------------------------------------------------- OpenAI Chat Completions

OPENAI_URL = "https://api.openai.com/v1/chat/completions"


def completion(
    tool_calls: list[Call] | None = None,
    *,
    content: str | None = None,
    refusal: str | None = None,
    finish: str | None = None,
    usage: tuple[int, int, int] = (1200, 80, 0),
) -> httpx.Response:
    """A chat.completion; tool call arguments may be a dict (serialised) or a raw string (sent as is)."""
    calls = [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
        }
        for call_id, name, args in tool_calls or []
    ]
    reply: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal, "annotations": []}
    if calls:
        reply["tool_calls"] = calls
    prompt, completion_tokens, cached = usage
    body = {
        "id": "chatcmpl-CT8xkP2cQ4n0",
        "object": "chat.completion",
        "created": 1763638800,
        "model": "gpt-4.1-2025-04-14",
        "choices": [
            {
                "index": 0,
                "message": reply,
                "logprobs": None,
                "finish_reason": finish or ("tool_calls" if calls else "stop"),
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_b3f1157249",
    }
    ChatCompletion.model_validate(body)  # the fixture itself must be a valid wire object
    return httpx.Response(200, json=body)


def openai_error(status: int, text: str, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    kind = "requests" if status == 429 else "server_error"
    body = {"error": {"message": text, "type": kind, "param": None, "code": code}}
    return httpx.Response(status, json=body, headers=headers or {})


def messages_of(router: respx.MockRouter, index: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = request_json(router, index)["messages"]
    return messages


_OPENAI_MISCONFIGURED = {
    401: ("Incorrect API key provided.", "invalid_api_key"),
    403: ("You are not allowed to sample from this model", "model_not_allowed"),
    404: ("The model `gpt-typo` does not exist or you do not have access to it.", "model_not_found"),
}


class OpenAIWire(Wire):
    name = "openai"
    url = OPENAI_URL
    turn = staticmethod(completion)
    id_prefix = "call_"
    submit_usage = (2000, 300, 1024)

    def refusal(self, text: str) -> httpx.Response:
        return completion(refusal=text)

    def error(self, status: int, headers: dict[str, str] | None = None) -> httpx.Response:
        if status == 429:
            text = "Rate limit reached for gpt-4.1 on tokens per min."
            return openai_error(429, text, "rate_limit_exceeded", headers)
        return openai_error(status, *_OPENAI_MISCONFIGURED[status], headers)

    def outage(self) -> httpx.Response:
        return openai_error(500, "The server had an error processing your request.", "server_error")

    def answers(self, router: respx.MockRouter, index: int) -> list[tuple[str, str]]:
        messages = messages_of(router, index)
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        return [(m["tool_call_id"], m["content"]) for m in messages[last + 1 :] if m["role"] == "tool"]

    def opening(self, router: respx.MockRouter) -> str:
        return str(messages_of(router, 0)[1]["content"])

    def forced_conclusion(self, last: dict[str, Any], first: dict[str, Any]) -> None:
        assert last["tool_choice"] == "required"
        assert [t["function"]["name"] for t in last["tools"]] == ["submit_diagnosis"]
        assert "Conclude now" in last["messages"][-1]["content"]


ANTHROPIC = AnthropicWire(
    "claude-haiku-4-5", "sk-ant-api03-test-abcdefghijklmnopqrstuvwxyz", "toolu_01D7FLrfh4GYq7yT1ULFeyMV"
)
OPENAI = OpenAIWire("gpt-4.1", "sk-test-abcdefghijklmnopqrstuvwxyz0123456789", "call_3ed0Ls1kX9")
WIRES = [ANTHROPIC, OPENAI]
