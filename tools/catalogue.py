"""Every connector class casefile knows: the built-in ones and those installed as plug-ins.

A plug-in is any installed distribution that declares an entry point in the group
``casefile.connectors`` (name = the connector's source, value = ``module:Class``), the way
pytest and llm find their plug-ins. Classes are imported without building any client, so
``runbooks check`` and ``tools list`` see every tool a model could call.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points

from casefile.tools.base import Connector, EvidenceView, ToolArgs

__all__ = [
    "BUILT_IN",
    "ENTRY_POINT_GROUP",
    "connector_classes",
    "connector_sources",
    "evidence_views",
    "load_connector",
    "tool_specs",
]

ENTRY_POINT_GROUP = "casefile.connectors"

# source → "module:Class". One module per system.
BUILT_IN: dict[str, str] = {
    "logs": "casefile.tools.logs:ClickHouseConnector",
    "bugs": "casefile.tools.bugs:LinearConnector",
    "billing": "casefile.tools.billing:StripeConnector",
    "deploys": "casefile.tools.deploys:GitHubConnector",
    "sso": "casefile.tools.sso:SSOConnector",
    "tickets": "casefile.tools.tickets:ZendeskConnector",
    "docs": "casefile.tools.docs:HelpCenterConnector",
    "cases": "casefile.tools.cases:CasesConnector",
}


@cache
def connector_sources() -> dict[str, str]:
    """source → ``module:Class``: the built-ins, then plug-ins (a plug-in cannot replace a built-in)."""
    sources = dict(BUILT_IN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        sources.setdefault(entry.name, entry.value)
    return sources


def load_connector(source: str) -> type[Connector]:
    """The connector class of ``source``; ImportError/AttributeError/TypeError when it cannot load."""
    module_name, _, class_name = connector_sources()[source].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise TypeError(f"{connector_sources()[source]} is not a casefile Connector")
    if getattr(cls, "source", None) != source:
        raise TypeError(
            f"{connector_sources()[source]} declares source {getattr(cls, 'source', None)!r}, not {source!r}"
        )
    return cls


@cache
def connector_classes() -> dict[str, type[Connector]]:
    """Every connector that loads; one that does not is reported by the registry when it builds."""
    classes: dict[str, type[Connector]] = {}
    for source in connector_sources():
        try:
            classes[source] = load_connector(source)
        except (ImportError, AttributeError, TypeError):
            continue
    return classes


@cache
def tool_specs() -> dict[str, type[ToolArgs]]:
    """Tool name → its argument model, for checking runbooks."""
    specs: dict[str, type[ToolArgs]] = {}
    for cls in connector_classes().values():
        for name, (args_model, _description) in cls.operation_specs().items():
            specs[name] = args_model
    return specs


@cache
def evidence_views() -> dict[str, EvidenceView]:
    """Tool name → the part of its result that may ground evidence, for tools that declare one."""
    views: dict[str, EvidenceView] = {}
    for cls in connector_classes().values():
        views.update(cls.evidence_views())
    return views
