"""How sure a diagnosis may say it is: limits on a confidence that hold whatever the company.

A confidence is the probability that the diagnosis is right (the eval's Brier score holds it to
that). Runbook findings and the differential set it from the evidence *for* a cause; this module
bounds it by what the investigation could not see, the way a senior engineer would:

* **Absence of evidence is weak evidence.** "No issue found" says the checks found nothing, which
  refutes the customer only when a check that would have seen their complaint ran: failing
  requests or an outage (the account's request logs), deliveries that did not arrive (the delivery
  log), slowness (latency), signing in (the logins). A complaint no check observes — a defect they
  ask about as a known issue, something we did not read as any of those, or one whose check did not
  run — leaves "nothing found" a guess: it is capped below what routing resolves and escalated with
  what was checked, rather than sent to the customer as the answer.

* **A ticket we did not read cannot be called vague with confidence.** "The ticket names no concrete
  symptom" is a judgment of what the customer wrote; about a ticket not written in English, read only
  through the phrases we know of its language (or none), it more likely says we missed their words: the
  answer that asks them for an example is capped at 0.4.

The claims are read from the ticket's signals and its English reading (``phrasebook.reading``: a
ticket in a listed language reads the same), never from a company's own words.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from casefile.agent.phrasebook import english
from casefile.agent.ticket import Signals

__all__ = [
    "ABSENCE_CAP",
    "ABSENCE_RULE",
    "CAPS",
    "UNREAD_CAP",
    "UNREAD_RULE",
    "Bound",
    "Claim",
    "bound",
    "claims",
    "limits_in",
]

ClaimKind = Literal["failing requests", "deliveries", "slowness", "signing in", "a defect"]

# Below routing's resolve threshold of every category: an escalation says what was checked.
ABSENCE_CAP = 0.4
ABSENCE_RULE = "absence of evidence"
UNREAD_CAP = 0.4
UNREAD_RULE = "unread"
# Each limit's name (the start of the confidence reason it adds) → the confidence it caps at.
CAPS: dict[str, float] = {ABSENCE_RULE: ABSENCE_CAP, UNREAD_RULE: UNREAD_CAP}

# What each complaint needs checked before "nothing is wrong" answers it (tool names of the catalogue).
_CHECKED_BY: dict[ClaimKind, tuple[str, ...]] = {
    "failing requests": ("logs_error_summary",),
    "deliveries": ("logs_webhook_deliveries",),
    "slowness": ("logs_latency",),
    "signing in": ("logs_sso_logins", "sso_check"),
    "a defect": (),  # healthy aggregates say nothing about a behaviour the customer describes
}

# In the ticket's English reading. Failing requests or the product unavailable (what an error rate
# answers); deliveries that do not arrive; slowness; a customer asking whether it is a known issue.
_FAILING = re.compile(
    r"\b(?:[45](?:\d\d|xx)|errors?|down|outages?|unavailable|not working|(?:doesn'?t|does not|nothing) works?"
    r"|crash\w*)\b",
    re.IGNORECASE,
)
_UNDELIVERED = re.compile(
    r"\b(?:not|never|no longer|didn'?t|don'?t|aren'?t|isn'?t|stopped)\b[^.!?\n]{0,40}\b(?:arriv\w*|receiv\w*)"
    r"|\bmissing\b",
    re.IGNORECASE,
)
_SLOW = re.compile(r"\bslow\w*|\btime[sd]? ?out\b|\btimeouts?\b", re.IGNORECASE)
_DEFECT = re.compile(r"\bknown (?:issue|problem|bug)s?\b|\bwork-?arounds?\b|\bbugs?\b", re.IGNORECASE)


class Claim(BaseModel):
    """What the customer says is wrong, as a kind a check can observe (or none can)."""

    kind: ClaimKind
    checked_by: tuple[str, ...] = Field(description="the tools whose result would show it")


class Bound(BaseModel):
    """A diagnosis' confidence after the limits, why, and whether it must be escalated."""

    confidence: float
    reasons: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list, description="the limits that lowered it")
    escalate: bool = False


def claims(signals: Signals, said: str) -> list[Claim]:
    """The complaints of a ticket whose signals are ``signals`` and English reading is ``said``."""
    kinds: list[ClaimKind] = []
    failing = [s for s in signals.statuses if s >= 400] or signals.error_codes or signals.exceptions
    if failing or _FAILING.search(said):
        kinds.append("failing requests")
    if "webhook" in signals.areas or _UNDELIVERED.search(said):
        kinds.append("deliveries")
    if "performance" in signals.areas or _SLOW.search(said):
        kinds.append("slowness")
    if "sso" in signals.areas:
        kinds.append("signing in")
    if _DEFECT.search(said):
        kinds.append("a defect")
    return [Claim(kind=k, checked_by=_CHECKED_BY[k]) for k in kinds]


def bound(
    category: str,
    confidence: float,
    signals: Signals,
    said: str,
    examined: set[str],
    *,
    unread: bool = False,
    text: str = "",
) -> Bound:
    """``confidence`` of a diagnosis of ``category``, bounded by what the ``examined`` tools could see.

    ``unread``: the ticket names no symptom we read (``differential.topic.unread``); ``text`` its own words.
    """
    if category == "insufficient_evidence" and unread and confidence > UNREAD_CAP and not english(text):
        return Bound(
            confidence=UNREAD_CAP,
            reasons=[
                f"{UNREAD_RULE}: the ticket is not written in English and we read no symptom in it, "
                "which more likely means we missed its words than that it names none"
            ],
            rules=[UNREAD_RULE],
        )
    if category != "no_issue_found" or confidence <= ABSENCE_CAP:
        return Bound(confidence=confidence)
    told = claims(signals, said)
    unseen = [c for c in told if not set(c.checked_by) & examined]
    if told and not unseen:
        return Bound(confidence=confidence)
    why = (
        "nothing the customer reports reads as failing requests, deliveries, slowness or signing in, "
        "so no check could refute it"
        if not told
        else "the customer reports "
        + ", ".join(
            f"{c.kind} (no check observes it)"
            if not c.checked_by
            else f"{c.kind} ({' or '.join(c.checked_by)} not run)"
            for c in unseen
        )
    )
    return Bound(
        confidence=ABSENCE_CAP,
        reasons=[f"{ABSENCE_RULE}: {why}; finding nothing is not evidence that nothing is wrong"],
        rules=[ABSENCE_RULE],
        escalate=True,
    )


def limits_in(reasons: list[str]) -> list[str]:
    """The limits named in a diagnosis' confidence reasons (each starts its reason with its name)."""
    return [name for name in CAPS if any(r.startswith(f"{name}:") for r in reasons)]
