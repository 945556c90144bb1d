"""Framework overhead of the investigation loop, and prompt size per turn, on the demo tickets.

    .venv/bin/python benchmarks/loop_overhead.py [--repeat 5]

Two runs per demo ticket, both through the real loop and the real tools on the
demo world (examples/world):

1. **Overhead.** A zero-latency :class:`ScriptedModel` (two parallel tool
   calls, then one, then the offline investigator's diagnosis submitted as the
   model's own) so every millisecond is ours. Overhead = wall time minus the
   time spent inside tool execution (preflight and model calls), reported per
   investigation and per model turn. Target: < 20 ms per turn.
2. **Prompt size.** The same script played through :class:`OpenAIModel` with a
   stub client instead of the network, so each turn's real request (system
   prompt, tool definitions, history, results) is built, and counted in tokens
   (o200k_base via tiktoken, or bpe-openai when tiktoken cannot fetch its
   tables offline, else characters / 4), message texts as the model reads
   them plus the tool definitions. Target: median < 12k tokens. The
   request-building time is reported too (it is part of a real provider's
   overhead).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from casefile.agent.config import Settings  # noqa: E402
from casefile.agent.intake import load_ticket  # noqa: E402
from casefile.agent.loop import investigate  # noqa: E402
from casefile.agent.models.base import LoopState, Model, ModelReply  # noqa: E402
from casefile.agent.models.offline import offline_diagnosis  # noqa: E402
from casefile.agent.models.openai import OpenAIModel  # noqa: E402
from casefile.agent.models.scripted import ScriptedModel  # noqa: E402
from casefile.agent.pipeline import Environment, open_environment  # noqa: E402
from casefile.agent.signals import extract_signals  # noqa: E402
from casefile.agent.ticket import Ticket  # noqa: E402
from casefile.tools.base import ToolCall  # noqa: E402

WORLD = ROOT / "examples" / "world"
TICKETS = sorted(
    p for p in (ROOT / "examples" / "tickets").glob("*.json") if not p.name.startswith("zendesk")
)


def token_counter() -> tuple[str, Callable[[str], int]]:
    try:
        import tiktoken

        enc = tiktoken.get_encoding("o200k_base")
        return "o200k_base (tiktoken)", lambda s: len(enc.encode(s, disallowed_special=()))
    except Exception:
        pass
    try:
        import bpe_openai

        enc2 = bpe_openai.get_encoding("o200k_base")
        return "o200k_base (bpe-openai)", lambda s: len(enc2.encode(s))
    except Exception:
        return "characters / 4 (no tokenizer tables available)", lambda s: len(s) // 4


def prompt_tokens(body: dict[str, Any], count: Callable[[str], int]) -> int:
    """Tokens of one request as the model reads it: each message's text (plus its tool calls, and a
    few tokens of framing per message, as OpenAI's cookbook counts them) and the tool definitions."""
    total = count(json.dumps(body["tools"]))
    for message in body["messages"]:
        total += 4 + count(message.get("content") or "")
        if message.get("tool_calls"):
            total += count(json.dumps(message["tool_calls"]))
    return total + 3


def script(account_id: str | None, subject: str) -> list[Callable[[LoopState], ModelReply]]:
    """Turn 1: two parallel calls; turn 2: one call; turn 3: the offline diagnosis, submitted."""
    account = account_id or "unknown"

    def turn1(state: LoopState) -> ModelReply:
        return ModelReply(
            tool_calls=[
                ToolCall(
                    id=f"m{state.turn}a",
                    tool="logs_recent_requests",
                    arguments={"account_id": account, "limit": 5},
                ),
                ToolCall(
                    id=f"m{state.turn}b", tool="bugs_search", arguments={"query": subject[:60], "first": 5}
                ),
            ]
        )

    def turn2(state: LoopState) -> ModelReply:
        return ModelReply(
            tool_calls=[
                ToolCall(id=f"m{state.turn}a", tool="billing_account", arguments={"account_id": account})
            ]
        )

    def turn3(state: LoopState) -> ModelReply:
        return ModelReply(diagnosis=offline_diagnosis(state))

    return [turn1, turn2, turn3]


class _StubCompletions:
    """Plays a script as chat.completion dicts; records each request body."""

    def __init__(self, steps: list[Callable[[LoopState], ModelReply]], owner: _Metered) -> None:
        self.steps = steps
        self.owner = owner
        self.bodies: list[dict[str, Any]] = []

    async def create(self, **body: Any) -> dict[str, Any]:
        self.bodies.append(body)
        reply = self.steps.pop(0)(self.owner.state)
        calls = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": c.tool, "arguments": json.dumps(c.arguments)},
            }
            for i, c in enumerate(reply.tool_calls)
        ]
        if reply.diagnosis is not None:
            diagnosis = {
                k: v
                for k, v in reply.diagnosis.items()
                if k not in ("ticket_id", "account_id", "runbooks", "model")
            }
            calls = [
                {
                    "id": "call_submit",
                    "type": "function",
                    "function": {"name": "submit_diagnosis", "arguments": json.dumps(diagnosis, default=str)},
                }
            ]
        message = {"role": "assistant", "content": None, "tool_calls": calls}
        return {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}], "usage": {}}


class _Metered(OpenAIModel):
    """OpenAIModel minus the network: same request building and reply parsing, timed."""

    def __init__(self, steps: list[Callable[[LoopState], ModelReply]]) -> None:
        self.completions = _StubCompletions(steps, self)
        client = type("Client", (), {"chat": type("Chat", (), {"completions": self.completions})()})()
        super().__init__("bench", client=client)
        self.state: LoopState
        self.build_ms: list[float] = []

    async def turn(self, state: LoopState) -> ModelReply:
        self.state = state
        t = time.perf_counter()
        body = self.build_request(state)
        self.build_ms.append((time.perf_counter() - t) * 1000)
        response = await self.client.chat.completions.create(**body)
        return self.read_reply(response, state)

    async def aclose(self) -> None:
        pass


async def _investigate(
    ticket: Ticket, env: Environment, model: Model, settings: Settings
) -> tuple[Any, float, float]:
    """Run one investigation; return (result, wall ms, ms inside tool execution)."""
    tool_ms = 0.0
    original = env.toolbox.execute_many

    async def timed(*args: Any, **kwargs: Any) -> Any:
        nonlocal tool_ms
        t = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            tool_ms += (time.perf_counter() - t) * 1000

    env.toolbox.execute_many = timed  # type: ignore[method-assign]
    signals = extract_signals(ticket, env.directory)
    account = env.directory.get(signals.account_id) if env.directory and signals.account_id else None
    t = time.perf_counter()
    try:
        result = await investigate(
            ticket,
            signals=signals,
            account=account,
            accounts=env.directory.as_mapping() if env.directory else {},
            toolbox=env.toolbox,
            model=model,
            runbooks=env.runbooks,
            budgets=settings.budgets,
        )
    finally:
        env.toolbox.execute_many = original  # type: ignore[method-assign]
    return result, (time.perf_counter() - t) * 1000, tool_ms


async def main(repeat: int) -> int:
    settings = Settings(world=WORLD)
    env = open_environment(settings, WORLD)
    counter_name, count = token_counter()
    tickets = [load_ticket(p) for p in TICKETS]
    per_turn: list[float] = []
    prompts: list[int] = []
    print(
        f"{'ticket':28} {'turns':>5} {'wall ms':>8} {'tools ms':>8} {'overhead ms':>11} {'/turn':>6}   prompt tokens per turn"
    )
    try:
        for path, ticket in zip(TICKETS, tickets, strict=True):
            signals = extract_signals(ticket, env.directory)
            await _investigate(
                ticket, env, ScriptedModel(script(signals.account_id, ticket.subject)), settings
            )  # warm-up
            runs = []
            for _ in range(repeat):
                model = ScriptedModel(script(signals.account_id, ticket.subject))
                result, wall, tools = await _investigate(ticket, env, model, settings)
                assert result.diagnosis.fallback_reason is None, result.diagnosis.fallback_reason
                runs.append((wall, tools, result.diagnosis.usage.turns))
            wall, tools, turns = (statistics.median(x) for x in zip(*runs, strict=True))
            overhead = wall - tools
            per_turn.append(overhead / turns)

            metered = _Metered(script(signals.account_id, ticket.subject))
            result, _, _ = await _investigate(ticket, env, metered, settings)
            assert result.diagnosis.fallback_reason is None, result.diagnosis.fallback_reason
            sizes = [prompt_tokens(b, count) for b in metered.completions.bodies]
            prompts += sizes
            build = statistics.mean(metered.build_ms)
            print(
                f"{path.stem:28} {turns:5.0f} {wall:8.1f} {tools:8.1f} {overhead:11.1f} {overhead / turns:6.2f}   "
                f"{', '.join(f'{s:,}' for s in sizes)}  (request build {build:.2f} ms/turn)"
            )
    finally:
        await env.aclose()
    print()
    print(
        f"overhead per turn: median {statistics.median(per_turn):.2f} ms, max {max(per_turn):.2f} ms (target < 20 ms)"
    )
    print(
        f"prompt per turn:   median {statistics.median(prompts):,.0f} tokens, max {max(prompts):,} (target < 12,000; {counter_name})"
    )
    ok = max(per_turn) < 20 and statistics.median(prompts) < 12_000
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per ticket (median reported)")
    sys.exit(asyncio.run(main(parser.parse_args().repeat)))
