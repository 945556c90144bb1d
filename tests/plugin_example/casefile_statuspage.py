"""A third-party connector in one file: the public status page's incidents (a test plug-in).

Installed as its own distribution, it reaches casefile only through the ``casefile.connectors``
entry point declared in the pyproject.toml beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, SecretStr

from casefile.tools.base import CallContext, Connector, ToolArgs, ToolOutcome, operation
from casefile.tools.connector_types import LinkContext, SourceLink, StandIns
from casefile.tools.settings import ConnectorSettings


class StatusPageSettings(BaseModel):
    page: str = "status.example.com"
    token: SecretStr | None = None


class IncidentsArgs(ToolArgs):
    component: str = "api"


class StatusPageConnector(Connector):
    """Incidents published on the company's status page."""

    source: ClassVar[str] = "statuspage"
    settings_key: ClassVar[str | None] = "statuspage"
    settings_model: ClassVar[type[BaseModel] | None] = StatusPageSettings
    env_vars: ClassVar[Mapping[str, str]] = {"STATUSPAGE_TOKEN": "token"}

    @classmethod
    def not_configured(cls, settings: ConnectorSettings) -> str | None:
        token = settings.section("statuspage", StatusPageSettings).token
        return None if token is not None else "not configured (set STATUSPAGE_TOKEN)"

    @classmethod
    def build(cls, settings: ConnectorSettings, world: StandIns | None = None) -> StatusPageConnector:
        return cls(settings.section("statuspage", StatusPageSettings))

    @classmethod
    def source_link(cls, outcome: ToolOutcome, context: LinkContext) -> SourceLink | None:
        return SourceLink(label="Status page", url=f"https://{outcome.data['page']}/")

    def __init__(self, settings: StatusPageSettings) -> None:
        self.settings = settings

    @operation("statuspage_incidents", IncidentsArgs)
    async def incidents(self, args: IncidentsArgs, ctx: CallContext) -> dict[str, Any]:
        """Open incidents on the status page for one component."""
        return {
            "page": self.settings.page,
            "incidents": [{"id": "inc-9f3", "component": args.component, "status": "investigating"}],
        }
