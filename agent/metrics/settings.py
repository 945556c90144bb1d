"""``[service.review]``: when and where the weekly review is delivered (off unless ``cron`` is set)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

__all__ = ["ReviewSettings"]

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # any time: the cron expression is only parsed


class ReviewSettings(BaseModel):
    cron: str | None = Field(
        default=None,
        description="when the weekly review is written and posted, a cron expression in UTC "
        "(e.g. '0 8 * * MON'); unset: never",
    )
    since: str = Field(default="7d", description="the window each review covers, before its slot")
    channel: str | None = Field(default=None, description="Slack channel the review is posted to")
    directory: Path = Field(default=Path(".casefile/reviews"), description="where the Markdown files go")
    catch_up_s: float = Field(
        default=3600, ge=0, description="a slot missed by more than this (the service was down) is skipped"
    )
    lease_s: float = Field(default=600, gt=0, description="a replica's hold on a slot while it runs it")
    poll_s: float = Field(default=300, gt=0, description="how often a replica looks for a due slot")

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from cronsim import CronSim, CronSimError

        try:
            CronSim(value, _EPOCH)
        except CronSimError as exc:
            raise ValueError(f"not a cron expression ({exc}): use five fields, e.g. '0 8 * * MON'") from None
        return value.strip()

    @field_validator("since")
    @classmethod
    def _valid_since(cls, value: str) -> str:
        from casefile.agent.errors import UsageError
        from casefile.agent.routing_cli import parse_since

        try:
            parse_since(value)
        except UsageError as exc:
            raise ValueError(str(exc).removeprefix("--since ")) from None
        return value
