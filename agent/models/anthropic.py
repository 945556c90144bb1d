"""Anthropic's Messages API.

``--model anthropic:<model>``. The key and endpoint come from
``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL``. The ``anthropic`` SDK (slow
to import) is imported only when a client is built.

Why a ``submit_diagnosis`` tool: tool use is how the Messages API returns
schema-shaped JSON (``input`` arrives already parsed), and ``tool_choice``
``{"type": "tool", "name": "submit_diagnosis"}`` forces the conclusion when a
budget runs out, with no separate output mode to switch to.

Prompt caching: the request order is tools → system → messages, and a cache
breakpoint (``cache_control: ephemeral``) on the system block caches the tool
definitions and the system prompt (rules, runbook guidance, catalogue) for
every later turn. A second breakpoint on the newest user message caches the
conversation so far, so turn n pays full price only for what turn n-1 added.
All tools stay defined on the forced last turn (changing them would void the
cache); ``tool_choice`` does the forcing.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from casefile.agent.errors import UsageError
from casefile.agent.models._chat import SUBMIT_TOOL, RawCall, ToolSpec, UserTurn, dig, field_of
from casefile.agent.models._sdk import SDKModel, SDKProvider
from casefile.agent.models.base import LoopState, ModelReply, TurnUsage

__all__ = ["AnthropicModel", "AnthropicProvider", "connect"]

_OUTPUT_TOKENS_PER_TURN = 4096
_CACHE = {"type": "ephemeral"}


def tool_definitions(specs: list[ToolSpec]) -> list[dict[str, Any]]:
    return [{"name": s.name, "description": s.description, "input_schema": s.parameters} for s in specs]


def user_message(turn: UserTurn) -> dict[str, Any]:
    """One user message: every tool_result block first (the API requires it), then text blocks."""
    content: list[dict[str, Any]] = [
        {
            "type": "tool_result",
            "tool_use_id": r.provider_id,
            "content": r.content,
            **({"is_error": True} if r.is_error else {}),
        }
        for r in turn.results
    ]
    content += [{"type": "text", "text": t} for t in turn.texts]
    return {"role": "user", "content": content}


def assistant_message(content: list[Any]) -> dict[str, Any]:
    """The assistant turn to replay: text and tool_use blocks as received."""
    blocks: list[dict[str, Any]] = []
    for block in content:
        kind = field_of(block, "type")
        if kind == "text":
            blocks.append({"type": "text", "text": field_of(block, "text") or ""})
        elif kind == "tool_use":
            blocks.append(
                {
                    "type": "tool_use",
                    "id": field_of(block, "id"),
                    "name": field_of(block, "name"),
                    "input": field_of(block, "input"),
                }
            )
        elif hasattr(block, "model_dump"):  # thinking and other blocks go back untouched
            blocks.append(block.model_dump(mode="json", exclude_none=True))
        elif isinstance(block, dict):
            blocks.append(block)
    return {"role": "assistant", "content": blocks}


def raw_calls(content: list[Any]) -> list[RawCall]:
    found = []
    for block in content:
        if field_of(block, "type") != "tool_use":
            continue
        found.append(RawCall.read(field_of(block, "id"), field_of(block, "name"), field_of(block, "input")))
    return found


class AnthropicModel(SDKModel):
    """A Claude model driving the investigation loop through the Messages API."""

    vendor = "anthropic"

    def user_messages(self, turn: UserTurn) -> list[dict[str, Any]]:
        return [user_message(turn)]

    def build_request(self, state: LoopState) -> dict[str, Any]:
        """Advance the conversation to this turn and return the request body (no network)."""
        dialogue = self.open_turn(state)
        messages = list(self.messages)
        # The moving breakpoint: only on the newest message (at most 4 are allowed per request).
        newest = copy.deepcopy(messages[-1])
        newest["content"][-1]["cache_control"] = _CACHE
        messages[-1] = newest
        body: dict[str, Any] = {
            "model": self.model_name,
            "max_tokens": min(_OUTPUT_TOKENS_PER_TURN, state.budgets.max_output_tokens),
            "system": [{"type": "text", "text": dialogue.system, "cache_control": _CACHE}],
            "tools": tool_definitions(dialogue.tools),
            "messages": messages,
        }
        if state.must_conclude:
            body["tool_choice"] = {"type": "tool", "name": SUBMIT_TOOL}
        return body

    def read_reply(self, response: Any, state: LoopState) -> ModelReply:
        content = list(field_of(response, "content") or [])
        tool_calls, diagnosis = self.accept(assistant_message(content), raw_calls(content), state)
        text = "\n".join(field_of(b, "text") or "" for b in content if field_of(b, "type") == "text").strip()
        refusal = None
        if field_of(response, "stop_reason") == "refusal":
            refusal = text or "the model declined to continue (stop_reason refusal)"
            tool_calls, diagnosis = [], None
        usage = field_of(response, "usage")
        cache_read = dig(usage, "cache_read_input_tokens")
        # Anthropic reports fresh, cache-read and cache-write input separately; the loop wants the total.
        total_input = dig(usage, "input_tokens") + cache_read + dig(usage, "cache_creation_input_tokens")
        return ModelReply(
            tool_calls=tool_calls,
            diagnosis=diagnosis,
            text=text,
            refusal=refusal,
            usage=TurnUsage(
                input_tokens=total_input, output_tokens=dig(usage, "output_tokens"), cached_tokens=cache_read
            ),
        )

    def send(self, body: dict[str, Any]) -> Awaitable[Any]:
        return cast("Awaitable[Any]", self.client.messages.create(**body))

    def sdk_errors(self) -> tuple[type[BaseException], type[BaseException]]:
        import anthropic

        return anthropic.APIConnectionError, anthropic.APIStatusError


class AnthropicProvider(SDKProvider[AnthropicModel]):
    """One ``AsyncAnthropic`` client; each investigation gets its own :class:`AnthropicModel` conversation."""

    vendor = "anthropic"

    @classmethod
    def credentials(cls) -> tuple[str, str | None]:
        api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
        if not api_key:
            raise UsageError("anthropic: set ANTHROPIC_API_KEY")
        return api_key, os.environ.get("ANTHROPIC_BASE_URL", "").strip() or None

    @classmethod
    def client_class(cls) -> Callable[..., Any]:
        import anthropic

        return anthropic.AsyncAnthropic

    def conversation(self, transcript: str | Path | None = None) -> AnthropicModel:
        return AnthropicModel(
            self.model_name, client=self.client, transcript=self.transcript(transcript), retry=self.retry
        )


connect = AnthropicProvider.connect
