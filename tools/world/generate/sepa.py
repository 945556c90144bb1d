"""A charge paid by SEPA Direct Debit (Stripe's ``sepa_debit`` payment method) instead of a card.

A debit is pulled from the customer's bank account under a mandate they signed; it fails with the
bank's return reason as Stripe's ``failure_code`` (an unpaid debit, a mandate the customer revoked or
disputed, a closed account), not with a card issuer's decline.
"""

from __future__ import annotations

from typing import Any

from casefile.tools.world.generate.ids import b62
from casefile.tools.world.generate.spec import AccountSpec

__all__ = ["sepa_charge_fields"]

# Stripe's failure messages for SEPA Direct Debit returns (docs: "SEPA Direct Debit: failed payments")
FAILURES = {
    "insufficient_funds": "The customer's account has insufficient funds to cover this payment.",
    "debit_not_authorized": "The customer has notified their bank that this payment was unauthorized.",
    "account_closed": "The customer's bank account has been closed.",
    "no_account": "The customer's bank account could not be located.",
    "generic_could_not_process": "This payment could not be processed.",
}


def sepa_charge_fields(acc: AccountSpec, decline: str | None) -> dict[str, Any]:
    """The fields of a charge object that differ when the payment method is a SEPA debit."""
    if decline is None:
        outcome = {"network_status": "approved_by_network", "reason": None, "type": "authorized",
                   "seller_message": "Payment complete."}  # fmt: skip
    else:
        outcome = {"network_status": "declined_by_network", "reason": None, "type": "issuer_declined",
                   "seller_message": f"The bank returned the failure code `{decline}`."}  # fmt: skip
    return {
        "failure_code": decline,
        "failure_message": FAILURES.get(decline, FAILURES["generic_could_not_process"]) if decline else None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "risk_level": "not_assessed",
            **outcome,
        },
        "payment_method_details": {
            "sepa_debit": {
                "bank_code": "RABO",
                "branch_code": "",
                "country": "NL",
                "fingerprint": b62("fp" + acc.id, 16),
                "last4": acc.billing.card_last4,
                "mandate": "mandate_1Q" + b62("mandate" + acc.id, 22),
            },
            "type": "sepa_debit",
        },
    }
