"""The ``logs`` connector: its class, made of the operations of each kind of log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from casefile.tools.base import LinkContext, SourceLink, StandIns, ToolOutcome
from casefile.tools.logs.latency import RequestTimings
from casefile.tools.logs.links import equivalent_query
from casefile.tools.logs.requests import RequestErrors
from casefile.tools.logs.sql import ModelSql
from casefile.tools.logs.sso import SsoLogins
from casefile.tools.logs.webhooks import WebhookDeliveries
from casefile.tools.settings import ConnectorSettings

__all__ = ["ClickHouseConnector"]


class ClickHouseConnector(RequestErrors, RequestTimings, WebhookDeliveries, SsoLogins, ModelSql):
    """Request, webhook-delivery and SSO-login logs in ClickHouse, read-only.

    With ``client`` given (a world's embedded chdb client) it is used as is and
    ``settings.database`` names the world's database; otherwise a client is
    built on first use from ``settings.dsn``.
    """

    source: ClassVar[str] = "logs"

    @classmethod
    def build(cls, settings: ConnectorSettings, world: StandIns | None = None) -> ClickHouseConnector:
        return cls(settings.logs, client=world.clickhouse() if world is not None else None)

    settings_key: ClassVar[str | None] = "logs"
    env_vars: ClassVar[Mapping[str, str]] = {"CLICKHOUSE_DSN": "dsn"}
    configured_by: ClassVar[tuple[str, ...]] = ("dsn",)

    @classmethod
    def source_link(cls, outcome: ToolOutcome, context: LinkContext) -> SourceLink | None:
        """The equivalent ClickHouse query, linked to ClickHouse Play when its URL is configured."""
        query = equivalent_query(outcome)
        if query is None:
            return None
        url = f"{context.clickhouse_play_url}#{quote(query)}" if context.clickhouse_play_url else None
        return SourceLink(label="ClickHouse query", query=query, url=url)

    def runbook_names(self) -> dict[str, Any]:
        """The mapped log tables' names (``logs.requests.table``, ``.time``, ``.account``, ``.status``…),
        so a runbook's SQL reads any company's log schema, not the demo's column names."""
        s = self.settings
        return {
            name: m.model_dump()
            for name, m in (("requests", s.requests), ("webhooks", s.webhooks), ("sso", s.sso))
        }
