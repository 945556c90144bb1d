"""An incident record stating the times the ticket names: what those times point at, in any language.

A customer writes when the trouble was ("з 2:40 до 3:35", "de 14:05 a 15:40"); the digits read alike in
every script (``agent/digits.py``), and in the account's own zone (the directory's ``timezone``) they
are UTC times (``signals/zones.in_utc``). The on-call files an incident with its UTC times in its
title ("every charger disconnected 00:40-01:35 UTC"). A tracker record that reads as an incident,
filed by the ticket's time, whose text states two of the times the ticket names, is the incident the
ticket speaks of, whatever the words around the times say: over when its record is closed. An
account whose devices simply went silent in that hour leaves little in its own logs; the record and
the customer's own times are the evidence, so the ticket need not be read to be answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from casefile.agent.differential.evidence import Evidence
from casefile.agent.differential.incidents import reads_as_incident
from casefile.agent.differential.known_bug import filed_after
from casefile.agent.differential.model import Hypothesis, cite
from casefile.agent.digits import clock_times
from casefile.agent.signals.text import extract_areas
from casefile.agent.signals.zones import in_utc
from casefile.tools.bugs_results import Issue

if TYPE_CHECKING:
    from casefile.agent.models.base import LoopState

__all__ = ["TOLD", "told_incidents"]

# How sure an incident record found by the ticket's own times is: two times shared is no coincidence,
# but the record, not the account's failures, says it.
TOLD = 0.75
# The times a ticket and a record must share: a span's start and end.
_SHARED = 2


def _padded(clock: str) -> str:
    hour, minute = clock.split(":")
    return f"{int(hour):02d}:{minute}"


def _of_deliveries(issue: Issue, state: LoopState) -> bool:
    """The incident is of our deliveries: its text says webhooks, or it is labelled with (or its title
    names) a component the catalogue lists as the company's webhooks ("relays", "grade sync")."""
    if "webhook" in extract_areas(issue.title):
        return True
    hooks = {c.id.lower() for c in state.catalog.of_kind("webhooks")}
    labels = {str(label or "").strip().lower() for label in issue.labels}
    return bool(hooks & labels) or any(h in issue.title.lower() for h in hooks)


def told_incidents(state: LoopState, evidence: Evidence, cited: set[str]) -> list[Hypothesis]:
    """The incident records (found by the bug searches) stating two of the times the ticket names,
    read in the account's zone; none already ``cited`` by another cause."""
    zone = (state.account or {}).get("timezone")
    times = set(
        in_utc(state.ticket.full_text(), zone if isinstance(zone, str) else None, state.ticket.created_at)
    )
    if len(times) < _SHARED:
        return []
    out: list[Hypothesis] = []
    for issue, call_id in evidence.bugs:
        if issue.identifier in cited or not reads_as_incident(issue) or filed_after(issue, state):
            continue
        stated = {_padded(t) for t in clock_times(f"{issue.title} {issue.description}")}
        shared = sorted(times & stated)
        if len(shared) < _SHARED:
            continue
        ended = not issue.open
        deliveries = _of_deliveries(issue, state)
        what = "Webhook delivery failed on our side" if deliveries else "An incident on our side"
        out.append(
            Hypothesis(
                category="webhook_platform" if deliveries else "platform_incident",
                confidence=TOLD,
                statement=f"The times the ticket names are {', '.join(shared)} UTC in the account's zone, the "
                f"times of incident {issue.identifier} ({issue.title})"
                + (", which is over." if ended else ", still open."),
                summary=f"{what}: incident {issue.identifier}" + (" (ended)." if ended else "."),
                component="webhooks" if deliveries else "api",
                reasons=[
                    "an incident record states the times the ticket names (read in the account's zone)",
                    "its record is closed" if ended else "its record is open",
                ],
                evidence=cite(
                    call_id,
                    "bugs_search",
                    issue.identifier,
                    f"incident {issue.identifier} ({issue.title}) covers the times the ticket names",
                ),
                action="resolve" if ended else "escalate",
                reply=(
                    "Thanks for reporting this. What you saw was an incident on our side"
                    + (", and it is over" if ended else "; our engineers are working on it")
                    + f" (our reference: {issue.identifier})."
                    + (" We'll follow up with what happened." if not ended else "")
                ),
                note=f"Incident {issue.identifier} found by the ticket's own times ({', '.join(shared)} UTC).",
            )
        )
    return out
