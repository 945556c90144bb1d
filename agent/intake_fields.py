"""What every ticket format is read into before redaction: a :class:`TicketDraft`, and the checks
its values pass on the way (one-line :class:`TicketError` messages naming the field).

Shared by casefile's own format (``agent/intake.py``) and each helpdesk's export format
(``agent/helpdesk/``), so a new format reads its JSON with the same rules and messages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from casefile.agent.errors import UsageError
from casefile.agent.redact import redact
from casefile.agent.ticket import Comment, Requester, Ticket, TicketSource

__all__ = [
    "TicketDraft",
    "TicketError",
    "TicketSource",
    "build",
    "created_at",
    "kind",
    "opt_text",
    "tags",
    "text",
    "time_or_none",
]


class TicketError(UsageError):
    """The ticket cannot be read or understood; the message names the problem in one line."""


class TicketDraft(BaseModel):
    """A ticket's fields as its format gave them: not yet redacted, ``created_at`` maybe missing."""

    id: str
    subject: str = ""
    body: str = ""
    requester: Requester = Field(default_factory=Requester)
    account_id: str | None = None
    created_at: datetime | None = None
    source: TicketSource = "file"
    comments: list[Comment] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    revision: str | None = None


def build(
    draft: TicketDraft, *, source: TicketSource | None = None, default_created_at: datetime | None = None
) -> Ticket:
    """The redacted :class:`Ticket`. Redaction comes before the Ticket exists: no secret is ever
    held in one. ``source`` overrides the draft's; ``default_created_at`` stands in for a missing
    ``created_at`` (files must carry one)."""
    when = draft.created_at
    if when is None:
        if default_created_at is None:
            raise TicketError(
                'ticket has no created_at: add "created_at": "2026-11-20T11:40:00Z" '
                "(when the customer wrote, ISO 8601 with a timezone; relative times count from it)"
            )
        if default_created_at.tzinfo is None:
            raise TicketError("default_created_at needs a timezone")
        when = default_created_at.astimezone(UTC)
    redactions = 0
    subject, n = redact(draft.subject)
    redactions += n
    body, n = redact(draft.body)
    redactions += n
    if not body.strip():
        raise TicketError("ticket has no body")
    comments = []
    for c in draft.comments:
        comment_text, n = redact(c.body)
        redactions += n
        comments.append(Comment(author=c.author, body=comment_text, created_at=c.created_at, public=True))
    try:
        return Ticket(
            id=draft.id,
            subject=subject.strip(),
            body=body.strip(),
            requester=draft.requester,
            account_id=draft.account_id,
            created_at=when,
            source=source or draft.source,
            comments=comments,
            tags=draft.tags,
            revision=draft.revision,
            redactions=redactions,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "ticket"
        raise TicketError(f"ticket {where}: {first['msg']}") from None


def text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TicketError(f"ticket {field} must be a string, got {kind(value)}")
    return value


def opt_text(value: Any, field: str) -> str | None:
    return text(value, field).strip() or None


def tags(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise TicketError("ticket tags must be a list of strings")
    return [t for t in value if t.strip()]


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def created_at(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TicketError(f"ticket created_at must be an ISO 8601 string, got {kind(value)}")
    parsed = _parse_time(value)
    if parsed is None:
        raise TicketError(f"ticket created_at is not an ISO 8601 time: {value!r}")
    if parsed.tzinfo is None:
        raise TicketError(f"ticket created_at has no timezone: {value!r} (add Z for UTC)")
    return parsed.astimezone(UTC)


def time_or_none(value: Any) -> datetime | None:
    # A comment's time is informative only; an odd one is dropped rather than fatal.
    if not isinstance(value, str):
        return None
    parsed = _parse_time(value)
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}.get(
        type(value), "null" if value is None else type(value).__name__
    )
