"""Where investigations, their events, the tool-call audit log and agents' feedback are kept.

SQLite by default, with no setup (``sqlite:///.casefile/casefile.sqlite3``
relative to the working directory, or ``$CASEFILE_DATABASE_URL``);
PostgreSQL by URL (``postgresql://user@host/db``, through psycopg 3).

There is one SQL code path for both: the statements use a portable subset
(``TEXT``/``INTEGER``/``REAL`` columns, times as ISO 8601 UTC text that sorts
as it reads, JSON as text, no auto-increment) and ``?`` placeholders, which
are rewritten to ``%s`` for psycopg. Each table's sequence numbers are computed
per investigation inside the writing transaction, so no dialect-specific
identity column is needed.

Tables::

    investigations  one row per investigation: tenant, ticket (already redacted), status, diagnosis JSON
    events          every progress Event, numbered per investigation (the SSE stream replays them)
    audit           one row per tool call: tool, arguments, duration, outcome, who asked
    feedback        agents' verdicts on a diagnosis (bounced escalations, the article that solved it)

Every investigation belongs to one tenant (the helpdesk or team whose caller created
it); the service reads and lists only its caller's tenant's. Rows stored before
tenants existed have none until the service claims them for its own tenant
(:meth:`Store.claim_untenanted`).

Secrets are never stored: tickets are redacted at intake, and tool arguments and
error texts pass through :func:`casefile.agent.redact.redact` again before they are written.

The store is synchronous (each call is one short transaction) and thread-safe;
the service calls it from its event loop, which is fine for the millisecond
writes SQLite in WAL mode makes.
"""

from __future__ import annotations

import builtins
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel, Field

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.errors import ConfigError, UnavailableError
from casefile.agent.events import Event
from casefile.agent.redact import redact, redact_strings
from casefile.agent.ticket import Ticket

if TYPE_CHECKING:
    from casefile.agent.investigation import Investigation

__all__ = [
    "DEFAULT_DATABASE_URL",
    "AuditRow",
    "Claim",
    "DuplicateInvestigation",
    "FeedbackRecord",
    "FeedbackVia",
    "InvestigationRecord",
    "Priority",
    "Status",
    "Store",
    "first_bounces",
]

DEFAULT_DATABASE_URL = "sqlite:///.casefile/casefile.sqlite3"

Status = Literal["queued", "running", "done", "failed", "interrupted"]
Priority = Literal["background", "on_demand"]
ACTIVE: tuple[str, ...] = ("queued", "running")
_STATUSES: tuple[str, ...] = get_args(Status)
_PRIORITIES: tuple[str, ...] = get_args(Priority)


class InvestigationRecord(BaseModel):
    """One investigation as stored: who asked, where it stands, and its diagnosis once done."""

    id: str
    ticket_id: str
    revision: str | None = None
    tenant: str | None = None
    status: Status
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    diagnosis: Diagnosis | None = None
    error: str | None = None
    source: str
    requested_by: str
    priority: Priority
    rerun_of: str | None = None


class AuditRow(BaseModel):
    """One tool call of one investigation: what ran, with which arguments, how it went, for whom."""

    investigation_id: str
    seq: int
    call_id: str
    tool: str
    source: str
    origin: str
    arguments: dict[str, Any]
    ok: bool
    error_kind: str | None = None
    error: str | None = None
    started_at: datetime
    duration_ms: float
    requested_by: str
    link: dict[str, Any] | None = Field(
        default=None, description="where a person can see the source: {label, url?, query?}"
    )


FeedbackVia = Literal["api", "cli", "sidebar", "slack"]


class FeedbackRecord(BaseModel):
    """One entry of an investigation's feedback history (e.g. the escalation bounced back to L1).

    The history is append-only: a later entry never replaces an earlier one, so an escalation
    counts as bounced when *any* entry of its history is a bounce (:func:`first_bounces`).
    """

    id: str
    investigation_id: str
    ticket_id: str
    bounced: bool
    article: str | None = Field(default=None, description="the help-center article that solves the ticket")
    snippet: str | None = Field(default=None, description="or the snippet (macro, reply text) that solves it")
    note: str | None = Field(default=None, description="the reason, in the receiving team's words")
    team: str | None = Field(default=None, description="the team the escalation went to, when recorded")
    via: FeedbackVia = "api"
    by: str
    created_at: datetime


def first_bounces(history: Iterable[FeedbackRecord]) -> dict[str, FeedbackRecord]:
    """Investigation id → its first bounce, over a feedback history: what counts an escalation as
    bounced (a later "not bounced" entry does not erase it)."""
    out: dict[str, FeedbackRecord] = {}
    for entry in sorted(history, key=lambda f: (f.created_at, f.id)):
        if entry.bounced and entry.investigation_id not in out:
            out[entry.investigation_id] = entry
    return out


class Claim(BaseModel):
    """Work a worker now holds the lease on: an investigation to run, or its internal note to deliver."""

    id: str
    phase: Literal["investigate", "deliver"]
    priority: Priority
    requested_by: str
    source: str
    deliver_to: str | None = Field(default=None, description="the Zendesk ticket to post the note on")
    attempt: int = Field(description="1 on the first claim of this phase, more after a crash or a retry")


class DuplicateInvestigation(Exception):
    """An active investigation already holds this idempotency key; ``existing_id`` names it."""

    def __init__(self, existing_id: str) -> None:
        super().__init__(f"investigation {existing_id} is already active for this ticket revision")
        self.existing_id = existing_id


_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS investigations (
        id TEXT PRIMARY KEY,
        ticket_id TEXT NOT NULL,
        revision TEXT,
        ticket_json TEXT NOT NULL,
        status TEXT NOT NULL,
        source TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        priority TEXT NOT NULL,
        idempotency_key TEXT,
        rerun_of TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        error TEXT,
        diagnosis_json TEXT
    )""",
    # At most one queued or running investigation per key: the guard holds across processes too.
    """CREATE UNIQUE INDEX IF NOT EXISTS investigations_active_key
        ON investigations (idempotency_key) WHERE status IN ('queued', 'running')""",
    "CREATE INDEX IF NOT EXISTS investigations_created ON investigations (created_at)",
    """CREATE TABLE IF NOT EXISTS events (
        investigation_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        event_json TEXT NOT NULL,
        PRIMARY KEY (investigation_id, seq)
    )""",
    """CREATE TABLE IF NOT EXISTS audit (
        investigation_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        call_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        source TEXT NOT NULL,
        origin TEXT NOT NULL,
        arguments_json TEXT NOT NULL,
        ok INTEGER NOT NULL,
        error_kind TEXT,
        error TEXT,
        started_at TEXT NOT NULL,
        duration_ms REAL NOT NULL,
        requested_by TEXT NOT NULL,
        link_json TEXT,
        PRIMARY KEY (investigation_id, seq)
    )""",
    """CREATE TABLE IF NOT EXISTS feedback (
        id TEXT PRIMARY KEY,
        investigation_id TEXT NOT NULL,
        bounced INTEGER NOT NULL,
        article TEXT,
        note TEXT,
        by_whom TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS feedback_created ON feedback (created_at)",
]

# pg_advisory_lock key held while the schema is created or migrated ("casefile" in ASCII).
_SCHEMA_LOCK_KEY = 0x63617365_66696C65

_INVESTIGATION_COLUMNS = (
    "id, ticket_id, revision, status, source, requested_by, priority, rerun_of, "
    "created_at, started_at, finished_at, error, diagnosis_json, tenant"
)


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(value: datetime) -> str:
    # Fixed width, UTC, microseconds: text comparison is time comparison.
    if value.tzinfo is None:
        raise ValueError("store times need a timezone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def _scrubbed_event(event: Event) -> Event:
    """The event with every string of its data redacted (tool arguments, errors, reasons).

    ``by`` is a configured principal ("token:agent-a"), which the ``token:`` pattern would eat.
    """
    data = {k: v if k == "by" else redact_strings(v) for k, v in event.data.items()}
    return event.model_copy(update={"data": data})


def _scrub(text: str | None) -> str | None:
    return None if text is None else redact(text)[0]


class Store:
    """Persistent record of investigations; see the module docstring for the layout.

    ``Store(url)`` opens (and creates, if needed) the database. ``url`` defaults to
    ``$CASEFILE_DATABASE_URL``, then ``sqlite:///.casefile/casefile.sqlite3``.
    ``sqlite:///:memory:`` gives a private in-memory database (tests).
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or os.environ.get("CASEFILE_DATABASE_URL") or DEFAULT_DATABASE_URL
        self._lock = threading.RLock()
        self._conn: Any
        if self.url.startswith("sqlite://"):
            self.dialect = "sqlite"
            self._conn = self._open_sqlite(self.url)
        elif self.url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            self.dialect = "postgresql"
            self._conn = self._open_postgres(self.url)
        else:
            raise ConfigError(f"unsupported database URL scheme: {self.url.split(':', 1)[0]!r}")
        with self._schema_lock():
            with self._tx() as cur:
                for statement in _SCHEMA:
                    cur.execute(statement)
            self._migrate()

    @contextmanager
    def _schema_lock(self) -> Iterator[None]:
        """Replicas starting at once must not create or migrate the schema at the same time
        (PostgreSQL's CREATE TABLE IF NOT EXISTS races; two ALTERs of one column collide)."""
        if self.dialect != "postgresql":
            yield  # SQLite: BEGIN IMMEDIATE already lets one process at a time in
            return
        with self._lock:
            self._conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK_KEY,))
            try:
                yield
            finally:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK_KEY,))

    def _migrate(self) -> None:
        # Columns added after the first release of a table; each ADD runs once per database.
        for table, column in (
            ("audit", "link_json TEXT"),
            ("investigations", "tenant TEXT"),
            # Durable work (see "leases" below).
            ("investigations", "owner TEXT"),
            ("investigations", "lease_until TEXT"),
            ("investigations", "attempts INTEGER"),
            ("investigations", "deliver_to TEXT"),
            ("investigations", "delivered_at TEXT"),
            # Bounce-backs: the snippet that solves it, the team it bounced from, where it was recorded.
            ("feedback", "snippet TEXT"),
            ("feedback", "team TEXT"),
            ("feedback", "via TEXT"),
        ):
            if not self._has_column(table, column.split()[0]):
                try:
                    with self._tx() as cur:
                        cur.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
                except Exception:
                    if not self._has_column(table, column.split()[0]):  # not another process's ADD
                        raise
        with self._tx() as cur:
            cur.execute(
                "CREATE INDEX IF NOT EXISTS investigations_tenant_created ON investigations (tenant, created_at)"
            )
            cur.execute(
                "CREATE INDEX IF NOT EXISTS investigations_claimable ON investigations (status, lease_until)"
            )

    def _has_column(self, table: str, column: str) -> bool:
        try:
            with self._tx() as cur:
                cur.execute(f"SELECT {column} FROM {table} WHERE 1 = 0")
        except Exception:
            return False
        return True

    def claim_untenanted(self, tenant: str) -> int:
        """Give investigations stored before tenants existed to ``tenant``; returns how many."""
        with self._tx() as cur:
            cur.execute("UPDATE investigations SET tenant = ? WHERE tenant IS NULL", (tenant,))
            return int(cur.rowcount)

    # --------------------------------------------------------------- connections

    @staticmethod
    def _open_sqlite(url: str) -> sqlite3.Connection:
        path = url.removeprefix("sqlite://")
        # sqlite:///relative/path → "/relative/path" with one slash too many; sqlite:////abs → "//abs".
        path = path[1:] if path.startswith("/") else path
        try:
            if path not in ("", ":memory:"):
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                path or ":memory:", check_same_thread=False, isolation_level=None, timeout=30.0
            )
        except (OSError, sqlite3.Error) as exc:
            raise UnavailableError(
                f"cannot open the store {path}: {exc}; set CASEFILE_DATABASE_URL to a writable place"
            ) from None
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @staticmethod
    def _open_postgres(url: str) -> Any:
        try:
            import psycopg
        except ImportError:
            raise ConfigError(
                "a PostgreSQL database URL needs psycopg: pip install 'psycopg[binary]'"
            ) from None
        try:
            return psycopg.connect(
                url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True, client_encoding="utf8"
            )
        except psycopg.Error as exc:
            # The message can echo the URL's password; name the host only.
            host = url.split("@")[-1].split("/")[0]
            why = str(exc).split("\n")[0].replace(url, host)
            why = why if "@" not in why and "password=" not in why else type(exc).__name__
            raise UnavailableError(
                f"cannot reach the store (PostgreSQL at {host}): {why}; start it or fix CASEFILE_DATABASE_URL"
            ) from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """One transaction on the shared connection; ``?`` placeholders in every dialect."""
        with self._lock:
            cur = _Cursor(self._conn.cursor(), self.dialect)
            # IMMEDIATE: take SQLite's write lock up front, so a read-then-write
            # transaction never fails to upgrade when another process writes too.
            cur.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def _is_unique_violation(self, exc: BaseException) -> bool:
        if isinstance(exc, sqlite3.IntegrityError):
            return True
        return type(exc).__name__ == "UniqueViolation"

    # --------------------------------------------------------------- investigations

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

        Raises :class:`DuplicateInvestigation` when another queued or running
        investigation holds the same ``idempotency_key``.
        """
        if priority not in _PRIORITIES:
            raise ValueError(f"priority must be one of {_PRIORITIES}")
        inv_id = _new_id("inv")
        try:
            with self._tx() as cur:
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
                        _ts(_now()),
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

    def find_active(self, idempotency_key: str) -> str | None:
        """The id of the investigation holding this key: queued, running, or done with its note undelivered."""
        with self._tx() as cur:
            cur.execute(
                "SELECT id FROM investigations WHERE idempotency_key = ? AND (status IN ('queued', 'running')"
                " OR (status = 'done' AND deliver_to IS NOT NULL AND delivered_at IS NULL))",
                (idempotency_key,),
            )
            row = cur.fetchone()
        return row[0] if row else None

    def set_status(self, id: str, status: Status, error: str | None = None) -> None:
        """Move an investigation to ``status``; running stamps started_at, the end states finished_at."""
        if status not in _STATUSES:
            raise ValueError(f"status must be one of {_STATUSES}")
        now = _ts(_now())
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
                    (status, now, _scrub(error), id),
                )
            if cur.rowcount == 0:
                raise KeyError(id)

    def ticket(self, id: str) -> Ticket | None:
        """The (redacted) ticket an investigation was run on, e.g. to re-run it."""
        with self._tx() as cur:
            cur.execute("SELECT ticket_json FROM investigations WHERE id = ?", (id,))
            row = cur.fetchone()
        return Ticket.model_validate_json(row[0]) if row else None

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
        params: builtins.list[Any] = []
        if tenant is not None:
            sql += " AND tenant = ?"
            params.append(tenant)
        if since is not None:
            sql += " AND created_at >= ?"
            params.append(_ts(since))
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        sql += " ORDER BY created_at DESC, id"
        with self._tx() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        return [self._record(r) for r in rows]

    # --------------------------------------------------------------- leases (durable work)
    #
    # Accepted work is a row: an investigation to run (queued, or running under an expired lease),
    # then its internal note to deliver (done, deliver_to set, delivered_at empty). A worker takes
    # the next one with a lease (owner, lease_until), renews it while it works, and gives it up
    # when done; a lease that expires (a killed process) makes the row claimable again. Claiming is
    # one transaction: SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL (concurrent replicas each skip
    # the rows another is taking), BEGIN IMMEDIATE on SQLite (one writer at a time). Times come from
    # the workers' clocks, which must agree to well within a lease (NTP).

    MAX_ATTEMPTS = 3
    """Claims of one phase before it is given up (a run that kills its worker every time)."""
    MAX_DELIVERY_ATTEMPTS = 12
    """Claims of the delivery phase: a helpdesk or Slack outage is waited out (backoff up to 5 min)."""

    _CLAIMABLE = (
        "(lease_until IS NULL OR lease_until < ?) AND (status IN ('queued', 'running')"
        " OR (status = 'done' AND deliver_to IS NOT NULL AND delivered_at IS NULL))"
    )

    def claim_next(self, owner: str, lease_s: float, *, on_demand_only: bool = False) -> Claim | None:
        """Lease the next claimable work to ``owner`` for ``lease_s``: on-demand first, then the oldest."""
        now = _now()
        sql = f"SELECT id, status, priority, requested_by, source, deliver_to, attempts FROM investigations WHERE {self._CLAIMABLE}"
        if on_demand_only:
            sql += " AND priority = 'on_demand'"
        sql += " ORDER BY CASE priority WHEN 'on_demand' THEN 0 ELSE 1 END, created_at LIMIT 1"
        if self.dialect == "postgresql":
            sql += " FOR UPDATE SKIP LOCKED"
        while True:
            with self._tx() as cur:
                cur.execute(sql, (_ts(now),))
                row = cur.fetchone()
                if row is None:
                    return None
                inv, status, priority, requested_by, source, deliver_to, attempts = row
                phase: Literal["investigate", "deliver"] = "deliver" if status == "done" else "investigate"
                attempt = int(attempts or 0) + 1
                if attempt > (self.MAX_ATTEMPTS if phase == "investigate" else self.MAX_DELIVERY_ATTEMPTS):
                    self._give_up(cur, inv, phase, now)
                    continue
                until = _ts(now + timedelta(seconds=lease_s))
                if phase == "investigate":
                    cur.execute(
                        "UPDATE investigations SET owner = ?, lease_until = ?, attempts = ?, status = 'running',"
                        " started_at = ?, error = NULL WHERE id = ?",
                        (owner, until, attempt, _ts(now), inv),
                    )
                else:
                    cur.execute(
                        "UPDATE investigations SET owner = ?, lease_until = ?, attempts = ? WHERE id = ?",
                        (owner, until, attempt, inv),
                    )
                return Claim(
                    id=inv,
                    phase=phase,
                    priority=priority,
                    requested_by=requested_by,
                    source=source,
                    deliver_to=deliver_to,
                    attempt=attempt,
                )

    def _give_up(self, cur: _Cursor, inv: str, phase: str, now: datetime) -> None:
        if phase == "investigate":
            error = f"gave up after {self.MAX_ATTEMPTS} attempts (each was cut off before it finished)"
            cur.execute(
                "UPDATE investigations SET status = 'failed', finished_at = ?, error = ?, owner = NULL,"
                " lease_until = NULL, deliver_to = NULL WHERE id = ?",
                (_ts(now), error, inv),
            )
        else:
            error = f"the hand-off could not be delivered in {self.MAX_DELIVERY_ATTEMPTS} attempts"
            cur.execute(
                "UPDATE investigations SET error = ?, owner = NULL, lease_until = NULL, deliver_to = NULL"
                " WHERE id = ?",
                (error, inv),
            )

    def renew(self, owner: str, lease_s: float) -> set[str]:
        """Extend every lease ``owner`` holds; returns the ids it still holds (others were taken over)."""
        until = _ts(_now() + timedelta(seconds=lease_s))
        with self._tx() as cur:
            cur.execute("UPDATE investigations SET lease_until = ? WHERE owner = ?", (until, owner))
            cur.execute("SELECT id FROM investigations WHERE owner = ?", (owner,))
            return {row[0] for row in cur.fetchall()}

    def release(self, id: str, owner: str, *, retry_in_s: float = 0.0, error: str | None = None) -> None:
        """Give work back unfinished (a stop, a failed delivery): claimable again after ``retry_in_s``."""
        later = _ts(_now() + timedelta(seconds=retry_in_s)) if retry_in_s > 0 else None
        with self._tx() as cur:
            cur.execute(
                "UPDATE investigations SET owner = NULL, lease_until = ?,"
                " status = CASE WHEN status = 'running' THEN 'queued' ELSE status END,"
                " error = COALESCE(?, error) WHERE id = ? AND owner = ?",
                (later, _scrub(error), id, owner),
            )

    def release_all(self, owner: str) -> builtins.list[str]:
        """At a clean stop: every lease ``owner`` holds is given back, so others resume at once (a stop
        is not the work's fault: the attempt does not count)."""
        with self._tx() as cur:
            cur.execute("SELECT id FROM investigations WHERE owner = ?", (owner,))
            held = [row[0] for row in cur.fetchall()]
            cur.execute(
                "UPDATE investigations SET owner = NULL, lease_until = NULL,"
                " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,"
                " status = CASE WHEN status = 'running' THEN 'queued' ELSE status END WHERE owner = ?",
                (owner,),
            )
        return held

    def mark_delivered(self, id: str, owner: str | None = None) -> bool:
        """The note is on the ticket: the work is finished. False when ``owner`` no longer holds it."""
        fence = "" if owner is None else " AND owner = ?"
        with self._tx() as cur:
            cur.execute(
                "UPDATE investigations SET delivered_at = ?, owner = NULL, lease_until = NULL"
                f" WHERE id = ?{fence}",
                (_ts(_now()), id, *([owner] if owner is not None else [])),
            )
            return cur.rowcount > 0

    def promote(self, id: str) -> bool:
        """An agent is waiting for a queued investigation: it goes before background work everywhere."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE investigations SET priority = 'on_demand' WHERE id = ? AND status = 'queued'"
                " AND priority <> 'on_demand'",
                (id,),
            )
            return cur.rowcount > 0

    def pending(self) -> int:
        """How much accepted work no worker holds now (queued, or a note waiting to be delivered)."""
        with self._tx() as cur:
            cur.execute(f"SELECT COUNT(*) FROM investigations WHERE {self._CLAIMABLE}", (_ts(_now()),))
            return int(cur.fetchone()[0])

    def delivery(self, id: str) -> tuple[str | None, datetime | None]:
        """(the Zendesk ticket the note goes to, when it was delivered) for an investigation."""
        with self._tx() as cur:
            cur.execute("SELECT deliver_to, delivered_at FROM investigations WHERE id = ?", (id,))
            row = cur.fetchone()
        return (row[0], _parse_ts(row[1])) if row else (None, None)

    @staticmethod
    def _record(row: Sequence[Any]) -> InvestigationRecord:
        (inv_id, ticket_id, revision, status, source, requested_by, priority, rerun_of) = row[:8]
        created, started, finished, error, diagnosis_json, tenant = row[8:]
        return InvestigationRecord(
            id=inv_id,
            ticket_id=ticket_id,
            revision=revision,
            tenant=tenant,
            status=status,
            created_at=_parse_ts(created) or _now(),
            started_at=_parse_ts(started),
            finished_at=_parse_ts(finished),
            diagnosis=Diagnosis.model_validate_json(diagnosis_json) if diagnosis_json else None,
            error=error,
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
    def _append_event(cur: _Cursor, id: str, event: Event) -> int:
        cur.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE investigation_id = ?", (id,))
        seq = int(cur.fetchone()[0]) + 1
        cur.execute(
            "INSERT INTO events (investigation_id, seq, kind, at, event_json) VALUES (?, ?, ?, ?, ?)",
            (id, seq, event.kind, _ts(event.at), _scrubbed_event(event).model_dump_json()),
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
        now = _ts(_now())
        with self._tx() as cur:
            fence = "" if owner is None else " AND owner = ?"
            cur.execute(
                "UPDATE investigations SET status = 'done', started_at = COALESCE(started_at, ?), finished_at = ?,"
                " error = NULL, diagnosis_json = ?,"
                " attempts = 0, owner = CASE WHEN deliver_to IS NULL THEN NULL ELSE owner END,"
                " lease_until = CASE WHEN deliver_to IS NULL THEN NULL ELSE lease_until END"
                f" WHERE id = ?{fence}",
                (
                    _ts(started_at) if started_at else None,
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
                        _scrub(outcome.error),
                        _ts(outcome.started_at),
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
                started_at=_parse_ts(r[10]) or _now(),
                duration_ms=float(r[11]),
                requested_by=r[12],
                link=json.loads(r[13]) if r[13] else None,
            )
            for r in rows
        ]

    # --------------------------------------------------------------- feedback

    def add_feedback(
        self,
        id: str,
        *,
        bounced: bool,
        article: str | None,
        note: str | None,
        by: str,
        snippet: str | None = None,
        team: str | None = None,
        via: FeedbackVia = "api",
    ) -> FeedbackRecord:
        """Append an entry to investigation ``id``'s feedback history (never replacing one) and return
        it; KeyError when there is no such investigation."""
        entry_id, created = _new_id("fb"), _now()
        with self._tx() as cur:
            cur.execute("SELECT ticket_id FROM investigations WHERE id = ?", (id,))
            row = cur.fetchone()
            if row is None:
                raise KeyError(id)
            cur.execute(
                "INSERT INTO feedback (id, investigation_id, bounced, article, snippet, note, team, via,"
                " by_whom, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry_id,
                    id,
                    1 if bounced else 0,
                    article,
                    _scrub(snippet),
                    _scrub(note),
                    team,
                    via,
                    by,
                    _ts(created),
                ),
            )
        return FeedbackRecord(
            id=entry_id,
            investigation_id=id,
            ticket_id=row[0],
            bounced=bounced,
            article=article,
            snippet=_scrub(snippet),
            note=_scrub(note),
            team=team,
            via=via,
            by=by,
            created_at=created,
        )

    def feedback(
        self, since: datetime | None = None, tenant: str | None = None, investigation: str | None = None
    ) -> builtins.list[FeedbackRecord]:
        """Feedback recorded at or after ``since`` (all when None), oldest first; with ``tenant``,
        only on that tenant's investigations; with ``investigation``, that one's history."""
        sql = (
            "SELECT f.id, f.investigation_id, i.ticket_id, f.bounced, f.article, f.note, f.by_whom, f.created_at,"
            " f.snippet, f.team, f.via"
            " FROM feedback f JOIN investigations i ON i.id = f.investigation_id WHERE 1 = 1"
        )
        params: builtins.list[Any] = []
        if since is not None:
            sql += " AND f.created_at >= ?"
            params.append(_ts(since))
        if tenant is not None:
            sql += " AND i.tenant = ?"
            params.append(tenant)
        if investigation is not None:
            sql += " AND f.investigation_id = ?"
            params.append(investigation)
        sql += " ORDER BY f.created_at, f.id"
        with self._tx() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        return [
            FeedbackRecord(
                id=r[0],
                investigation_id=r[1],
                ticket_id=r[2],
                bounced=bool(r[3]),
                article=r[4],
                note=r[5],
                by=r[6],
                created_at=_parse_ts(r[7]) or _now(),
                snippet=r[8],
                team=r[9],
                via=r[10] or "api",
            )
            for r in rows
        ]


class _Cursor:
    """A DB-API cursor that takes ``?`` placeholders whatever the driver's style."""

    def __init__(self, cursor: Any, dialect: str) -> None:
        self._cursor = cursor
        self._pg = dialect == "postgresql"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        # Our statements never contain a literal "?" or "%", so the rewrite is exact.
        self._cursor.execute(sql.replace("?", "%s") if self._pg else sql, tuple(params))

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> builtins.list[Any]:
        return builtins.list(self._cursor.fetchall())

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def close(self) -> None:
        self._cursor.close()
