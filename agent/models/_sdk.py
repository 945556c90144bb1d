"""What the hosted providers share: one SDK client per provider, built once and lent to conversations.

The service holds one :class:`SDKProvider` per model in its environment, so every
investigation it runs goes through the same HTTP connection pool instead of
opening (and closing) a client of its own.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from casefile.agent.models._chat import PROVIDER_RETRY, Transcript
from casefile.agent.models.base import Model, Provider
from casefile.tools.retry import RetryPolicy

if TYPE_CHECKING:
    import httpx2

    from casefile.agent.config import Settings

__all__ = ["ClientOptions", "SDKProvider", "client_options"]

# The longest a single model request may take; a shorter investigation deadline lowers it.
_MAX_REQUEST_S = 60.0


@dataclass(frozen=True)
class ClientOptions:
    """How an SDK client is built for these settings: its HTTP client, timeout and our retry policy."""

    http_client: httpx2.AsyncClient
    timeout: float
    retry: RetryPolicy


def client_options(
    settings: Settings | None, transport: Any = None, sleep: Callable[[float], Awaitable[None]] | None = None
) -> ClientOptions:
    """``transport`` (an httpx2 transport) and ``sleep`` are the tests' stand-ins."""
    from casefile.agent.config import Budgets
    from casefile.agent.models._http import capped_client

    budgets = settings.budgets if settings else Budgets()
    timeout = min(_MAX_REQUEST_S, budgets.deadline_s)
    retry = dataclasses.replace(PROVIDER_RETRY, sleep=sleep) if sleep is not None else PROVIDER_RETRY
    return ClientOptions(capped_client(transport, timeout=timeout), timeout, retry)


ModelT = TypeVar("ModelT", bound=Model)


class SDKProvider(Provider, Generic[ModelT]):
    """A vendor SDK client (``client.close()`` releases its pool) shared by the conversations it makes."""

    vendor: ClassVar[str]

    def __init__(self, model_name: str, *, client: Any, retry: RetryPolicy) -> None:
        self.model_name = model_name
        self.client = client
        self.retry = retry
        self.name = f"{self.vendor}:{model_name}"

    @abstractmethod
    def conversation(self, transcript: str | Path | None = None) -> ModelT: ...

    def one_off(self, settings: Settings | None = None) -> ModelT:
        """A conversation that owns this provider (closing it closes the client): a single call, a test."""
        model = self.conversation(settings.transcript if settings else None)
        model.owner = self
        return model

    def transcript(self, path: str | Path | None) -> Transcript:
        return Transcript(path, provider=self.vendor, model=self.model_name)

    async def aclose(self) -> None:
        await self.client.close()
