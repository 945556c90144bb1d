"""A conversation whose every turn is a ``chat`` trace span carrying the tokens it used."""

from __future__ import annotations

from casefile.agent.models.base import LoopState, Model, ModelReply
from casefile.tools import tracing

__all__ = ["TracedModel"]


class TracedModel(Model):
    """Wraps any :class:`Model` (the loop sees the same name and replies)."""

    def __init__(self, inner: Model) -> None:
        self.inner = inner
        self.name = inner.name

    async def turn(self, state: LoopState) -> ModelReply:
        with tracing.chat_span(self.name, state.turn) as span:
            reply = await self.inner.turn(state)
            tracing.record_usage(span, reply.usage.input_tokens, reply.usage.output_tokens)
            span.set_attribute("casefile.tool_calls", len(reply.tool_calls))
            span.set_attribute("casefile.concluded", reply.diagnosis is not None)
            return reply

    async def aclose(self) -> None:
        await self.inner.aclose()
