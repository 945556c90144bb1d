"""Configuration: a TOML file, then the environment on top of it.

Lookup order for the file: ``--config PATH``, ``$CASEFILE_CONFIG``, ``./casefile.toml``.
Environment variables (they win over the file):

=====================  ==========================================================
CASEFILE_MODEL         ``offline`` (default), ``openai:<model>``, ``anthropic:<model>``
CASEFILE_WORLD         a world directory to investigate against instead of live systems
CASEFILE_CATALOG       the company catalogue (default: catalog.yaml beside the config file)
CLICKHOUSE_DSN         clickhouse-connect DSN of the log store
LINEAR_API_KEY         Linear personal API key
GITHUB_TOKEN           GitHub token; GITHUB_API_URL for GitHub Enterprise; GITHUB_REPOS=a/b,c/d
STRIPE_API_KEY         Stripe restricted key with read-only permissions
CASEFILE_DATABASE_URL  where investigations are kept (default sqlite:///.casefile/casefile.sqlite3)
CASEFILE_SERVICE_TOKENS  ``casefile serve`` bearer tokens: ``name=token,name2@tenant=token2``
CASEFILE_ALLOWED_ORIGINS comma-separated origins allowed by CORS
CASEFILE_HELPDESK      the service's helpdesk (default zendesk); each helpdesk declares its own variables
ZENDESK_SUBDOMAIN, ZENDESK_EMAIL, ZENDESK_API_TOKEN, ZENDESK_WEBHOOK_SECRET, ZENDESK_APP_SHARED_SECRET
SLACK_BOT_TOKEN        Slack bot token (chat:write) for hand-off messages
CASEFILE_SLACK_WEBHOOKS  incoming webhooks by channel: ``#eng-backend=https://hooks.slack.com/…,#sre=…``
CASEFILE_BOUNCE_LINK_SECRET  signs the bounce-back link in Slack hand-off messages
OPENAI_API_KEY ...     read by the provider modules themselves
=====================  ==========================================================
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, get_origin

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from casefile import PACKAGE_DIR
from casefile.agent.errors import ConfigError
from casefile.agent.handoff.slack import SlackSettings
from casefile.agent.helpdesk import Helpdesk, helpdesk_classes, unknown_helpdesk
from casefile.agent.helpdesk.base import HelpdeskSettings
from casefile.agent.helpdesk.registry import DEFAULT_HELPDESK
from casefile.agent.helpdesk.zendesk import ZendeskSettings
from casefile.agent.metrics.settings import ReviewSettings
from casefile.agent.strict import toml_line, unknown_keys
from casefile.tools.settings import ConnectorSettings

__all__ = [
    "DEFAULT_PRICES",
    "Budgets",
    "ConfigError",
    "ServiceSettings",
    "ServiceToken",
    "Settings",
    "ZendeskSettings",
    "load_settings",
]

DEMO_WORLD = PACKAGE_DIR / "examples" / "world"


# Estimated list prices in USD per million tokens (input, cached input, output), as published by the
# providers in 2025. ESTIMATES for the usage report only: check current pricing and override them
# under [prices] in casefile.toml (which replaces this table).
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-4.1": {"input": 2.00, "cached": 0.50, "output": 8.00},
    "gpt-4.1-mini": {"input": 0.40, "cached": 0.10, "output": 1.60},
    "gpt-4o": {"input": 2.50, "cached": 1.25, "output": 10.00},
    "gpt-4o-mini": {"input": 0.15, "cached": 0.075, "output": 0.60},
    "claude-sonnet-4-6": {"input": 3.00, "cached": 0.30, "output": 15.00},
    "claude-sonnet-4-5": {"input": 3.00, "cached": 0.30, "output": 15.00},
    "claude-opus-4-5": {"input": 5.00, "cached": 0.50, "output": 25.00},
    "claude-haiku-4-5": {"input": 1.00, "cached": 0.10, "output": 5.00},
    "claude-opus-4-1": {"input": 15.00, "cached": 1.50, "output": 75.00},
}


class Budgets(BaseModel):
    max_turns: int = Field(default=8, ge=1)
    max_tool_calls: int = Field(default=30, ge=0)
    max_input_tokens: int = Field(default=300_000, ge=1)
    max_output_tokens: int = Field(default=20_000, ge=1)
    deadline_s: float = Field(default=120.0, gt=0)
    max_repairs: int = Field(default=2, ge=0, description="invalid diagnoses sent back before falling back")
    tool_timeout_s: float = Field(default=30.0, gt=0)


TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class ServiceToken(BaseModel):
    """A bearer token that belongs to one tenant (a helpdesk, a team): it sees that tenant's investigations."""

    token: SecretStr
    tenant: str | None = Field(
        default=None, pattern=TENANT_PATTERN, description="the token's tenant; default: service.tenant"
    )


class ServiceSettings(BaseModel):
    """``casefile serve``: listening address, who may call it, limits, persistence, and its helpdesk.

    Each helpdesk's section is ``[service.<name>]``: Zendesk's is typed here (the
    ``tickets_similar`` connector reads the same account); any other's is kept as given and
    validated by its class's ``settings_model`` (:meth:`helpdesk_settings`)."""

    model_config = ConfigDict(extra="allow")

    helpdesk: str = Field(
        default=DEFAULT_HELPDESK,
        description="the helpdesk this service reads tickets from, takes webhooks of and posts notes to",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    tokens: dict[str, SecretStr | ServiceToken] = Field(
        default_factory=dict,
        description="caller name → bearer token, or {token, tenant}; the name is recorded as who asked",
    )
    tenant: str = Field(
        default="default",
        pattern=TENANT_PATTERN,
        description="the tenant of this service's Zendesk (its app's JWTs and its webhook), of tokens that "
        "name none, and of investigations stored before tenants existed",
    )
    database_url: str | None = Field(default=None, description="sqlite:///path or postgresql://…")
    allowed_origins: list[str] = Field(default_factory=list, description="CORS origins (the helpdesk's)")
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    rate_limit_per_minute: float = Field(default=300, gt=0, description="sustained requests per caller")
    rate_limit_burst: int = Field(default=60, ge=1, description="requests a caller may make at once")
    concurrency: int = Field(default=8, ge=1, description="investigations running at once")
    on_demand_reserve: int = Field(
        default=2, ge=0, description="extra slots only on-demand (sidebar/API) investigations may use"
    )
    lease_s: float = Field(
        default=30.0,
        gt=0,
        description="how long a worker's claim on an investigation lasts unless renewed; after a crash the "
        "work resumes elsewhere within this",
    )
    poll_s: float = Field(
        default=1.0, gt=0, description="how often a worker looks for work other replicas left"
    )
    request_timeout_s: float = Field(
        default=10.0, gt=0, description="a request's head and body must arrive within this, or it is dropped"
    )
    keep_alive_s: float = Field(default=5.0, ge=1, description="idle keep-alive connections close after this")
    max_connections: int = Field(
        default=1000, ge=1, description="open connections and requests at once; beyond it requests get 503"
    )
    public_url: str | None = Field(default=None, description="the service's own URL, for links in notes")
    clickhouse_play_url: str | None = Field(
        default=None, description="ClickHouse Play UI (e.g. https://ch.example:8443/play) for query links"
    )
    zendesk: ZendeskSettings = ZendeskSettings()
    review: ReviewSettings = Field(
        default_factory=ReviewSettings, description="the weekly review's schedule, channel and directory"
    )

    @field_validator("helpdesk")
    @classmethod
    def _installed(cls, name: str) -> str:
        if name not in helpdesk_classes():
            raise ValueError(unknown_helpdesk(name))
        if name in cls.model_fields and cls.model_fields[name].annotation is not ZendeskSettings:
            raise ValueError(f"helpdesk {name!r} cannot be configured: [service.{name}] is another setting")
        return name

    def helpdesk_settings(self, name: str | None = None) -> HelpdeskSettings:
        """The ``[service.<name>]`` section (default: the service's helpdesk's) as its class's model."""
        name = name or self.helpdesk
        model = helpdesk_classes()[name].settings_model
        value = getattr(self, name) if name in type(self).model_fields else (self.model_extra or {}).get(name)
        return value if isinstance(value, model) else model.model_validate(value or {})

    def open_helpdesk(self, *, transport: httpx.AsyncBaseTransport | None = None) -> Helpdesk:
        """The service's helpdesk with its section's settings (no connection is made yet)."""
        return helpdesk_classes()[self.helpdesk](self.helpdesk_settings(), transport=transport)


class Settings(BaseModel):
    model: str = "offline"
    world: Path | None = None
    runbooks_dir: Path | None = None
    accounts_file: Path | None = None
    catalog_file: Path | None = Field(
        default=None, description="the company catalogue (default: catalog.yaml beside casefile.toml)"
    )
    transcript: Path | None = Field(default=None, description="JSONL file for model requests and responses")
    budgets: Budgets = Budgets()
    connectors: ConnectorSettings = ConnectorSettings()
    prices: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_PRICES.items()},
        description="model → {input, output, cached} USD per million tokens (defaults are estimates)",
    )
    service: ServiceSettings = ServiceSettings()
    slack: SlackSettings = Field(default_factory=SlackSettings, description="hand-off messages (slack_sdk)")


def _env_overrides(env: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if env.get("CASEFILE_MODEL"):
        data["model"] = env["CASEFILE_MODEL"]
    if env.get("CASEFILE_WORLD"):
        data["world"] = env["CASEFILE_WORLD"]
    if env.get("CASEFILE_CATALOG"):
        data["catalog_file"] = env["CASEFILE_CATALOG"]
    conn = _connector_env(env)
    if conn:
        data["connectors"] = conn
    service = _service_env(env)
    if service:
        data["service"] = service
    slack = _slack_env(env)
    if slack:
        data["slack"] = slack
    return data


def _slack_env(env: dict[str, str]) -> dict[str, Any]:
    slack: dict[str, Any] = {}
    if env.get("SLACK_BOT_TOKEN"):
        slack["bot_token"] = env["SLACK_BOT_TOKEN"]
    if env.get("CASEFILE_SLACK_WEBHOOKS"):  # "#eng-backend=https://hooks.slack.com/…,#sre=…"
        pairs = (item.partition("=") for item in env["CASEFILE_SLACK_WEBHOOKS"].split(",") if item.strip())
        slack["webhooks"] = {k.strip(): v.strip() for k, _, v in pairs if k.strip() and v.strip()}
    if env.get("CASEFILE_BOUNCE_LINK_SECRET"):
        slack["link_secret"] = env["CASEFILE_BOUNCE_LINK_SECRET"]
    return slack


def _connector_env(env: dict[str, str]) -> dict[str, Any]:
    """``[connectors]`` values from the environment variables each connector declares."""
    from casefile.tools.catalogue import connector_classes

    sections: dict[str, Any] = {}
    for cls in connector_classes().values():
        if cls.settings_key is None:
            continue
        model = cls.settings_model or ConnectorSettings.model_fields[cls.settings_key].annotation
        fields = model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) else {}
        for var, name in cls.env_vars.items():
            value = env.get(var)
            if not value:
                continue
            field = fields.get(name)
            is_list = field is not None and get_origin(field.annotation) is list
            sections.setdefault(cls.settings_key, {})[name] = (
                [item.strip() for item in value.split(",") if item.strip()] if is_list else value
            )
    return sections


def _service_env(env: dict[str, str]) -> dict[str, Any]:
    service: dict[str, Any] = {}
    if env.get("CASEFILE_DATABASE_URL"):
        service["database_url"] = env["CASEFILE_DATABASE_URL"]
    if env.get("CASEFILE_SERVICE_TOKENS"):
        pairs = (item.partition("=") for item in env["CASEFILE_SERVICE_TOKENS"].split(",") if item.strip())
        tokens: dict[str, Any] = {}
        for key, _, token in pairs:
            name, at, tenant = key.strip().partition("@")  # name@tenant=token
            if name and token.strip():
                tokens[name] = {"token": token.strip(), "tenant": tenant.strip()} if at else token.strip()
        service["tokens"] = tokens
    if env.get("CASEFILE_ALLOWED_ORIGINS"):
        service["allowed_origins"] = [
            o.strip() for o in env["CASEFILE_ALLOWED_ORIGINS"].split(",") if o.strip()
        ]
    if env.get("CASEFILE_HELPDESK"):
        service["helpdesk"] = env["CASEFILE_HELPDESK"].strip()
    for helpdesk in helpdesk_classes().values():  # [service.<helpdesk>] from the variables it declares
        section = {key: env[var] for var, key in helpdesk.env_vars.items() if env.get(var)}
        if section:
            service[helpdesk.name] = section
    return service


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(config_path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    path = Path(config_path) if config_path else None
    if path is None and env.get("CASEFILE_CONFIG"):
        path = Path(env["CASEFILE_CONFIG"])
    if path is None and Path("casefile.toml").is_file():
        path = Path("casefile.toml")
    data: dict[str, Any] = {}
    text = ""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        _check_keys(data, text, path)
    data = _merge(data, _env_overrides(env))
    if "catalog_file" not in data:
        # The catalogue lives beside casefile.toml (or in the working directory without one).
        beside = (path.parent if path is not None else Path(".")) / "catalog.yaml"
        if beside.is_file():
            data["catalog_file"] = str(beside)
    within: tuple[str, ...] = ()
    try:
        settings = Settings.model_validate(data)
        for name in _plugin_helpdesks():  # each plug-in helpdesk's section, by its own model
            within = ("service", name)
            extra = settings.service.model_extra or {}
            if name in extra:
                extra[name] = settings.service.helpdesk_settings(name)
    except ValidationError as exc:
        first = exc.errors()[0]
        at = (*within, *first["loc"])
        loc = ".".join(str(p) for p in at)
        message = str(first["msg"]).removeprefix("Value error, ")
        var = _env_var_for(at, env)
        if var:  # the environment wins over the file: name the variable to fix
            raise ConfigError(f"{var}: {message}") from None
        line = toml_line(text, at) if text else 0
        where = (f"{path}:{line}" if line else str(path)) if path else "environment"
        raise ConfigError(f"{where}: {loc}: {message}") from None
    return settings


def _plugin_helpdesks() -> dict[str, type[HelpdeskSettings]]:
    """Helpdesks whose ``[service.<name>]`` section ServiceSettings does not type itself."""
    return {
        name: cls.settings_model
        for name, cls in helpdesk_classes().items()
        if name not in ServiceSettings.model_fields
    }


_ENV_LOCS: dict[tuple[str, ...], str] = {
    ("model",): "CASEFILE_MODEL",
    ("world",): "CASEFILE_WORLD",
    ("catalog_file",): "CASEFILE_CATALOG",
    ("service", "database_url"): "CASEFILE_DATABASE_URL",
    ("service", "tokens"): "CASEFILE_SERVICE_TOKENS",
    ("service", "allowed_origins"): "CASEFILE_ALLOWED_ORIGINS",
    ("service", "helpdesk"): "CASEFILE_HELPDESK",
    ("slack", "bot_token"): "SLACK_BOT_TOKEN",
    ("slack", "webhooks"): "CASEFILE_SLACK_WEBHOOKS",
    ("slack", "link_secret"): "CASEFILE_BOUNCE_LINK_SECRET",
}


def _env_var_for(loc: tuple[Any, ...], env: dict[str, str]) -> str | None:
    """The environment variable that set the value at ``loc``, if one did."""
    from casefile.tools.catalogue import connector_classes

    candidates = {k: v for k, v in _ENV_LOCS.items()}
    for cls in connector_classes().values():
        for var, name in cls.env_vars.items():
            candidates[("connectors", str(cls.settings_key), name)] = var
    for helpdesk in helpdesk_classes().values():
        for var, name in helpdesk.env_vars.items():
            candidates[("service", helpdesk.name, name)] = var
    for known, var in candidates.items():
        if tuple(str(p) for p in loc[: len(known)]) == known and env.get(var):
            return var
    return None


def _check_keys(data: dict[str, Any], text: str, path: Path) -> None:
    """Unknown keys are typos until proven otherwise: each one is an error with its line."""
    from casefile.tools.catalogue import connector_classes

    connectors: dict[str, type[BaseModel] | None] = {
        cls.settings_key: cls.settings_model
        for cls in connector_classes().values()
        if cls.settings_key and cls.settings_key not in ConnectorSettings.model_fields
    }
    helpdesks: dict[str, type[BaseModel] | None] = dict(_plugin_helpdesks())
    plugins: dict[type[BaseModel], dict[str, type[BaseModel] | None]] = {
        ConnectorSettings: connectors,
        ServiceSettings: helpdesks,
    }
    problems = []
    for unknown in unknown_keys(Settings, data, extra_sections=plugins):
        parents = [str(p) for p in unknown.path[:-1] if not isinstance(p, int)]
        where = f" in [{'.'.join(parents)}]" if parents else ""
        hint = f" (did you mean {unknown.suggestion}?)" if unknown.suggestion else ""
        line = toml_line(text, unknown.path)
        problems.append(f"{path}:{line}: unknown key {unknown.key}{where}{hint}")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ConfigError("; ".join(problems[:3]) + more)
