"""The store's connection and schema: SQLite or PostgreSQL behind one SQL code path, the tables
created (and later columns added) once per database, one transaction at a time, ``?`` placeholders
in every dialect. :class:`Database` is the base the store's parts (investigations, jobs, feedback)
share; the helpers here are the one way they write times, ids and scrubbed text."""

from __future__ import annotations

import builtins
import contextlib
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from casefile.agent.errors import ConfigError, UnavailableError
from casefile.agent.redact import redact
from casefile.agent.store.pglink import PgLink, StoreUnavailable

__all__ = ["DEFAULT_DATABASE_URL", "Cursor", "Database"]

DEFAULT_DATABASE_URL = "sqlite:///.casefile/casefile.sqlite3"

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

# SQLite's messages for a store that cannot take a write now (SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY).
_SQLITE_UNAVAILABLE = ("database or disk is full", "disk I/O error", "database is locked")

# pg_advisory_lock key held while the schema is created or migrated ("casefile" in ASCII).
_SCHEMA_LOCK_KEY = 0x63617365_66696C65

_INVESTIGATION_COLUMNS = (
    "id, ticket_id, revision, status, source, requested_by, priority, rerun_of, "
    "created_at, started_at, finished_at, error, diagnosis_json, tenant"
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def db_time(value: datetime) -> str:
    # Fixed width, UTC, microseconds: text comparison is time comparison.
    if value.tzinfo is None:
        raise ValueError("store times need a timezone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_db_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def scrub(text: str | None) -> str | None:
    return None if text is None else redact(text)[0]


class Database:
    """One connection (SQLite or PostgreSQL) with the schema in place; see :mod:`casefile.agent.store`.

    ``url`` defaults to ``$CASEFILE_DATABASE_URL``, then ``sqlite:///.casefile/casefile.sqlite3``.
    ``sqlite:///:memory:`` gives a private in-memory database (tests).
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or os.environ.get("CASEFILE_DATABASE_URL") or DEFAULT_DATABASE_URL
        self._lock = threading.RLock()
        self._sqlite: sqlite3.Connection | None = None
        self._pg: PgLink | None = None
        if self.url.startswith("sqlite://"):
            self.dialect = "sqlite"
            self._sqlite = self._open_sqlite(self.url)
        elif self.url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            self.dialect = "postgresql"
            self._pg = PgLink(self.url)
        else:
            raise ConfigError(f"unsupported database URL scheme: {self.url.split(':', 1)[0]!r}")
        try:
            with self._schema_lock():
                with self._tx() as cur:
                    for statement in _SCHEMA:
                        cur.execute(statement)
                self._migrate()
        except BaseException:
            self.close()  # a PostgreSQL link given up on would go on reconnecting for no one
            raise

    @contextmanager
    def _schema_lock(self) -> Iterator[None]:
        """Replicas starting at once must not create or migrate the schema at the same time
        (PostgreSQL's CREATE TABLE IF NOT EXISTS races; two ALTERs of one column collide)."""
        if self.dialect != "postgresql":
            yield  # SQLite: BEGIN IMMEDIATE already lets one process at a time in
            return
        with self._tx() as cur:
            cur.execute("SELECT pg_advisory_lock(?)", (_SCHEMA_LOCK_KEY,))
        try:
            yield
        finally:
            with self._tx() as cur:
                cur.execute("SELECT pg_advisory_unlock(?)", (_SCHEMA_LOCK_KEY,))

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

    def close(self) -> None:
        with self._lock:
            if self._pg is not None:
                self._pg.close()
            if self._sqlite is not None:
                self._sqlite.close()

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        if self._pg is not None:
            with self._pg.answering() as conn:  # bounded in time: pglink.py
                yield conn
            return
        try:
            yield self._sqlite
        except sqlite3.OperationalError as exc:
            # A full disk, an I/O error, a lock held past busy_timeout: the store failed, not the
            # caller's work (the service retries such work rather than recording it as failed).
            if any(why in str(exc) for why in _SQLITE_UNAVAILABLE):
                raise StoreUnavailable(
                    f"the store ({self.url.split('://', 1)[-1]}) refused the write: {exc}"
                ) from exc
            raise

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """One transaction on the shared connection; ``?`` placeholders in every dialect."""
        with self._lock, self._connection() as conn:
            cur = Cursor(conn.cursor(), self.dialect)
            # IMMEDIATE: take SQLite's write lock up front, so a read-then-write
            # transaction never fails to upgrade when another process writes too.
            cur.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
            try:
                yield cur
            except BaseException:
                # SQLite rolls back by itself on a full disk: a second ROLLBACK would fail and hide why.
                with contextlib.suppress(Exception):
                    cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def _clock(self, cur: Cursor) -> datetime:
        """Now by the store's clock, for leases: PostgreSQL's is one clock for every replica (their own
        may disagree or jump, and a lease written by one clock and read by another was taken while
        it was live); SQLite's processes share a host, and so its clock."""
        if self.dialect != "postgresql":
            return utc_now()
        cur.execute("SELECT clock_timestamp()")
        now: datetime = cur.fetchone()[0]
        return now.astimezone(UTC)

    def _rows(self, sql: str, filters: Sequence[tuple[str, Any]], order: str) -> builtins.list[Any]:
        """The rows of ``sql`` (ending in its WHERE clause) with each ``(condition, value)`` whose
        value is not None ANDed on, in ``order``."""
        present = [(condition, value) for condition, value in filters if value is not None]
        sql += "".join(f" AND {condition}" for condition, _ in present)
        with self._tx() as cur:
            cur.execute(f"{sql} ORDER BY {order}", [value for _, value in present])
            rows: list[Any] = cur.fetchall()
            return rows

    def _is_unique_violation(self, exc: BaseException) -> bool:
        if isinstance(exc, sqlite3.IntegrityError):
            return True
        return type(exc).__name__ == "UniqueViolation"


class Cursor:
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
