"""The base of every tool's argument model, and of those with a time window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from casefile.tools.values import as_utc

__all__ = ["ToolArgs", "WindowedArgs", "how_many", "search_text"]


def search_text(description: str, *, max_length: int, min_length: int = 2) -> Any:
    """A required free-text argument searched by: never empty, never unbounded."""
    return Field(min_length=min_length, max_length=max_length, description=description)


def how_many(default: int, *, most: int, description: str | None = None) -> Any:
    """How many results a tool returns: ``default`` unless asked, from 1 to ``most``."""
    return Field(default=default, ge=1, le=most, description=description)


class ToolArgs(BaseModel):
    """Base for argument models: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class WindowedArgs(ToolArgs):
    """Arguments with a ``start``/``end`` window (the subclass declares both): read as UTC, ``end``
    after ``start``, at most ``max_window`` apart."""

    max_window: ClassVar[timedelta] = timedelta(days=31)

    @field_validator("start", "end", check_fields=False)
    @classmethod
    def _as_utc(cls, value: datetime) -> datetime:
        return as_utc(value)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        start: datetime = getattr(self, "start")  # noqa: B009  (declared by the subclass)
        end: datetime = getattr(self, "end")  # noqa: B009
        if end <= start:
            raise ValueError("end must be after start")
        if end - start > self.max_window:
            raise ValueError(f"the window may span at most {self.max_window.days} days")
        return self
