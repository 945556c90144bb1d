"""Build the toolbox of one investigation from settings, live or against a world.

A connector that cannot be configured (no credentials, module failing to
import) does not stop the investigation: its tools stay listed and every call
fails with "<source> unavailable: <reason>", which the diagnosis reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tools.base import Connector, Toolbox
from tools.catalogue import CONNECTORS
from tools.settings import ConnectorSettings

if TYPE_CHECKING:
    from tools.world.loader import World

__all__ = ["build_toolbox"]


def _live_problem(source: str, settings: ConnectorSettings) -> str | None:
    """Why a live connector can't run, or None when it is configured."""
    if source == "logs" and not settings.logs.dsn:
        return "not configured (set CLICKHOUSE_DSN)"
    if source == "bugs" and settings.linear.api_key is None:
        return "not configured (set LINEAR_API_KEY)"
    if source == "billing" and settings.stripe.api_key is None:
        return "not configured (set STRIPE_API_KEY, a restricted read-only key)"
    if source == "deploys" and not settings.github.repos:
        return "not configured (set GITHUB_REPOS)"
    if source == "tickets" and not (settings.zendesk.subdomain or settings.zendesk.base_url):
        return "not configured (set ZENDESK_SUBDOMAIN, ZENDESK_EMAIL, ZENDESK_API_TOKEN)"
    return None


def _construct(
    source: str, cls: type[Connector], settings: ConnectorSettings, world: World | None
) -> Connector:
    transport: Any = world.transport if world is not None else None
    if source == "logs":
        client = world.clickhouse() if world is not None else None
        return cls(settings.logs, client=client)  # type: ignore[call-arg]
    if source == "bugs":
        return cls(settings.linear, transport=transport)  # type: ignore[call-arg]
    if source == "billing":
        return cls(settings.stripe, transport=transport)  # type: ignore[call-arg]
    if source == "deploys":
        return cls(settings.github, transport=transport)  # type: ignore[call-arg]
    if source == "sso":
        resolver = getattr(transport, "resolve", None)
        # Last-working snapshots are world files (sso/<file>.xml) in world mode.
        snapshot_dir = world.path if world is not None else None
        return cls(settings.sso, transport=transport, resolver=resolver, snapshot_dir=snapshot_dir)  # type: ignore[call-arg]
    if source == "tickets":
        zendesk = settings.zendesk
        if world is not None and not (zendesk.subdomain or zendesk.base_url):
            from tools.world.emulate_zendesk import world_settings

            zendesk = world_settings()
        return cls(zendesk, transport=transport)  # type: ignore[call-arg]
    raise ValueError(f"no constructor for source {source!r}")


def build_toolbox(settings: ConnectorSettings, *, world: World | None = None) -> Toolbox:
    import importlib

    connectors: list[Connector] = []
    unavailable: dict[str, str] = {}
    for source, (module_name, class_name) in CONNECTORS.items():
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as exc:
            unavailable[source] = f"connector not installed ({exc})"
            continue
        problem = None if world is not None else _live_problem(source, settings)
        try:
            connector = _construct(source, cls, settings, world)
        except Exception as exc:  # a broken source must not stop the others
            problem = problem or f"could not start: {exc}"
            connector = None
        if connector is not None:
            connectors.append(connector)
        if problem:
            unavailable[source] = problem
    return Toolbox(connectors, unavailable)
