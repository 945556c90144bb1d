"""Connector settings: credentials, endpoints and the log schema mapping.

Read from the environment and an optional TOML file by ``casefile.agent.config``; a
world fills them in with its local stand-ins. Secrets are ``SecretStr`` so they
never print.
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

# One Zendesk settings model: the helpdesk module's (the service and this connector read one account).
from casefile.agent.helpdesk.zendesk import ZendeskSettings

_Section = TypeVar("_Section", bound=BaseModel)

__all__ = [
    "ConnectorSettings",
    "GitHubSettings",
    "LinearSettings",
    "LogTableMap",
    "LogsSettings",
    "SSOSettings",
    "StripeSettings",
    "ZendeskSettings",
]

_MIB = 1024 * 1024


class LogTableMap(BaseModel):
    """Where the logical fields live in the customer's own log schema."""

    table: str
    time: str = "ts"
    account: str = "account_id"
    status: str | None = None
    path: str | None = None
    latency: str | None = None
    error: str | None = None


_DSN_SCHEMES = ("http", "https", "clickhouse", "clickhousedb", "clickhouse+http", "clickhouse+https", "chdb")


class LogsSettings(BaseModel):
    dsn: str | None = Field(
        default=None, description="clickhouse-connect DSN, e.g. https://user:pw@host:8443/db"
    )

    @field_validator("dsn")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        """A DSN that does not parse is refused here, not read as localhost:8123 at the first query."""
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in _DSN_SCHEMES or (parts.scheme != "chdb" and not parts.hostname):
            shown = parts._replace(netloc=parts.hostname or "").geturl() if parts.password else value
            raise ValueError(
                f"{shown!r} is not a ClickHouse DSN; expected e.g. https://user:password@host:8443/database"
            )
        try:
            _ = parts.port
        except ValueError:
            raise ValueError(f"the DSN's port is not a number (host {parts.hostname})") from None
        return value

    database: str = "default"
    requests: LogTableMap = LogTableMap(
        table="requests", status="status", path="path", latency="latency_ms", error="error_code"
    )
    webhooks: LogTableMap = LogTableMap(
        table="webhook_deliveries",
        status="response_status",
        path="endpoint_url",
        latency="response_ms",
        error="error",
    )
    sso: LogTableMap = LogTableMap(table="sso_logins", status="outcome", error="error")
    # Tables a model may query with guarded SQL; everything else (system.* included) is refused.
    allowed_tables: list[str] = Field(
        default_factory=lambda: ["requests", "webhook_deliveries", "sso_logins"]
    )
    # The account column of allowed tables not mapped above (logs_sql scopes every table by it).
    account_column: str = "account_id"
    max_rows: int = 1000
    # Engine limits every query runs with, built-in and model SQL alike, so a query that would
    # use too much is refused by ClickHouse itself (docs/architecture.md: the matching profile).
    max_execution_time_s: int = Field(default=10, ge=1)
    max_memory_usage: int = Field(default=128 * _MIB, ge=16 * _MIB, description="bytes, per query")
    max_memory_usage_for_user: int = Field(
        default=256 * _MIB, ge=0, description="bytes, all of this user's queries at once (0: no limit)"
    )
    max_result_bytes: int = Field(default=16 * _MIB, ge=_MIB)
    max_rows_to_read: int = Field(default=200_000_000, ge=1)
    max_bytes_to_read: int = Field(default=20 * 1024 * _MIB, ge=_MIB)
    # Queries in flight at once (one client and one thread each): concurrent investigations query
    # in parallel. An embedded engine (a world) uses at most two per core.
    max_concurrent_queries: int = Field(default=8, ge=1, le=64)


class LinearSettings(BaseModel):
    api_key: SecretStr | None = None
    url: str = "https://api.linear.app/graphql"


class GitHubSettings(BaseModel):
    token: SecretStr | None = None
    base_url: str = Field(
        default="https://api.github.com", description="GitHub Enterprise: https://HOST/api/v3"
    )
    repos: list[str] = Field(default_factory=list, description="owner/name of the repositories that deploy")


class StripeSettings(BaseModel):
    api_key: SecretStr | None = Field(
        default=None, description="a restricted key (rk_...) with read permissions"
    )
    base_url: str = "https://api.stripe.com"


class SSOSettings(BaseModel):
    timeout_s: float = 10.0
    max_metadata_bytes: int = 2_000_000
    snapshot_dir: str | None = Field(
        default=None, description="directory that accounts' idp.last_working_snapshot paths are relative to"
    )
    history_url: str | None = Field(
        default=None,
        description="database keeping every fetched IdP metadata document (default: casefile's own, "
        "$CASEFILE_DATABASE_URL or .casefile/casefile.sqlite3)",
    )
    acs_origins: list[str] = Field(
        default_factory=list,
        description="origins of our own SAML ACS endpoints (https://app.example.com) that sso_check may probe",
    )


class ConnectorSettings(BaseModel):
    """One section per connector. Built-in sections are typed here; a plug-in connector's section
    (``[connectors.<its settings_key>]``) is kept as given and validated by the plug-in's own
    ``settings_model`` through :meth:`section`."""

    model_config = ConfigDict(extra="allow")

    logs: LogsSettings = LogsSettings()
    linear: LinearSettings = LinearSettings()
    github: GitHubSettings = GitHubSettings()
    stripe: StripeSettings = StripeSettings()
    sso: SSOSettings = SSOSettings()
    zendesk: ZendeskSettings = ZendeskSettings()

    def section(self, key: str, model: type[_Section]) -> _Section:
        """The ``[connectors.<key>]`` section validated as ``model`` (its defaults when absent)."""
        value = getattr(self, key, None)
        if isinstance(value, model):
            return value
        return model.model_validate(value or {})
