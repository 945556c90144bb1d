"""Stripe objects of a world that describe who pays for what: the catalogue (prices, products) and
the customers, in Stripe's API 2025+ shapes."""

from __future__ import annotations

from typing import Any

from casefile.tools.world.generate.ids import b62, sid, ts
from casefile.tools.world.generate.spec import AccountSpec, WorldSpec

__all__ = [
    "account_currency",
    "address",
    "currency_options",
    "custom_fields",
    "customer_obj",
    "in_currency",
    "price_obj",
    "product_obj",
    "recurring",
    "unit_amount",
    "units_billed",
]


def address() -> dict[str, Any]:
    return {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None}


def custom_fields(acc: AccountSpec) -> list[dict[str, str]] | None:
    """Stripe's ``custom_fields`` of the account's invoices (a purchase-order number…), None when it has none."""
    fields = [{"name": name, "value": value} for name, value in acc.billing.invoice_fields.items()]
    return fields or None


def account_currency(spec: WorldSpec, acc: AccountSpec) -> str:
    """The currency the account is invoiced and charged in: its own, else the brand's."""
    return acc.billing.currency or spec.brand.currency


def in_currency(spec: WorldSpec, amount: int, options: dict[str, int], currency: str | None) -> int:
    """``amount`` (in the brand's currency) as priced in ``currency`` by ``options``."""
    return amount if currency is None or currency == spec.brand.currency else options[currency]


def currency_options(spec: WorldSpec, amount: int, options: dict[str, int]) -> dict[str, Any]:
    """Stripe's ``currency_options`` of a price (none: ``{}``), the brand's currency among them."""
    if not options:
        return {}
    every = {spec.brand.currency: amount} | options
    return {
        "currency_options": {
            cur: {
                "custom_unit_amount": None,
                "tax_behavior": "exclusive",
                "tiers": None,
                "unit_amount": cents,
                "unit_amount_decimal": str(cents),
            }
            for cur, cents in sorted(every.items())
        }
    }


def unit_amount(spec: WorldSpec, plan: str, currency: str | None = None) -> int:
    """What the price charges per unit: the month for a licensed price, one unit used for a metered
    one; in ``currency`` when given (the plan's ``currency_options``), else the brand's."""
    p = spec.plans[plan]
    if p.metered:
        return in_currency(spec, p.metered.unit_amount, p.metered.currency_options, currency)
    return in_currency(spec, p.amount, p.currency_options, currency)


def units_billed(spec: WorldSpec, plan: str) -> int:
    """The quantity on a month's invoice: 1 licensed seat, or the units a metered month used."""
    p = spec.plans[plan]
    return p.amount // p.metered.unit_amount if p.metered else 1


def recurring(spec: WorldSpec, plan: str) -> dict[str, Any]:
    """A price's (or legacy plan's) recurrence: a metered price names its billing meter."""
    metered = spec.plans[plan].metered
    return {
        "interval": spec.plans[plan].interval,
        "interval_count": 1,
        "meter": sid("mtr", spec.brand.id_salt + plan) if metered else None,
        "usage_type": "metered" if metered else "licensed",
        "trial_period_days": None,
    }


def price_obj(spec: WorldSpec, plan: str) -> dict[str, Any]:
    p = spec.plans[plan]
    amount = unit_amount(spec, plan)
    return {
        "active": True,
        "billing_scheme": "per_unit",
        "created": ts(spec.catalog_created),
        "currency": spec.brand.currency,
        "custom_unit_amount": None,
        "id": sid("price", spec.brand.id_salt + plan),
        "livemode": True,
        "lookup_key": f"{spec.brand.price_lookup_prefix}_{plan}_{p.adverb}",
        "metadata": dict(p.price_metadata),
        "nickname": f"{p.name} ({p.adverb})",
        "object": "price",
        "product": sid("prod", spec.brand.id_salt + plan, long=False),
        "recurring": recurring(spec, plan),
        "tax_behavior": "exclusive",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount),
    } | currency_options(spec, amount, p.metered.currency_options if p.metered else p.currency_options)


def product_obj(spec: WorldSpec, plan: str) -> dict[str, Any]:
    p = spec.plans[plan]
    return {
        "active": True,
        "created": ts(spec.catalog_created),
        "default_price": sid("price", spec.brand.id_salt + plan),
        "description": p.description,
        "id": sid("prod", spec.brand.id_salt + plan, long=False),
        "images": [],
        "livemode": True,
        "marketing_features": [],
        "metadata": dict(p.metadata),
        "name": p.name,
        "object": "product",
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": "txcd_10103001",
        "unit_label": None,
        "updated": ts(spec.catalog_updated),
        "url": None,
        "type": "service",
    }


def customer_obj(spec: WorldSpec, acc: AccountSpec) -> dict[str, Any]:
    return {
        "address": address() | {"country": "US" if "America" in acc.timezone else None},
        "balance": acc.billing.balance,
        "created": ts(acc.created),
        "currency": account_currency(spec, acc),
        "default_source": None,
        "delinquent": acc.billing.delinquent,
        "description": acc.name,
        "discount": None,
        "email": acc.email,
        "id": sid("cus", acc.id, long=False),
        "invoice_prefix": b62("prefix" + acc.id, 8).upper(),
        "invoice_settings": {
            "custom_fields": custom_fields(acc),
            "default_payment_method": None
            if acc.billing.trial_end
            else sid("pm", acc.id),  # a trial without a card
            "footer": None,
            "rendering_options": None,
        },
        "livemode": True,
        "metadata": {"account_id": acc.id, "domain": acc.domains[0]} | acc.billing.customer_metadata,
        "name": acc.name,
        "next_invoice_sequence": 14,
        "object": "customer",
        "phone": None,
        "preferred_locales": ["en"],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }
