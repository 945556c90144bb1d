"""Regenerate the demo world's provider files from the story told in this script.

Run from the repository root: ``python examples/world/make_world.py``. It writes
``accounts.json``, ``stripe.json``, ``github.json``, ``linear.json`` and
``tickets.json`` next to it, deterministically (ids and SHAs are hashes of fixed
strings). The objects have the field sets the providers' APIs return (Stripe API
2025+, GitHub REST 2022-11-28, Linear GraphQL), so the connectors parse them exactly
as they would parse the real thing. The SAML files come from ``make_sso.py``; the
configured certificate fingerprints are read back from those files.

The story and its ground truth are described in ``examples/README.md``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

WORLD = Path(__file__).resolve().parent
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# ----------------------------------------------------------------------------- helpers


def ts(iso: str) -> int:
    """ISO 8601 (Z) → Unix seconds, as Stripe sends times."""
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def iso(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def b62(seed: str, n: int) -> str:
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    out = ""
    for _ in range(n):
        digest, r = divmod(digest, 62)
        out += _B62[r]
    return out


def sid(prefix: str, seed: str, long: bool = True) -> str:
    """A Stripe-looking id: ``cus_`` + 14 chars, or ``sub_1Q`` + 22 chars for long ids."""
    return f"{prefix}_1Q{b62(prefix + seed, 22)}" if long else f"{prefix}_{b62(prefix + seed, 14)}"


def sha(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


def node_id(kind: str, n: int | str) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{n}".encode()).decode()


def fingerprint(xml_file: Path) -> str:
    """SHA-1 of the first X509Certificate in a metadata file, colon-separated upper hex."""
    text = xml_file.read_text(encoding="utf-8")
    match = re.search(r"<ds:X509Certificate>(.*?)</ds:X509Certificate>", text, re.S)
    if not match:
        raise SystemExit(f"{xml_file}: no certificate (run make_sso.py first)")
    der = base64.b64decode(re.sub(r"\s+", "", match.group(1)))
    return ":".join(f"{b:02X}" for b in hashlib.sha1(der).digest())


def dump(name: str, data: Any) -> None:
    (WORLD / name).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------- accounts

ACCOUNTS: list[dict[str, Any]] = [
    {"id": "acme", "name": "Acme Logistics", "domains": ["acme-logistics.com"], "plan": "growth",
     "timezone": "Europe/Berlin", "webhook_url": "https://ops.acme-logistics.com/webhooks/relay",
     "anchor": "2026-11-03T09:00:00Z", "created": "2024-03-11T10:22:41Z", "email": "billing@acme-logistics.com"},
    {"id": "globex", "name": "Globex Retail", "domains": ["globex.example"], "plan": "starter",
     "timezone": "Europe/Amsterdam", "webhook_url": "https://oms.globex.example/hooks/relay",
     "anchor": "2026-11-05T08:00:00Z", "created": "2025-02-05T08:13:09Z", "email": "ap@globex.example"},
    {"id": "initech", "name": "Initech", "domains": ["initech.io"], "plan": "growth",
     "timezone": "Europe/London", "webhook_url": None,
     "anchor": "2026-11-01T00:00:00Z", "created": "2023-11-01T15:40:00Z", "email": "finance@initech.io"},
    {"id": "umbrella", "name": "Umbrella Health", "domains": ["umbrella-health.com"], "plan": "growth",
     "timezone": "Europe/London", "webhook_url": "https://hooks.umbrella-health.com/relay",
     "anchor": "2026-11-10T12:00:00Z", "created": "2024-08-10T12:02:55Z", "email": "accounts@umbrella-health.com"},
    {"id": "hooli", "name": "Hooli", "domains": ["hooli.xyz"], "plan": "enterprise",
     "timezone": "Europe/Dublin", "webhook_url": "https://events.hooli.xyz/ingest/relay",
     "anchor": "2026-11-01T00:00:00Z", "created": "2023-05-01T09:00:00Z", "email": "vendors@hooli.xyz"},
    {"id": "stark", "name": "Stark Industries", "domains": ["stark-industries.com"], "plan": "enterprise",
     "timezone": "America/New_York", "webhook_url": "https://api.stark-industries.com/relay/webhooks",
     "anchor": "2026-11-15T14:00:00Z", "created": "2024-01-15T14:31:12Z", "email": "ap@stark-industries.com"},
    {"id": "wayne", "name": "Wayne Enterprises", "domains": ["wayne-enterprises.com"], "plan": "growth",
     "timezone": "America/Chicago", "webhook_url": None,
     "anchor": "2026-11-08T16:00:00Z", "created": "2025-06-08T16:45:30Z", "email": "payables@wayne-enterprises.com"},
    {"id": "wonka", "name": "Wonka Confections", "domains": ["wonka.dev"], "plan": "starter",
     "timezone": "Asia/Singapore", "webhook_url": "https://wonka.dev/api/relay-events",
     "anchor": "2026-11-02T03:00:00Z", "created": "2025-09-02T03:12:00Z", "email": "billing@wonka.dev"},
]  # fmt: skip

IDPS: dict[str, dict[str, str]] = {
    "initech": {"vendor": "okta", "entity_id": "http://www.okta.com/exk8in1tech2sso3ok4a",
                "metadata_url": "https://initech.okta.com/app/exk8in1tech2sso3ok4a/sso/saml/metadata",
                "file": "initech-okta"},
    "stark": {"vendor": "okta", "entity_id": "http://www.okta.com/exk5st4rk3ind2us1ry0",
              "metadata_url": "https://stark-industries.okta.com/app/exk5st4rk3ind2us1ry0/sso/saml/metadata",
              "file": "stark-okta"},
    "wayne": {"vendor": "entra", "entity_id": "https://sts.windows.net/5f0c2c1e-8d3b-4e6a-9b7d-2a1c3e4f5a6b/",
              "metadata_url": "https://login.microsoftonline.com/5f0c2c1e-8d3b-4e6a-9b7d-2a1c3e4f5a6b/"
                              "federationmetadata/2007-06/federationmetadata.xml"
                              "?appid=8a1d2c3b-4e5f-4a6b-9c7d-0e1f2a3b4c5d",
              "file": "wayne-entra"},
    "hooli": {"vendor": "google", "entity_id": "https://accounts.google.com/o/saml2?idpid=C03h0ol1x",
              "metadata_url": "https://sso.hooli.xyz/saml/google-idp-metadata.xml", "file": "hooli-google"},
}  # fmt: skip


def accounts() -> dict[str, Any]:
    out = []
    for acc in ACCOUNTS:
        idp = None
        if acc["id"] in IDPS:
            spec = IDPS[acc["id"]]
            xml = WORLD / "sso" / f"{spec['file']}.xml"
            idp = {
                "vendor": spec["vendor"],
                "entity_id": spec["entity_id"],
                "metadata_url": spec["metadata_url"],
                "configured_cert_sha1": fingerprint(xml) if xml.exists() else f"SHA1:{acc['id']}",
                "sp_acs_url": f"https://app.relayhq.dev/sso/saml/acs/{acc['id']}",
                "last_working_snapshot": f"sso/{spec['file']}-last-working.xml",
            }
        repos = ["relayhq/api", "relayhq/web"] + (["relayhq/webhooks"] if acc["webhook_url"] else [])
        out.append(
            {
                "id": acc["id"],
                "name": acc["name"],
                "domains": acc["domains"],
                "plan": acc["plan"],
                "timezone": acc["timezone"],
                "stripe_customer": sid("cus", acc["id"], long=False),
                "webhook_url": acc["webhook_url"],
                "repos": repos,
                "idp": idp,
            }
        )
    return {"accounts": out}


# ----------------------------------------------------------------------------- Stripe

PLANS = {
    "starter": {"name": "Relay Starter", "amount": 9900, "rpm": "120", "sso": "false", "webhooks": "2"},
    "growth": {"name": "Relay Growth", "amount": 49900, "rpm": "600", "sso": "true", "webhooks": "10"},
    "enterprise": {
        "name": "Relay Enterprise",
        "amount": 249900,
        "rpm": "3000",
        "sso": "true",
        "webhooks": "50",
    },
}
_CATALOG_CREATED = ts("2023-01-09T12:00:00Z")


def _address() -> dict[str, Any]:
    return {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None}


def price_obj(plan: str) -> dict[str, Any]:
    p = PLANS[plan]
    return {
        "active": True,
        "billing_scheme": "per_unit",
        "created": _CATALOG_CREATED,
        "currency": "usd",
        "custom_unit_amount": None,
        "id": sid("price", plan),
        "livemode": True,
        "lookup_key": f"relay_{plan}_monthly",
        "metadata": {},
        "nickname": f"{p['name']} (monthly)",
        "object": "price",
        "product": sid("prod", plan, long=False),
        "recurring": {
            "interval": "month",
            "interval_count": 1,
            "meter": None,
            "usage_type": "licensed",
            "trial_period_days": None,
        },
        "tax_behavior": "exclusive",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": p["amount"],
        "unit_amount_decimal": str(p["amount"]),
    }


def product_obj(plan: str) -> dict[str, Any]:
    p = PLANS[plan]
    return {
        "active": True,
        "created": _CATALOG_CREATED,
        "default_price": sid("price", plan),
        "description": f"{p['name']}: orders and shipping API, {p['rpm']} requests per minute",
        "id": sid("prod", plan, long=False),
        "images": [],
        "livemode": True,
        "marketing_features": [],
        "metadata": {"api_rpm": p["rpm"], "sso": p["sso"], "webhook_endpoints": p["webhooks"], "plan": plan},
        "name": p["name"],
        "object": "product",
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": "txcd_10103001",
        "unit_label": None,
        "updated": ts("2026-06-01T10:00:00Z"),
        "url": None,
        "type": "service",
    }


def customer_obj(acc: dict[str, Any]) -> dict[str, Any]:
    return {
        "address": _address() | {"country": "US" if "America" in acc["timezone"] else None},
        "balance": 0,
        "created": ts(acc["created"]),
        "currency": "usd",
        "default_source": None,
        "delinquent": acc["id"] == "globex",
        "description": acc["name"],
        "discount": None,
        "email": acc["email"],
        "id": sid("cus", acc["id"], long=False),
        "invoice_prefix": b62("prefix" + acc["id"], 8).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": sid("pm", acc["id"]),
            "footer": None,
            "rendering_options": None,
        },
        "livemode": True,
        "metadata": {"account_id": acc["id"], "domain": acc["domains"][0]},
        "name": acc["name"],
        "next_invoice_sequence": 14,
        "object": "customer",
        "phone": None,
        "preferred_locales": ["en"],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def _months(anchor: int, back: int) -> int:
    """The same day-of-month ``back`` months before ``anchor`` (our anchors are on day <= 10)."""
    d = datetime.fromtimestamp(anchor, UTC)
    month = d.month - back
    year = d.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return int(d.replace(year=year, month=month).timestamp())


def subscription_obj(acc: dict[str, Any], latest_invoice: str) -> dict[str, Any]:
    plan = acc["plan"]
    sub_id = sid("sub", acc["id"])
    start = ts(acc["anchor"])
    end = _months(start, -1)
    item = {
        "created": ts(acc["created"]),
        "discounts": [],
        "id": sid("si", acc["id"], long=False),
        "metadata": {},
        "object": "subscription_item",
        "price": price_obj(plan),
        "quantity": 1,
        "subscription": sub_id,
        "tax_rates": [],
        "plan": {
            "active": True,
            "amount": PLANS[plan]["amount"],
            "amount_decimal": str(PLANS[plan]["amount"]),
            "billing_scheme": "per_unit",
            "created": _CATALOG_CREATED,
            "currency": "usd",
            "id": sid("price", plan),
            "interval": "month",
            "interval_count": 1,
            "livemode": True,
            "metadata": {},
            "meter": None,
            "nickname": f"{PLANS[plan]['name']} (monthly)",
            "object": "plan",
            "product": sid("prod", plan, long=False),
            "tiers_mode": None,
            "transform_usage": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        },
        "current_period_end": end,
        "current_period_start": start,
        "billing_thresholds": None,
    }
    past_due = acc["id"] == "globex"
    return {
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
        "billing_cycle_anchor": ts(acc["created"]),
        "billing_cycle_anchor_config": None,
        "cancel_at": None,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": ts(acc["created"]),
        "currency": "usd",
        "customer": sid("cus", acc["id"], long=False),
        "days_until_due": None,
        "default_payment_method": sid("pm", acc["id"]),
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": None,
        "id": sub_id,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "data": [item],
            "has_more": False,
            "object": "list",
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "latest_invoice": latest_invoice,
        "livemode": True,
        "metadata": {"account_id": acc["id"]},
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
        "start_date": ts(acc["created"]),
        "status": "past_due" if past_due else "active",
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
        "cancel_at_period_end": False,
        "billing_thresholds": None,
        "billing_mode": {"type": "classic"},
        "customer_account": None,
        "managed_payments": {"enabled": False},
        "billing_schedules": [],
    }


def invoice_obj(acc: dict[str, Any], period_start: int, *, paid: bool, attempts: int, next_attempt: int | None,
                paid_at: int | None) -> dict[str, Any]:  # fmt: skip
    plan = acc["plan"]
    amount = PLANS[plan]["amount"]
    inv_id = sid("in", f"{acc['id']}-{period_start}")
    period_end = _months(period_start, -1)
    sub_id = sid("sub", acc["id"])
    number = f"{b62('prefix' + acc['id'], 8).upper()}-{datetime.fromtimestamp(period_start, UTC):%y%m}"
    finalized = period_start + 3600
    line = {
        "amount": amount,
        "currency": "usd",
        "description": f"1 × {PLANS[plan]['name']} (at ${amount / 100:,.2f} / month)",
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "id": sid("il", inv_id),
        "invoice": inv_id,
        "livemode": True,
        "metadata": {},
        "object": "line_item",
        "period": {"end": period_end, "start": period_start},
        "quantity": 1,
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
                "subscription_item": sid("si", acc["id"], long=False),
            },
            "type": "subscription_item_details",
        },
        "pricing": {
            "price_details": {"price": sid("price", plan), "product": sid("prod", plan, long=False)},
            "type": "price_details",
            "unit_amount_decimal": str(amount),
        },
        "subtotal": amount,
        "quantity_decimal": "1",
    }
    return {
        "account_country": "US",
        "account_name": "Relay, Inc.",
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
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically",
        "created": period_start,
        "currency": "usd",
        "custom_fields": None,
        "customer": sid("cus", acc["id"], long=False),
        "customer_address": _address(),
        "customer_email": acc["email"],
        "customer_name": acc["name"],
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": finalized,
        "ending_balance": 0,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_1RelayHQ/live_{b62(inv_id, 40)}",
        "id": inv_id,
        "invoice_pdf": f"https://pay.stripe.com/invoice/acct_1RelayHQ/live_{b62(inv_id, 40)}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {"data": [line], "has_more": False, "object": "list", "url": f"/v1/invoices/{inv_id}/lines"},
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
        "period_start": _months(period_start, 1),
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
            "subscription_details": {"metadata": {"account_id": acc["id"]}, "subscription": sub_id},
            "type": "subscription_details",
        },
        "customer_account": None,
    }


DECLINES = {
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
}


def charge_obj(
    acc: dict[str, Any], created: int, amount: int, decline: str | None, seed: str
) -> dict[str, Any]:
    charge_id = "ch_3Q" + b62("ch" + seed, 22)
    last4 = {"globex": "0341", "wonka": "8210"}.get(acc["id"], "4242")
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
    return {
        "amount": amount,
        "amount_captured": 0 if decline else amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None if decline else "txn_3Q" + b62("txn" + seed, 22),
        "billing_details": {
            "address": _address(),
            "email": acc["email"],
            "name": acc["name"],
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "RELAYHQ.DEV",
        "captured": decline is None,
        "created": created,
        "currency": "usd",
        "customer": sid("cus", acc["id"], long=False),
        "description": "Subscription update",
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": "card_declined" if decline else None,
        "failure_message": DECLINES[decline] if decline else None,
        "fraud_details": {},
        "id": charge_id,
        "livemode": True,
        "metadata": {},
        "object": "charge",
        "on_behalf_of": None,
        "outcome": outcome,
        "paid": decline is None,
        "payment_intent": "pi_3Q" + b62("pi" + seed, 22),
        "payment_method": sid("pm", acc["id"]),
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
                "exp_year": 2026 if acc["id"] == "wonka" else 2028,
                "extended_authorization": {"status": "disabled"},
                "fingerprint": b62("fp" + acc["id"], 16),
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


def stripe() -> dict[str, Any]:
    customers, subs, invoices, charges = [], [], [], []
    for acc in ACCOUNTS:
        customers.append(customer_obj(acc))
        current = ts(acc["anchor"])
        previous = _months(current, 1)
        amount = PLANS[acc["plan"]]["amount"]
        # the previous period's invoice, paid at the first attempt
        invoices.append(
            invoice_obj(acc, previous, paid=True, attempts=1, next_attempt=None, paid_at=previous + 3720)
        )
        charges.append(charge_obj(acc, previous + 3700, amount, None, f"{acc['id']}-{previous}"))
        if acc["id"] == "globex":
            # Smart Retries: 2026-11-05, 2026-11-09, 2026-11-14 all declined; next try 2026-11-21.
            attempts = ["2026-11-05T09:02:11Z", "2026-11-09T11:47:36Z", "2026-11-14T10:31:52Z"]
            inv = invoice_obj(acc, current, paid=False, attempts=3, next_attempt=ts("2026-11-21T10:31:52Z"),
                              paid_at=None)  # fmt: skip
            for n, at in enumerate(attempts):
                charges.append(charge_obj(acc, ts(at), amount, "insufficient_funds", f"globex-try-{n}"))
        elif acc["id"] == "wonka":
            # noise: one decline (expired card), then the customer updated the card and paid
            inv = invoice_obj(acc, current, paid=True, attempts=2, next_attempt=None,
                              paid_at=ts("2026-11-03T07:15:40Z"))  # fmt: skip
            charges.append(charge_obj(acc, current + 3700, amount, "expired_card", "wonka-expired"))
            charges.append(charge_obj(acc, ts("2026-11-03T07:15:38Z"), amount, None, "wonka-retry"))
        else:
            inv = invoice_obj(acc, current, paid=True, attempts=1, next_attempt=None, paid_at=current + 3720)
            charges.append(charge_obj(acc, current + 3700, amount, None, f"{acc['id']}-{current}"))
        invoices.append(inv)
        subs.append(subscription_obj(acc, inv["id"]))
    return {
        "customers": customers,
        "subscriptions": subs,
        "invoices": sorted(invoices, key=lambda i: -i["created"]),
        "charges": sorted(charges, key=lambda c: -c["created"]),
        "prices": [price_obj(p) for p in PLANS],
        "products": [product_obj(p) for p in PLANS],
    }


# ----------------------------------------------------------------------------- GitHub

PEOPLE = {
    "mkowalski": ("Marta Kowalski", "marta@relayhq.dev", 58211093),
    "dokafor": ("David Okafor", "david@relayhq.dev", 61120457),
    "lchen": ("Lin Chen", "lin@relayhq.dev", 49982231),
    "psharma": ("Priya Sharma", "priya@relayhq.dev", 70311842),
    "relay-deploy[bot]": ("relay-deploy[bot]", "deploy@relayhq.dev", 149820311),
}


def user(login: str) -> dict[str, Any]:
    uid = PEOPLE[login][2]
    base = f"https://api.github.com/users/{login.replace('[bot]', '%5Bbot%5D')}"
    return {
        "login": login,
        "id": uid,
        "node_id": node_id("User", uid),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "gravatar_id": "",
        "url": base,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": "Bot" if login.endswith("[bot]") else "User",
        "site_admin": False,
    }


# Per repo: deploys in time order: (tag, environment, created_at, state, [(message, author, [files])]).
# A file is (path, status, additions, deletions, patch).
_RATELIMIT_PATCH = """@@ -88,14 +88,27 @@ class SlidingWindowLimiter:
     def check(self, request: Request) -> Decision:
         key = self.bucket_key(request)
-        count = self.store.incr(key, window=self.window)
+        count = self.store.incr(key, window=self.window)
+        idem = request.headers.get("idempotency-key")
+        if idem and self.idempotency.seen(idem):
+            # replayed request: charge the client for the replay as well
+            count = self.store.incr(key, window=self.window)
         if count > self.limit(request.account):
             return Decision.reject(retry_after=self.window.reset_in())"""
_EXPORT_PATCH = """@@ -41,12 +41,19 @@ def export_orders(account, params):
-    rows = Order.objects.for_account(account).filter(**params.filters)
-    return csv_response(rows, columns=EXPORT_COLUMNS)
+    rows = Order.objects.for_account(account).filter(**params.filters).iterator(chunk_size=2000)
+    serializer = OrderExportSerializer(columns=params.columns or EXPORT_COLUMNS)
+    # customs fields are now required by the serializer
+    return streaming_csv_response(serializer.row(o) for o in rows)"""

DEPLOYS: dict[str, list[tuple[str, str, str, str, list[tuple[str, str, list[tuple[str, str, int, int, str]]]]]]] = {
    "relayhq/api": [
        ("v2.39.2", "production", "2026-11-13T10:20:00Z", "success", [
            ("orders: fix pagination cursor for archived orders (#2241)", "lchen",
             [("src/orders/pagination.py", "modified", 12, 4, "")]),
        ]),
        ("v2.40.0", "staging", "2026-11-16T08:10:00Z", "success", []),
        ("v2.40.0", "production", "2026-11-16T09:30:00Z", "success", [
            ("orders: full-text search on reference and customer name (#2250)", "dokafor",
             [("src/orders/search.py", "added", 184, 0, ""), ("migrations/0142_orders_search_index.sql", "added", 9, 0, ""),
              ("tests/orders/test_search.py", "added", 121, 0, "")]),
            ("deps: bump psycopg to 3.2.3 (#2256)", "relay-deploy[bot]", [("requirements.lock", "modified", 3, 3, "")]),
        ]),
        ("v2.40.1", "production", "2026-11-17T13:15:00Z", "success", [
            ("labels: DHL Express label size A6 (#2262)", "psharma",
             [("src/shipments/labels.py", "modified", 22, 6, ""), ("src/carriers/dhl.py", "modified", 15, 2, "")]),
        ]),
        ("v2.40.2", "production", "2026-11-18T09:40:00Z", "success", [
            ("rates: cache carrier rate cards for 5 minutes (#2270)", "lchen",
             [("src/rates/cache.py", "added", 64, 0, ""), ("src/rates/service.py", "modified", 18, 9, "")]),
        ]),
        ("v2.40.3", "production", "2026-11-18T14:02:00Z", "success", [
            ("orders/export: stream CSV rows through the new serializer (#2291)", "dokafor",
             [("src/orders/export.py", "modified", 48, 17, _EXPORT_PATCH),
              ("src/orders/serializers.py", "modified", 36, 5, ""),
              ("tests/orders/test_export.py", "modified", 27, 3, "")]),
            ("docs: export columns (#2293)", "psharma", [("docs/api/orders-export.md", "modified", 14, 2, "")]),
        ]),
        ("v2.41.0", "staging", "2026-11-19T15:30:00Z", "success", []),
        ("v2.41.0", "production", "2026-11-20T08:04:00Z", "success", [
            ("gateway: sliding-window rate limiter per API key (#2304)", "mkowalski",
             [("src/gateway/ratelimit.py", "modified", 96, 31, _RATELIMIT_PATCH),
              ("src/gateway/middleware.py", "modified", 11, 4, ""),
              ("tests/gateway/test_ratelimit.py", "modified", 58, 12, "")]),
            ("gateway: honour Idempotency-Key replays in the limiter (#2310)", "mkowalski",
             [("src/gateway/idempotency.py", "modified", 23, 8, ""), ("src/gateway/ratelimit.py", "modified", 9, 2, "")]),
            ("shipments: accept ISO 3166-2 subdivision codes (#2312)", "psharma",
             [("src/shipments/address.py", "modified", 19, 7, "")]),
        ]),
    ],
    "relayhq/webhooks": [
        ("v1.18.0", "production", "2026-11-13T15:05:00Z", "success", [
            ("dispatcher: per-endpoint concurrency limit (#412)", "lchen",
             [("dispatcher/pool.go", "modified", 44, 12, "")]),
        ]),
        ("v1.18.1", "production", "2026-11-17T16:20:00Z", "success", [
            ("retry: add jitter to the retry schedule (#418)", "lchen", [("dispatcher/retry.go", "modified", 8, 3, "")]),
        ]),
        ("v1.19.0", "staging", "2026-11-19T10:05:00Z", "success", []),
        ("v1.19.0", "production", "2026-11-19T16:45:00Z", "success", [
            ("events: shipment.exception event type (#425)", "psharma",
             [("events/types.go", "modified", 21, 0, ""), ("events/shipment.go", "modified", 33, 4, "")]),
            ("deps: bump golang.org/x/net to v0.31.0 (#427)", "relay-deploy[bot]",
             [("go.mod", "modified", 1, 1, ""), ("go.sum", "modified", 2, 2, "")]),
        ]),
        ("v1.19.1", "production", "2026-11-20T13:10:00Z", "success", [
            ("dashboard API: expose last delivery status per endpoint (#431)", "lchen",
             [("api/endpoints.go", "modified", 27, 5, "")]),
        ]),
    ],
    "relayhq/web": [
        ("web-2026.11.13", "production", "2026-11-13T12:30:00Z", "success", [
            ("settings: API keys page shows last used (#903)", "psharma",
             [("app/settings/api-keys/page.tsx", "modified", 31, 6, "")]),
        ]),
        ("web-2026.11.16", "production", "2026-11-16T11:00:00Z", "success", [
            ("orders: bulk actions toolbar (#911)", "dokafor", [("app/orders/toolbar.tsx", "added", 140, 0, "")]),
        ]),
        ("web-2026.11.17", "production", "2026-11-17T10:40:00Z", "failure", [
            ("sso: show IdP certificate expiry in settings (#915)", "mkowalski",
             [("app/settings/sso/page.tsx", "modified", 52, 8, "")]),
        ]),
        ("web-2026.11.17", "production", "2026-11-17T11:05:00Z", "success", []),
        ("web-2026.11.19", "production", "2026-11-19T09:20:00Z", "success", [
            ("webhooks: delivery log filters (#921)", "lchen", [("app/webhooks/log.tsx", "modified", 64, 20, "")]),
        ]),
        ("web-2026.11.20", "production", "2026-11-20T09:12:00Z", "success", [
            ("rate limits: usage chart per API key (#926)", "psharma",
             [("app/usage/rate-limits.tsx", "added", 118, 0, "")]),
        ]),
    ],
}  # fmt: skip


def commit_obj(
    repo: str, commit_sha: str, message: str, login: str, date: str, parent: str
) -> dict[str, Any]:
    name, email, _ = PEOPLE[login]
    api = f"https://api.github.com/repos/{repo}"
    return {
        "url": f"{api}/commits/{commit_sha}",
        "sha": commit_sha,
        "node_id": node_id("Commit", commit_sha[:20]),
        "html_url": f"https://github.com/{repo}/commit/{commit_sha}",
        "comments_url": f"{api}/commits/{commit_sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{commit_sha}",
            "author": {"name": name, "email": email, "date": date},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "date": date},
            "message": message,
            "tree": {"url": f"{api}/git/trees/{sha('tree' + commit_sha)}", "sha": sha("tree" + commit_sha)},
            "comment_count": 0,
            "verification": {
                "verified": True,
                "reason": "valid",
                "signature": None,
                "payload": None,
                "verified_at": date,
            },
        },
        "author": user(login),
        "committer": None,
        "parents": [{"url": f"{api}/commits/{parent}", "sha": parent, "html_url": f"https://github.com/{repo}/commit/{parent}"}],
    }  # fmt: skip


def github() -> dict[str, Any]:
    repos: dict[str, Any] = {}
    deploy_id = 2_914_400_000
    status_id = 7_330_100_000
    for repo, deploys in DEPLOYS.items():
        api = f"https://api.github.com/repos/{repo}"
        deployments, statuses, releases, compares = [], {}, [], {}
        tag_sha: dict[str, str] = {}
        tip = sha(f"{repo} base")  # the commit before the week starts
        commit_log: list[dict[str, Any]] = []  # every commit in order, to build compares
        prev_prod: tuple[str, int] | None = None
        # a tag's commits are listed once, on any of its deploys (staging usually comes first)
        tag_commits: dict[str, list[Any]] = {}
        for tag, _, _, _, commits in deploys:
            tag_commits.setdefault(tag, [])
            tag_commits[tag] += commits
        for tag, env, created, state, _ in deploys:
            commits = tag_commits[tag]
            when = datetime.fromisoformat(created.replace("Z", "+00:00"))
            if tag not in tag_sha:
                # commits merged in the hours before the release, then the release commit
                start = len(commit_log)
                for n, (message, login, files) in enumerate(commits):
                    at = (when - timedelta(minutes=150 - 35 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")
                    c_sha = sha(f"{repo} {message}")
                    commit_log.append(
                        {"obj": commit_obj(repo, c_sha, message, login, at, tip), "files": files}
                    )
                    tip = c_sha
                release_sha = sha(f"{repo} release {tag}")
                at = (when - timedelta(minutes=25)).strftime("%Y-%m-%dT%H:%M:%SZ")
                commit_log.append(
                    {
                        "obj": commit_obj(repo, release_sha, f"Release {tag}", "relay-deploy[bot]", at, tip),
                        "files": [("CHANGELOG.md", "modified", 2 + len(commits) * 2, 0, "")],
                    }
                )
                tip = release_sha
                tag_sha[tag] = release_sha
                for entry in commit_log[start:]:
                    entry["tag"] = tag
            deploy_id += 7
            d_sha = tag_sha[tag]
            deployments.append(
                {
                    "url": f"{api}/deployments/{deploy_id}",
                    "id": deploy_id,
                    "node_id": node_id("Deployment", deploy_id),
                    "sha": d_sha,
                    "ref": tag,
                    "task": "deploy",
                    "payload": {"release": tag, "triggered_by": "release-pipeline"},
                    "original_environment": env,
                    "environment": env,
                    "description": f"Deploy {tag} to {env}",
                    "creator": user("relay-deploy[bot]"),
                    "created_at": created,
                    "updated_at": (when + timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "statuses_url": f"{api}/deployments/{deploy_id}/statuses",
                    "repository_url": api,
                    "transient_environment": False,
                    "production_environment": env == "production",
                }
            )
            statuses[str(deploy_id)] = [
                deployment_status(repo, deploy_id, status_id + 2, state, env, when + timedelta(minutes=4), tag),
                deployment_status(repo, deploy_id, status_id + 1, "in_progress", env, when + timedelta(seconds=20), tag),
            ]  # fmt: skip
            status_id += 3
            if env != "production" or state != "success":
                continue
            if prev_prod is not None and prev_prod[0] != d_sha:
                base_sha = prev_prod[0]
                idx = next(i for i, e in enumerate(commit_log) if e["obj"]["sha"] == base_sha)
                head_idx = next(i for i, e in enumerate(commit_log) if e["obj"]["sha"] == d_sha)
                compares[f"{base_sha}...{d_sha}"] = compare_obj(
                    repo, commit_log[idx]["obj"], commit_log[idx + 1 : head_idx + 1]
                )
            prev_prod = (d_sha, deploy_id)
            if repo != "relayhq/web" and not any(r["tag_name"] == tag for r in releases):
                releases.append(release_obj(repo, tag, d_sha, when - timedelta(minutes=20), commits))
        repos[repo] = {
            "deployments": sorted(deployments, key=lambda d: d["created_at"], reverse=True),
            "deployment_statuses": statuses,
            "releases": sorted(releases, key=lambda r: r["published_at"], reverse=True),
            "compares": compares,
        }
    return {"repos": repos}


def deployment_status(
    repo: str, dep: int, sid_: int, state: str, env: str, when: datetime, tag: str
) -> dict[str, Any]:
    api = f"https://api.github.com/repos/{repo}"
    at = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = {"success": "Deployment finished successfully.", "in_progress": "Deployment started.",
            "failure": "Health check failed: /healthz returned 503 for 120s; rolled back."}[state]  # fmt: skip
    host = {
        "relayhq/api": "api.relayhq.dev",
        "relayhq/web": "app.relayhq.dev",
        "relayhq/webhooks": "hooks.relayhq.dev",
    }
    env_url = f"https://{'' if env == 'production' else 'staging.'}{host[repo]}"
    log = f"https://ci.relayhq.dev/deploys/{repo.split('/')[1]}/{dep}"
    return {
        "url": f"{api}/deployments/{dep}/statuses/{sid_}",
        "id": sid_,
        "node_id": node_id("DeploymentStatus", sid_),
        "state": state,
        "creator": user("relay-deploy[bot]"),
        "description": f"{tag}: {text}",
        "environment": env,
        "target_url": log,
        "created_at": at,
        "updated_at": at,
        "deployment_url": f"{api}/deployments/{dep}",
        "repository_url": api,
        "environment_url": env_url,
        "log_url": log,
    }


def compare_obj(repo: str, base: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    head = entries[-1]["obj"]
    owner = repo.split("/")[0]
    files: dict[str, dict[str, Any]] = {}
    for entry in entries:
        for path, status, adds, dels, patch in entry["files"]:
            if path in files:
                f = files[path]
                f["additions"] += adds
                f["deletions"] += dels
                f["changes"] = f["additions"] + f["deletions"]
                if patch:
                    f["patch"] = patch
                continue
            files[path] = {
                "sha": sha(f"blob {repo} {path} {head['sha']}"),
                "filename": path,
                "status": status,
                "additions": adds,
                "deletions": dels,
                "changes": adds + dels,
                "blob_url": f"https://github.com/{repo}/blob/{head['sha']}/{path}",
                "raw_url": f"https://github.com/{repo}/raw/{head['sha']}/{path}",
                "contents_url": f"https://api.github.com/repos/{repo}/contents/{path}?ref={head['sha']}",
                "patch": patch or f"@@ -1,{max(dels, 1)} +1,{max(adds, 1)} @@",
            }
    basehead = f"{base['sha']}...{head['sha']}"
    return {
        "url": f"https://api.github.com/repos/{repo}/compare/{basehead}",
        "html_url": f"https://github.com/{repo}/compare/{basehead}",
        "permalink_url": f"https://github.com/{repo}/compare/{owner}:{base['sha']}...{owner}:{head['sha']}",
        "diff_url": f"https://github.com/{repo}/compare/{basehead}.diff",
        "patch_url": f"https://github.com/{repo}/compare/{basehead}.patch",
        "base_commit": base,
        "merge_base_commit": base,
        "status": "ahead",
        "ahead_by": len(entries),
        "behind_by": 0,
        "total_commits": len(entries),
        "commits": [e["obj"] for e in entries],
        "files": list(files.values()),
    }


def release_obj(repo: str, tag: str, target: str, when: datetime, commits: list[Any]) -> dict[str, Any]:
    rid = int(sha(repo + tag)[:8], 16) % 90_000_000 + 180_000_000
    api = f"https://api.github.com/repos/{repo}"
    at = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = "## What's changed\n" + "".join(f"* {message} by @{login}\n" for message, login, _ in commits)
    return {
        "url": f"{api}/releases/{rid}",
        "html_url": f"https://github.com/{repo}/releases/tag/{tag}",
        "assets_url": f"{api}/releases/{rid}/assets",
        "upload_url": f"https://uploads.github.com/repos/{repo}/releases/{rid}/assets{{?name,label}}",
        "tarball_url": f"{api}/tarball/{tag}",
        "zipball_url": f"{api}/zipball/{tag}",
        "id": rid,
        "node_id": node_id("Release", rid),
        "tag_name": tag,
        "target_commitish": target,
        "name": tag,
        "body": body,
        "draft": False,
        "prerelease": False,
        "immutable": False,
        "created_at": at,
        "updated_at": at,
        "published_at": at,
        "author": user("relay-deploy[bot]"),
        "assets": [],
    }


# ----------------------------------------------------------------------------- Linear

PRIORITY = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}
STATE_TYPE = {"Backlog": "backlog", "Todo": "unstarted", "In Progress": "started", "In Review": "started",
              "Done": "completed", "Canceled": "canceled"}  # fmt: skip

ISSUES: list[dict[str, Any]] = [
    {"n": 482, "title": "Gateway rate limiter double-counts retried requests with Idempotency-Key since v2.41.0",
     "state": "In Progress", "priority": 1, "labels": ["Bug", "gateway", "rate-limiting", "customer-impact"],
     "created": "2026-11-20T09:41:00Z", "updated": "2026-11-20T11:02:00Z", "due": "2026-11-21",
     "description": (
         "Since **v2.41.0** (deployed 2026-11-20 08:04 UTC) the sliding-window limiter in "
         "`src/gateway/ratelimit.py` increments the client's bucket twice when a request carries an "
         "`Idempotency-Key` that the gateway has already seen (a client retry). Clients that retry "
         "`POST /v2/shipments` with the same key burn their budget twice as fast and get `429` "
         "`rate_limit_exceeded` far below their plan limit.\n\n"
         "## Impact\nAccounts retrying POSTs with Idempotency-Key (Acme Logistics reported first). "
         "x-ratelimit-remaining drops to 0 while real traffic is ~5% of the plan limit.\n\n"
         "## Workaround:\nRetry with exponential backoff and reuse the same Idempotency-Key at most once; "
         "or temporarily lower client concurrency to 5.\n\n"
         "## Fix\nCount a replayed Idempotency-Key once (PR #2318).\n\nETA: fix ships 2026-11-21"),
     "comments": [("Marta Kowalski", "2026-11-20T10:05:00Z",
                   "Reproduced on staging: two increments per replay in `SlidingWindowLimiter.check`. "
                   "Introduced by #2310."),
                  ("David Okafor", "2026-11-20T11:02:00Z",
                   "Fix in review (#2318). Not hotfixing tonight; ships with 2026-11-21 train.")]},
    {"n": 431, "title": "429 on bulk import endpoint when batch exceeds 500 orders",
     "state": "Done", "priority": 2, "labels": ["Bug", "rate-limiting", "orders"],
     "created": "2026-09-02T13:20:00Z", "updated": "2026-09-09T16:00:00Z", "due": None,
     "description": "`POST /v2/orders/bulk` counted each order in a batch as one request against the "
                    "rate limit, so batches > 500 orders returned `429` on Growth plans.\n\n"
                    "Fixed in v2.33.0: a batch counts as one request.",
     "comments": [("Lin Chen", "2026-09-09T16:00:00Z", "Shipped in v2.33.0.")]},
    {"n": 455, "title": "Rate limit headers missing from API docs",
     "state": "Todo", "priority": 4, "labels": ["Docs", "rate-limiting"],
     "created": "2026-10-14T09:00:00Z", "updated": "2026-10-20T10:30:00Z", "due": None,
     "description": "The API reference does not document `x-ratelimit-limit`, `x-ratelimit-remaining`, "
                    "`x-ratelimit-reset` or `retry-after` on 429 responses. Customers keep asking.",
     "comments": []},
    {"n": 480, "title": "Rate limiter: per-key buckets not reset after plan upgrade",
     "state": "Backlog", "priority": 3, "labels": ["Bug", "gateway", "rate-limiting"],
     "created": "2026-11-11T15:10:00Z", "updated": "2026-11-11T15:10:00Z", "due": None,
     "description": "After an upgrade from Starter to Growth the old 120 rpm limit applies until the "
                    "gateway cache expires (up to 1 hour). Low impact; upgrades are rare.",
     "comments": []},
    {"n": 471, "title": "Idempotency-Key conflicts return 500 instead of 409",
     "state": "Done", "priority": 2, "labels": ["Bug", "gateway"],
     "created": "2026-10-28T08:45:00Z", "updated": "2026-11-04T12:00:00Z", "due": None,
     "description": "Reusing an Idempotency-Key with a different body raised `IntegrityError` → 500. "
                    "Now returns `409 idempotency_conflict`. Fixed in v2.39.0.",
     "comments": []},
    {"n": 476, "title": "Orders export times out for accounts with more than 100k orders",
     "state": "Done", "priority": 2, "labels": ["Bug", "orders", "export"],
     "created": "2026-10-21T10:00:00Z", "updated": "2026-11-02T09:30:00Z", "due": None,
     "description": "`GET /v2/orders/export` hit the 30 s gateway timeout (504) for very large accounts. "
                    "Export now paginates server-side. Fixed in v2.38.0.",
     "comments": [("David Okafor", "2026-11-02T09:30:00Z", "Verified with Hooli's dataset; closing.")]},
    {"n": 474, "title": "Orders export: created_at column uses server timezone instead of UTC",
     "state": "In Review", "priority": 3, "labels": ["Bug", "orders", "export", "data"],
     "created": "2026-11-06T14:00:00Z", "updated": "2026-11-19T17:20:00Z", "due": None,
     "description": "CSV export writes `created_at` in Europe/Berlin time without an offset. "
                    "Data team reported a one-hour discrepancy. No errors, only wrong values.",
     "comments": []},
    {"n": 440, "title": "402 subscription_past_due returned on GET endpoints",
     "state": "Done", "priority": 2, "labels": ["Bug", "billing", "gateway"],
     "created": "2026-09-15T11:00:00Z", "updated": "2026-09-22T15:45:00Z", "due": None,
     "description": "Past-due accounts must keep read access during the grace period; only write "
                    "endpoints (POST/PUT/PATCH/DELETE) should return `402 subscription_past_due`. "
                    "Fixed in v2.35.1.",
     "comments": []},
    {"n": 470, "title": "Webhook retries use a fixed delay instead of exponential backoff",
     "state": "Done", "priority": 3, "labels": ["Bug", "webhooks"],
     "created": "2026-10-25T09:00:00Z", "updated": "2026-11-17T16:30:00Z", "due": None,
     "description": "Retry schedule is now 1 min, 5 min, 30 min, 2 h, 6 h with jitter (webhooks v1.18.1).",
     "comments": []},
    {"n": 484, "title": "Webhook dispatcher: say 'endpoint TLS certificate expired' instead of tls_error",
     "state": "Todo", "priority": 4, "labels": ["Improvement", "webhooks"],
     "created": "2026-11-19T11:30:00Z", "updated": "2026-11-19T11:30:00Z", "due": None,
     "description": "Customers can't tell why deliveries fail with `tls_error`. Surface the reason "
                    "in the delivery log.",
     "comments": []},
    {"n": 478, "title": "Dashboard shows stale webhook endpoint status",
     "state": "Todo", "priority": 3, "labels": ["Bug", "web", "webhooks"],
     "created": "2026-11-12T10:00:00Z", "updated": "2026-11-19T09:25:00Z", "due": None,
     "description": "Webhooks page caches endpoint health for 24 h, so a failing endpoint shows green.",
     "comments": []},
    {"n": 463, "title": "SAML: clearer error page when the IdP signing certificate has expired",
     "state": "Backlog", "priority": 3, "labels": ["Improvement", "sso"],
     "created": "2026-10-08T12:00:00Z", "updated": "2026-10-08T12:00:00Z", "due": None,
     "description": "Users see 'Login failed' when the customer's IdP signs with an expired certificate. "
                    "Show 'Your identity provider's certificate expired; ask your admin to rotate it.'",
     "comments": []},
    {"n": 459, "title": "SSO login loop in Safari 17 with IdP-initiated flow",
     "state": "Done", "priority": 2, "labels": ["Bug", "sso", "web"],
     "created": "2026-09-28T08:00:00Z", "updated": "2026-10-03T14:00:00Z", "due": None,
     "description": "SameSite=Lax session cookie dropped on the POST from the IdP. Fixed in web-2026.10.03.",
     "comments": []},
    {"n": 466, "title": "p95 latency regression on POST /v2/rates in ap-southeast-1",
     "state": "Done", "priority": 2, "labels": ["Bug", "performance", "rates"],
     "created": "2026-10-19T03:00:00Z", "updated": "2026-10-24T08:00:00Z", "due": None,
     "description": "Carrier rate lookups went cross-region. Fixed by regional rate-card cache.",
     "comments": []},
    {"n": 485, "title": "API down? Status page shows operational during 502 blip on 2026-11-17",
     "state": "Canceled", "priority": 4, "labels": ["Incident", "gateway"],
     "created": "2026-11-17T19:40:00Z", "updated": "2026-11-18T08:00:00Z", "due": None,
     "description": "Seven minutes of 502 from one load balancer node (19:12–19:19 UTC). Only a handful "
                    "of requests affected; not worth a status page entry. Duplicate of INC-219.",
     "comments": []},
]  # fmt: skip


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].rstrip("-")


def linear() -> dict[str, Any]:
    issues = []
    for spec in ISSUES:
        ident = f"REL-{spec['n']}"
        issues.append(
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://linear.app/relayhq/{ident}")),
                "identifier": ident,
                "title": spec["title"],
                "description": spec["description"],
                "url": f"https://linear.app/relayhq/issue/{ident}/{slug(spec['title'])}",
                "priority": spec["priority"],
                "priorityLabel": PRIORITY[spec["priority"]],
                "createdAt": spec["created"].replace("Z", ".000Z"),
                "updatedAt": spec["updated"].replace("Z", ".000Z"),
                "dueDate": spec["due"],
                "archivedAt": None,
                "state": {"name": spec["state"], "type": STATE_TYPE[spec["state"]]},
                "labels": {"nodes": [{"name": name} for name in spec["labels"]]},
                "team": {"key": "REL", "name": "Relay"},
                "comments": {
                    "nodes": [
                        {"body": body, "createdAt": at.replace("Z", ".000Z"), "user": {"name": who}}
                        for who, at, body in spec["comments"]
                    ]
                },
            }
        )
    return {"issues": issues}


# ----------------------------------------------------------------------------- helpdesk history

HISTORY: list[tuple[str, str, str, list[str], str, str]] = [
    ("429 Too Many Requests during our nightly sync",
     "Our nightly order sync gets 429s after ~2 minutes. We're on Starter.",
     "Customer was sending 300 rpm on a Starter plan (120 rpm). Explained x-ratelimit-* headers and "
     "backoff; they upgraded to Growth.", ["api", "429", "rate-limit", "plan-limit"],
     "2026-08-12T22:10:00Z", "2026-08-13T09:40:00Z"),
    ("Bulk import returns 429",
     "POST /v2/orders/bulk with 800 orders always returns 429 rate_limit_exceeded.",
     "Bug REL-431: batches counted per order. Fixed in v2.33.0; workaround was batches of 400.",
     ["api", "429", "bug", "bulk-import"], "2026-09-02T10:00:00Z", "2026-09-09T17:00:00Z"),
    ("Getting 402 on every POST",
     "All our POSTs fail with 402 subscription_past_due, GETs work.",
     "Card expired; invoice open with 2 failed attempts. Customer updated the card in the billing "
     "portal, invoice paid, writes restored within a minute.", ["api", "402", "billing", "past-due"],
     "2026-07-21T08:30:00Z", "2026-07-21T10:05:00Z"),
    ("Is the API down? 402 errors",
     "Nothing works since this morning, we get 402 Payment Required.",
     "Not an outage: subscription past_due after insufficient_funds declines. Routed to Billing, who "
     "arranged an invoice payment by bank transfer.", ["api", "402", "billing"],
     "2026-10-06T07:50:00Z", "2026-10-06T12:30:00Z"),
    ("SSO broken: Signature validation failed",
     "Our users can't log in via Okta, error says Signature validation failed.",
     "Customer rotated the Okta signing certificate without sending us the new one. Updated the "
     "configured certificate fingerprint from their new metadata.", ["sso", "saml", "okta", "certificate"],
     "2026-06-03T08:15:00Z", "2026-06-03T11:00:00Z"),
    ("SAML login says certificate expired",
     "Azure AD login fails with 'signing certificate expired'.",
     "The customer's Entra ID app certificate expired. Their admin created a new certificate in the "
     "Enterprise App, made it active, and re-uploaded metadata; login restored.",
     ["sso", "saml", "entra", "certificate-expired"], "2026-04-14T09:00:00Z", "2026-04-14T15:20:00Z"),
    ("SSO redirect loop in Safari",
     "Safari users bounce between our IdP and your login page.",
     "Bug REL-459 (SameSite cookie). Fixed in web-2026.10.03.", ["sso", "safari", "bug"],
     "2026-09-28T07:30:00Z", "2026-10-03T15:00:00Z"),
    ("Webhooks not arriving",
     "We stopped receiving order.updated webhooks yesterday.",
     "Delivery log showed 503 from the customer's endpoint after their load balancer change; their "
     "team fixed the target group. Deliveries were retried automatically.",
     ["webhooks", "503", "customer-endpoint"], "2026-08-30T13:00:00Z", "2026-08-30T16:45:00Z"),
    ("Webhook deliveries timing out",
     "Your webhooks time out against our server, please check your side.",
     "Customer endpoint took >10 s (synchronous DB writes). Advised to acknowledge fast and process "
     "asynchronously. Platform delivery failure rate was 0.2% at the time.",
     ["webhooks", "timeout", "customer-endpoint"], "2026-10-11T09:20:00Z", "2026-10-12T08:00:00Z"),
    ("Duplicate webhook events",
     "We get the same shipment.updated twice.",
     "At-least-once delivery: retries after a timeout. Explained the delivery id for deduplication.",
     ["webhooks", "duplicates", "how-to"], "2026-07-02T12:00:00Z", "2026-07-02T14:10:00Z"),
    ("Export endpoint 504",
     "GET /v2/orders/export times out for our full history.",
     "Bug REL-476, fixed in v2.38.0 (server-side pagination).", ["api", "export", "504", "bug"],
     "2026-10-21T09:00:00Z", "2026-11-02T10:00:00Z"),
    ("Export has wrong timestamps",
     "created_at in the CSV export is an hour off.",
     "Bug REL-474 (timezone of export column) escalated to Data; workaround: use the JSON API.",
     ["export", "data", "timezone"], "2026-11-06T13:00:00Z", "2026-11-07T09:00:00Z"),
    ("500 on label creation",
     "POST /v2/labels returns 500 for DHL shipments.",
     "Regression from a carrier API change; Backend deployed a fix in v2.40.1.",
     ["api", "500", "labels", "regression"], "2026-11-16T15:00:00Z", "2026-11-17T14:00:00Z"),
    ("API key stopped working",
     "All requests return 401 authentication_failed since 3pm.",
     "Customer rotated keys and deployed the revoked one to a worker. Pointed them to the key hash in "
     "the request log.", ["api", "401", "api-key"], "2026-11-16T15:30:00Z", "2026-11-16T16:10:00Z"),
    ("Dashboard slow to load orders",
     "Orders page in the dashboard takes 20 seconds.",
     "Slow search query on a large account; index added in v2.40.0 (orders search).",
     ["ui", "performance"], "2026-11-10T10:00:00Z", "2026-11-16T10:00:00Z"),
    ("Invoice shows wrong company name",
     "Our invoice is addressed to our old entity name.",
     "Billing updated the customer name in Stripe and re-issued the invoice PDF.", ["billing", "invoice"],
     "2026-09-10T09:00:00Z", "2026-09-10T11:00:00Z"),
]  # fmt: skip


def tickets() -> dict[str, Any]:
    out = []
    for n, (subject, body, resolution, tags, created, solved) in enumerate(HISTORY, start=1):
        tid = 880 + n * 7
        out.append(
            {
                "id": f"H-{tid}",
                "subject": subject,
                "body": body,
                "resolution": resolution,
                "tags": tags,
                "created_at": created,
                "solved_at": solved,
                "article_url": f"https://support.relayhq.dev/hc/en-us/articles/{360000 + tid}-{slug(subject)}"
                if n % 3 != 0
                else None,
            }
        )
    return {"tickets": out}


def main() -> None:
    dump("accounts.json", accounts())
    dump("stripe.json", stripe())
    dump("github.json", github())
    dump("linear.json", linear())
    dump("tickets.json", tickets())
    api = github()["repos"]["relayhq/api"]
    for d in reversed(api["deployments"]):
        print(f"relayhq/api {d['ref']:8} {d['environment']:10} {d['created_at']} id={d['id']} sha={d['sha']}")


if __name__ == "__main__":
    main()
