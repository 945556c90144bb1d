"""What the OpenAI and Anthropic models share: everything except the wire format (one import for them).

A provider module does three things per turn: turn the loop's state into its
API's request, send it, and turn the answer back into a :class:`ModelReply`.
Everything in between that does not depend on the vendor lives here:

Each piece lives in a module of its own, re-exported here:

* :class:`Dialogue` (``_dialogue.py``) decides what the model is told each turn (the opening
  message with the ticket and the preflight results, each tool result under the
  call id the model must cite, rejected-diagnosis feedback, "conclude now"), and
  turns the model's tool calls into the loop's :class:`ToolCall` objects.
* :func:`render_system` (``_prompt.py``) renders ``prompts/system.md.j2`` (rules, runbook
  guidance, tool catalogue, output contract).
* :func:`tool_specs` and :func:`submit_tool` (``_schema.py``) give provider-neutral tool
  definitions; the final answer is a ``submit_diagnosis`` tool whose schema is
  the :class:`ModelDiagnosis` JSON Schema (exactly what a model writes).
* :func:`fence` (``_prompt.py``) delimits untrusted text (ticket, tool output) so it cannot
  close its own tag and pose as instructions.
* :func:`call_with_retries` and :func:`exchange` (``_exchange.py``) run provider calls through the one retry
  mechanism (:mod:`casefile.tools.retry`, :data:`PROVIDER_RETRY`):
  408/409/429/5xx, timeouts, connection errors and malformed bodies,
  ``Retry-After`` honoured, bounded and never past the deadline; whatever still
  fails becomes :class:`ModelUnavailable`.
* :class:`Transcript` (``_transcript.py``) appends every request and response, redacted, as JSONL.
"""

from __future__ import annotations

from casefile.agent.models._dialogue import Dialogue, RawCall, ResultBlock, UserTurn
from casefile.agent.models._exchange import (
    PROVIDER_RETRY,
    MalformedResponse,
    call_with_retries,
    dig,
    exchange,
    field_of,
)
from casefile.agent.models._prompt import fence, render_system
from casefile.agent.models._schema import SUBMIT_TOOL, ToolSpec, parse_arguments, submit_tool, tool_specs
from casefile.agent.models._transcript import Transcript
from casefile.tools.retry import RetryPolicy

__all__ = [
    "PROVIDER_RETRY",
    "SUBMIT_TOOL",
    "Dialogue",
    "MalformedResponse",
    "RawCall",
    "ResultBlock",
    "RetryPolicy",
    "ToolSpec",
    "Transcript",
    "UserTurn",
    "call_with_retries",
    "dig",
    "exchange",
    "fence",
    "field_of",
    "parse_arguments",
    "render_system",
    "submit_tool",
    "tool_specs",
]
