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

**A helpdesk's ticket export**, recognised and read by the helpdesk's module in
``agent/helpdesk/`` (Zendesk: ``{"ticket": {...}, "comments": [...], "users": [...]}``; see
``casefile.agent.helpdesk.zendesk``).

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
from datetime import datetime
from pathlib import Path
from typing import Any

from casefile.agent import intake_fields as f
from casefile.agent.helpdesk import helpdesk_classes
from casefile.agent.intake_fields import TicketDraft, TicketError
from casefile.agent.ticket import Comment, Requester, Ticket, TicketSource

__all__ = ["MAX_TICKET_BYTES", "TicketError", "load_ticket", "parse_ticket"]

MAX_TICKET_BYTES = 1024 * 1024
_MB = 1024 * 1024


def load_ticket(path: str | Path) -> Ticket:
    """Read a ticket file (own format or a helpdesk's export). The size is checked before reading."""
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
    origin ("api", "webhook"); by default it is "file", or the helpdesk's name
    for a helpdesk export (each installed helpdesk is asked whether the object is its export).
    """
    data = _decode(raw) if isinstance(raw, bytes | str) else raw
    if not isinstance(data, Mapping):
        raise TicketError(f"ticket must be a JSON object, got {f.kind(data)}")
    helpdesk = next((h for h in helpdesk_classes().values() if h.is_export(data)), None)
    draft = helpdesk.parse_export(data) if helpdesk is not None else _from_own(data, source_name)
    return f.build(draft, source=source, default_created_at=default_created_at)


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


# --- casefile's own format -------------------------------------------------------------


def _from_own(data: Mapping[str, Any], source_name: str) -> TicketDraft:
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
        body = f.text(comment.get("body"), f"comments[{i}].body")
        if not body.strip():
            continue
        parsed_comments.append(
            Comment(
                author=f.opt_text(comment.get("author"), f"comments[{i}].author"),
                body=body,
                created_at=f.time_or_none(comment.get("created_at")),
            )
        )
    account_id = data.get("account_id")
    if account_id is not None and (not isinstance(account_id, str) or not account_id.strip()):
        raise TicketError("ticket account_id must be a non-empty string")
    return TicketDraft(
        id=str(ticket_id).strip(),
        subject=f.text(data.get("subject"), "subject"),
        body=f.text(data.get("body"), "body"),
        requester=Requester(
            name=f.opt_text(requester.get("name"), "requester.name"),
            email=f.opt_text(requester.get("email"), "requester.email"),
        ),
        account_id=account_id.strip() if account_id else None,
        created_at=f.created_at(data.get("created_at")),
        source="file",
        comments=parsed_comments,
        tags=f.tags(data.get("tags")),
        revision=f.opt_text(data.get("revision") or data.get("updated_at"), "updated_at"),
    )
