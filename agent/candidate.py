"""A candidate account: what the customer may be told before an agent confirms it.

An account resolved from anything weaker than the requester's verified email
domain or an account named on the ticket (today: a company name the ticket's
text mentions) may be someone else's. Tools may look at it (the findings help
the agent decide), but the draft reply must not disclose anything about it:
not its plan, its standing, an invoice, an amount, an address, not even that
the named company is a customer. Whatever model wrote the diagnosis, the loop
replaces the reply with a neutral one asking the customer to confirm their
account, and the internal note says why. Confirming the account
(``POST /v1/investigations/{id}/confirm-account``) investigates again with the
account named on the ticket, which makes it verified.
"""

from __future__ import annotations

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.ticket import Signals, Ticket

__all__ = ["CANDIDATE_REPLY", "mark_account"]

CANDIDATE_REPLY = (
    "Thanks for getting in touch. Before we look at anything account-specific, we need to make "
    "sure we are looking at the right account: could you tell us the account or workspace name "
    "you use with us, and write from (or tell us) the email address you sign in with? We'll "
    "follow up as soon as that is confirmed."
)

_WHY = {
    "name_mention": "its name appears in the ticket's text",
}


def mark_account(diagnosis: Diagnosis, signals: Signals, ticket: Ticket) -> Diagnosis:
    """Record how the account was resolved; for a candidate, withhold the reply and say why."""
    update: dict[str, object] = {
        "account_source": signals.account_source,
        "account_candidate": signals.account_candidate,
    }
    if signals.account_candidate:
        who = ticket.requester.email or ticket.requester.name or "the requester"
        why = _WHY.get(signals.account_source, f"it was resolved by {signals.account_source}")
        note = (
            f"Candidate account: {signals.account_id} was chosen because {why}, not from the "
            f"requester's verified email domain ({who}). The draft reply is a neutral request to "
            "confirm the account and discloses nothing about it; confirm the account (sidebar, or "
            "POST /v1/investigations/{id}/confirm-account) to investigate again and get a reply "
            "that may use the findings below."
        )
        update["customer_reply"] = CANDIDATE_REPLY
        update["internal_note"] = f"{note}\n\n{diagnosis.internal_note}".strip()
    return diagnosis.model_copy(update=update)
