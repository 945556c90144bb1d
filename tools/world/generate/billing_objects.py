"""Stripe objects (API 2025+ shapes) of a world: subscriptions, invoices, charges (the catalogue and
customers are in :mod:`casefile.tools.world.generate.stripe_catalog`), and the whole stripe.json."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from casefile.tools.world.generate.bank_debit import debit_charge_fields
from casefile.tools.world.generate.ids import b62, months, sha, sid, ts
from casefile.tools.world.generate.overage import overage_item, overage_line, overage_price_obj
from casefile.tools.world.generate.spec import AccountSpec, ChargeSpec, WorldSpec
from casefile.tools.world.generate.stripe_catalog import (
    account_currency,
    address,
    custom_fields,
    customer_obj,
    price_obj,
    product_obj,
    recurring,
    unit_amount,
    units_billed,
)

__all__ = ["stripe"]


def subscription_obj(spec: WorldSpec, acc: AccountSpec, latest_invoice: str) -> dict[str, Any]:
    plan = acc.plan
    sub_id = sid("sub", acc.id)
    start = ts(acc.anchor)
    end = months(start, -spec.plans[plan].period_months)
    every = recurring(spec, plan)
    currency = account_currency(spec, acc)
    item = {
        "created": ts(acc.created),
        "discounts": [],
        "id": sid("si", acc.id, long=False),
        "metadata": {},
        "object": "subscription_item",
        "price": price_obj(spec, plan),
        "quantity": acc.quantity,
        "subscription": sub_id,
        "tax_rates": [],
        "plan": {
            "active": True,
            "amount": unit_amount(spec, plan, currency),
            "amount_decimal": str(unit_amount(spec, plan, currency)),
            "billing_scheme": "per_unit",
            "created": ts(spec.catalog_created),
            "currency": currency,
            "id": sid("price", spec.brand.id_salt + plan),
            "interval": spec.plans[plan].interval,
            "interval_count": 1,
            "livemode": True,
            "metadata": {},
            "meter": every["meter"],
            "nickname": f"{spec.plans[plan].name} ({spec.plans[plan].adverb})",
            "object": "plan",
            "product": sid("prod", spec.brand.id_salt + plan, long=False),
            "tiers_mode": None,
            "transform_usage": None,
            "trial_period_days": None,
            "usage_type": every["usage_type"],
        },
        "current_period_end": end,
        "current_period_start": start,
        "billing_thresholds": None,
    }
    if spec.plans[plan].metered:
        del item["quantity"]  # Stripe bills a metered item by its meter, not a quantity
    items = [item] + ([overage_item(spec, acc, item)] if spec.plans[plan].overage else [])
    billing = acc.billing
    canceled = ts(billing.canceled_at) if billing.canceled_at else None
    return {
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
        "billing_cycle_anchor": ts(acc.created),
        "billing_cycle_anchor_config": None,
        "cancel_at": None,
        "canceled_at": canceled,
        "cancellation_details": {"comment": None, "feedback": None, "reason": billing.cancellation_reason},
        "collection_method": billing.collection_method,
        "created": ts(acc.created),
        "currency": currency,
        "customer": sid("cus", acc.id, long=False),
        "days_until_due": billing.days_until_due,
        "default_payment_method": None if billing.trial_end else sid("pm", acc.id),
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": canceled,
        "id": sub_id,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "data": items,
            "has_more": False,
            "object": "list",
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "latest_invoice": latest_invoice,
        "livemode": True,
        "metadata": {"account_id": acc.id},
        "next_pending_invoice_item_invoice": None,
        "object": "subscription",
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": ts(acc.created),
        "status": billing.status,
        "test_clock": None,
        "transfer_data": None,
        # a trial that ends without a card on file cancels the subscription (its end_behavior)
        "trial_end": ts(billing.trial_end) if billing.trial_end else None,
        "trial_settings": {
            "end_behavior": {"missing_payment_method": "cancel" if billing.trial_end else "create_invoice"}
        },
        "trial_start": ts(acc.created) if billing.trial_end else None,
        "cancel_at_period_end": False,
        "billing_thresholds": None,
        "billing_mode": {"type": "classic"},
        "customer_account": None,
        "managed_payments": {"enabled": False},
        "billing_schedules": [],
    }


def period_amount(spec: WorldSpec, acc: AccountSpec, plan: str) -> int:
    """A period's bill, in the account's currency: the plan's amount times the account's licensed
    units (a metered plan: once)."""
    p, currency = spec.plans[plan], account_currency(spec, acc)
    if p.metered:
        return (
            p.amount
            if currency == spec.brand.currency
            else units_billed(spec, plan) * unit_amount(spec, plan, currency)
        )
    return unit_amount(spec, plan, currency) * acc.quantity


def invoice_obj(spec: WorldSpec, acc: AccountSpec, period_start: int, *, paid: bool, attempts: int, next_attempt: int | None,
                paid_at: int | None, plan: str | None = None, trial: bool = False) -> dict[str, Any]:  # fmt: skip
    """One period's invoice of ``plan`` (default the account's); a trial's is Stripe's $0 invoice."""
    plan = plan or acc.plan
    metered = spec.plans[plan].metered
    amount = 0 if trial else period_amount(spec, acc, plan)
    currency = account_currency(spec, acc)
    unit = unit_amount(spec, plan, currency)
    quantity = units_billed(spec, plan) * (1 if metered else acc.quantity)
    per = metered.unit if metered else spec.plans[plan].interval
    span = spec.plans[plan].period_months
    inv_id = sid("in", f"{acc.id}-{period_start}")
    period_end = months(period_start, -span)
    sub_id = sid("sub", acc.id)
    number = f"{b62('prefix' + acc.id, 8).upper()}-{datetime.fromtimestamp(period_start, UTC):%y%m}"
    finalized = period_start + 3600
    days = acc.billing.days_until_due
    line = {
        "amount": amount,
        "currency": currency,
        "description": f"Trial period for {spec.plans[plan].name}"
        if trial
        else f"{quantity:,} × {spec.plans[plan].name} (at ${unit / 100:,.2f} / {per})",
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "id": sid("il", inv_id),
        "invoice": inv_id,
        "livemode": True,
        "metadata": {},
        "object": "line_item",
        "period": {"end": period_end, "start": period_start},
        "quantity": quantity,
        "subscription": None,
        "pretax_credit_amounts": [],
        "taxes": [],
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": sub_id,
                "subscription_item": sid("si", acc.id, long=False),
            },
            "type": "subscription_item_details",
        },
        "pricing": {
            "price_details": {
                "price": sid("price", spec.brand.id_salt + plan),
                "product": sid("prod", spec.brand.id_salt + plan, long=False),
            },
            "type": "price_details",
            "unit_amount_decimal": str(unit),
        },
        "subtotal": amount,
        "quantity_decimal": str(quantity),
    }
    lines = [line] + ([overage_line(spec, acc, line, inv_id)] if spec.plans[plan].overage else [])
    return {
        "account_country": "US",
        "account_name": spec.brand.legal_name,
        "account_tax_ids": None,
        "amount_due": amount,
        "amount_paid": amount if paid else 0,
        "amount_remaining": 0 if paid else amount,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": attempts,
        "attempted": attempts > 0,
        "auto_advance": not paid,
        "automatic_tax": {
            "enabled": False,
            "liability": None,
            "status": None,
            "disabled_reason": None,
            "provider": None,
        },
        "billing_reason": "subscription_create" if trial else "subscription_cycle",
        "collection_method": acc.billing.collection_method,
        "created": period_start,
        "currency": currency,
        "custom_fields": custom_fields(acc),
        "customer": sid("cus", acc.id, long=False),
        "customer_address": address(),
        "customer_email": acc.email,
        "customer_name": acc.name,
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None if days is None else finalized + days * 86400,
        "effective_at": finalized,
        "ending_balance": 0,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/{spec.brand.stripe_account}/live_{b62(inv_id, 40)}",
        "id": inv_id,
        "invoice_pdf": f"https://pay.stripe.com/invoice/{spec.brand.stripe_account}/live_{b62(inv_id, 40)}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {"data": lines, "has_more": False, "object": "list", "url": f"/v1/invoices/{inv_id}/lines"},
        "livemode": True,
        "metadata": {},
        "next_payment_attempt": next_attempt,
        "number": number,
        "object": "invoice",
        "on_behalf_of": None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": period_start,
        "period_start": months(period_start, span),
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "paid" if paid else "open",
        "status_transitions": {
            "finalized_at": finalized,
            "marked_uncollectible_at": None,
            "paid_at": paid_at,
            "voided_at": None,
        },
        "subscription": None,
        "subtotal": amount,
        "subtotal_excluding_tax": amount,
        "test_clock": None,
        "total": amount,
        "total_discount_amounts": [],
        "total_excluding_tax": amount,
        "webhooks_delivered_at": finalized,
        "automatically_finalizes_at": None,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "amount_overpaid": 0,
        "parent": {
            "quote_details": None,
            "subscription_details": {"metadata": {"account_id": acc.id}, "subscription": sub_id},
            "type": "subscription_details",
        },
        "customer_account": None,
    }


DECLINES = {
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
}


def charge_obj(
    spec: WorldSpec,
    acc: AccountSpec,
    created: int,
    amount: int,
    decline: str | None,
    seed: str,
    description: str = "Subscription update",
) -> dict[str, Any]:
    charge_id = "ch_3Q" + b62("ch" + seed, 22)
    last4 = acc.billing.card_last4
    if decline is None:
        outcome = {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    else:
        outcome = {
            "advice_code": "try_again_later" if decline == "insufficient_funds" else "do_not_try_again",
            "network_advice_code": None,
            "network_decline_code": "51" if decline == "insufficient_funds" else "54",
            "network_status": "declined_by_network",
            "reason": decline,
            "risk_level": "normal",
            "seller_message": f"The bank returned the decline code `{decline}`.",
            "type": "issuer_declined",
        }
    charge = {
        "amount": amount,
        "amount_captured": 0 if decline else amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None if decline else "txn_3Q" + b62("txn" + seed, 22),
        "billing_details": {
            "address": address(),
            "email": acc.email,
            "name": acc.name,
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": spec.brand.statement_descriptor,
        "captured": decline is None,
        "created": created,
        "currency": account_currency(spec, acc),
        "customer": sid("cus", acc.id, long=False),
        "description": description,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": "card_declined" if decline else None,
        "failure_message": DECLINES.get(decline, "Your card was declined.") if decline else None,
        "fraud_details": {},
        "id": charge_id,
        "livemode": True,
        "metadata": {},
        "object": "charge",
        "on_behalf_of": None,
        "outcome": outcome,
        "paid": decline is None,
        "payment_intent": "pi_3Q" + b62("pi" + seed, 22),
        "payment_method": sid("pm", acc.id),
        "payment_method_details": {
            "card": {
                "amount_authorized": None if decline else amount,
                "brand": "visa",
                "checks": {
                    "address_line1_check": None,
                    "address_postal_code_check": "pass",
                    "cvc_check": None,
                },
                "country": "US",
                "exp_month": 9,
                "exp_year": acc.billing.card_exp_year,
                "extended_authorization": {"status": "disabled"},
                "fingerprint": b62("fp" + acc.id, 16),
                "funding": "credit",
                "incremental_authorization": {"status": "unavailable"},
                "installments": None,
                "last4": last4,
                "mandate": None,
                "multicapture": {"status": "unavailable"},
                "network": "visa",
                "network_token": {"used": False},
                "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
                "three_d_secure": None,
                "wallet": None,
                "authorization_code": None if decline else f"{int(sha(seed)[:6], 16) % 1000000:06d}",
                "regulated_status": "unregulated",
                "network_transaction_id": f"{int(sha('nt' + seed)[:12], 16)}",
                "transaction_link_id": None,
            },
            "type": "card",
        },
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{b62('rcpt' + seed, 60)}",
        "refunded": False,
        "refunds": {
            "data": [],
            "has_more": False,
            "object": "list",
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "failed" if decline else "succeeded",
        "transfer_data": None,
        "transfer_group": None,
        "source": None,
    }
    if acc.billing.payment_method != "card":
        charge.update(debit_charge_fields(acc, decline))
    return charge


def stripe(spec: WorldSpec) -> dict[str, Any]:
    """stripe.json: customers, subscriptions, two periods of invoices and charges, the catalogue."""
    customers, subs, invoices, charges = [], [], [], []
    for acc in spec.accounts:
        customers.append(customer_obj(spec, acc))
        current = ts(acc.anchor)
        billing = acc.billing
        if billing.trial_end:  # a free trial: Stripe's $0 invoice at its start, no charge ever made
            start = ts(acc.created)
            trial = invoice_obj(
                spec, acc, start, paid=True, attempts=0, next_attempt=None, paid_at=start, trial=True
            )
            invoices.append(trial)
            subs.append(subscription_obj(spec, acc, trial["id"]))
            continue
        # the previous period's invoice (of the plan before a change, if any), paid at the first attempt
        before = billing.previous_plan or acc.plan
        previous = months(current, spec.plans[before].period_months)
        invoices.append(
            invoice_obj(
                spec,
                acc,
                previous,
                paid=True,
                attempts=1,
                next_attempt=None,
                paid_at=previous + 3720,
                plan=before,
            )
        )
        charges.append(
            charge_obj(
                spec, acc, previous + 3700, period_amount(spec, acc, before), None, f"{acc.id}-{previous}"
            )
        )
        amount = period_amount(spec, acc, acc.plan)
        # none given: one successful charge; an empty list: nobody has paid the invoice yet
        attempts = [ChargeSpec()] if billing.charges is None else billing.charges
        for n, attempt in enumerate(attempts):
            at = ts(attempt.at) if attempt.at else current + 3700
            seed = attempt.seed or (f"{acc.id}-{current}" if n == 0 else f"{acc.id}-{current}-{n}")
            charges.append(charge_obj(spec, acc, at, amount, attempt.decline, seed))
        paid = bool(attempts) and attempts[-1].decline is None
        paid_at = (ts(billing.paid_at) if billing.paid_at else current + 3720) if paid else None
        next_attempt = ts(billing.next_attempt) if billing.next_attempt else None
        inv = invoice_obj(spec, acc, current, paid=paid, attempts=len(attempts), next_attempt=next_attempt,
                          paid_at=paid_at)  # fmt: skip
        invoices.append(inv)
        subs.append(subscription_obj(spec, acc, inv["id"]))
        for n, top_up in enumerate(billing.top_ups):  # a prepaid balance's recharges, outside the invoices
            seed = f"{acc.id}-top-up-{n}"
            charges.append(
                charge_obj(spec, acc, ts(top_up.at), top_up.amount, top_up.decline, seed, top_up.description)
            )
    return {
        "customers": customers,
        "subscriptions": subs,
        "invoices": sorted(invoices, key=lambda i: -i["created"]),
        "charges": sorted(charges, key=lambda c: -c["created"]),
        "prices": [price_obj(spec, p) for p in spec.plans]
        + [overage_price_obj(spec, p) for p in spec.plans if spec.plans[p].overage],
        "products": [product_obj(spec, p) for p in spec.plans],
    }
