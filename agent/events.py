"""One event type for everything observable in an investigation.

The same events drive the CLI's progress lines, the service's SSE stream, the
audit log and the eval's latency figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["Event", "EventKind", "EventSink", "format_event"]

EventKind = Literal[
    "investigation_started",
    "signals_extracted",
    "runbooks_matched",
    "tool_started",
    "tool_finished",
    "model_turn",
    "diagnosis_rejected",
    "fallback",
    "diagnosis_ready",
    "investigation_failed",
    "account_confirmed",
    "investigation_resumed",
    "note_delivered",
]


class Event(BaseModel):
    kind: EventKind
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    elapsed_ms: float = 0.0
    data: dict[str, Any] = Field(default_factory=dict)


EventSink = Callable[[Event], None]


class Stopwatch:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def ms(self) -> float:
        return round((time.perf_counter() - self.t0) * 1000, 1)


def format_event(event: Event) -> str | None:
    """A one-line human rendering for the terminal, or None for events not worth a line."""
    d = event.data
    t = f"{event.elapsed_ms / 1000:6.2f}s"
    match event.kind:
        case "investigation_started":
            return f"{t}  investigating {d.get('ticket_id')} with {d.get('model')}"
        case "signals_extracted":
            account = d.get("account_id") or "unresolved"
            if d.get("account_candidate"):
                account += f" (candidate: {d.get('account_source')})"
            return f"{t}  account {account}; signals: {d.get('summary') or 'none'}"
        case "runbooks_matched":
            return f"{t}  runbooks: {', '.join(d.get('runbooks', [])) or 'none matched'}"
        case "tool_started":
            return None
        case "tool_finished":
            status = "ok" if d.get("ok") else f"unavailable: {d.get('error')}"
            return f"{t}  ✓ {d.get('tool')} ({d.get('duration_ms', 0):.0f} ms) {status}".replace(
                "✓", "✓" if d.get("ok") else "✗"
            )
        case "model_turn":
            return f"{t}  model turn {d.get('turn')}: {d.get('summary', '')}"
        case "diagnosis_rejected":
            return f"{t}  diagnosis rejected: {d.get('reason')}"
        case "fallback":
            return f"{t}  falling back to the offline investigator: {d.get('reason')}"
        case "diagnosis_ready":
            return (
                f"{t}  diagnosis: {d.get('category')} → {d.get('action')} (confidence {d.get('confidence')})"
            )
        case "investigation_failed":
            return f"{t}  failed: {d.get('reason')}"
        case "account_confirmed":
            return f"{t}  account {d.get('account_id')} confirmed by {d.get('by')}"
        case "investigation_resumed":
            return f"{t}  resumed (attempt {d.get('attempt')}) after its worker stopped"
        case "note_delivered":
            desk = str(d.get("helpdesk") or "zendesk")  # events stored before other helpdesks name none
            return f"{t}  internal note posted on {desk.capitalize()} ticket {d.get(f'{desk}_ticket_id')}"
    return None
