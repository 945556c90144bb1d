"""A Stripe customer's billing standing: subscriptions, invoices and failed charges shaped for the
model, and the verdict (``in_good_standing``) with reasons that cite values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "BAD_SUBSCRIPTION_STATUSES",
    "assess_standing",
    "shape_failure",
    "shape_invoice",
    "shape_subscription",
    "stripe_id",
]

# Statuses that mean the customer is not (or no longer) paying for service.
BAD_SUBSCRIPTION_STATUSES = ("past_due", "unpaid", "canceled", "incomplete_expired")
# A canceled or expired subscription only matters when nothing replaced it.
_ENDED_STATUSES = ("canceled", "incomplete_expired")
_LIVE_STATUSES = ("active", "trialing")


def stripe_time(value: Any) -> str | None:
    """Stripe's Unix seconds as ISO 8601 with Z (None stays None)."""
    if value is None:
        return None
    return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stripe_id(value: Any) -> Any:
    """An expandable field's id, whether it came expanded (a dict) or not (a string)."""
    if isinstance(value, dict):
        return value.get("id")
    return value


# --------------------------------------------------------------------------- shaping


def _price(price: dict[str, Any], products: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """One price of a subscription, as its ``plan``: a flat (licensed) fee or a usage-based
    (metered) one, whose ``amount_decimal`` may be a fraction of a cent per unit."""
    product_id = stripe_id(price.get("product"))
    recurring = price.get("recurring") or {}
    return {
        "price_id": price.get("id"),
        "product": product_id,
        "product_name": products.get(product_id or "", {}).get("name"),
        "nickname": price.get("nickname"),
        "amount": price.get("unit_amount"),
        "amount_decimal": price.get("unit_amount_decimal"),
        "currency": price.get("currency"),
        "interval": recurring.get("interval"),
        "usage_type": recurring.get("usage_type"),
        "billing_scheme": price.get("billing_scheme"),
        "meter": recurring.get("meter"),
    }


def shape_subscription(sub: dict[str, Any], products: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    items = (sub.get("items") or {}).get("data") or []
    prices = [i.get("price") or {} for i in items]
    # The plan is the flat fee when the subscription has one beside its usage-based prices (a base
    # fee plus a per-unit price), else its first price, metered or not.
    licensed = [p for p in prices if (p.get("recurring") or {}).get("usage_type") != "metered"]
    base = (licensed or prices or [{}])[0]
    period_ends = [i["current_period_end"] for i in items if i.get("current_period_end") is not None]
    limits: dict[str, Any] = {}
    # Companies keep plan limits on the product or on the price, of any item: both, the price's more
    # specific, the plan's own item last.
    for price in [*(p for p in prices if p is not base), base]:
        product = products.get(stripe_id(price.get("product")) or "", {})
        limits |= {**dict(product.get("metadata") or {}), **dict(price.get("metadata") or {})}
    return {
        "id": sub["id"],
        "status": sub["status"],
        "cancel_at_period_end": sub.get("cancel_at_period_end"),
        "canceled_at": stripe_time(sub.get("canceled_at")),
        "current_period_end": stripe_time(max(period_ends)) if period_ends else None,
        "plan": _price(base, products),
        "metered": [
            _price(p, products) for p in prices if (p.get("recurring") or {}).get("usage_type") == "metered"
        ],
        "limits": limits,
    }


def shape_invoice(inv: dict[str, Any]) -> dict[str, Any]:
    parent = inv.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return {
        "id": inv["id"],
        "status": inv["status"],
        "amount_due": inv.get("amount_due"),
        "currency": inv.get("currency"),
        "attempt_count": inv.get("attempt_count", 0),
        "next_payment_attempt": stripe_time(inv.get("next_payment_attempt")),
        "due_date": stripe_time(inv.get("due_date")),
        "hosted_invoice_url": inv.get("hosted_invoice_url"),
        "created": stripe_time(inv.get("created")),
        "subscription": stripe_id(details.get("subscription")),
    }


def shape_failure(charge: dict[str, Any]) -> dict[str, Any]:
    outcome = charge.get("outcome") or {}
    return {
        "charge": charge["id"],
        "created": stripe_time(charge.get("created")),
        "failure_code": charge.get("failure_code"),
        "failure_message": charge.get("failure_message"),
        "outcome_reason": outcome.get("reason"),
        "amount": charge.get("amount"),
        "currency": charge.get("currency"),
        "invoice": stripe_id(charge.get("invoice")),
    }


def assess_standing(
    customer: Mapping[str, Any],
    subscriptions: list[dict[str, Any]],
    open_invoices: list[dict[str, Any]],
    failures: list[dict[str, Any]],
    now: datetime,
) -> tuple[bool, list[str]]:
    """(in_good_standing, reasons): the verdict and its evidence, in words that cite values.

    Not in good standing when a subscription is past_due or unpaid; when one is
    canceled or incomplete_expired and no active/trialing one replaced it; when
    an open invoice has failed attempts and is past its due date (invoices
    charged automatically have no due date: they are due when issued); or when
    Stripe marks the customer delinquent. Failed charges are cited as context.
    """
    reasons: list[str] = []
    has_live = any(s["status"] in _LIVE_STATUSES for s in subscriptions)
    for sub in subscriptions:
        status = sub["status"]
        if status in BAD_SUBSCRIPTION_STATUSES and not (status in _ENDED_STATUSES and has_live):
            when = f" since {sub['canceled_at']}" if status == "canceled" and sub.get("canceled_at") else ""
            reasons.append(f"subscription {sub['id']} is {status}{when}")
    now_iso = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for inv in open_invoices:
        attempts = inv.get("attempt_count") or 0
        due = inv.get("due_date") or inv.get("created")
        if attempts > 0 and (due is None or due <= now_iso):
            text = f"invoice {inv['id']} open, {attempts} failed attempt{'s' if attempts != 1 else ''}"
            text += f", amount_due {inv['amount_due']} {inv.get('currency') or ''}".rstrip()
            if inv.get("due_date"):
                text += f" (due {inv['due_date']})"
            reasons.append(text)
    if customer.get("delinquent"):
        reasons.append(f"customer {customer['id']} is marked delinquent by Stripe")
    if reasons and failures:
        last = failures[0]
        detail = "/".join(x for x in (last["failure_code"], last["outcome_reason"]) if x)
        reasons.append(f"last failed charge {last['charge']} on {last['created']}: {detail or 'failed'}")
    return (not reasons, reasons)
