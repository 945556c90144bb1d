"""Every connector class casefile knows, importable without building any client."""

from __future__ import annotations

import importlib
from functools import cache

from casefile.tools.base import Connector, ToolArgs

__all__ = ["CONNECTORS", "connector_classes", "tool_specs"]

# source → (module, class). One module per system.
CONNECTORS: dict[str, tuple[str, str]] = {
    "logs": ("casefile.tools.logs", "ClickHouseConnector"),
    "bugs": ("casefile.tools.bugs", "LinearConnector"),
    "billing": ("casefile.tools.billing", "StripeConnector"),
    "deploys": ("casefile.tools.deploys", "GitHubConnector"),
    "sso": ("casefile.tools.sso", "SSOConnector"),
    "tickets": ("casefile.tools.tickets", "ZendeskConnector"),
}


@cache
def connector_classes() -> dict[str, type[Connector]]:
    classes: dict[str, type[Connector]] = {}
    for source, (module_name, class_name) in CONNECTORS.items():
        module = importlib.import_module(module_name)
        classes[source] = getattr(module, class_name)
    return classes


@cache
def tool_specs() -> dict[str, type[ToolArgs]]:
    """Tool name → its argument model, for checking runbooks."""
    specs: dict[str, type[ToolArgs]] = {}
    for cls in connector_classes().values():
        for name, (args_model, _description) in cls.operation_specs().items():
            specs[name] = args_model
    return specs
