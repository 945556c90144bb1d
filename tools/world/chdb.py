"""The process-wide embedded ClickHouse engine (chdb) that worlds load their logs into.

chdb runs one engine with one data path per process, and two processes cannot
share a path, so every world of a process lives in that one in-memory engine,
each in its own database (the world loader names it after a hash of the
world's files, which makes loading idempotent). Queries from several handles
run in parallel (chdb 4 allows it; clickhouse-connect serialises the calls on
one handle), so the logs connector keeps a few handles from
:func:`new_embedded_client`. Creating, loading and dropping tables must not
overlap a query, so :data:`ENGINE_LOCK` is a shared/exclusive lock: queries
hold it shared, loads exclusive.

Each ``clickhouse_connect.get_client(dsn="chdb://:memory:")`` is its own
session on the same engine and sees the same data. Session state matters
because clickhouse-connect's chdb backend applies the settings of a non-SELECT
statement with ``SET`` and restores them afterwards, which fails once
``readonly=1`` is set: the session stays read-only. Loading therefore uses the
singleton from :func:`embedded_client`, and the logs connector never sends a
non-SELECT statement to the engine (see ``tools/logs/engine.py``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import clickhouse_connect
import sqlglot
from clickhouse_connect.driver import Client
from sqlglot import exp

from casefile.tools.base import parse_ts

__all__ = [
    "ENGINE_LOCK",
    "EngineLock",
    "embedded_client",
    "load_tables",
    "new_embedded_client",
    "parse_schema",
]


class EngineLock:
    """Many queries at once (shared), or one load (exclusive, re-entrant for its thread).

    A waiting load blocks new queries, so a steady stream of queries cannot starve it.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._owner: int | None = None
        self._depth = 0
        self._writers_waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:  # the loading thread may query what it loads
                counted = False
            else:
                while self._owner is not None or self._writers_waiting:
                    self._cond.wait()
                self._readers += 1
                counted = True
        try:
            yield
        finally:
            if counted:
                with self._cond:
                    self._readers -= 1
                    if self._readers == 0:
                        self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
            else:
                self._writers_waiting += 1
                while self._owner is not None or self._readers:
                    self._cond.wait()
                self._writers_waiting -= 1
                self._owner, self._depth = me, 1
        try:
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None
                    self._cond.notify_all()


# Queries hold it shared, loads and DDL exclusive.
ENGINE_LOCK = EngineLock()

_client: Client | None = None
_client_guard = threading.Lock()


def embedded_client() -> Client:
    """The process's embedded chdb client (``chdb://:memory:``), created on first use."""
    global _client
    with _client_guard:
        if _client is None:
            _client = clickhouse_connect.get_client(dsn="chdb://:memory:")
        return _client


def new_embedded_client(path: str = ":memory:") -> Client:
    """Another handle on the process's engine at ``path``: its own session, queried in parallel.

    chdb hosts one engine per process and refuses a handle on any other path.
    """
    return clickhouse_connect.get_client(dsn=f"chdb://{path}")


def parse_schema(schema_sql: str, database: str) -> list[tuple[str, str, dict[str, str]]]:
    """Split ``CREATE TABLE`` statements and qualify each table with ``database``.

    Returns ``(table, create_sql, {column: type})`` per table, in file order.
    """
    return [(name, sql, dict(columns)) for name, sql, columns in _qualified(schema_sql, database)]


@functools.lru_cache(maxsize=512)
def _qualified(schema_sql: str, database: str) -> tuple[tuple[str, str, dict[str, str]], ...]:
    # Every overlay of a world shares its base's schema text: parse it once, qualify a copy per database.
    tables = []
    for name, statement, columns in _parsed(schema_sql):
        qualified = statement.copy()
        table = qualified.find(exp.Table)
        assert table is not None  # checked by _parsed
        table.set("db", exp.to_identifier(database))
        tables.append((name, qualified.sql(dialect="clickhouse", comments=False), columns))
    return tuple(tables)


@functools.lru_cache(maxsize=64)
def _parsed(schema_sql: str) -> tuple[tuple[str, exp.Expression, dict[str, str]], ...]:
    tables = []
    for statement in sqlglot.parse(schema_sql, read="clickhouse"):
        if statement is None:
            continue
        if not isinstance(statement, exp.Create) or str(statement.args.get("kind", "")).upper() != "TABLE":
            raise ValueError(
                f"schema.sql may only hold CREATE TABLE statements, found: {statement.sql()[:80]}"
            )
        table = statement.find(exp.Table)
        if table is None:
            raise ValueError("CREATE TABLE without a table name")
        columns = {
            col.name: col.args["kind"].sql(dialect="clickhouse")
            for col in statement.find_all(exp.ColumnDef)
            if col.args.get("kind") is not None
        }
        tables.append((table.name, statement, columns))
    return tuple(tables)


def _existing_tables(client: Client, database: str) -> set[str]:
    rows = client.query(
        "SELECT name FROM system.tables WHERE database = {db:String}", parameters={"db": database}
    ).result_rows
    return {str(row[0]) for row in rows}


def _to_datetime(value: Any) -> Any:
    # World files carry ISO 8601 strings ("2026-11-20T08:12:00.123Z"); the driver wants datetimes.
    if isinstance(value, str):
        parsed = parse_ts(value)
        if parsed is None:
            raise ValueError(f"not an ISO 8601 timestamp: {value!r}")
        return parsed
    return value


def load_tables(
    client: Client, database: str, schema_sql: str, tables: Mapping[str, Mapping[str, Sequence[Any]]]
) -> None:
    """Create ``database`` with the tables of ``schema_sql`` and insert column-oriented rows.

    ``tables`` maps a table name to ``{column: [values...]}``; every column list
    of a table has the same length and omitted columns take their defaults.
    Idempotent: when the database already holds every table of the schema,
    nothing happens (the database name identifies the world's content). A
    database left half-loaded by an earlier failure is dropped and rebuilt.
    """
    ident = exp.to_identifier(database, quoted=True).sql(dialect="clickhouse")
    schema = parse_schema(schema_sql, database)
    unknown = set(tables) - {name for name, _, _ in schema}
    if unknown:
        raise ValueError(f"rows for tables not in schema.sql: {sorted(unknown)}")
    with ENGINE_LOCK.exclusive():
        existing = _existing_tables(client, database)
        if existing and {name for name, _, _ in schema} <= existing:
            return
        if existing:
            client.command(f"DROP DATABASE IF EXISTS {ident}")
        client.command(f"CREATE DATABASE IF NOT EXISTS {ident}")
        try:
            for name, create_sql, column_types in schema:
                client.command(create_sql)
                data = tables.get(name)
                if not data:
                    continue
                names = list(data)
                lengths = {len(data[col]) for col in names}
                if len(lengths) != 1:
                    raise ValueError(f"columns of {name} have different lengths: {sorted(lengths)}")
                columns = [
                    [_to_datetime(v) for v in data[col]]
                    if column_types.get(col, "").startswith("DateTime")
                    else list(data[col])
                    for col in names
                ]
                if lengths.pop() == 0:
                    continue
                client.insert(name, columns, column_names=names, database=database, column_oriented=True)
        except Exception:
            client.command(f"DROP DATABASE IF EXISTS {ident}")
            raise
