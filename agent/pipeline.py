"""Wire one investigation together: settings → world or live toolbox → model → loop.

The CLI, the eval harness and the service all call :func:`run_investigation`,
so there is one code path from a ticket to a diagnosis.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casefile.agent.config import DEMO_WORLD, Settings
from casefile.agent.errors import ConfigError

if TYPE_CHECKING:
    from casefile.agent.accounts import AccountDirectory
    from casefile.agent.catalog import Catalog
    from casefile.agent.events import EventSink
    from casefile.agent.loop import InvestigationResult
    from casefile.agent.models.base import Model
    from casefile.agent.runbooks import Runbook
    from casefile.agent.ticket import Ticket
    from casefile.tools.base import Toolbox
    from casefile.tools.deadline import Deadline

__all__ = ["Environment", "open_environment", "run_investigation"]


@dataclass
class Environment:
    """What investigations need besides the ticket: tools, accounts, runbooks. Reusable across tickets."""

    toolbox: Toolbox
    directory: AccountDirectory | None
    runbooks: list[Runbook]
    world: Any | None
    description: str
    catalog: Catalog | None = field(default=None)
    """The company catalogue, completed from the configured repositories (None: not loaded)."""

    async def aclose(self) -> None:
        await self.toolbox.aclose()


def _live_configured(settings: Settings) -> bool:
    from casefile.tools.catalogue import connector_classes

    return any(cls.live_configured(settings.connectors) for cls in connector_classes().values())


def _preload(world: Any) -> None:
    try:
        world.clickhouse()
    except Exception:  # the toolbox build loads again and reports the problem where it belongs
        return


def open_environment(settings: Settings, world: str | Path | None = None) -> Environment:
    """A world's stand-ins when a world is given (or nothing live is configured), else the live systems."""
    from casefile.agent.accounts import AccountDirectory
    from casefile.agent.catalog import CATALOG_FILE, CatalogError, complete, load_catalog
    from casefile.agent.runbooks import load_runbooks
    from casefile.tools.world.loader import World, WorldError

    world_path = world or settings.world
    if world_path is None and not _live_configured(settings):
        world_path = DEMO_WORLD
    if world_path is not None:
        try:
            loaded = World(world_path)
            # Load the logs (generated on a first run) while this thread imports the connectors.
            preload = threading.Thread(target=_preload, args=(loaded,), daemon=True)
            preload.start()
            runbooks = load_runbooks(settings.runbooks_dir)
            accounts_file = loaded.file("accounts.json")
            directory = AccountDirectory.from_file(accounts_file) if accounts_file else None
            toolbox = loaded.toolbox()
            # A world is a company of its own: its catalogue, never the one beside casefile.toml.
            catalog = load_catalog(loaded.file(CATALOG_FILE))
            repos = sorted(loaded.read_json("github.json", {"repos": {}}).get("repos", {}))
        except (WorldError, CatalogError) as exc:
            raise ConfigError(str(exc)) from None
        return Environment(
            toolbox, directory, runbooks, loaded, f"world {world_path}", complete(catalog, repos)
        )
    from casefile.tools.registry import build_toolbox

    runbooks = load_runbooks(settings.runbooks_dir)
    directory = AccountDirectory.from_file(settings.accounts_file) if settings.accounts_file else None
    try:
        catalog = load_catalog(settings.catalog_file)
    except CatalogError as exc:
        raise ConfigError(str(exc)) from None
    return Environment(
        build_toolbox(settings.connectors),
        directory,
        runbooks,
        None,
        "live systems",
        complete(catalog, settings.connectors.github.repos),
    )


async def run_investigation(
    ticket: Ticket,
    env: Environment,
    settings: Settings,
    *,
    model: Model | None = None,
    on_event: EventSink | None = None,
    deadline: Deadline | None = None,
) -> InvestigationResult:
    from casefile.agent.loop import investigate
    from casefile.agent.models import get_model
    from casefile.agent.signals import extract_signals

    signals = extract_signals(ticket, env.directory)
    account = env.directory.get(signals.account_id) if env.directory and signals.account_id else None
    accounts = env.directory.as_mapping() if env.directory else {}
    chosen = model or get_model(settings.model, settings)
    try:
        return await investigate(
            ticket,
            signals=signals,
            account=account,
            accounts=accounts,
            toolbox=env.toolbox,
            model=chosen,
            runbooks=env.runbooks,
            budgets=settings.budgets,
            on_event=on_event,
            prices=settings.prices,
            catalog=env.catalog,
            deadline=deadline,
        )
    finally:
        if model is None:
            await chosen.aclose()
