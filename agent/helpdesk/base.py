"""The seam between casefile and a helpdesk: what one must offer, and the errors it raises.

casefile needs five things of a helpdesk: read its ticket export (a file or an API body),
fetch a ticket by id, verify a webhook it signed, post the diagnosis as an internal note (its
only write), and say whether that note is already there (a crash between posting and recording
must not post twice). Each helpdesk is one module with a :class:`Helpdesk` subclass that also
declares its name, its settings model and its environment variables; the service, the CLI,
config and intake reach it only through this class and the registry (``registry.py``).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, Field, SecretStr

from casefile.agent.intake_fields import TicketDraft
from casefile.agent.ticket import Ticket

__all__ = [
    "FetchedTicket",
    "Helpdesk",
    "HelpdeskError",
    "HelpdeskSettings",
    "TicketUpdate",
    "WebhookRefused",
    "positive_id",
]


class HelpdeskError(Exception):
    """The helpdesk could not be read or written; the message is safe to show (no credentials).
    ``status`` is the helpdesk's HTTP status when it answered (404: no such ticket)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after  # the helpdesk's Retry-After, in seconds, when it sent one


class WebhookRefused(Exception):
    """A webhook delivery is not authentic; ``code`` and the message go into the 401 body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class FetchedTicket(BaseModel):
    """A ticket read back from the helpdesk, and the helpdesk's own tags on it."""

    ticket: Ticket
    tags: list[str]


class TicketUpdate(BaseModel):
    """One write to a ticket: an internal note and, for a hand-off, the team's fields (unset: unchanged)."""

    note: str = Field(description="the internal (private) comment")
    group_id: int | None = None
    assignee_id: int | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    tags: list[str] = Field(
        default_factory=list, description="added to the ticket's tags (never replacing them)"
    )


class HelpdeskSettings(BaseModel):
    """What the service needs of any helpdesk's ``[service.<name>]`` section; a helpdesk's own
    settings model adds its address and credentials."""

    webhook_secret: SecretStr | None = Field(default=None, description="the webhook's signing secret")
    webhook_tolerance_s: int = Field(default=300, ge=1, description="webhook timestamps older are refused")
    app_shared_secret: SecretStr | None = Field(
        default=None, description="HS256 key the sidebar app's JWTs are signed with (a secure app setting)"
    )
    jwt_max_age_s: int = Field(default=3600, ge=60, description="JWTs older than this (by iat) are refused")
    post_notes: bool = Field(default=True, description="post the diagnosis as an internal note")
    timeout_s: float = Field(default=15.0, gt=0)


def positive_id(value: Any) -> int | None:
    """A helpdesk ticket id (a positive integer, or its ASCII digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value < 2**63:
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,18}", value.strip()) and int(value) > 0:
        return int(value)  # ASCII digits only: "²".isdigit() is True, and int("²") fails
    return None


class Helpdesk(ABC):
    """A helpdesk casefile reads tickets from and writes internal notes to: one subclass a helpdesk,
    found by the registry (a module in this package, or a plug-in's ``casefile.helpdesks`` entry point).

    Class-level parts work without credentials (intake reads an export file with them);
    instance methods talk to one configured helpdesk. Ticket ids are positive integers.
    """

    name: ClassVar[str]
    """Short lower-case name: the ``source`` of its tickets, its ``[service.<name>]`` section, the
    webhook path's last part (``/v1/webhooks/<name>``) and ``<name>_ticket_id`` in API bodies."""
    title: ClassVar[str] = ""
    """How people write its name ("Zendesk"), in messages; default: :attr:`name`."""
    investigated_tag: ClassVar[str]
    """The tag the note adds, so the update cannot trigger another investigation."""
    settings_model: ClassVar[type[HelpdeskSettings]] = HelpdeskSettings
    """Its ``[service.<name>]`` section."""
    env_vars: ClassVar[Mapping[str, str]] = {}
    """Environment variable → field of its settings section (README's table lists each one)."""
    webhook_signature_header: ClassVar[str]
    """The request header that carries the webhook's signature (described in the OpenAPI document)."""
    webhook_signature_scheme: ClassVar[str] = "an HMAC of the body, keyed with the webhook's signing secret"
    """How the signature is made, in a few words (the OpenAPI document's description)."""

    def __init__(
        self, settings: HelpdeskSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings  # the service reads post_notes and timeout_s here
        self._transport = transport  # tests and benchmarks talk to a stand-in in the real wire format
        self._http: httpx.AsyncClient | None = None

    def api_access(self) -> tuple[str, dict[str, str]]:
        """The API's base URL and the headers that authenticate to it; :class:`HelpdeskError` when
        the settings do not reach it. A helpdesk that talks HTTP through :meth:`_client` says this."""
        raise HelpdeskError(f"{self.label()} has no HTTP API")

    def _client(self) -> httpx.AsyncClient:
        """The API client (:meth:`api_access`), opened on first use and kept until :meth:`aclose`."""
        if self._http is None:
            base_url, headers = self.api_access()
            self._http = httpx.AsyncClient(
                base_url=base_url, headers=headers, timeout=self.settings.timeout_s, transport=self._transport
            )
        return self._http

    @classmethod
    def label(cls) -> str:
        """Its name as people write it."""
        return cls.title or cls.name

    @classmethod
    def ticket_id_key(cls) -> str:
        """``<name>_ticket_id``: how API bodies and events name one of its tickets."""
        return f"{cls.name}_ticket_id"

    @classmethod
    @abstractmethod
    def is_export(cls, data: Mapping[str, Any]) -> bool:
        """Whether a parsed JSON object is this helpdesk's ticket export."""

    @classmethod
    @abstractmethod
    def parse_export(cls, data: Mapping[str, Any]) -> TicketDraft:
        """The export's fields (not yet redacted); raises ``TicketError`` naming what is wrong."""

    @property
    @abstractmethod
    def configured(self) -> bool:
        """Whether tickets can be fetched and notes posted (an address and credentials are set)."""

    def app_jwt_issuer(self) -> str | None:
        """The ``iss`` its sidebar app's JWTs carry (None: app JWTs are not accepted)."""
        return None

    @abstractmethod
    def verify_webhook(self, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> None:
        """Raises :class:`WebhookRefused` unless the delivery was signed by this helpdesk, recently."""

    @abstractmethod
    def webhook_ticket_id(self, payload: Any) -> int | str:
        """The ticket a verified delivery is about, or a string saying why it is skipped;
        raises ``ValueError`` (one line) when the payload names no ticket."""

    @abstractmethod
    async def fetch_ticket(self, ticket_id: int, *, source: str | None = None) -> FetchedTicket:
        """The ticket, redacted, read from the helpdesk (never from a webhook body); its ``source``
        is ``source``, else this helpdesk's name."""

    @abstractmethod
    async def has_note(self, ticket_id: int, marker: str) -> bool:
        """Whether a comment on the ticket already contains ``marker`` (an investigation id)."""

    async def post_internal_note(self, ticket_id: int, body: str) -> None:
        """Post ``body`` as a private note and add :attr:`investigated_tag`."""
        await self.update_ticket(ticket_id, TicketUpdate(note=body))

    @abstractmethod
    async def update_ticket(self, ticket_id: int, update: TicketUpdate) -> None:
        """One write: the note (private), the fields and tags set, :attr:`investigated_tag` added;
        a repeat changes nothing more. :class:`HelpdeskError` carries the status and Retry-After."""

    @abstractmethod
    def agent_url(self, ticket_id: int) -> str | None:
        """Where an agent opens the ticket (linked from the hand-off's Slack message)."""

    async def aclose(self) -> None:
        """Close its HTTP client, if it opened one."""
        if self._http is not None:
            await self._http.aclose()
