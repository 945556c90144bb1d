"""The seam between casefile and a helpdesk: what one must offer, and the errors it raises.

casefile needs five things of a helpdesk: read its ticket export (a file or an API body),
fetch a ticket by id, verify a webhook it signed, post the diagnosis as an internal note (its
only write), and say whether that note is already there (a crash between posting and recording
must not post twice). Each helpdesk is one module implementing :class:`Helpdesk`; the service,
the CLI and intake reach it only through this protocol and ``HELPDESKS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, Field

from casefile.agent.intake_fields import TicketDraft, TicketSource
from casefile.agent.ticket import Ticket

__all__ = ["FetchedTicket", "Helpdesk", "HelpdeskError", "TicketUpdate", "WebhookRefused"]


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


class Helpdesk(Protocol):
    """A helpdesk casefile reads tickets from and writes internal notes to.

    Class-level parts work without credentials (intake reads an export file with them);
    instance methods talk to one configured helpdesk. Ticket ids are positive integers.
    """

    name: ClassVar[str]
    """Short lower-case name: the ticket ``source`` of its tickets and the webhook path's last part."""
    investigated_tag: ClassVar[str]
    """The tag the note adds, so the update cannot trigger another investigation."""
    env_vars: ClassVar[Mapping[str, str]]
    """Environment variable → field of its ``[service.<name>]`` settings section."""

    @classmethod
    def is_export(cls, data: Mapping[str, Any]) -> bool:
        """Whether a parsed JSON object is this helpdesk's ticket export."""
        ...

    @classmethod
    def parse_export(cls, data: Mapping[str, Any]) -> TicketDraft:
        """The export's fields (not yet redacted); raises ``TicketError`` naming what is wrong."""
        ...

    @property
    def configured(self) -> bool:
        """Whether tickets can be fetched and notes posted (an address and credentials are set)."""
        ...

    @property
    def posts_notes(self) -> bool:
        """Whether diagnoses should be posted as internal notes."""
        ...

    @property
    def timeout_s(self) -> float:
        """The longest a single call to the helpdesk may take."""
        ...

    def app_jwt_issuer(self) -> str | None:
        """The ``iss`` its sidebar app's JWTs carry (None: app JWTs are not accepted)."""
        ...

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> None:
        """Raises :class:`WebhookRefused` unless the delivery was signed by this helpdesk, recently."""
        ...

    def webhook_ticket_id(self, payload: Any) -> int | str:
        """The ticket a verified delivery is about, or a string saying why it is skipped;
        raises ``ValueError`` (one line) when the payload names no ticket."""
        ...

    async def fetch_ticket(self, ticket_id: int, *, source: TicketSource) -> FetchedTicket:
        """The ticket, redacted, read from the helpdesk (never from a webhook body)."""
        ...

    async def has_note(self, ticket_id: int, marker: str) -> bool:
        """Whether a comment on the ticket already contains ``marker`` (an investigation id)."""
        ...

    async def post_internal_note(self, ticket_id: int, body: str) -> None:
        """Post ``body`` as a private note and add :attr:`investigated_tag`."""
        ...

    async def update_ticket(self, ticket_id: int, update: TicketUpdate) -> None:
        """One write: the note (private), the fields and tags set, :attr:`investigated_tag` added;
        a repeat changes nothing more. :class:`HelpdeskError` carries the status and Retry-After."""
        ...

    def agent_url(self, ticket_id: int) -> str | None:
        """Where an agent opens the ticket (linked from the hand-off's Slack message)."""
        ...

    async def aclose(self) -> None: ...
