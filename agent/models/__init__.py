"""Model providers. Provider SDKs are imported only when their model is chosen (start-up stays fast)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from casefile.agent.errors import UsageError
from casefile.agent.models.base import LoopState, Model, ModelReply, ModelUnavailable, Provider, TurnUsage

if TYPE_CHECKING:
    from casefile.agent.config import Settings

__all__ = [
    "PROVIDERS",
    "LoopState",
    "Model",
    "ModelReply",
    "ModelUnavailable",
    "Provider",
    "TurnUsage",
    "get_model",
    "get_provider",
]

# provider prefix → (module, function taking (model_name, settings) and returning a Provider)
PROVIDERS: dict[str, tuple[str, str]] = {
    "openai": ("casefile.agent.models.openai", "connect"),
    "anthropic": ("casefile.agent.models.anthropic", "connect"),
}


def get_model(spec: str, settings: Settings | None = None) -> Model:
    """``offline``, ``openai:<model>`` or ``anthropic:<model>`` → a one-off conversation owning its client."""
    return get_provider(spec, settings).owned_conversation(settings.transcript if settings else None)


def get_provider(spec: str, settings: Settings | None = None) -> Provider:
    """``offline``, ``openai:<model>`` or ``anthropic:<model>`` → a Provider to hold and reuse."""
    if spec in ("offline", ""):
        from casefile.agent.models.offline import OfflineProvider

        return OfflineProvider()
    vendor, _, name = spec.partition(":")
    if vendor not in PROVIDERS or not name:
        raise UsageError(f"unknown model {spec!r}; use offline, openai:<model> or anthropic:<model>")
    module_name, factory = PROVIDERS[vendor]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"model provider {vendor} is not available: {exc}") from None
    provider: Provider = getattr(module, factory)(name, settings)
    return provider
