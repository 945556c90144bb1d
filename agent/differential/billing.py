"""Billing standing and plan limits: a blocked, declined or capped account looks like an outage to its users.

* a subscription past due or canceled, stronger when the API's refusals are what a
  blocked account gets;
* a recent payment that failed (an open invoice, the card declined) while the
  subscription is still active: the customer's bank or card, fixed by the customer;
* a plan limit (named by the catalogue's ``plans.limits``) that the refusals reach.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from casefile.agent.differential.codes import explained
from casefile.agent.differential.evidence import Cited, Evidence
from casefile.agent.differential.model import Cite, Hypothesis
from casefile.agent.differential.picture import ErrorPicture
from casefile.agent.differential.semantics import classify
from casefile.agent.differential.sources import account_name
from casefile.agent.differential.topic import unread
from casefile.agent.signals import reference_time
from casefile.tools.base import parse_ts

if TYPE_CHECKING:
    from casefile.agent.models.base import LoopState
    from casefile.tools.billing_results import BillingAccount, PaymentFailure
    from casefile.tools.logs_results import TopError

__all__ = ["ENDED_AT_ONSET", "billing_causes", "ended_at_onset"]

_BAD = ("past_due", "unpaid", "canceled", "incomplete_expired")
_ENDED = ("canceled", "incomplete_expired")

# A billing cause's reason when the account's refusals began the moment its subscription ended.
ENDED_AT_ONSET = "the refusals began when the subscription ended"
# How soon after the subscription ended its refusals begin when they are its enforcement (the next
# request a device or a script makes).
_ENFORCED_WITHIN = timedelta(minutes=15)


def ended_at_onset(evidence: Evidence, picture: ErrorPicture) -> bool:
    """Whether the account's elevated refusals (a 4xx, or a code inside a 2xx: `refusal`) began within
    minutes after its subscription was canceled: the cancellation's enforcement, whatever the code says
    (``ContractEnded`` on a 403 reads as a permission), not a mistake of the customer's made that minute."""
    sub = evidence.billing.data.subscription if evidence.billing else None
    ended = parse_ts(sub.canceled_at) if sub is not None and sub.status in _ENDED else None
    onset = parse_ts(picture.onset) if picture.elevated else None
    top = picture.top
    if ended is None or onset is None or top is None or not refusal(top):
        return False
    return timedelta(0) <= onset - ended <= _ENFORCED_WITHIN


def refusal(row: TopError) -> bool:
    """A request refused as sent: a 4xx, or a success status carrying an error code (a protocol that
    answers every message 200 and says no inside it: an ``<Errors>`` element, an MDN's disposition)."""
    return 400 <= row.status < 500 or (200 <= row.status < 300 and bool(row.error_code))


def billing_causes(
    state: LoopState, evidence: Evidence, picture: ErrorPicture
) -> tuple[list[Hypothesis], list[str]]:
    out: list[Hypothesis] = []
    notes: list[str] = []
    b = evidence.billing
    sub = b.data.subscription if b else None
    top = picture.top
    # Refusals that began the minute the subscription ended are its enforcement whatever their code says.
    blocked = picture.elevated and (
        picture.cls in ("billing", "permission", "plan_limit", "credentials")
        or ended_at_onset(evidence, picture)
    )
    if (
        not blocked
        and b is not None
        and b.data.subscription is not None
        and b.data.subscription.status in _BAD
    ):
        # Refusals that say the account is unpaid are the enforcement whether or not they grew: an
        # account past due for days has been refused at the same rate all week.
        enforced = _enforced(evidence)
        blocked, top = (True, enforced) if enforced is not None else (blocked, top)
    if b is not None and sub is not None and sub.status in _BAD:
        category = "billing_canceled" if sub.status in _ENDED else "billing_past_due"
        # Stronger when the API's refusals are what a blocked account gets.
        confidence = 0.85 if blocked or "billing" in state.signals.areas else 0.6
        timed = blocked and ended_at_onset(evidence, picture)
        refusals = (
            f"; the API refuses its requests with {top.status} {top.error_code}".rstrip()
            if blocked and top
            else ""
        )
        out.append(
            Hypothesis(
                category=category,
                confidence=confidence,
                statement=f"{account_name(state)}'s subscription {sub.id} is {sub.status}{refusals}: "
                + ("; ".join(b.data.standing_reasons) or "billing is not in good standing")
                + ".",
                summary=f"Not an outage: the subscription is {sub.status.replace('_', ' ')}.",
                component="billing",
                reasons=[f"the subscription is {sub.status}"]
                + (["the API errors are the billing enforcement"] if blocked else [])
                + ([ENDED_AT_ONSET] if timed else []),
                evidence=b.cite(sub.status, f"subscription {sub.id} is {sub.status}")
                + (
                    evidence.top.cite(
                        top.error_code or top.status,
                        f"{top.count} requests refused",
                    )
                    if blocked and top and evidence.top
                    else []
                ),
                action="resolve",
                team=state.catalog.owner("billing"),
                reply=(
                    "Thanks for reaching out. Our service is up; what you see comes from your account's billing status: "
                    f"your subscription is {sub.status.replace('_', ' ')}. "
                    + (
                        "Once the open invoice is paid or the card on file is updated in your billing settings, access is restored."
                        if category == "billing_past_due"
                        else "You can reactivate it from your billing settings; if the cancellation wasn't intended, reply and we'll help."
                    )
                ),
                note="Billing: " + "; ".join(b.data.standing_reasons),
            )
        )
    elif b is not None and sub is not None and b.data.open_invoices and b.data.recent_payment_failures:
        out.append(_declined(state, b, b.data.recent_payment_failures[0]))
    elif b is not None and b.data.in_good_standing:
        notes.append(f"billing is in good standing ({sub.status if sub else 'no subscription listed'})")
    if picture.elevated and picture.cls == "plan_limit" and top is not None and evidence.top is not None:
        plan = sub.plan_name if sub else None
        limits = _limits(state, sub.limits if sub else {})
        out.append(
            Hypothesis(
                category="billing_plan_limit",
                confidence=0.8,
                statement=(
                    f"Not an outage: {account_name(state)} reached a limit of their plan{f' ({plan})' if plan else ''}; requests"
                    f"{f' to {picture.path}' if picture.path else ''} are refused with {top.status} {top.error_code} "
                    f"({picture.count} since {picture.onset}){limits}. This is a plan limit, not rate limiting."
                ),
                summary="A plan limit, not an outage or a rate limit.",
                component="billing / plan limits",
                reasons=[f"the refusals carry {top.error_code}", "a plan limit, not a per-minute rate"],
                evidence=evidence.top.cite(
                    top.error_code,
                    f"{top.count} requests refused with {top.error_code}",
                )
                + (b.cite(plan, f"the account is on {plan}") if b and plan else [])
                + _help_center(evidence, top.error_code, top.status),
                action="resolve",
                team=state.catalog.owner("billing"),
                reply=(
                    "Thanks for reaching out. Nothing is broken on our side: your account has reached a limit included in "
                    f"your plan{f' ({plan})' if plan else ''}, so these requests are refused with {top.error_code}. You can "
                    "upgrade from your billing settings, or split the work into smaller batches; if you expected a higher "
                    "limit, reply and we'll check your contract."
                ),
                note=f"Plan limit ({top.error_code}){limits}.",
            )
        )
    return out, notes


def _help_center(evidence: Evidence, code: str | None, status: int) -> list[Cite]:
    """The help-center article that says what an opaque code means, when one was read."""
    told = explained(evidence, code, status)
    return told[0].cite(told[1]) if told else []


def _enforced(evidence: Evidence) -> TopError | None:
    """The account's most frequent error row whose code or message says it is unpaid (billing)."""
    rows = evidence.top.data.top if evidence.top else []
    return next((r for r in rows if classify(r.status, r.error_code, r.message) == "billing"), None)


def _limits(state: LoopState, limits: dict[str, str]) -> str:
    named = state.catalog.plans.limits
    shown = [f"{name} {limits[key]}" for name, key in named.items() if key in limits] if named else []
    return f"; plan limits: {', '.join(shown)}" if shown else ""


# How recent a failed charge is for a ticket we cannot read to be taken as about it.
_LATELY = timedelta(days=7)


def _failed_lately(failure: PaymentFailure, state: LoopState) -> bool:
    """The charge failed in the week before the ticket (not after it)."""
    failed = parse_ts(failure.created)
    at = reference_time(state.ticket)
    return failed is not None and at - _LATELY <= failed <= at


def _declined(state: LoopState, b: Cited[BillingAccount], failure: PaymentFailure) -> Hypothesis:
    """The last charge failed and its invoice is still open, while the subscription is still active."""
    reason = failure.outcome_reason if failure.outcome_reason not in (None, "generic_decline") else None
    why = (reason or failure.failure_code or "declined").replace("_", " ")
    # A billing ticket is answered by this; any other ticket only mentions it in passing. A ticket we cannot
    # read may well be about the charge its customer was just told had failed: "your payment failed" is the
    # one message of ours every customer gets in their own language, and writes to us about.
    told = "billing" in state.signals.areas
    about_billing = told or (unread(state) == "foreign" and _failed_lately(failure, state))
    return Hypothesis(
        category="billing_card_declined",
        confidence=0.8 if about_billing else 0.45,
        statement=(
            f"The latest payment for {account_name(state)} failed on {failure.created}: {failure.failure_code}"
            + (f" ({failure.failure_message})" if failure.failure_message else "")
            + "; the invoice is still open and the subscription is still active. "
            + "; ".join(b.data.standing_reasons)
            + "."
        ),
        summary=f"The last payment was declined ({why}); the customer updates the card.",
        component="billing",
        reasons=["a recent charge failed", "its invoice is still open"]
        + (
            []
            if told
            else ["a ticket we cannot read, written in the week after the charge failed"]
            if about_billing
            else ["the ticket is not about billing"]
        ),
        evidence=b.cite(reason or failure.failure_code, f"the payment failed: {why}")
        + b.cite(failure.charge, "the declined charge"),
        action="resolve",
        team=state.catalog.owner("billing"),
        reply=(
            f"Thanks for reaching out. Your latest payment was declined by your bank ({why}), so the invoice is "
            "still open. Please update the card in your billing settings or contact your bank; we retry the payment "
            "automatically, and nothing else needs to change."
        ),
        note=f"Card declined: {failure.failure_code}" + (f"/{reason}" if reason else "") + ".",
    )
