"""Runbook findings against the differential: which one the offline investigator concludes with.

Runbooks carry company knowledge (the exact reply for an expired certificate, a
known bug's workaround); the differential carries general reasoning. A runbook
finding stands unless the differential contradicts it:

* it blames a deploy the change correlation ruled out (docs only, another component,
  after the onset);
* it says one thing where the general checks found a stronger, different cause
  (a billing block behind "rate limits", the platform failing behind "your endpoint",
  errors behind "nothing is wrong", a cited cause behind "no cause found").

A finding the differential agrees with gains a little confidence; one it
disagrees with (without a veto) loses some, because contradictory evidence is
exactly when confidence must drop — when the cause the general checks lean to
concerns what the ticket is about: failing API requests do not make a finding
about how a report counts its days, or about a browser, less likely.
"""

from __future__ import annotations

from dataclasses import dataclass

from casefile.agent.differential.model import Differential, Hypothesis

__all__ = ["Verdict", "weigh"]

_BILLING = {"billing_past_due", "billing_canceled", "billing_plan_limit", "billing_card_declined"}
_OPPOSITES = {
    "webhook_customer_endpoint": {"webhook_platform"},
    "webhook_platform": {"webhook_customer_endpoint"},
    "customer_error": {"deploy_regression", "platform_incident"},
    "rate_limit": {"deploy_regression", "platform_incident", "billing_plan_limit"},
    "deploy_regression": {"customer_error", "rate_limit", *_BILLING},
    "no_issue_found": set(),
    # A bug matched by an endpoint's name alone is weaker than a deploy that touched that endpoint,
    # or than errors that say the customer's own system refuses.
    "known_bug": {"deploy_regression", "customer_error"},
    # "A bug in this browser" is what a tracked bug about the same page already says, with its workaround.
    "ui_browser": {"known_bug"},
    # Events missing for an hour are the deliveries that failed in it, not where a day's boundary falls.
    "data_timezone": {"webhook_platform", "webhook_customer_endpoint"},
}


# The product area each cause is about (as the signals name areas); a known bug is about whatever
# its words matched, so it concerns every ticket.
_AREA = {
    "webhook_customer_endpoint": "webhook",
    "webhook_platform": "webhook",
    "platform_incident": "api",
    "deploy_regression": "api",
    "customer_error": "api",
    "rate_limit": "api",
    "performance_account": "performance",
    "performance_platform": "performance",
    **{c: "billing" for c in _BILLING},
    **{
        c: "sso"
        for c in ("sso_certificate_expired", "sso_certificate_mismatch", "sso_config", "sso_clock_skew")
    },
    "data_timezone": "data",
    "ui_browser": "ui",
}


# How sure the general checks must be of a cause the data shows for a runbook's bug they did not match to
# give way; and the causes that are no such showing.
SHOWN = 0.75
_NOT_A_CAUSE = frozenset({"known_bug", "no_issue_found", "insufficient_evidence"})


@dataclass
class Verdict:
    use_runbook: bool
    confidence_delta: float = 0.0
    why: str = ""


def weigh(
    category: str,
    confidence: float,
    cited: set[str],
    diff: Differential,
    areas: frozenset[str] | None = None,
) -> Verdict:
    """Whether a runbook finding (``category`` at ``confidence``, citing ``cited`` values) stands.

    ``areas``: what the ticket is about (the signals' areas, ``api`` when it names a status, code or
    endpoint); None weighs every lean as related."""
    best: Hypothesis | None = diff.best
    blamed = cited & set(diff.ruled_out_deploys)
    if blamed:
        return Verdict(
            False,
            why=f"the finding blames a deploy the change check ruled out ({', '.join(sorted(blamed))[:80]})",
        )
    if best is None:
        return Verdict(True)
    same = next((h for h in diff.hypotheses if h.category == category), None)
    if (
        same is not None
        and best.category != category
        and same.confidence < best.confidence - 0.15
        and cited & {c.value for c in same.evidence}
    ):
        same = None  # the general checks weighed this very finding and found a different cause likelier
    other_bug = _other_bug(category, cited, same)
    if other_bug:
        return Verdict(False, why=f"the ticket's own words match another known bug ({other_bug})")
    if (
        category == "known_bug"
        and same is None
        and best.confidence >= SHOWN
        and best.category not in _NOT_A_CAUSE
    ):
        # A bug the general ranking did not match at all, neither by the ticket's words nor by the account's
        # errors (a runbook found it by the failing endpoint's name in its text), against a cause the
        # account's own data shows: the data is the answer, the bug a neighbour on the same endpoint.
        return Verdict(
            False,
            why=f"the general checks match no bug to the ticket or its errors, and show {best.category}",
        )
    if best.category == category:
        return Verdict(True, 0.03, "the general differential reaches the same cause")
    strong = best.confidence >= 0.7
    if category == "insufficient_evidence" and best.confidence > confidence:
        return Verdict(False, why=f"the general checks found a likelier cause ({best.category})")
    if category == "no_issue_found" and best.confidence >= 0.6:
        return Verdict(False, why=f"the general checks found {best.category}")
    if strong and best.category in _BILLING and category not in _BILLING and same is None:
        return Verdict(False, why=f"billing explains the symptom ({best.category})")
    if (
        strong
        and same is None
        and best.category in _OPPOSITES.get(category, set())
        and best.confidence >= confidence - 0.05
    ):
        return Verdict(False, why=f"the general checks point to {best.category}, not {category}")
    if same is not None:
        return Verdict(True, 0.0, "the general differential also lists this cause")
    # "Nothing fails on the API" does not contradict a finding about data, billing, a browser or SSO.
    if best.confidence >= max(0.6, confidence - 0.1) and best.category != "no_issue_found":
        area = _AREA.get(best.category)
        if areas is not None and area is not None and area not in areas:
            return Verdict(
                True, 0.0, f"the general checks' {best.category} concerns another area than the ticket"
            )
        return Verdict(True, -0.1, f"the general checks lean to {best.category}")
    return Verdict(True)


def _other_bug(category: str, cited: set[str], general: Hypothesis | None) -> str | None:
    """The bug the general ranking matched with confidence, when the finding names a different one."""
    if category != "known_bug" or general is None or general.confidence < 0.75:
        return None
    ids = {c.value for c in general.evidence if c.tool.startswith("bugs_")}
    return next(iter(sorted(ids)), None) if ids and not ids & cited else None
