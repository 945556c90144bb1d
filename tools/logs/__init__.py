"""The ``logs`` connector: request, webhook and SSO logs in ClickHouse.

Every built-in operation is an aggregate over one account's time range, built
from the logical fields of :class:`~casefile.tools.settings.LogTableMap` (so a customer
whose columns are named differently only changes configuration) and filtered on
the ``(account_id, ts)`` sort key, so a query reads one account's slice of the
table however large it grows. ``logs_sql`` lets a model ask anything else,
through :func:`casefile.tools.sqlguard.guard_sql`.

Read-only in depth:

1. model SQL passes the guard (one SELECT, allow-listed tables, no table
   functions, no SETTINGS, forced LIMIT);
2. only SELECT-like text ever reaches the client: clickhouse-connect routes
   other statements through a path that, on chdb, would leave the session stuck
   in ``readonly`` mode (see ``tools/world/chdb.py``);
3. every query, built-in ones included, runs with ``readonly=1`` (which blocks
   writes and the ``file()``/``url()`` table functions), ``max_execution_time``
   and ``max_result_rows`` with ``result_overflow_mode='throw'``. ``readonly``
   comes last: once it is applied no other setting may change.

Values are always bound as query parameters (``{name:Type}``); identifiers come
only from settings and are validated.

Modules: ``connector`` (the class, made of one part a kind of log: ``requests``, ``latency``,
``webhooks``, ``sso``, ``sql``, over the query path in ``engine`` and its client ``pool``),
``args``, ``render``, ``spike`` (spike detection), ``errors`` (ClickHouse errors mapped),
``links``, ``common``.
"""

from __future__ import annotations

from casefile.tools.logs.args import (
    ErrorSummaryArgs,
    LatencyArgs,
    RecentRequestsArgs,
    SchemaArgs,
    SqlArgs,
    TopErrorsArgs,
    WindowArgs,
)
from casefile.tools.logs.connector import ClickHouseConnector
from casefile.tools.logs.errors import settable, translate_error
from casefile.tools.logs.spike import Bucket, Spike, detect_spike

__all__ = [
    "Bucket",
    "ClickHouseConnector",
    "ErrorSummaryArgs",
    "LatencyArgs",
    "RecentRequestsArgs",
    "SchemaArgs",
    "Spike",
    "SqlArgs",
    "TopErrorsArgs",
    "WindowArgs",
    "detect_spike",
    "settable",
    "translate_error",
]
