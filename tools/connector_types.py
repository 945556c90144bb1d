"""The types a connector's class hooks take and return: the world stand-ins it can be built on
(:meth:`Connector.build`) and the link it gives beside a result (:meth:`Connector.source_link`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

__all__ = ["LinkContext", "SourceLink", "StandIns"]


class SourceLink(BaseModel):
    """The link beside a piece of evidence: the source system's own page, or the query to rerun."""

    label: str
    url: str | None = None
    query: str | None = None


class LinkContext(BaseModel):
    """What a link may use besides the call itself: the account's directory entry, deployment URLs."""

    account: dict[str, Any] = Field(default_factory=dict)
    clickhouse_play_url: str | None = None


class StandIns(Protocol):
    """What a world offers connectors instead of the live systems."""

    @property
    def path(self) -> Path:
        """The world's directory (files some connectors read, e.g. SSO snapshots)."""
        ...

    @property
    def transport(self) -> Any:
        """An httpx transport serving the emulated HTTP APIs."""
        ...

    def clickhouse(self) -> Any:
        """The embedded ClickHouse client with the world's tables loaded."""
        ...
