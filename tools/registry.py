"""Build the toolbox of one investigation from settings, live or against a world.

A connector that cannot be configured (no credentials, module failing to
import) does not stop the investigation: its tools stay listed and every call
fails with "<source> unavailable: <reason>", which the diagnosis reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from casefile.tools.base import Connector, StandIns, Toolbox
from casefile.tools.catalogue import connector_sources, load_connector
from casefile.tools.settings import ConnectorSettings

if TYPE_CHECKING:
    from casefile.tools.world.loader import World

__all__ = ["build_toolbox"]


def build_toolbox(
    settings: ConnectorSettings, *, world: StandIns | World | None = None, configured_only: bool = False
) -> Toolbox:
    """Every connector, against ``world``'s stand-ins when given (all of them then count as configured).

    ``configured_only`` keeps the live rule with stand-ins: a connector the settings do not
    configure is reported unavailable instead of being built (``eval record`` wraps the live
    systems' transport in a recorder this way).
    """
    connectors: list[Connector] = []
    unavailable: dict[str, str] = {}
    for source in connector_sources():
        try:
            cls = load_connector(source)
        except (ImportError, AttributeError, TypeError) as exc:
            unavailable[source] = f"connector not installed ({exc})"
            continue
        problem = None if world is not None and not configured_only else cls.not_configured(settings)
        if problem and configured_only:
            unavailable[source] = problem
            continue
        try:
            connector = cls.build(settings, world)
        except Exception as exc:  # a broken source must not stop the others
            problem = problem or f"could not start: {exc}"
            connector = None
        if connector is not None:
            connectors.append(connector)
        if problem:
            unavailable[source] = problem
    return Toolbox(connectors, unavailable)
