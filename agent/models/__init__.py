"""Model providers. Provider SDKs are imported only when their model is chosen (start-up stays fast)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from casefile.agent.errors import UsageError
from casefile.agent.models.base import LoopState, Model, ModelReply, ModelUnavailable, TurnUsage

if TYPE_CHECKING:
    from casefile.agent.config import Settings

__all__ = ["PROVIDERS", "LoopState", "Model", "ModelReply", "ModelUnavailable", "TurnUsage", "get_model"]

# provider prefix → (module, factory function taking (model_name, settings))
PROVIDERS: dict[str, tuple[str, str]] = {
    "openai": ("casefile.agent.models.openai", "create"),
    "anthropic": ("casefile.agent.models.anthropic", "create"),
}


def get_model(spec: str, settings: Settings | None = None) -> Model:
    """``offline``, ``openai:<model>`` or ``anthropic:<model>`` → a Model."""
    if spec in ("offline", ""):
        from casefile.agent.models.offline import OfflineModel

        return OfflineModel()
    provider, _, name = spec.partition(":")
    if provider not in PROVIDERS or not name:
        raise UsageError(f"unknown model {spec!r}; use offline, openai:<model> or anthropic:<model>")
    module_name, factory = PROVIDERS[provider]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"model provider {provider} is not available: {exc}") from None
    model: Model = getattr(module, factory)(name, settings)
    return model
