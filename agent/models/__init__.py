"""Model providers. Provider SDKs are imported only when their model is chosen (start-up stays fast)."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from casefile.agent.errors import UsageError
from casefile.agent.models.base import LoopState, Model, ModelReply, ModelUnavailable, Provider, TurnUsage

if TYPE_CHECKING:
    from casefile.agent.config import Settings

__all__ = [
    "ENTRY_POINT_GROUP",
    "LoopState",
    "Model",
    "ModelReply",
    "ModelUnavailable",
    "Provider",
    "TurnUsage",
    "get_model",
    "get_provider",
    "providers",
]

ENTRY_POINT_GROUP = "casefile.providers"
"""Plug-in providers: an entry point ``<prefix> = "module:connect"`` in this group."""

_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _connect_of(vendor: str) -> Callable[..., Provider] | None:
    """The ``connect(model_name, settings)`` of provider ``vendor``: the function of that name in
    ``casefile.agent.models.<vendor>`` (a built-in is its module: no list to edit), else a plug-in's
    entry point; None when there is none. Raises ImportError when its module does not load."""
    if not _PREFIX.match(vendor):
        return None
    module_name = f"{__name__}.{vendor}"
    if importlib.util.find_spec(module_name) is not None:
        connect = getattr(importlib.import_module(module_name), "connect", None)
        return connect if callable(connect) else None
    for entry in entry_points(group=ENTRY_POINT_GROUP, name=vendor):
        loaded = entry.load()
        return loaded if callable(loaded) else None
    return None


def providers() -> list[str]:
    """The prefixes of every provider that loads (for messages: this imports each one's SDK)."""
    names = [m.name for m in pkgutil.iter_modules(__path__)] + [
        e.name for e in entry_points(group=ENTRY_POINT_GROUP)
    ]
    found = []
    for name in dict.fromkeys(names):
        try:
            if _connect_of(name) is not None:
                found.append(name)
        except ImportError:
            continue
    return sorted(found)


def get_model(spec: str, settings: Settings | None = None) -> Model:
    """``offline`` or ``<provider>:<model>`` → a one-off conversation owning its client."""
    return get_provider(spec, settings).owned_conversation(settings.transcript if settings else None)


def get_provider(spec: str, settings: Settings | None = None) -> Provider:
    """``offline`` or ``<provider>:<model>`` (``openai:gpt-4.1``) → a Provider to hold and reuse."""
    if spec in ("offline", ""):
        from casefile.agent.models.offline import OfflineProvider

        return OfflineProvider()
    vendor, _, name = spec.partition(":")
    try:
        connect = _connect_of(vendor) if name else None
    except ImportError as exc:
        raise UsageError(f"model provider {vendor} is not available: {exc}") from None
    if connect is None:
        use = ", ".join(f"{p}:<model>" for p in providers())
        raise UsageError(f"unknown model {spec!r}; use offline or {use}")
    provider: Provider = connect(name, settings)
    return provider
