"""Typed view of ``sso_check`` (the ``sso`` connector's result)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SsoCheck"]


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Certificate(_View):
    use: str | None = None
    subject: str = ""
    not_after: str | None = None
    expired: bool = False
    sha1: str | None = None


class SsoCheck(_View):
    vendor: str | None = None
    entity_id: str | None = None
    certificates: list[Certificate] = Field(default_factory=list)
    configured_cert_sha1: str | None = None
    configured_cert_present: bool | None = None
    signing_cert_expired: bool = False
    problems: list[str] = Field(default_factory=list)
