"""One way for tests to make a tool's outcome (the shape every connector's result takes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from casefile.tools.base import ToolOutcome

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def tool_outcome(
    call_id: str,
    tool: str,
    data: Any = None,
    *,
    ok: bool = True,
    error: str | None = None,
    error_kind: str | None = None,
    arguments: dict[str, Any] | None = None,
    at: datetime = NOW,
) -> ToolOutcome:
    """A finished call of ``tool`` (its source is the tool's prefix); a failed one keeps no data."""
    return ToolOutcome(
        call_id=call_id,
        tool=tool,
        source=tool.split("_", 1)[0],
        arguments=arguments or {},
        ok=ok,
        data=data if ok else None,
        error=error,
        error_kind=error_kind,
        rendered="",
        started_at=at,
        duration_ms=1.0,
    )
