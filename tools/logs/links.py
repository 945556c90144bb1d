"""The ClickHouse query a person can rerun beside a logs result."""

from __future__ import annotations

from typing import Any

from casefile.tools.base import ToolOutcome

__all__ = ["equivalent_query"]

# The table each built-in operation reads, for the query a person can rerun beside the evidence.
_LINK_TABLES = {
    "logs_error_summary": "requests",
    "logs_latency": "requests",
    "logs_recent_requests": "requests",
    "logs_top_errors": "requests",
    "logs_webhook_deliveries": "webhook_deliveries",
    "logs_sso_logins": "sso_logins",
}


def _sql_literal(value: Any) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def equivalent_query(outcome: ToolOutcome) -> str | None:
    args = outcome.arguments
    if outcome.tool == "logs_sql":
        sql = args.get("sql")
        if not sql and isinstance(outcome.data, dict):
            sql = outcome.data.get("sql")
        return str(sql) if sql else None
    table = _LINK_TABLES.get(outcome.tool)
    if table is None:
        return None
    where = []
    if args.get("account_id"):
        where.append(f"account_id = {_sql_literal(args['account_id'])}")
    if args.get("start"):
        where.append(f"ts >= {_sql_literal(args['start'])}")
    if args.get("end"):
        where.append(f"ts < {_sql_literal(args['end'])}")
    if args.get("status"):
        where.append(f"status = {int(args['status'])}")
    if args.get("path"):
        where.append(f"path = {_sql_literal(args['path'])}")
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    return f"SELECT * FROM {table}{clause} ORDER BY ts DESC LIMIT 100"
