"""The ticket as casefile sees it, whatever helpdesk or file it came from."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = [
    "ORIGINS",
    "VERIFIED_ACCOUNT_SOURCES",
    "AccountSource",
    "Comment",
    "Requester",
    "Signals",
    "Ticket",
    "TicketSource",
]

ORIGINS = ("file", "api", "webhook")
"""Where a ticket came from when no helpdesk names it: a file, an API body, a helpdesk's webhook."""


def _known_source(value: str, info: ValidationInfo) -> str:
    """One of :data:`ORIGINS` or an installed helpdesk's name. A ticket read back from the store
    (context ``stored``) keeps whatever it was saved with: its helpdesk may since be uninstalled."""
    if value in ORIGINS or (info.context or {}).get("stored"):
        return value
    from casefile.agent.helpdesk.registry import helpdesk_names  # the registry imports Ticket

    names = helpdesk_names()
    if value not in names:
        raise ValueError(f"unknown ticket source {value!r}: expected one of {', '.join((*ORIGINS, *names))}")
    return value


TicketSource = Annotated[str, AfterValidator(_known_source)]
"""A ticket's source: :data:`ORIGINS`, or the name of the helpdesk it was read from."""

AccountSource = Literal["ticket", "email_domain", "name_mention", "unresolved"]
"""How the account was resolved: an account named on the ticket, the requester's email domain,
a name the ticket's text mentions, or none."""

# Sources strong enough to tell the customer about the account. Anything weaker (a name the
# text mentions) only yields a candidate, which an agent must confirm first.
VERIFIED_ACCOUNT_SOURCES: frozenset[str] = frozenset({"ticket", "email_domain"})


class Requester(BaseModel):
    name: str | None = None
    email: str | None = None


class Comment(BaseModel):
    author: str | None = None
    body: str
    created_at: datetime | None = None
    public: bool = True


# How much of a ticket an investigation reads (Ticket.bounded): a part (subject, body, a comment)
# up to PART_CHARS, the whole up to TEXT_CHARS.
PART_CHARS = 16_000
TEXT_CHARS = 64_000


class Ticket(BaseModel):
    """One support ticket, normalised and already redacted.

    ``created_at`` is the investigation's "now": every time window is relative
    to it, which keeps evals deterministic.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    subject: str = ""
    body: str = Field(min_length=1)
    requester: Requester = Field(default_factory=Requester)
    account_id: str | None = None
    created_at: datetime
    source: TicketSource = "file"
    comments: list[Comment] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    revision: str | None = None
    redactions: int = 0

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("created_at needs a timezone (e.g. 2026-11-20T09:30:00Z)")
        return value

    def bounded(self) -> Ticket:
        """The ticket as an investigation reads it: each of its subject, body and comments cut at
        :data:`PART_CHARS` characters, and only the latest comments that fit :data:`TEXT_CHARS` in all.

        Every signal and reading rule passes over the text on the investigation's event loop, where
        its deadline cannot interrupt CPU work: a 160 kB pasted log held an investigation with a 2 s
        deadline for six minutes (``tests/test_attack_inputs.py``). The stored ticket stays whole.
        """
        subject, body = self.subject[:PART_CHARS], self.body[:PART_CHARS]
        room = TEXT_CHARS - len(subject) - len(body)
        kept: list[Comment] = []
        cut_any = False
        for comment in reversed(self.comments):
            cut = comment.body[:PART_CHARS]
            if len(cut) > room:
                cut_any = True
                break
            room -= len(cut)
            cut_any = cut_any or cut != comment.body
            kept.append(comment if cut == comment.body else comment.model_copy(update={"body": cut}))
        if not cut_any and (subject, body) == (self.subject, self.body):
            return self
        return self.model_copy(update={"subject": subject, "body": body, "comments": kept[::-1]})

    def full_text(self) -> str:
        """Subject, body and public comments, as one text for signal extraction."""
        parts = [self.subject, self.body, *(c.body for c in self.comments)]
        return "\n\n".join(p for p in parts if p)


class Signals(BaseModel):
    """Facts extracted deterministically from the ticket before any model runs."""

    statuses: list[int] = Field(default_factory=list, description="HTTP statuses mentioned, e.g. 429, 502")
    error_codes: list[str] = Field(default_factory=list, description="error codes, e.g. rate_limit_exceeded")
    exceptions: list[str] = Field(
        default_factory=list, description="exception names, e.g. javax.net.ssl.SSLHandshakeException"
    )
    hosts: list[str] = Field(default_factory=list, description="hosts, IPs and ports, e.g. 10.0.45.2:5432")
    endpoints: list[str] = Field(default_factory=list, description="API paths mentioned, e.g. /v2/orders")
    areas: list[str] = Field(
        default_factory=list,
        description="product areas: api, webhook, sso, oauth, export, billing, ui, performance",
    )
    browsers: list[str] = Field(default_factory=list, description="browser names/versions, e.g. Safari 17.2")
    time_hint: str | None = Field(default=None, description="the phrase that placed the problem in time")
    window_start: datetime
    window_end: datetime
    account_id: str | None = None
    account_name: str | None = None
    account_source: AccountSource = "unresolved"

    @property
    def account_candidate(self) -> bool:
        """An account was resolved, but from evidence weaker than a verified source."""
        return self.account_id is not None and self.account_source not in VERIFIED_ACCOUNT_SOURCES
