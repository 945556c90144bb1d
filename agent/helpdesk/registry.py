"""Every helpdesk casefile knows: the modules of this package and those installed as plug-ins.

A built-in helpdesk is a module here defining a :class:`Helpdesk` subclass (found by scanning the
package: no list to edit). A plug-in is any installed distribution declaring an entry point in
the group ``casefile.helpdesks`` (name = the helpdesk's name, value = ``module:Class``), as
connectors do in ``casefile.connectors``. A plug-in cannot replace a built-in.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from functools import cache
from importlib.metadata import entry_points

from casefile.agent.helpdesk.base import Helpdesk

__all__ = [
    "DEFAULT_HELPDESK",
    "ENTRY_POINT_GROUP",
    "clear_cache",
    "helpdesk_classes",
    "helpdesk_names",
    "load_helpdesk",
    "unknown_helpdesk",
]

ENTRY_POINT_GROUP = "casefile.helpdesks"
DEFAULT_HELPDESK = "zendesk"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_PACKAGE = "casefile.agent.helpdesk"


def _built_in() -> dict[str, type[Helpdesk]]:
    found: dict[str, type[Helpdesk]] = {}
    package = importlib.import_module(_PACKAGE)
    for module_info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{_PACKAGE}.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                cls.__module__ == module.__name__
                and issubclass(cls, Helpdesk)
                and not inspect.isabstract(cls)
            ):
                found[cls.name] = cls
    return found


def load_helpdesk(value: str, name: str) -> type[Helpdesk]:
    """The class an entry point's ``module:Class`` names; ImportError/AttributeError/TypeError when it
    cannot load or is not the helpdesk ``name``."""
    module_name, _, class_name = value.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Helpdesk)) or inspect.isabstract(cls):
        raise TypeError(f"{value} is not a casefile Helpdesk")
    if getattr(cls, "name", None) != name or not _NAME.match(name):
        raise TypeError(f"{value} declares name {getattr(cls, 'name', None)!r}, not {name!r}")
    return cls


@cache
def _scan() -> tuple[dict[str, type[Helpdesk]], dict[str, str]]:
    """(name → class, name → why its plug-in did not load)."""
    classes = _built_in()
    broken: dict[str, str] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in classes:
            continue
        try:
            classes[entry.name] = load_helpdesk(entry.value, entry.name)
        except (ImportError, AttributeError, TypeError) as exc:
            broken[entry.name] = f"{type(exc).__name__}: {exc}"
    return classes, broken


def helpdesk_classes() -> dict[str, type[Helpdesk]]:
    """name → class: the built-ins, then each plug-in that loads."""
    return _scan()[0]


def helpdesk_names() -> tuple[str, ...]:
    """The installed helpdesks' names, sorted."""
    return tuple(sorted(helpdesk_classes()))


def unknown_helpdesk(name: str) -> str:
    """Why ``name`` is no helpdesk, in one line naming the installed ones."""
    why = _scan()[1].get(name)
    if why is not None:
        return f"helpdesk {name!r} is installed but does not load ({why})"
    return f"unknown helpdesk {name!r}; installed: {', '.join(helpdesk_names())}"


def clear_cache() -> None:
    """Look for helpdesks again (after installing one into a running process: tests)."""
    _scan.cache_clear()
