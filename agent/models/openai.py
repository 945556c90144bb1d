"""OpenAI, and every server that speaks its Chat Completions API (vLLM, Ollama, llama.cpp, ...).

``--model openai:<model>``. The key and endpoint come from ``OPENAI_API_KEY``
and ``OPENAI_BASE_URL``; with a base URL (a local server) the key may be
omitted. The ``openai`` SDK is imported only when a client is built, so
``casefile --help`` and offline runs never load it.

Why Chat Completions and not the Responses API: it is the protocol the
OpenAI-compatible servers implement, so one module serves both.

Why a ``submit_diagnosis`` tool and not ``response_format`` (structured
outputs): strict structured outputs require every field to be required and
forbid open objects, which the Diagnosis (optional fields, a free-form
escalation packet) cannot satisfy without a second, diverging schema; many
compatible servers do not implement ``json_schema`` response formats at all;
and with a tool the model concludes in the same turn shape as it investigates,
so a forced conclusion is simply "only the submit tool, ``tool_choice:
required``". The loop validates and grounds the arguments either way.

Caching: OpenAI caches identical prompt prefixes automatically; the request
keeps the system prompt and tool definitions first and unchanged across turns
so they hit that cache (reported as ``prompt_tokens_details.cached_tokens``).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar, cast

from casefile.agent.errors import UsageError
from casefile.agent.models._chat import SUBMIT_TOOL, Dialogue, RawCall, ToolSpec, UserTurn, dig, field_of
from casefile.agent.models._sdk import SDKModel, SDKProvider
from casefile.agent.models.base import LoopState, ModelReply, ModelUnavailable, TurnUsage

__all__ = ["CompatibleModel", "OpenAIModel", "OpenAIProvider", "connect"]

_OUTPUT_TOKENS_PER_TURN = 4096
_DEFAULT_BASE_URL = "https://api.openai.com/v1"


def tool_definitions(specs: list[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": s.name, "description": s.description, "parameters": s.parameters},
        }
        for s in specs
    ]


def user_messages(turn: UserTurn) -> list[dict[str, Any]]:
    """Tool results as ``tool`` messages (one per call id, right after the assistant message), then text."""
    messages: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": r.provider_id, "content": r.content} for r in turn.results
    ]
    if turn.texts:
        messages.append({"role": "user", "content": "\n\n".join(turn.texts)})
    return messages


def assistant_message(message: Any) -> dict[str, Any]:
    """The assistant message to replay next turn, with the tool calls exactly as received."""
    replay: dict[str, Any] = {"role": "assistant", "content": field_of(message, "content")}
    calls = field_of(message, "tool_calls") or []
    if calls:
        replay["tool_calls"] = [
            {
                "id": field_of(c, "id"),
                "type": "function",
                "function": {
                    "name": field_of(field_of(c, "function"), "name"),
                    "arguments": field_of(field_of(c, "function"), "arguments") or "",
                },
            }
            for c in calls
        ]
    return replay


def raw_calls(message: Any) -> list[RawCall]:
    found = []
    for call in field_of(message, "tool_calls") or []:
        function = field_of(call, "function")
        if function is None:  # a custom (non-function) tool call: we define none
            continue
        found.append(
            RawCall.read(field_of(call, "id"), field_of(function, "name"), field_of(function, "arguments"))
        )
    return found


class OpenAIModel(SDKModel):
    """A Chat Completions model driving the investigation loop.

    Keeps the message history between turns; each turn appends the tool
    results and any feedback, sends the whole conversation, and reads back tool
    calls (run by the loop, concurrently) or a ``submit_diagnosis`` call.
    """

    vendor = "openai"

    # OpenAI's reasoning models accept only max_completion_tokens; compatible servers know max_tokens.
    max_tokens_field: ClassVar[str] = "max_completion_tokens"
    compatible: ClassVar[bool] = False

    def opening(self, dialogue: Dialogue) -> list[dict[str, Any]]:
        return [{"role": "system", "content": dialogue.system}]

    def user_messages(self, turn: UserTurn) -> list[dict[str, Any]]:
        return user_messages(turn)

    def build_request(self, state: LoopState) -> dict[str, Any]:
        """Advance the conversation to this turn and return the request body (no network)."""
        specs = self.open_turn(state).tools
        if state.must_conclude:
            specs = [s for s in specs if s.name == SUBMIT_TOOL]
        limit = min(_OUTPUT_TOKENS_PER_TURN, state.budgets.max_output_tokens)
        body: dict[str, Any] = {
            "model": self.model_name,
            "messages": list(self.messages),
            "tools": tool_definitions(specs),
            self.max_tokens_field: limit,
        }
        if state.must_conclude:
            body["tool_choice"] = "required"
        return body

    def read_reply(self, response: Any, state: LoopState) -> ModelReply:
        """Record the assistant message and turn it into the loop's reply."""
        choices = field_of(response, "choices") or []
        if not choices:
            raise ModelUnavailable("the response had no choices")
        choice = choices[0]
        message = field_of(choice, "message")
        tool_calls, diagnosis = self.accept(assistant_message(message), raw_calls(message), state)
        finish = field_of(choice, "finish_reason")
        refusal = field_of(message, "refusal")
        if not refusal and finish == "content_filter" and not tool_calls and diagnosis is None:
            refusal = "the response was stopped by the content filter"
        usage = field_of(response, "usage")
        return ModelReply(
            tool_calls=tool_calls,
            diagnosis=diagnosis,
            text=field_of(message, "content") or "",
            refusal=refusal,
            usage=TurnUsage(
                input_tokens=dig(usage, "prompt_tokens"),
                output_tokens=dig(usage, "completion_tokens"),
                cached_tokens=dig(usage, "prompt_tokens_details", "cached_tokens"),
            ),
        )

    def send(self, body: dict[str, Any]) -> Awaitable[Any]:
        return cast("Awaitable[Any]", self.client.chat.completions.create(**body))

    def sdk_errors(self) -> tuple[type[BaseException], type[BaseException]]:
        import openai

        return openai.APIConnectionError, openai.APIStatusError


class CompatibleModel(OpenAIModel):
    """A conversation with an OpenAI-compatible server (vLLM, Ollama, llama.cpp, ...)."""

    max_tokens_field = "max_tokens"
    compatible = True


class OpenAIProvider(SDKProvider[OpenAIModel]):
    """One ``AsyncOpenAI`` client; each investigation gets its own :class:`OpenAIModel` conversation over it."""

    vendor = "openai"

    @property
    def compatible(self) -> bool:
        return self.base_url is not None and self.base_url.rstrip("/") != _DEFAULT_BASE_URL

    @classmethod
    def credentials(cls) -> tuple[str, str | None]:
        api_key = os.environ.get("OPENAI_API_KEY", "").strip()
        base_url = os.environ.get("OPENAI_BASE_URL", "").strip() or None
        if not api_key:
            if base_url is None:
                raise UsageError(
                    "openai: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local compatible server)"
                )
            api_key = "unused"  # local servers ignore it; the SDK insists on one
        return api_key, base_url

    @classmethod
    def client_class(cls) -> Callable[..., Any]:
        import openai

        return openai.AsyncOpenAI

    def conversation(self, transcript: str | Path | None = None) -> OpenAIModel:
        model_class = CompatibleModel if self.compatible else OpenAIModel
        return model_class(
            self.model_name, client=self.client, transcript=self.transcript(transcript), retry=self.retry
        )


connect = OpenAIProvider.connect
