"""A scripted model: replays prepared replies, for tests and benchmarks.

Each step is a :class:`ModelReply` or a function of the :class:`LoopState`
returning one (so a step can cite the call ids the loop assigned). A model that
is asked for more turns than it has raises; :meth:`assert_complete` fails when
steps were left over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from casefile.agent.models.base import LoopState, Model, ModelReply

__all__ = ["ScriptedModel"]

Step = ModelReply | Callable[[LoopState], ModelReply]


class ScriptedModel(Model):
    def __init__(self, steps: Sequence[Step], *, name: str = "scripted", latency_s: float = 0.0) -> None:
        self.steps = list(steps)
        self.name = name
        self.latency_s = latency_s
        self.seen: list[LoopState] = []
        self.feedback_seen: list[list[str]] = []

    async def turn(self, state: LoopState) -> ModelReply:
        if not self.steps:
            raise AssertionError(f"{self.name} was asked for turn {state.turn} but has no steps left")
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        self.seen.append(state)
        self.feedback_seen.append(list(state.feedback))
        step = self.steps.pop(0)
        return step(state) if callable(step) else step

    def assert_complete(self) -> None:
        if self.steps:
            raise AssertionError(f"{self.name} has {len(self.steps)} unused step(s)")
