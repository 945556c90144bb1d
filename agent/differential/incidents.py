"""The tracker's record of an incident of ours: cited beside the errors it explains.

An engineer who sees many accounts failing at once looks for the incident already filed
(the on-call's "API unavailable 02:10-02:40 UTC") and links it: the customer hears what
happened, the note points at the post-mortem. An issue is that record when it reads as an
incident (labelled so, or its title says outage/unavailable/degraded/down) and its time fits
the failures: filed from shortly before their onset to a day after their end, and any date
its title or text states is one of the failure's days. Nothing is guessed from the ticket's
words alone: the failures' own times decide.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from casefile.agent.differential.evidence import Evidence, failing_run
from casefile.agent.differential.model import Cite, Hypothesis
from casefile.tools.base import parse_ts
from casefile.tools.bugs_results import Issue

__all__ = ["as_incident", "covering_incident", "delivery_span", "link_incident", "reads_as_incident"]

# Filed up to this long before the first failure (an alert before the customers' errors) ...
FILED_BEFORE = timedelta(hours=1)
# ... or up to this long after the last one (post-mortems are written the next day).
FILED_AFTER = timedelta(hours=24)

_INCIDENT_WORDS = re.compile(
    r"\b(?:incident|outage|unavailable|unavailability|degraded|degradation|down ?time|down|disruption|failover)\b",
    re.IGNORECASE,
)
_DATE = re.compile(r"\b(20\d\d-[01]\d-[0-3]\d)\b")

# What an incident gains when the ticket's own words found its tracker record too.
CONFIRMED = 0.1

# Categories that blame an incident of ours (API-wide or in our deliveries).
INCIDENT_CATEGORIES = frozenset({"platform_incident", "webhook_platform"})


def reads_as_incident(issue: Issue) -> bool:
    """Whether ``issue`` is the record of an incident: labelled so, or its title says outage, down …"""
    labelled = any("incident" in (label or "").lower() for label in issue.labels)
    return labelled or bool(_INCIDENT_WORDS.search(issue.title))


def covering_incident(
    evidence: Evidence, first: datetime | None, last: datetime | None
) -> tuple[Issue, str] | None:
    """The incident issue (with the bug search's call id) whose time covers failures from ``first``
    to ``last``, the closest filed first; ``None`` when no issue fits."""
    if first is None:
        return None
    last = last or first
    days = {first.date().isoformat(), last.date().isoformat()}
    fits: list[tuple[timedelta, Issue, str]] = []
    for issue, call_id in evidence.bugs:
        filed = parse_ts(issue.created_at)
        if filed is None or not reads_as_incident(issue):
            continue
        if not first - FILED_BEFORE <= filed <= last + FILED_AFTER:
            continue
        stated = set(_DATE.findall(f"{issue.title} {issue.description}"))
        if stated and not stated & days:
            continue  # it names another day's incident
        fits.append((abs(filed - first), issue, call_id))
    if not fits:
        return None
    _, issue, call_id = min(fits, key=lambda f: f[0])
    return issue, call_id


def link_incident(
    hypothesis: Hypothesis, evidence: Evidence, first: datetime | None, last: datetime | None
) -> str | None:
    """Cite the incident record covering ``hypothesis``' failures, and name it in what it says; its
    identifier, or ``None`` when none is linked."""
    if hypothesis.category not in INCIDENT_CATEGORIES:
        return None
    found = covering_incident(evidence, first, last)
    if found is None:
        return None
    issue, call_id = found
    hypothesis.evidence.append(
        Cite(
            call_id=call_id,
            tool="bugs_search",
            value=issue.identifier,
            claim=f"incident {issue.identifier} ({issue.title}) covers the time of the failures",
        )
    )
    hypothesis.statement = (
        f"{hypothesis.statement.rstrip()} It is tracked as incident {issue.identifier} ({issue.title})."
    )
    hypothesis.reasons.append(f"incident {issue.identifier} was filed for that time")
    hypothesis.note = f"{hypothesis.note} Incident: {issue.identifier}.".strip()
    hypothesis.reply = f"{hypothesis.reply.rstrip()} (Our reference for this incident: {issue.identifier}.)"
    return issue.identifier


def as_incident(bug: Hypothesis | None, incidents: dict[str, Hypothesis]) -> Hypothesis | None:
    """A tracked "bug" that is the incident record of failures many accounts share (``incidents``: the
    linked record's id → the incident hypothesis citing it) is that incident, not a defect to wait for:
    the bug reading yields to it, whatever the issue's state. The incident so confirmed, or ``None``."""
    if bug is None:
        return None
    record = next((incidents[c.value] for c in bug.evidence if c.value in incidents), None)
    if record is None:
        return None
    # The same trouble under another name, not a rival cause: well below the incident, so it is not
    # weighed as one that "fits almost as well".
    # Found twice, by the failures' own times and by the ticket's words, the record confirms the
    # incident: a 503 of every account's bookings with its open incident issue is not a slowdown.
    record.confidence = round(max(min(record.confidence + CONFIRMED, 0.85), 0.7), 2)
    record.reasons.append(f"the ticket's words found {record.evidence[-1].value} too")
    bug.confidence = round(min(bug.confidence, record.confidence - 0.15), 2)
    bug.reasons.append(f"{record.evidence[-1].value} is the incident record of errors other accounts share")
    return record


def delivery_span(evidence: Evidence) -> tuple[datetime | None, datetime | None]:
    """When the account's deliveries failed: the failing run of the finest history at hand."""
    views = [v for v in (evidence.webhooks_interval, evidence.webhooks) if v is not None]
    run = next((r for r in (failing_run(v.data.history) for v in views) if r), [])
    if not run:
        return None, None
    return parse_ts(run[0].hour), parse_ts(run[-1].hour)
