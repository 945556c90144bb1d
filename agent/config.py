"""Configuration: a TOML file, then the environment on top of it.

Lookup order for the file: ``--config PATH``, ``$CASEFILE_CONFIG``, ``./casefile.toml``.
Environment variables (they win over the file):

=====================  ==========================================================
CASEFILE_MODEL         ``offline`` (default), ``openai:<model>``, ``anthropic:<model>``
CASEFILE_WORLD         a world directory to investigate against instead of live systems
CLICKHOUSE_DSN         clickhouse-connect DSN of the log store
LINEAR_API_KEY         Linear personal API key
GITHUB_TOKEN           GitHub token; GITHUB_API_URL for GitHub Enterprise; GITHUB_REPOS=a/b,c/d
STRIPE_API_KEY         Stripe restricted key with read-only permissions
OPENAI_API_KEY ...     read by the provider modules themselves
=====================  ==========================================================
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from agent.errors import ConfigError
from tools.settings import ConnectorSettings

__all__ = ["Budgets", "ConfigError", "Settings", "load_settings"]

DEMO_WORLD = Path(__file__).resolve().parent.parent / "examples" / "world"


class Budgets(BaseModel):
    max_turns: int = Field(default=8, ge=1)
    max_tool_calls: int = Field(default=30, ge=0)
    max_input_tokens: int = Field(default=300_000, ge=1)
    max_output_tokens: int = Field(default=20_000, ge=1)
    deadline_s: float = Field(default=120.0, gt=0)
    max_repairs: int = Field(default=2, ge=0, description="invalid diagnoses sent back before falling back")
    tool_timeout_s: float = Field(default=30.0, gt=0)


class Settings(BaseModel):
    model: str = "offline"
    world: Path | None = None
    runbooks_dir: Path | None = None
    accounts_file: Path | None = None
    transcript: Path | None = Field(default=None, description="JSONL file for model requests and responses")
    budgets: Budgets = Budgets()
    connectors: ConnectorSettings = ConnectorSettings()
    prices: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="model → {input, output, cached} USD per million tokens"
    )


def _env_overrides(env: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    conn: dict[str, Any] = {}
    if env.get("CASEFILE_MODEL"):
        data["model"] = env["CASEFILE_MODEL"]
    if env.get("CASEFILE_WORLD"):
        data["world"] = env["CASEFILE_WORLD"]
    if env.get("CLICKHOUSE_DSN"):
        conn.setdefault("logs", {})["dsn"] = env["CLICKHOUSE_DSN"]
    if env.get("LINEAR_API_KEY"):
        conn.setdefault("linear", {})["api_key"] = env["LINEAR_API_KEY"]
    if env.get("GITHUB_TOKEN"):
        conn.setdefault("github", {})["token"] = env["GITHUB_TOKEN"]
    if env.get("GITHUB_API_URL"):
        conn.setdefault("github", {})["base_url"] = env["GITHUB_API_URL"]
    if env.get("GITHUB_REPOS"):
        conn.setdefault("github", {})["repos"] = [
            r.strip() for r in env["GITHUB_REPOS"].split(",") if r.strip()
        ]
    if env.get("STRIPE_API_KEY"):
        conn.setdefault("stripe", {})["api_key"] = env["STRIPE_API_KEY"]
    if conn:
        data["connectors"] = conn
    return data


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
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
    data = _merge(data, _env_overrides(env))
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        where = str(path) if path else "environment"
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{where}: {loc}: {first['msg']}") from None
