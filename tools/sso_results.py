"""Typed view of ``sso_check`` (the ``sso`` connector's result)."""

from __future__ import annotations

from pydantic import Field

from casefile.tools.values import ResultView

__all__ = ["SsoCheck"]


class Certificate(ResultView):
    use: str | None = None
    for_signing: bool | None = None
    subject: str = ""
    not_before: str | None = None
    not_after: str | None = None
    days_left: int | None = None
    expired: bool = False
    sha1: str | None = None
    key: str | None = None
    matches_configured: bool | None = None


class MetadataChange(ResultView):
    what: str
    before: str = ""
    after: str = ""


class MetadataDiff(ResultView):
    """What changed since the last working metadata (``available`` false: no snapshot to compare)."""

    available: bool = False
    changed: bool | None = None
    changes: list[MetadataChange] = Field(default_factory=list)
    added_certs: list[str] = Field(default_factory=list, description="SHA-1s published now, not then")
    removed_certs: list[str] = Field(default_factory=list, description="SHA-1s published then, not now")
    sso_urls_changed: bool | None = None
    entity_id_changed: bool | None = None
    source: str | None = None
    reason: str | None = None


class SsoCheck(ResultView):
    vendor: str | None = None
    entity_id: str | None = None
    metadata_url: str | None = None
    valid_until: str | None = None
    certificates: list[Certificate] = Field(default_factory=list)
    configured_cert_sha1: str | None = None
    configured_cert_present: bool | None = None
    signing_cert_expired: bool = False
    diff_vs_last_working: MetadataDiff | None = None
    problems: list[str] = Field(default_factory=list)
