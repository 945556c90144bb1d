"""logs_sql and logs_schema: a model's own SELECT, guarded and scoped to the account."""

from __future__ import annotations

from typing import Any

from casefile.tools.base import CallContext, operation
from casefile.tools.errors import ScopeViolation
from casefile.tools.logs.args import SchemaArgs, SqlArgs
from casefile.tools.logs.common import SOURCE
from casefile.tools.logs.engine import LogsEngine
from casefile.tools.logs.render import render_schema, render_sql
from casefile.tools.logs.values import plain
from casefile.tools.sqlguard import SqlScope, guard_sql, scope_filter
from casefile.tools.sqlprovenance import sql_evidence

__all__ = ["ModelSql"]


class ModelSql(LogsEngine):
    """logs_sql and logs_schema."""

    @operation("logs_sql", SqlArgs, render=render_sql, evidence=sql_evidence)
    async def sql(self, args: SqlArgs, ctx: CallContext) -> dict[str, Any]:
        """Run one read-only ClickHouse SELECT over the log tables (see logs_schema).

        For questions the other logs tools do not answer. Only SELECT over the allowed
        tables, with common aggregate, arithmetic, string, date, conditional and
        conversion functions; no table functions, SETTINGS or FORMAT; results are
        capped (truncated is true when more rows matched). Every table shows only the
        investigation's account's rows; filter a ts range and aggregate.
        """
        max_rows = self.settings.max_rows

        def guarded(scope: SqlScope | None) -> str:
            # One extra row tells "exactly max_rows" from "more than max_rows".
            return guard_sql(
                args.sql,
                allowed_tables=self.settings.allowed_tables,
                database=self.settings.database,
                max_rows=max_rows + 1,
                scope=scope,
            )

        if ctx.account_id is None:
            guarded(None)  # a hostile query is refused as such, account or not
            raise ScopeViolation(SOURCE, ctx.refusal())
        scope = SqlScope(ctx.account_id, self._account_columns())
        safe = guarded(scope)
        result = await self._query(
            safe,
            None,
            max_result_rows=max_rows + 1,
            extra={"additional_table_filters": self._row_filters(scope)},
        )
        rows = [[plain(v) for v in row] for row in result.rows[:max_rows]]
        return {
            "sql": safe,
            "columns": result.columns,
            "rows": rows,
            "row_count": len(rows),
            "truncated": len(result.rows) > max_rows,
        }

    def _account_columns(self) -> dict[str, str]:
        """Each allowed table's account column: the mapped tables' own, else ``account_column``."""
        columns = dict.fromkeys(self.settings.allowed_tables, self.settings.account_column)
        for mapping in (self.settings.requests, self.settings.webhooks, self.settings.sso):
            db, name = self._split(mapping.table)
            if db == self.settings.database and name in columns:
                columns[name] = mapping.account
        return columns

    def _row_filters(self, scope: SqlScope) -> dict[str, str]:
        """The same account filter as an engine setting (``additional_table_filters``), a second
        layer where the server lets it be set: the engine applies it to every read of the table.
        """
        return {
            f"{self.settings.database}.{table}": scope_filter(column, scope.account_id).sql(
                dialect="clickhouse"
            )
            for table, column in scope.columns.items()
        }

    @operation("logs_schema", SchemaArgs, render=render_schema)
    async def schema(self, args: SchemaArgs, ctx: CallContext) -> dict[str, Any]:
        """The columns and types of the log tables logs_sql may query."""
        names = list(self.settings.allowed_tables)
        result = await self._query(
            "SELECT table, name, type FROM system.columns WHERE database = {db:String} "
            "AND table IN {tables:Array(String)} ORDER BY table, position",
            {"db": self.settings.database, "tables": names},
        )
        tables: dict[str, list[dict[str, str]]] = {name: [] for name in names}
        for table, name, type_ in result.rows:
            tables[str(table)].append({"name": str(name), "type": str(type_)})
        return {"tables": {k: v for k, v in tables.items() if v}}
