"""Investigations as rows: created (once per active idempotency key), their status, their ticket,
their events (the SSE stream replays them), their result and the audit log of their tool calls."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.events import Event
from casefile.agent.redact import redact, redact_strings
from casefile.agent.store.database import Cursor, Database, db_time, new_id, parse_db_time, scrub, utc_now
from casefile.agent.store.records import (
    PRIORITIES,
    STATUSES,
    AuditRow,
    DuplicateInvestigation,
    InvestigationRecord,
    Priority,
    Status,
)
from casefile.agent.ticket import Ticket

if TYPE_CHECKING:
    from casefile.agent.investigation import Investigation

__all__ = ["Investigations"]

_INVESTIGATION_COLUMNS = (
    "id, ticket_id, revision, status, source, requested_by, priority, rerun_of, "
    "created_at, started_at, finished_at, error, diagnosis_json, tenant"
)


def _scrubbed_event(event: Event) -> Event:
    """The event with every string of its data redacted (tool arguments, errors, reasons).

    ``by`` is a configured principal ("token:agent-a"), which the ``token:`` pattern would eat.
    """
    data = {k: v if k == "by" else redact_strings(v) for k, v in event.data.items()}
    return event.model_copy(update={"data": data})


class Investigations(Database):
    """The store's investigations, events and audit log (see :class:`casefile.agent.store.Store`)."""

    def claim_untenanted(self, tenant: str) -> int:
        """Give investigations stored before tenants existed to ``tenant``; returns how many."""
        with self._tx() as cur:
            cur.execute("UPDATE investigations SET tenant = ? WHERE tenant IS NULL", (tenant,))
            return int(cur.rowcount)

    def create_investigation(
        self,
        ticket: Ticket,
        *,
        source: str,
        requested_by: str,
        priority: Priority = "background",
        idempotency_key: str | None = None,
        rerun_of: str | None = None,
        tenant: str = "default",
        deliver_to: str | None = None,
    ) -> str:
        """Record a queued investigation of ``ticket`` for ``tenant`` and return its id (``inv_…``).

        ``deliver_to`` names the Zendesk ticket its internal note goes to, once it is done: the
        note is then part of the durable work (see :meth:`claim_next`).

        Raises :class:`DuplicateInvestigation` when another investigation holds the same
        ``idempotency_key`` (see :meth:`find_active`; with ``deliver_to`` and not a re-run, one whose
        note on that revision was delivered holds it too). The look and the insert are one transaction, so two
        processes never both start one, however long the first ran between them.
        """
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {PRIORITIES}")
        inv_id = new_id("inv")
        try:
            with self._tx() as cur:
                if idempotency_key is not None:
                    if (
                        self.dialect == "postgresql"
                    ):  # BEGIN there does not serialise writers as SQLite's does
                        cur.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (idempotency_key,))
                    noted = deliver_to is not None and rerun_of is None
                    holder = self._holder(cur, idempotency_key, noted=noted)
                    if holder is not None:
                        raise DuplicateInvestigation(holder)
                cur.execute(
                    "INSERT INTO investigations (id, tenant, ticket_id, revision, ticket_json, status, source,"
                    " requested_by, priority, idempotency_key, rerun_of, created_at, deliver_to, attempts)"
                    " VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, 0)",
                    (
                        inv_id,
                        tenant,
                        ticket.id,
                        ticket.revision,
                        ticket.model_dump_json(),
                        source,
                        requested_by,
                        priority,
                        idempotency_key,
                        rerun_of,
                        db_time(utc_now()),
                        deliver_to,
                    ),
                )
        except Exception as exc:
            if idempotency_key is not None and self._is_unique_violation(exc):
                existing = self.find_active(idempotency_key)
                if existing is not None:
                    raise DuplicateInvestigation(existing) from None
            raise
        return inv_id

    def find_active(self, idempotency_key: str, *, noted: bool = False) -> str | None:
        """The id of the investigation holding this key: queued, running, or done with its note
        undelivered; with ``noted`` (a submission that posts a note), also one whose note on this
        same revision was delivered: a webhook that read the ticket before that note landed (so
        before its tag) must not start a second investigation and a second note."""
        with self._tx() as cur:
            return self._holder(cur, idempotency_key, noted=noted)

    @staticmethod
    def _holder(cur: Cursor, idempotency_key: str, *, noted: bool) -> str | None:
        delivered = " OR delivered_at IS NOT NULL" if noted else ""
        cur.execute(
            "SELECT id FROM investigations WHERE idempotency_key = ? AND (status IN ('queued', 'running')"
            f" OR (status = 'done' AND deliver_to IS NOT NULL AND delivered_at IS NULL){delivered})"
            " ORDER BY created_at DESC",
            (idempotency_key,),
        )
        row = cur.fetchone()
        return str(row[0]) if row else None

    def set_status(self, id: str, status: Status, error: str | None = None) -> None:
        """Move an investigation to ``status``; running stamps started_at, the end states finished_at."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        now = db_time(utc_now())
        with self._tx() as cur:
            if status == "running":
                cur.execute(
                    "UPDATE investigations SET status = ?, started_at = ?, error = NULL WHERE id = ?",
                    (status, now, id),
                )
            elif status == "queued":
                cur.execute("UPDATE investigations SET status = ? WHERE id = ?", (status, id))
            else:  # an end state: nobody holds it any more, and no note follows a failure
                cur.execute(
                    "UPDATE investigations SET status = ?, finished_at = ?, error = ?, owner = NULL,"
                    " lease_until = NULL, deliver_to = NULL WHERE id = ?",
                    (status, now, scrub(error), id),
                )
            if cur.rowcount == 0:
                raise KeyError(id)

    def ticket(self, id: str) -> Ticket | None:
        """The (redacted) ticket an investigation was run on, e.g. to re-run it."""
        with self._tx() as cur:
            cur.execute("SELECT ticket_json FROM investigations WHERE id = ?", (id,))
            row = cur.fetchone()
        # A stored ticket keeps its source even if the helpdesk that wrote it is no longer installed.
        return Ticket.model_validate_json(row[0], context={"stored": True}) if row else None

    def get(self, id: str, tenant: str | None = None) -> InvestigationRecord | None:
        """The investigation ``id``; with ``tenant``, only if it belongs to that tenant."""
        sql = f"SELECT {_INVESTIGATION_COLUMNS} FROM investigations WHERE id = ?"
        params: builtins.list[Any] = [id]
        if tenant is not None:
            sql += " AND tenant = ?"
            params.append(tenant)
        with self._tx() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        return self._record(row) if row else None

    def list(
        self, since: datetime | None = None, status: str | None = None, tenant: str | None = None
    ) -> builtins.list[InvestigationRecord]:
        """Investigations created at or after ``since`` (all when None), newest first; with
        ``tenant``, only that tenant's."""
        sql = f"SELECT {_INVESTIGATION_COLUMNS} FROM investigations WHERE 1 = 1"
        since_at = db_time(since) if since is not None else None
        filters = [("tenant = ?", tenant), ("created_at >= ?", since_at), ("status = ?", status)]
        rows = self._rows(sql, filters, "created_at DESC, id")
        return [self._record(r) for r in rows]

    @staticmethod
    def _record(row: Sequence[Any]) -> InvestigationRecord:
        (inv_id, ticket_id, revision, status, source, requested_by, priority, rerun_of) = row[:8]
        created, started, finished, error, diagnosis_json, tenant = row[8:]
        diagnosis, unreadable = _stored_diagnosis(diagnosis_json)
        return InvestigationRecord(
            id=inv_id,
            ticket_id=ticket_id,
            revision=revision,
            tenant=tenant,
            status=status,
            created_at=parse_db_time(created) or utc_now(),
            started_at=parse_db_time(started),
            finished_at=parse_db_time(finished),
            diagnosis=diagnosis,
            error=unreadable or error,
            source=source,
            requested_by=requested_by,
            priority=priority,
            rerun_of=rerun_of,
        )

    # --------------------------------------------------------------- events

    def add_event(self, id: str, event: Event) -> int:
        """Append one event to an investigation's stream; returns its sequence number (from 1)."""
        with self._tx() as cur:
            return self._append_event(cur, id, event)

    @staticmethod
    def _append_event(cur: Cursor, id: str, event: Event) -> int:
        cur.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE investigation_id = ?", (id,))
        seq = int(cur.fetchone()[0]) + 1
        cur.execute(
            "INSERT INTO events (investigation_id, seq, kind, at, event_json) VALUES (?, ?, ?, ?, ?)",
            (id, seq, event.kind, db_time(event.at), _scrubbed_event(event).model_dump_json()),
        )
        return seq

    def events(self, id: str, after: int = 0) -> builtins.list[tuple[int, Event]]:
        """The investigation's events with sequence number greater than ``after``, in order."""
        with self._tx() as cur:
            cur.execute(
                "SELECT seq, event_json FROM events WHERE investigation_id = ? AND seq > ? ORDER BY seq",
                (id, after),
            )
            rows = cur.fetchall()
        return [(int(seq), Event.model_validate_json(text)) for seq, text in rows]

    # --------------------------------------------------------------- results and audit

    def save_result(
        self,
        id: str,
        result: Investigation,
        requested_by: str,
        *,
        links: Mapping[str, Mapping[str, Any]] | None = None,
        owner: str | None = None,
        started_at: datetime | None = None,
    ) -> bool:
        """Store the diagnosis and one audit row per tool call, and mark the investigation done.

        With ``owner`` (a worker), only while that worker still holds the lease: False, and
        nothing stored, when another worker took the work over. The lease stays with the
        owner when a note is to be delivered next; otherwise it is released.

        ``links`` maps a call id to where a person can see that source (the service
        builds them). When nothing was streamed into :meth:`add_event` during the
        run (the CLI), the result's events are stored as well, so every
        investigation has its trace. ``started_at``: when a caller that ran the investigation
        itself (the CLI) started it; a worker's claim already stamped it.
        """
        links = links or {}
        now = db_time(utc_now())
        with self._tx() as cur:
            fence = "" if owner is None else " AND owner = ?"
            cur.execute(
                "UPDATE investigations SET status = 'done', started_at = COALESCE(started_at, ?), finished_at = ?,"
                " error = NULL, diagnosis_json = ?,"
                " attempts = 0, owner = CASE WHEN deliver_to IS NULL THEN NULL ELSE owner END,"
                " lease_until = CASE WHEN deliver_to IS NULL THEN NULL ELSE lease_until END"
                f" WHERE id = ?{fence}",
                (
                    db_time(started_at) if started_at else None,
                    now,
                    result.diagnosis.model_dump_json(),
                    id,
                    *([owner] if owner is not None else []),
                ),
            )
            if cur.rowcount == 0:
                if owner is not None:
                    return False
                raise KeyError(id)
            cur.execute("DELETE FROM audit WHERE investigation_id = ?", (id,))
            for seq, outcome in enumerate(result.outcomes, start=1):
                arguments = redact(json.dumps(outcome.arguments, default=str, sort_keys=True))[0]
                cur.execute(
                    "INSERT INTO audit (investigation_id, seq, call_id, tool, source, origin, arguments_json,"
                    " ok, error_kind, error, started_at, duration_ms, requested_by, link_json)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        id,
                        seq,
                        outcome.call_id,
                        outcome.tool,
                        outcome.source,
                        outcome.origin,
                        arguments,
                        1 if outcome.ok else 0,
                        outcome.error_kind,
                        scrub(outcome.error),
                        db_time(outcome.started_at),
                        float(outcome.duration_ms),
                        requested_by,
                        json.dumps(links[outcome.call_id]) if outcome.call_id in links else None,
                    ),
                )
            cur.execute("SELECT COUNT(*) FROM events WHERE investigation_id = ?", (id,))
            if int(cur.fetchone()[0]) == 0:
                for event in result.events:
                    self._append_event(cur, id, event)
        return True

    def audit(self, id: str) -> builtins.list[AuditRow]:
        """Every tool call of the investigation, in the order they were recorded."""
        with self._tx() as cur:
            cur.execute(
                "SELECT investigation_id, seq, call_id, tool, source, origin, arguments_json, ok, error_kind,"
                " error, started_at, duration_ms, requested_by, link_json FROM audit WHERE investigation_id = ?"
                " ORDER BY seq",
                (id,),
            )
            rows = cur.fetchall()
        return [
            AuditRow(
                investigation_id=r[0],
                seq=int(r[1]),
                call_id=r[2],
                tool=r[3],
                source=r[4],
                origin=r[5],
                arguments=json.loads(r[6]),
                ok=bool(r[7]),
                error_kind=r[8],
                error=r[9],
                started_at=parse_db_time(r[10]) or utc_now(),
                duration_ms=float(r[11]),
                requested_by=r[12],
                link=json.loads(r[13]) if r[13] else None,
            )
            for r in rows
        ]

    # --------------------------------------------------------------- feedback


def _stored_diagnosis(text: str | None) -> tuple[Diagnosis | None, str | None]:
    """A row's diagnosis, or why it cannot be read. One row cut short by a full disk, edited by hand or
    written by an older version (a category since renamed) must not make every listing fail: the row
    is kept as it is, and it reads as having no diagnosis, with the reason as its error."""
    if not text:
        return None, None
    try:
        return Diagnosis.model_validate_json(text), None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "diagnosis"
        return None, f"the stored diagnosis cannot be read ({where}: {first['msg']})"
