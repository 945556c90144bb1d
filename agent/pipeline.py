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
    from casefile.agent.investigation import Investigation
    from casefile.agent.models.base import Model, Provider
    from casefile.agent.runbooks import Problem, Runbook
    from casefile.agent.ticket import Signals, Ticket
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
    runbooks_dir: Path | None = None
    """Where the runbooks were read from (None: a fixed list); they reload when its files change."""
    runbook_problems: list[Problem] = field(default_factory=list)
    """Why each disabled runbook could not load (file:line: reason)."""
    _runbooks_seen: tuple[Any, ...] | None = field(default=None, repr=False)
    providers: dict[str, Provider] = field(default_factory=dict, repr=False)
    """Model spec → the provider built for it on first use, reused by every later investigation."""

    async def aclose(self) -> None:
        await self.release_providers()
        await self.toolbox.aclose()

    def conversation(self, settings: Settings) -> Model:
        """A new conversation with ``settings.model`` over the provider this environment holds for it."""
        from casefile.agent.models import get_provider

        provider = self.providers.get(settings.model)
        if provider is None:
            provider = self.providers[settings.model] = get_provider(settings.model, settings)
        return provider.conversation(settings.transcript)

    async def release_providers(self) -> None:
        """Close the providers' clients (in the event loop that used them: the service's, at shutdown)."""
        providers, self.providers = list(self.providers.values()), {}
        for provider in providers:
            await provider.aclose()

    def refresh_runbooks(self, *, force: bool = False) -> bool:
        """Reload the runbooks when their files changed (or ``force``: SIGHUP); True when reloaded.

        A stat of each file per investigation (microseconds); a broken runbook is disabled and
        listed in :attr:`runbook_problems`, the others keep working."""
        from casefile.agent.runbooks import RUNBOOKS_DIR, load_usable_runbooks, runbooks_signature

        if self.runbooks_dir is None:
            return False
        seen = runbooks_signature(self.runbooks_dir)
        if not force and seen == self._runbooks_seen:
            return False
        self.runbooks, self.runbook_problems = load_usable_runbooks(self.runbooks_dir or RUNBOOKS_DIR)
        self._runbooks_seen = seen
        return True

    @property
    def disabled_runbooks(self) -> list[str]:
        return [str(p) for p in self.runbook_problems]


def _live_sources(settings: Settings) -> list[str]:
    from casefile.tools.catalogue import connector_classes

    return [source for source, cls in connector_classes().items() if cls.live_configured(settings.connectors)]


def _live_configured(settings: Settings) -> bool:
    return bool(_live_sources(settings))


def _preload(world: Any) -> None:
    try:
        world.clickhouse()
    except Exception:  # the toolbox build loads again and reports the problem where it belongs
        return


def open_environment(
    settings: Settings, world: str | Path | None = None, *, require_accounts: bool = True
) -> Environment:
    """A world's stand-ins when a world is given (or nothing live is configured), else the live systems.

    Live investigations need the account directory (``accounts_file``): without it no ticket
    matches an account and nothing can be checked, so that is a configuration error unless the
    caller does without (``casefile tools call``)."""
    from casefile.agent.accounts import AccountDirectory
    from casefile.agent.catalog import CATALOG_FILE, CatalogError, complete, load_catalog
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
            accounts_file = loaded.file("accounts.json")
            directory = AccountDirectory.from_file(accounts_file) if accounts_file else None
            toolbox = loaded.toolbox()
            # A world is a company of its own: its catalogue, never the one beside casefile.toml.
            catalog = load_catalog(loaded.file(CATALOG_FILE))
            repos = sorted(loaded.read_json("github.json", {"repos": {}}).get("repos", {}))
        except (WorldError, CatalogError) as exc:
            raise ConfigError(str(exc)) from None
        return _with_runbooks(
            Environment(toolbox, directory, [], loaded, f"world {world_path}", complete(catalog, repos)),
            settings,
        )
    from casefile.tools.registry import build_toolbox

    if not settings.accounts_file and require_accounts:
        raise ConfigError(
            f"live systems are configured ({', '.join(_live_sources(settings))}) but there is no account "
            "directory, so no ticket can be matched to an account: set accounts_file in casefile.toml "
            "(a JSON file shaped like examples/world/accounts.json), or CASEFILE_WORLD to use a world"
        )
    directory = AccountDirectory.from_file(settings.accounts_file) if settings.accounts_file else None
    try:
        catalog = load_catalog(settings.catalog_file)
    except CatalogError as exc:
        raise ConfigError(str(exc)) from None
    return _with_runbooks(
        Environment(
            build_toolbox(settings.connectors),
            directory,
            [],
            None,
            "live systems",
            complete(catalog, settings.connectors.github.repos),
        ),
        settings,
    )


def _with_runbooks(env: Environment, settings: Settings) -> Environment:
    from casefile.agent.runbooks import RUNBOOKS_DIR

    env.runbooks_dir = Path(settings.runbooks_dir) if settings.runbooks_dir else RUNBOOKS_DIR
    env.refresh_runbooks(force=True)
    return env


async def run_investigation(
    ticket: Ticket,
    env: Environment,
    settings: Settings,
    *,
    model: Model | None = None,
    on_event: EventSink | None = None,
    deadline: Deadline | None = None,
    tenant: str | None = None,
) -> Investigation:
    """One ticket investigated in ``env``; ``tenant`` is the service tenant it belongs to (None: the
    operator's, e.g. the CLI)."""
    from casefile.agent.models.traced import TracedModel
    from casefile.agent.signals import extract_signals
    from casefile.tools import tracing

    env.refresh_runbooks()
    ticket = ticket.bounded()  # what the rules read is bounded, so the deadline is too
    signals = extract_signals(ticket, env.directory)
    chosen = TracedModel(model or env.conversation(settings))
    with tracing.agent_span(ticket.id, chosen.name) as span:
        result = await _investigate(ticket, env, settings, chosen, signals, on_event, deadline, tenant)
        tracing.record_investigation(span, result)
    return result


async def _investigate(
    ticket: Ticket,
    env: Environment,
    settings: Settings,
    model: Model,
    signals: Signals,
    on_event: EventSink | None,
    deadline: Deadline | None,
    tenant: str | None,
) -> Investigation:
    from casefile.agent.loop import investigate

    account = env.directory.get(signals.account_id) if env.directory and signals.account_id else None
    accounts = env.directory.as_mapping() if env.directory else {}
    return await investigate(
        ticket,
        signals=signals,
        account=account,
        accounts=accounts,
        toolbox=env.toolbox,
        model=model,
        runbooks=env.runbooks,
        disabled_runbooks=env.disabled_runbooks,
        budgets=settings.budgets,
        on_event=on_event,
        prices=settings.prices,
        catalog=env.catalog,
        deadline=deadline,
        tenant=tenant,
        # The service's helpdesk is its own tenant's (service.tenant); the CLI (no tenant) reads it.
        helpdesk_tenant=settings.service.tenant if tenant is not None else None,
    )
