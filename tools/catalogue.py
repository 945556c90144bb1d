"""Every connector class casefile knows: the built-in ones and those installed as plug-ins.

A built-in is any module (or package) of ``casefile.tools`` defining a :class:`Connector` subclass
with a ``source``: the package is scanned, so a new one is its file and nothing else. A plug-in
is any installed distribution that declares an entry point in the group
``casefile.connectors`` (name = the connector's source, value = ``module:Class``), the way
pytest and llm find their plug-ins. Classes are imported without building any client, so
``runbooks check`` and ``tools list`` see every tool a model could call.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache
from importlib.metadata import entry_points

from casefile.tools.base import Connector, EvidenceView, ToolArgs

__all__ = [
    "ENTRY_POINT_GROUP",
    "built_in",
    "connector_classes",
    "connector_sources",
    "evidence_views",
    "load_connector",
    "tool_specs",
]

ENTRY_POINT_GROUP = "casefile.connectors"

_PACKAGE = "casefile.tools"


@cache
def built_in() -> dict[str, str]:
    """source → ``module:Class`` of every connector defined in a module of this package (by module name)."""
    found: dict[str, str] = {}
    package = importlib.import_module(_PACKAGE)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{_PACKAGE}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            own = cls.__module__ == module.__name__ or cls.__module__.startswith(module.__name__ + ".")
            source = getattr(cls, "source", None)
            if own and issubclass(cls, Connector) and isinstance(source, str):
                found.setdefault(source, f"{module.__name__}:{cls.__name__}")
    return found


@cache
def connector_sources() -> dict[str, str]:
    """source → ``module:Class``: the built-ins, then plug-ins (a plug-in cannot replace a built-in)."""
    sources = dict(built_in())
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
