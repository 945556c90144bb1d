"""Facts read from a ticket's text before any model runs: deterministic, cheap, testable.

:func:`extract_signals` reads the (already redacted) subject, body and public
comments and returns :class:`casefile.agent.ticket.Signals`: HTTP statuses, error codes,
exception names, hosts, API endpoints, product areas, browsers, the time window
the problem lives in, and the account. Runbooks match on these, and their tool
calls are templated from them, so every extractor prefers missing a fact to
inventing one: an order number is not a status, a year is not an error.

Each extractor is a public function over plain text, so it can be tested (and
reused by runbooks) on its own.

The time window is relative to the ticket's ``created_at`` in UTC, never to the
wall clock: "since this morning" on a ticket created 2026-11-20T11:40Z starts at
2026-11-20T00:00Z whenever the investigation runs. Customers rarely say their
timezone, so day boundaries are UTC days; windows are at least one hour long
(the tools need some traffic to compare) and at most 30 days.

Modules: ``text`` (statuses, error codes, exceptions, hosts, endpoints, areas, browsers),
``timewindow`` (the time window); the account and :func:`extract_signals` are here.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, NamedTuple

from casefile.agent.accounts import AccountDirectory
from casefile.agent.phrasebook import english, reading, shouts
from casefile.agent.redact import PLACEHOLDER_RE
from casefile.agent.signals import text as extractors
from casefile.agent.signals import timewindow
from casefile.agent.signals.pasted import prose
from casefile.agent.signals.text import *  # noqa: F403  (the package's surface: see __all__)
from casefile.agent.signals.timewindow import *  # noqa: F403
from casefile.agent.signals.zones import names_day_turn, names_turn_hour
from casefile.agent.ticket import AccountSource, Signals, Ticket

__all__ = [
    *extractors.__all__,
    *timewindow.__all__,
    "ResolvedAccount",
    "extract_signals",
    "reference_time",
    "resolve_account",
]


def extract_signals(ticket: Ticket, directory: AccountDirectory | None) -> Signals:
    """Everything the ticket says about the problem, and whose problem it is."""
    # Placeholders like [REDACTED:stripe_key] must not read as error codes; a ticket in
    # Dutch, Italian, Portuguese or Japanese is read with its support phrases in English too.
    text = reading(PLACEHOLDER_RE.sub("[REDACTED]", ticket.full_text()))
    # What the ticket is about is read from the customer's own sentences, not from output they pasted.
    said = reading(prose(PLACEHOLDER_RE.sub("[REDACTED]", ticket.full_text())))
    statuses = extractors.extract_statuses(text)
    error_codes = extractors.extract_error_codes(text)
    endpoints = extractors.extract_endpoints(text)
    browsers = extractors.extract_browsers(text)
    hint, start, end = timewindow.extract_time_window(text, reference_time(ticket))
    account = resolve_account(ticket, directory)
    areas = extractors.extract_areas(
        said, statuses=statuses, error_codes=error_codes, endpoints=endpoints, browsers=browsers
    )
    entry = directory.get(account.account_id) if directory and account.account_id else None
    failing = bool(statuses or error_codes or endpoints)
    if not failing and _cuts_the_day(said, areas, entry, ticket.created_at):
        areas = [a for a in extractors.AREAS if a in {*areas, "data"}]
    return Signals(
        statuses=statuses,
        error_codes=error_codes,
        exceptions=extractors.extract_exceptions(text),
        hosts=extractors.extract_hosts(text),
        endpoints=endpoints,
        areas=areas,
        browsers=browsers,
        time_hint=hint,
        window_start=start,
        window_end=end,
        **account._asdict(),
    )


# A report, an export or a day's count: where the customer looks at days (in any language, "CSV" and
# "report" are often written as such; the English reading gives the rest).
_DAYS_SEEN = re.compile(r"\b(?:reports?|daily|per[ -]day|days?)\b", re.IGNORECASE)


def _cuts_the_day(said: str, areas: list[str], account: dict[str, Any] | None, at: datetime) -> bool:
    """The ticket names the clock time at which the UTC day turns in the account's own zone, beside a
    report, an export or days (``zones``): it asks where a day is cut, a data question. Not read in a
    ticket that names a status, a code or an endpoint: a failure at that hour is no question of days."""
    zone = account.get("timezone") if account else None
    if "data" in areas or not isinstance(zone, str):
        return False
    if ("export" in areas or bool(_DAYS_SEEN.search(said))) and names_day_turn(said, zone, at):
        return True
    # A ticket we read nothing of (not English, no area): the hour its customer's day turns at, written
    # bare in any script ("오전 9시 이전에 들어온 예약이 전날로", before 9 a.m. in Seoul), is the one word of
    # it we read for certain, and with nothing else read it asks where a day is cut.
    return not areas and not english(said) and not shouts(said) and names_turn_hour(said, zone, at)


def reference_time(ticket: Ticket) -> datetime:
    """When the customer last described the problem: the newest public comment, else the ticket.

    In a helpdesk thread the real problem is often in a later comment ("since about an hour our
    token requests fail"); its relative times, and the window the tools look at, start from there.
    """
    stamps = [
        c.created_at
        for c in ticket.comments
        if c.public and c.created_at and c.created_at > ticket.created_at
    ]
    return max(stamps, default=ticket.created_at)


# --- account ------------------------------------------------------------------------------------


class ResolvedAccount(NamedTuple):
    """Whose problem the ticket is, and from what evidence (the :class:`Signals` fields of that name)."""

    account_id: str | None
    account_name: str | None
    account_source: AccountSource


def resolve_account(ticket: Ticket, directory: AccountDirectory | None) -> ResolvedAccount:
    """The ticket's own account id, else the requester's email domain, else an account the text
    names, else unresolved."""
    if ticket.account_id:
        account = directory.get(ticket.account_id) if directory else None
        return ResolvedAccount(ticket.account_id, account["name"] if account else None, "ticket")
    if directory is None:
        return ResolvedAccount(None, None, "unresolved")
    account = directory.by_email(ticket.requester.email)
    if account is not None:
        return ResolvedAccount(account["id"], account["name"], "email_domain")
    account = directory.by_name_mention(PLACEHOLDER_RE.sub("[REDACTED]", ticket.full_text()))
    if account is not None:
        return ResolvedAccount(account["id"], account["name"], "name_mention")
    return ResolvedAccount(None, None, "unresolved")
