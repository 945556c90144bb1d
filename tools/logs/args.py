"""The arguments of the logs operations (what the model sees as each tool's schema)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from casefile.tools.args import how_many
from casefile.tools.base import AccountId, OptionalAccountId, ToolArgs, WindowedArgs
from casefile.tools.logs.common import MAX_RECENT
from casefile.tools.logs.values import as_utc

__all__ = [
    "ErrorSummaryArgs",
    "LatencyArgs",
    "RecentRequestsArgs",
    "SchemaArgs",
    "SqlArgs",
    "TopErrorsArgs",
    "WindowArgs",
]


class WindowArgs(WindowedArgs):
    account_id: AccountId = Field(description="Account id from the account directory, e.g. 'acct_42'.")
    start: datetime = Field(description="Window start, ISO 8601 UTC, e.g. 2026-11-20T00:00:00Z.")
    end: datetime = Field(description="Window end (exclusive), ISO 8601 UTC.")


class ErrorSummaryArgs(WindowArgs):
    status: int | None = Field(
        default=None, ge=100, le=599, description="Count only this HTTP status as an error (e.g. 429)."
    )
    path: str | None = Field(default=None, description="Only this route template, e.g. /v1/invoices.")
    baseline_days: int = Field(default=7, ge=0, le=30, description="Days before start used as the baseline.")


class LatencyArgs(WindowedArgs):
    account_id: OptionalAccountId = Field(
        default=None, description="One account, or null for the whole platform."
    )
    start: datetime
    end: datetime
    path: str | None = Field(default=None, description="Only this route template.")
    baseline_days: int = Field(default=7, ge=0, le=30)


class RecentRequestsArgs(ToolArgs):
    account_id: AccountId
    limit: int = how_many(50, most=MAX_RECENT, description="How many requests, newest first (≤ 200).")
    status: int | None = Field(default=None, ge=100, le=599, description="Only this HTTP status.")
    path: str | None = Field(default=None, description="Only this route template.")
    before: datetime | None = Field(
        default=None, description="Requests before this time; default: ticket time."
    )

    @field_validator("before")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


class TopErrorsArgs(WindowArgs):
    path: str | None = Field(default=None, description="Only this route template.")
    statuses: list[int] = Field(
        default_factory=list,
        max_length=10,
        description="Statuses the customer reports (e.g. [503]): their rows come first whatever their count.",
    )


class SqlArgs(ToolArgs):
    sql: str = Field(
        description="One ClickHouse SELECT over the allowed tables (see logs_schema). Always filter "
        "account_id and a ts range; results are capped."
    )


class SchemaArgs(ToolArgs):
    pass
