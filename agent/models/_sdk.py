"""What the hosted providers share: one SDK client per provider, built once and lent to conversations.

The service holds one :class:`SDKProvider` per model in its environment, so every
investigation it runs goes through the same HTTP connection pool instead of
opening (and closing) a client of its own. :class:`SDKModel` is a conversation's
turn (request, the one retry mechanism, reply) with the wire format left to each vendor.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

from casefile.agent.models._chat import PROVIDER_RETRY, Dialogue, RawCall, Transcript, UserTurn, exchange
from casefile.agent.models.base import LoopState, Model, ModelReply, Provider
from casefile.tools.base import ToolCall
from casefile.tools.retry import RetryPolicy

if TYPE_CHECKING:
    import httpx2

    from casefile.agent.config import Settings

__all__ = ["ClientOptions", "SDKModel", "SDKProvider", "client_options"]

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


class SDKModel(Model):
    """One conversation over a vendor SDK client: the history it replays and the turn that sends it."""

    vendor: ClassVar[str]

    def __init__(
        self,
        model_name: str,
        *,
        client: Any,
        transcript: Transcript | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.name = f"{self.vendor}:{model_name}"
        self.model_name = model_name
        self.client = client
        self.transcript = transcript or Transcript(None, provider=self.vendor, model=model_name)
        self.retry = retry or PROVIDER_RETRY
        self.dialogue: Dialogue | None = None
        self.messages: list[dict[str, Any]] = []

    def open_turn(self, state: LoopState) -> Dialogue:
        """Append this turn's user messages to the history (the first turn opens the dialogue); its dialogue."""
        if self.dialogue is None:
            self.dialogue = Dialogue(state)
            self.messages = self.opening(self.dialogue)
        self.messages.extend(self.user_messages(self.dialogue.user_turn(state)))
        return self.dialogue

    def accept(
        self, replay: dict[str, Any], calls: list[RawCall], state: LoopState
    ) -> tuple[list[ToolCall], dict[str, Any] | None]:
        """Record the assistant's message as it is replayed next turn; its tool calls and any diagnosis."""
        assert self.dialogue is not None, "a reply before any request"
        self.messages.append(replay)
        return self.dialogue.accept(calls, state)

    def opening(self, dialogue: Dialogue) -> list[dict[str, Any]]:
        """The messages before the first user turn (none where the system prompt is a request field)."""
        return []

    @abstractmethod
    def user_messages(self, turn: UserTurn) -> list[dict[str, Any]]:
        """One user turn in the vendor's wire format."""

    @abstractmethod
    def build_request(self, state: LoopState) -> dict[str, Any]:
        """Advance the conversation to this turn and return the request body (no network)."""

    @abstractmethod
    def read_reply(self, response: Any, state: LoopState) -> ModelReply:
        """Record the assistant's answer and turn it into the loop's reply."""

    @abstractmethod
    def send(self, body: dict[str, Any]) -> Awaitable[Any]:
        """The SDK call for one request body."""

    @abstractmethod
    def sdk_errors(self) -> tuple[type[BaseException], type[BaseException]]:
        """The SDK's connection-error and status-error classes (imported late: the SDKs are slow to load)."""

    async def turn(self, state: LoopState) -> ModelReply:
        body = self.build_request(state)
        connection_error, status_error = self.sdk_errors()
        response = await exchange(
            lambda: self.send(body),
            body,
            state=state,
            transcript=self.transcript,
            policy=self.retry,
            connection_errors=(connection_error,),
            status_errors=(status_error,),
        )
        return self.read_reply(response, state)


ModelT = TypeVar("ModelT", bound=Model)


class SDKProvider(Provider, Generic[ModelT]):
    """A vendor SDK client (``client.close()`` releases its pool) shared by the conversations it makes."""

    vendor: ClassVar[str]

    def __init__(
        self, model_name: str, *, client: Any, retry: RetryPolicy, base_url: str | None = None
    ) -> None:
        self.model_name = model_name
        self.client = client
        self.retry = retry
        self.base_url = base_url
        self.name = f"{self.vendor}:{model_name}"

    @classmethod
    @abstractmethod
    def credentials(cls) -> tuple[str, str | None]:
        """The API key and base URL from the environment; a :class:`UsageError` when they are not enough."""

    @classmethod
    @abstractmethod
    def client_class(cls) -> Callable[..., Any]:
        """The SDK's async client class (imported only now: the SDKs are slow to import)."""

    @classmethod
    def connect(
        cls,
        model_name: str,
        settings: Settings | None = None,
        *,
        transport: Any = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> Self:
        """Build the provider from the environment. ``transport`` (an httpx2 transport) and ``sleep`` are for tests."""
        api_key, base_url = cls.credentials()
        options = client_options(settings, transport, sleep)
        client = cls.client_class()(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,  # one retry policy: ours (tools/retry.py)
            timeout=options.timeout,
            http_client=options.http_client,
        )
        return cls(model_name, client=client, retry=options.retry, base_url=base_url)

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
