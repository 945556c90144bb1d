"""Model requests and responses appended as redacted JSONL (``--transcript FILE``)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from casefile.agent.models.base import LoopState
from casefile.agent.redact import redact

log = logging.getLogger("casefile.models")

# ---------------------------------------------------------------- transcripts

_SECRET_KEYS = re.compile(r"(api[_-]?key|authorization|x-api-key|secret|token)$", re.IGNORECASE)


def _scrub(value: Any, withhold: Callable[[str], str]) -> Any:
    """Keys named like secrets masked; every string passed through ``withhold`` (other accounts)."""
    if isinstance(value, Mapping):
        return {
            k: "[REDACTED]" if _SECRET_KEYS.search(str(k)) else _scrub(v, withhold) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v, withhold) for v in value]
    if isinstance(value, str):
        # A JSON string inside the body (a tool call's arguments) is scrubbed as the text it is.
        return withhold(value)
    return value


class Transcript:
    """Appends model requests and responses as JSONL lines, redacted; a no-op without a path.

    Lines: ``{"ts", "provider", "model", "ticket_id", "turn", "kind", "body"}`` with
    kind ``request``, ``retry``, ``response`` or ``error``. Bodies are what went over the
    wire minus credentials (never in a body; keys named like secrets are masked
    anyway), with every other account's identity withheld (the investigation's own
    ``LoopState.withhold``) and :func:`casefile.agent.redact.redact` applied to the whole line.
    """

    def __init__(self, path: str | Path | None, *, provider: str, model: str) -> None:
        self.path = Path(path) if path else None
        self.provider = provider
        self.model = model

    def write(self, kind: str, body: Any, *, state: LoopState | None = None) -> None:
        if self.path is None:
            return
        record = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "provider": self.provider,
            "model": self.model,
            "ticket_id": state.ticket.id if state else None,
            "turn": state.turn if state else None,
            "kind": kind,
            # As the ledger does for what the model reads: a steered model's answer (its text, its
            # calls' arguments, its diagnosis) or an error echoing a request names no other account.
            "body": _scrub(body, state.withhold if state else str),
        }
        line = redact(json.dumps(record, ensure_ascii=False, default=str))[0]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            # Debugging output: a full disk or an unwritable path costs the transcript, not the turn.
            log.warning(
                "transcript %s not written (%s); the investigation goes on without it", self.path, exc
            )
            self.path = None
