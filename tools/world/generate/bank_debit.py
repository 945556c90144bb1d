"""A charge paid by a bank debit instead of a card: SEPA Direct Debit (Stripe's ``sepa_debit``), an
ACH debit from a US bank account (``us_bank_account``) or a UK Bacs Direct Debit (``bacs_debit``).

A debit is pulled from the customer's bank account under a mandate they signed; it fails days later
with the bank's return reason as Stripe's ``failure_code`` (an unpaid debit, NACHA's R01, SEPA's AM04 or
Bacs' ARUDD 0 "refer to payer": ``insufficient_funds``; a mandate the customer revoked or disputed; a
closed account, Bacs' ARUDD B), not with a card issuer's decline.
"""

from __future__ import annotations

from typing import Any

from casefile.tools.world.generate.ids import b62
from casefile.tools.world.generate.spec import AccountSpec

__all__ = ["debit_charge_fields"]

# Stripe's failure messages for returned bank debits (docs: "SEPA Direct Debit" / "ACH Direct Debit":
# failed payments)
FAILURES = {
    "insufficient_funds": "The customer's account has insufficient funds to cover this payment.",
    "debit_not_authorized": "The customer has notified their bank that this payment was unauthorized.",
    "account_closed": "The customer's bank account has been closed.",
    "no_account": "The customer's bank account could not be located.",
    "generic_could_not_process": "This payment could not be processed.",
}


def _details(acc: AccountSpec) -> dict[str, Any]:
    """``payment_method_details`` of the account's debit: the mandate and the account debited."""
    mandate = "mandate_1Q" + b62("mandate" + acc.id, 22)
    fingerprint, last4 = b62("fp" + acc.id, 16), acc.billing.card_last4
    if acc.billing.payment_method == "bacs_debit":
        # a UK account: a six-digit sort code, no BIC; Bacs mandates are the payer's Direct Debit Instruction
        return {
            "bacs_debit": {
                "fingerprint": fingerprint,
                "last4": last4,
                "mandate": mandate,
                "sort_code": acc.billing.sort_code,
            },
            "type": "bacs_debit",
        }
    if acc.billing.payment_method == "us_bank_account":
        return {
            "type": "us_bank_account",
            "us_bank_account": {
                "account_holder_type": "company",
                "account_type": "checking",
                "bank_name": acc.billing.bank_name,
                "fingerprint": fingerprint,
                "last4": last4,
                "mandate": mandate,
                "payment_reference": None,
                "routing_number": "110000000",
            },
        }
    return {
        "sepa_debit": {
            "bank_code": "RABO",
            "branch_code": "",
            "country": "NL",
            "fingerprint": fingerprint,
            "last4": last4,
            "mandate": mandate,
        },
        "type": "sepa_debit",
    }


def debit_charge_fields(acc: AccountSpec, decline: str | None) -> dict[str, Any]:
    """The fields of a charge object that differ when the payment method is a bank debit."""
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
        "payment_method_details": _details(acc),
    }
