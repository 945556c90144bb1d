"""The logs connector's query path: every statement read-only, bounded and run on its own
thread; the operations (one module a kind of log) build on it."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import math
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import clickhouse_connect

from casefile.tools import deadline as deadlines
from casefile.tools.base import Connector
from casefile.tools.daemon import DaemonCalls
from casefile.tools.errors import ReadOnlyViolation, SourceUnavailable
from casefile.tools.logs.common import BUILTIN_MAX_RESULT_ROWS, SOURCE, Result, Table, ident
from casefile.tools.logs.errors import settable, translate_error
from casefile.tools.logs.pool import ClientPool
from casefile.tools.logs.values import param_ts
from casefile.tools.settings import LogsSettings

__all__ = ["LogsEngine"]

P = ParamSpec("P")
R = TypeVar("R")


def _on_own_thread(
    method: Callable[Concatenate[LogsEngine, P], R],
) -> Callable[Concatenate[LogsEngine, P], Awaitable[R]]:
    """The async form of a blocking engine method: the same call, run on the engine's executor."""

    async def run(self: LogsEngine, /, *args: P.args, **kwargs: P.kwargs) -> R:
        # In the caller's context, so the query sees the investigation's deadline (executors don't copy it).
        call = functools.partial(contextvars.copy_context().run, method, self, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    return run


class LogsEngine(Connector):
    """The connection and query path the logs operations share."""

    def __init__(self, settings: LogsSettings, *, client: Any | None = None) -> None:
        self.settings = settings
        self._owns_clients = client is None
        self._pool = self._new_pool(client)
        self._executor = DaemonCalls("clickhouse")  # a query stuck in its socket never holds the exit
        ident(settings.database)
        for name in settings.allowed_tables:
            ident(name)
        self.requests = Table(settings.requests, settings.database)
        self.webhooks = Table(settings.webhooks, settings.database)
        self.sso = Table(settings.sso, settings.database)
        self._columns: dict[str, set[str]] = {}

    # ---- query path

    def _new_pool(self, client: Any | None) -> ClientPool:
        size = self.settings.max_concurrent_queries
        if client is None:
            return ClientPool(self._connect, size)
        if type(client).__name__ == "ChdbClient":  # a world's engine: more handles on it
            # In-process queries compete for this machine's cores: more would only queue.
            size = min(size, 2 * (os.cpu_count() or 1))
            from casefile.tools.world.chdb import ENGINE_LOCK, new_embedded_client

            path = str(getattr(client, "path", ":memory:"))
            return ClientPool(lambda: new_embedded_client(path), size, first=client, hold=ENGINE_LOCK.shared)
        return ClientPool(None, 1, first=client)

    def _connect(self) -> Any:
        if not self.settings.dsn:
            raise SourceUnavailable(SOURCE, "no ClickHouse DSN configured (logs.dsn)")
        try:
            return clickhouse_connect.get_client(dsn=self.settings.dsn)
        except Exception as exc:
            raise translate_error(exc) from None

    def _query_settings(self, max_result_rows: int, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        s = self.settings
        # The engine stops at the investigation's deadline too, not only at its own limit: a query the
        # deadline gave up on would otherwise hold a pooled client and a core until that limit.
        left = deadlines.remaining()
        settings: dict[str, Any] = {
            "max_execution_time": s.max_execution_time_s
            if math.isinf(left)
            else min(s.max_execution_time_s, max(1, math.ceil(left))),
            "max_memory_usage": s.max_memory_usage,
            "max_rows_to_read": s.max_rows_to_read,
            "max_bytes_to_read": s.max_bytes_to_read,
            "max_result_rows": max_result_rows,
            "max_result_bytes": s.max_result_bytes,
            "result_overflow_mode": "throw",
            "read_overflow_mode": "throw",
            "timeout_overflow_mode": "throw",
        }
        if s.max_memory_usage_for_user:
            settings["max_memory_usage_for_user"] = s.max_memory_usage_for_user
        settings.update(extra or {})
        # Last: once readonly is applied, no other setting may change.
        settings["readonly"] = 1
        return settings

    def _send(
        self,
        sql: str,
        parameters: Mapping[str, Any] | None,
        max_result_rows: int,
        extra: Mapping[str, Any] | None = None,
    ) -> Result:
        """Run one statement with the read-only settings; the lowest layer, no checks of its own."""
        with self._pool.lease() as client:
            try:
                settings = settable(client, self._query_settings(max_result_rows, extra))
                result = client.query(sql, parameters=dict(parameters or {}), settings=settings)
            except Exception as exc:
                raise translate_error(exc) from None
        return Result(list(result.column_names), [tuple(row) for row in result.result_rows])

    def _query_sync(
        self,
        sql: str,
        parameters: Mapping[str, Any] | None = None,
        max_result_rows: int = BUILTIN_MAX_RESULT_ROWS,
        extra: Mapping[str, Any] | None = None,
    ) -> Result:
        context = self._pool.any().create_query_context(query=sql, parameters=dict(parameters or {}))
        if context.is_command or context.is_insert:
            raise ReadOnlyViolation(SOURCE, "only SELECT statements are sent to ClickHouse")
        return self._send(sql, parameters, max_result_rows, extra)

    # Own threads, one per client: queries waiting on a slow server neither queue behind
    # asyncio's small default executor nor starve its other users.
    _query = _on_own_thread(_query_sync)

    async def _table_columns(self, table: Table) -> set[str]:
        """Column names of a mapped table, for the optional columns some operations show."""
        key = table.name
        if key not in self._columns:
            db, name = self._split(table.mapping.table)
            result = await self._query(
                "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String}",
                {"db": db, "t": name},
            )
            self._columns[key] = {str(r[0]) for r in result.rows}
        return self._columns[key]

    def _split(self, table: str) -> tuple[str, str]:
        if "." in table:
            db, name = table.split(".", 1)
            return db, name
        return self.settings.database, table

    async def _optional(self, table: Table, names: Iterable[str]) -> dict[str, str]:
        """``{name: sql}`` selecting each optional column, or NULL when the table lacks it."""
        present = await self._table_columns(table)
        return {n: (ident(n) if n in present else "NULL") for n in names}

    @staticmethod
    def _window_params(account: str | None, t0: datetime, t1: datetime, **extra: Any) -> dict[str, Any]:
        params: dict[str, Any] = {"t0": param_ts(t0), "t1": param_ts(t1), **extra}
        if account is not None:
            params["account"] = account
        return params

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False)
        # The embedded engine outlives connectors; only a client we built is ours to close.
        if self._owns_clients:
            for client in self._pool.clients:
                await asyncio.to_thread(client.close)
