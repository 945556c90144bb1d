"""The delivery ledger: every hand-off write an investigation owes, and how each one went.

One row per (investigation, key) in the store's ``deliveries`` table, so a write is
planned once and done once, across retries, restarts and replicas:

=================  ===============================================================
``note``           the ticket update: internal note (with the packet) + group, assignee,
                   priority, tags, in one ``PUT /api/v2/tickets/{id}.json``
``slack``          the message to the team's channel
``bounce:<fb id>`` the internal note that tells the ticket an escalation bounced back
=================  ===============================================================

A row is ``pending`` until its write is confirmed (``done``) or refused for good
(``failed``, e.g. Slack's ``channel_not_found``); ``sending`` while a write is in
flight, so a worker that finds it in that state knows the previous one stopped
mid-write and checks before writing again. Each attempt is also an audit row
(``origin`` ``handoff``). The investigation row stays the durable job: its
``delivered_at`` is set only when every row is settled.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from casefile.agent.store import Store

__all__ = ["Delivery", "DeliveryKind", "DeliveryLedger", "DeliveryState"]

DeliveryKind = Literal["ticket_update", "slack_message", "bounce_note"]
DeliveryState = Literal["pending", "sending", "done", "failed"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS deliveries (
    investigation_id TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT,
    payload_json TEXT NOT NULL,
    detail_json TEXT,
    started_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (investigation_id, key)
)"""
_COLUMNS = (
    "investigation_id, key, kind, target, status, attempts, error, payload_json, detail_json, started_at,"
    " updated_at"
)


class Delivery(BaseModel):
    """One write the hand-off owes, and where it stands."""

    investigation_id: str
    key: str
    kind: DeliveryKind
    target: str = Field(description="the ticket id, or the Slack channel")
    status: DeliveryState = "pending"
    attempts: int = 0
    error: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict, exclude=True)
    detail: dict[str, Any] = Field(default_factory=dict, description="what the helpdesk or Slack answered")
    started_at: datetime | None = Field(default=None, description="when the last attempt started")
    updated_at: datetime | None = None
    unreadable: str | None = Field(
        default=None, exclude=True, description="why the stored write cannot be read (it is not made)"
    )

    @property
    def delivery_key(self) -> str:
        """Unique across the store: carried in the write (note marker, Slack metadata)."""
        return f"{self.investigation_id}/{self.key}"


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _json_object(text: str) -> tuple[dict[str, Any], str | None]:
    """The stored JSON object, or ({}, why not)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        return {}, f"not JSON: {exc}"
    return (value, None) if isinstance(value, dict) else ({}, "not a JSON object")


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class DeliveryLedger:
    """The ``deliveries`` table of one store (created on first use, on SQLite and PostgreSQL alike)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store._schema_lock(), store._tx() as cur:
            cur.execute(_SCHEMA)

    def plan(self, deliveries: list[Delivery]) -> None:
        """Add the rows not planned yet; a row already there (planned by an earlier attempt) is kept."""
        now = _ts(datetime.now(UTC))
        with self.store._tx() as cur:
            for d in deliveries:
                cur.execute(
                    f"INSERT INTO deliveries ({_COLUMNS}) SELECT ?, ?, ?, ?, 'pending', 0, NULL, ?, NULL, NULL, ?"
                    " WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE investigation_id = ? AND key = ?)",
                    (
                        d.investigation_id,
                        d.key,
                        d.kind,
                        d.target,
                        json.dumps(d.payload),
                        now,
                        d.investigation_id,
                        d.key,
                    ),
                )

    def of(self, investigation_id: str) -> list[Delivery]:
        with self.store._tx() as cur:
            cur.execute(
                f"SELECT {_COLUMNS} FROM deliveries WHERE investigation_id = ? ORDER BY updated_at, key",
                (investigation_id,),
            )
            rows = cur.fetchall()
        order = {"note": 0, "slack": 1}
        out = []
        for r in rows:
            # One row cut short (a full disk) or edited by hand costs its own write, not the others'.
            payload, unreadable = _json_object(r[7])
            detail, _ = _json_object(r[8]) if r[8] else ({}, None)
            out.append(
                Delivery(
                    investigation_id=r[0],
                    key=r[1],
                    kind=r[2],
                    target=r[3],
                    status=r[4],
                    attempts=int(r[5]),
                    error=r[6],
                    payload=payload,
                    detail=detail,
                    started_at=_parse(r[9]),
                    updated_at=_parse(r[10]),
                    unreadable=unreadable and f"the stored write cannot be read ({unreadable})",
                )
            )
        return sorted(out, key=lambda d: (order.get(d.key, 2), d.key))

    def start(self, d: Delivery) -> Delivery:
        """Mark an attempt in flight (``sending``) before the write leaves."""
        now = datetime.now(UTC)
        with self.store._tx() as cur:
            cur.execute(
                "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, started_at = ?, updated_at = ?"
                " WHERE investigation_id = ? AND key = ?",
                (_ts(now), _ts(now), d.investigation_id, d.key),
            )
        return d.model_copy(update={"status": "sending", "attempts": d.attempts + 1, "started_at": now})

    def finish(
        self,
        d: Delivery,
        status: DeliveryState,
        *,
        error: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        with self.store._tx() as cur:
            cur.execute(
                "UPDATE deliveries SET status = ?, error = ?, detail_json = COALESCE(?, detail_json), updated_at = ?"
                " WHERE investigation_id = ? AND key = ?",
                (
                    status,
                    error,
                    json.dumps(detail) if detail is not None else None,
                    _ts(datetime.now(UTC)),
                    d.investigation_id,
                    d.key,
                ),
            )

    def audit(
        self,
        d: Delivery,
        *,
        tool: str,
        source: str,
        arguments: dict[str, Any],
        ok: bool,
        error: str | None,
        started: datetime,
        requested_by: str,
    ) -> None:
        """One audit row per write attempt, after the investigation's tool calls."""
        from casefile.agent.redact import redact

        duration_ms = (datetime.now(UTC) - started).total_seconds() * 1000
        with self.store._tx() as cur:
            cur.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM audit WHERE investigation_id = ?", (d.investigation_id,)
            )
            seq = int(cur.fetchone()[0]) + 1
            cur.execute(
                "INSERT INTO audit (investigation_id, seq, call_id, tool, source, origin, arguments_json,"
                " ok, error_kind, error, started_at, duration_ms, requested_by, link_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (
                    d.investigation_id,
                    seq,
                    f"handoff-{d.key}-{d.attempts}",
                    tool,
                    source,
                    "handoff",
                    json.dumps(arguments),
                    1 if ok else 0,
                    None if ok else "write_failed",
                    redact(error)[0] if error else None,
                    _ts(started),
                    duration_ms,
                    requested_by,
                ),
            )
