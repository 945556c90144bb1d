"""A plan's overage (``PlanSpec.overage``): usage beyond the allowance, billed on a second, metered
price of the plan's product, per package of units; its subscription item and invoice line."""

from __future__ import annotations

from typing import Any

from casefile.tools.world.generate.ids import sid
from casefile.tools.world.generate.spec import AccountSpec, MeteredSpec, WorldSpec
from casefile.tools.world.generate.stripe_catalog import (
    account_currency,
    currency_options,
    in_currency,
    price_obj,
    recurring,
)

__all__ = ["overage_item", "overage_line", "overage_price_obj", "overage_wording"]


def overage_wording(over: MeteredSpec, cents: int | None = None) -> str:
    """The overage price's rate as an invoice line words it: "at $0.80 per 1,000 messages" (at
    ``cents`` a unit when given: the rate in the customer's currency)."""
    per = f"per {over.package:,} {over.unit}s" if over.package > 1 else f"/ {over.unit}"
    return f"at ${(over.unit_amount if cents is None else cents) / 100:,.2f} {per}"


def overage_price_obj(spec: WorldSpec, plan: str) -> dict[str, Any]:
    """A plan's overage (``PlanSpec.overage``): a metered price on the plan's product, billed per
    package of units (``transform_quantity``) beside the plan's own price."""
    p = spec.plans[plan]
    over = p.overage
    if over is None:
        raise ValueError(f"plan {plan} has no overage")
    key = spec.brand.id_salt + plan + "-overage"
    return (
        price_obj(spec, plan)
        | {
            "id": sid("price", key),
            "lookup_key": f"{spec.brand.price_lookup_prefix}_{plan}_overage",
            "metadata": {},
            "nickname": f"{p.name} overage ({overage_wording(over)})",
            "recurring": recurring(spec, plan) | {"meter": sid("mtr", key), "usage_type": "metered"},
            "transform_quantity": {"divide_by": over.package, "round": "up"} if over.package > 1 else None,
            "unit_amount": over.unit_amount,
            "unit_amount_decimal": str(over.unit_amount),
        }
        | currency_options(spec, over.unit_amount, over.currency_options)
    )


def overage_item(spec: WorldSpec, acc: AccountSpec, item: dict[str, Any]) -> dict[str, Any]:
    """The subscription item of the plan's overage price, beside the plan's own ``item``."""
    over = overage_price_obj(spec, acc.plan)
    rate = spec.plans[acc.plan].overage
    assert rate is not None
    cents = in_currency(spec, rate.unit_amount, rate.currency_options, account_currency(spec, acc))
    legacy_plan = item["plan"] | {
        "amount": cents,
        "amount_decimal": str(cents),
        "id": over["id"],
        "meter": over["recurring"]["meter"],
        "nickname": over["nickname"],
        "transform_usage": over["transform_quantity"],
        "usage_type": "metered",
    }
    rest = {k: v for k, v in item.items() if k != "quantity"}  # metered: billed by its meter
    return rest | {"id": sid("si", acc.id + "-overage", long=False), "price": over, "plan": legacy_plan}


def overage_line(spec: WorldSpec, acc: AccountSpec, line: dict[str, Any], inv_id: str) -> dict[str, Any]:
    """The invoice line of the overage price: nothing beyond the allowance this period, so Stripe
    lists the metered item at zero."""
    over, rate = overage_price_obj(spec, acc.plan), spec.plans[acc.plan].overage
    assert rate is not None
    cents = in_currency(spec, rate.unit_amount, rate.currency_options, account_currency(spec, acc))
    details = line["parent"]["subscription_item_details"]
    return line | {
        "amount": 0,
        "description": f"0 × {spec.plans[acc.plan].name} overage ({overage_wording(rate, cents)})",
        "id": sid("il", inv_id + "-overage"),
        "parent": line["parent"]
        | {
            "subscription_item_details": details
            | {"subscription_item": sid("si", acc.id + "-overage", long=False)}
        },
        "pricing": line["pricing"]
        | {
            "price_details": line["pricing"]["price_details"] | {"price": over["id"]},
            "unit_amount_decimal": str(cents),
        },
        "quantity": 0,
        "quantity_decimal": "0",
        "subtotal": 0,
    }
