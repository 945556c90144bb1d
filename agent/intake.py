"""Read a ticket from a file, an HTTP body or a helpdesk export into a redacted :class:`Ticket`.

Two input shapes are accepted.

**casefile's own format** (``examples/tickets/*.json``)::

    {
      "id": "T-1001",                          # optional; defaults to source_name (the file's stem)
      "subject": "API calls failing with 429", # optional
      "body": "Since this morning ...",         # required, non-empty
      "requester": {"name": "Dana", "email": "dana@northwind.example"},   # optional
      "account_id": "northwind",               # optional; otherwise signals resolve it
      "created_at": "2026-11-20T11:40:00Z",    # required, ISO 8601 with a timezone
      "updated_at": "...",                     # optional; becomes the revision
      "tags": ["api"],                         # optional
      "comments": [{"author": "...", "body": "...", "created_at": "...", "public": true}]  # optional
    }

**A Zendesk Tickets API export**: ``{"ticket": {...}, "comments": [...], "users": [...]}``
(``GET /api/v2/tickets/{id}.json?include=users`` plus the ticket's comments), or a
bare Zendesk ticket object (it has ``description`` and ``requester_id``). The body
is the ticket's ``description`` (or, without one, its first public comment); the
later public comments become ``Ticket.comments``; private (internal) comments are
dropped, since they are agents' notes and not the customer's words; the requester
and comment authors are resolved through the sideloaded ``users``; ``updated_at``
becomes the revision.

Every text (subject, body, comments) goes through :func:`casefile.agent.redact.redact`
before the ``Ticket`` exists; ``Ticket.redactions`` counts what was removed.

``created_at`` is the investigation's "now", so it is required: a ticket file
without it is an error rather than "the file's mtime" or "now", which would make
the same file give different investigations. The HTTP API requires it too (the same
ticket gets the same answer everywhere); ``default_created_at`` remains for callers
that know the time a ticket arrived.

Bad input raises :class:`TicketError` (a ``UsageError``: exit code 2) whose message
is one line naming the problem.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from casefile.agent.errors import UsageError
from casefile.agent.redact import redact
from casefile.agent.ticket import Comment, Requester, Ticket

__all__ = ["MAX_TICKET_BYTES", "TicketError", "load_ticket", "parse_ticket"]

MAX_TICKET_BYTES = 1024 * 1024
_MB = 1024 * 1024

TicketSource = Literal["file", "zendesk", "api", "webhook"]


class TicketError(UsageError):
    """The ticket cannot be read or understood; the message names the problem in one line."""


def load_ticket(path: str | Path) -> Ticket:
    """Read a ticket file (own format or Zendesk export). The size is checked before reading."""
    path = Path(path)
    try:
        if path.is_dir():
            raise TicketError(f"ticket file is a directory: {path}")
        size = path.stat().st_size
    except FileNotFoundError:
        raise TicketError(f"ticket file not found: {path}") from None
    except OSError as exc:
        raise TicketError(f"cannot read ticket file {path}: {exc.strerror}") from None
    _check_size(size)
    try:
        with path.open("rb") as fh:
            # Read one byte past the limit: the file may have grown since stat().
            raw = fh.read(MAX_TICKET_BYTES + 1)
    except OSError as exc:
        raise TicketError(f"cannot read ticket file {path}: {exc.strerror}") from None
    if not raw:
        raise TicketError(f"ticket file is empty: {path}")
    return parse_ticket(raw, source_name=path.stem or "ticket")


def parse_ticket(
    raw: bytes | str | Mapping[str, Any],
    *,
    source_name: str = "ticket",
    default_created_at: datetime | None = None,
    source: TicketSource | None = None,
) -> Ticket:
    """Build a redacted :class:`Ticket` from JSON bytes, JSON text or an already parsed object.

    ``source_name`` is the id given to an own-format ticket that has none.
    ``default_created_at`` is used when the ticket has no ``created_at`` (for
    live API use; files must carry one). ``source`` overrides the ticket's
    origin ("api", "webhook"); by default it is "file", or "zendesk" for a
    Zendesk export.
    """
    data = _decode(raw) if isinstance(raw, bytes | str) else raw
    if not isinstance(data, Mapping):
        raise TicketError(f"ticket must be a JSON object, got {_kind(data)}")
    if isinstance(data.get("ticket"), Mapping):
        fields = _from_zendesk(data["ticket"], data.get("comments"), data.get("users"))
    elif "body" not in data and "description" in data and "requester_id" in data:
        fields = _from_zendesk(data, None, None)
    else:
        fields = _from_own(data, source_name)
    if source is not None:
        fields["source"] = source
    if fields["created_at"] is None:
        if default_created_at is None:
            raise TicketError(
                'ticket has no created_at: add "created_at": "2026-11-20T11:40:00Z" '
                "(when the customer wrote, ISO 8601 with a timezone; relative times count from it)"
            )
        fields["created_at"] = _aware_utc(default_created_at)
    return _build(fields)


# --- decoding -----------------------------------------------------------------


def _check_size(size: int) -> None:
    if size > MAX_TICKET_BYTES:
        raise TicketError(f"ticket is {size / _MB:.1f} MB; the limit is 1 MB")


def _decode(raw: bytes | str) -> Any:
    if isinstance(raw, bytes):
        _check_size(len(raw))
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start]
            raise TicketError(f"ticket is not UTF-8 text (byte 0x{bad:02x} at offset {exc.start})") from None
    else:
        _check_size(len(raw.encode("utf-8", "surrogatepass")))
        text = raw.removeprefix("\ufeff")
    if "\x00" in text:
        raise TicketError("ticket is binary data, not JSON text")
    if not text.strip():
        raise TicketError("ticket is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TicketError(f"ticket is not valid JSON: {exc.msg} at line {exc.lineno}:{exc.colno}") from None
    except RecursionError:
        raise TicketError("ticket is not valid JSON: nested too deeply") from None


# --- the two shapes -------------------------------------------------------------


def _from_own(data: Mapping[str, Any], source_name: str) -> dict[str, Any]:
    ticket_id = data.get("id", source_name)
    if not isinstance(ticket_id, str | int) or isinstance(ticket_id, bool) or not str(ticket_id).strip():
        raise TicketError("ticket id must be a non-empty string or number")
    requester = data.get("requester") or {}
    if not isinstance(requester, Mapping):
        raise TicketError("ticket requester must be an object with name and email")
    comments = data.get("comments") or []
    if not isinstance(comments, list):
        raise TicketError("ticket comments must be a list")
    parsed_comments = []
    for i, comment in enumerate(comments):
        if not isinstance(comment, Mapping):
            raise TicketError(f"ticket comments[{i}] must be an object")
        if comment.get("public", True) is False:
            continue  # internal notes are not the customer's words and may hold anything
        body = _text(comment.get("body"), f"comments[{i}].body")
        if not body.strip():
            continue
        parsed_comments.append(
            {
                "author": _opt_text(comment.get("author"), f"comments[{i}].author"),
                "body": body,
                "created_at": _time_or_none(comment.get("created_at")),
            }
        )
    account_id = data.get("account_id")
    if account_id is not None and (not isinstance(account_id, str) or not account_id.strip()):
        raise TicketError("ticket account_id must be a non-empty string")
    return {
        "id": str(ticket_id).strip(),
        "subject": _text(data.get("subject"), "subject"),
        "body": _text(data.get("body"), "body"),
        "requester": {
            "name": _opt_text(requester.get("name"), "requester.name"),
            "email": _opt_text(requester.get("email"), "requester.email"),
        },
        "account_id": account_id.strip() if account_id else None,
        "created_at": _created_at(data.get("created_at")),
        "source": "file",
        "comments": parsed_comments,
        "tags": _tags(data.get("tags")),
        "revision": _opt_text(data.get("revision") or data.get("updated_at"), "updated_at"),
    }


def _from_zendesk(ticket: Mapping[str, Any], comments: Any, users: Any) -> dict[str, Any]:
    people: dict[Any, Mapping[str, Any]] = {}
    if isinstance(users, list):
        people = {u.get("id"): u for u in users if isinstance(u, Mapping)}
    ticket_id = ticket.get("id")
    if ticket_id is None or isinstance(ticket_id, bool) or not str(ticket_id).strip():
        raise TicketError("Zendesk ticket has no id")

    requester = people.get(ticket.get("requester_id"))
    if requester is None and isinstance(ticket.get("requester"), Mapping):
        requester = ticket["requester"]  # the shape of a ticket-create request
    requester = requester or {}

    public: list[Mapping[str, Any]] = []
    if comments is not None:
        if not isinstance(comments, list):
            raise TicketError("Zendesk comments must be a list")
        public = [c for c in comments if isinstance(c, Mapping) and c.get("public", True) is not False]

    description = _text(ticket.get("description"), "description")
    if not description.strip() and public:
        description = _zendesk_body(public[0])
        public = public[1:]
    elif public and _same_text(_zendesk_body(public[0]), description):
        # Zendesk stores the description as the ticket's first comment.
        public = public[1:]

    return {
        "id": str(ticket_id).strip(),
        "subject": _text(ticket.get("subject") or ticket.get("raw_subject"), "subject"),
        "body": description,
        "requester": {
            "name": _opt_text(requester.get("name"), "requester name"),
            "email": _opt_text(requester.get("email"), "requester email"),
        },
        "account_id": None,
        "created_at": _created_at(ticket.get("created_at")),
        "source": "zendesk",
        "comments": [
            {
                "author": _zendesk_author(c.get("author_id"), people),
                "body": _zendesk_body(c),
                "created_at": _time_or_none(c.get("created_at")),
            }
            for c in public
            if _zendesk_body(c).strip()
        ],
        "tags": _tags(ticket.get("tags")),
        "revision": _opt_text(ticket.get("updated_at"), "updated_at"),
    }


def _zendesk_body(comment: Mapping[str, Any]) -> str:
    for key in ("body", "plain_body"):
        value = comment.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _zendesk_author(author_id: Any, people: Mapping[Any, Mapping[str, Any]]) -> str | None:
    if author_id is None:
        return None
    user = people.get(author_id)
    if user is not None:
        name = user.get("name") or user.get("email")
        if isinstance(name, str) and name:
            return name
    return f"user {author_id}"


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


# --- building -----------------------------------------------------------------


def _build(fields: dict[str, Any]) -> Ticket:
    # Redaction comes before the Ticket exists: no secret is ever held in one.
    redactions = 0
    subject, n = redact(fields["subject"])
    redactions += n
    body, n = redact(fields["body"])
    redactions += n
    if not body.strip():
        raise TicketError("ticket has no body")
    comments = []
    for c in fields["comments"]:
        text, n = redact(c["body"])
        redactions += n
        comments.append(Comment(author=c["author"], body=text, created_at=c["created_at"], public=True))
    try:
        return Ticket(
            id=fields["id"],
            subject=subject.strip(),
            body=body.strip(),
            requester=Requester(**fields["requester"]),
            account_id=fields["account_id"],
            created_at=fields["created_at"],
            source=fields["source"],
            comments=comments,
            tags=fields["tags"],
            revision=fields["revision"],
            redactions=redactions,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "ticket"
        raise TicketError(f"ticket {where}: {first['msg']}") from None


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TicketError(f"ticket {field} must be a string, got {_kind(value)}")
    return value


def _opt_text(value: Any, field: str) -> str | None:
    text = _text(value, field).strip()
    return text or None


def _tags(value: Any) -> list[str]:
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


def _created_at(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TicketError(f"ticket created_at must be an ISO 8601 string, got {_kind(value)}")
    parsed = _parse_time(value)
    if parsed is None:
        raise TicketError(f"ticket created_at is not an ISO 8601 time: {value!r}")
    if parsed.tzinfo is None:
        raise TicketError(f"ticket created_at has no timezone: {value!r} (add Z for UTC)")
    return parsed.astimezone(UTC)


def _time_or_none(value: Any) -> datetime | None:
    # A comment's time is informative only; an odd one is dropped rather than fatal.
    if not isinstance(value, str):
        return None
    parsed = _parse_time(value)
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise TicketError("default_created_at needs a timezone")
    return value.astimezone(UTC)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}.get(
        type(value), "null" if value is None else type(value).__name__
    )
