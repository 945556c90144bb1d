"""Round-7 attempts to forge grounding: the model's own words and the ticket's, passed off as a result.

A value the call's own arguments carry is an echo, not evidence (``agent/grounding.py``). The
arguments are the model's words, or the ticket's (a runbook writes the subject into a search).
Tools hand them back *normalised*: width folded, invisible characters dropped, punctuation turned
into spaces, case changed. Each attack makes a call whose arguments carry the phrase in one
spelling and whose result (in the tool's real result shape) carries it in another, then cites it;
the echo must still be seen. Plus a value only another account's result holds (a refused call, a
call of another investigation) and a genuine value beside the echo, which must still ground.
"""

from __future__ import annotations

import pytest
from test_grounding_attacks import grounded, outcome

# (how the model or ticket wrote it in the arguments, how the result gives it back)
SPELLINGS = [
    (
        "\uff52\uff45\uff46\uff55\uff4e\uff44 \uff41\uff50\uff50\uff52\uff4f\uff56\uff45\uff44 5000",
        "refund approved 5000",
    ),
    ("refund\u200b approved 5000", "refund approved 5000"),
    ("refund\u00adapproved-5000", "refundapproved-5000"),
    ("refund-approved_5000", "refund approved 5000"),
    ("Refund/Approved/5000", "refund approved 5000"),
    ("REFUND.APPROVED.5000", "refund approved 5000"),
    ("'refund approved' 5000", "refund approved 5000"),
    ("refund\u2003approved\u20035000", "refund approved 5000"),
    ("re\u0301fund approved 5000", "réfund approved 5000"),
    ("ｒｅｆｕｎｄ-approved:5000", "refund approved 5000"),
]


@pytest.mark.parametrize(("written", "echoed"), SPELLINGS, ids=[repr(w) for w, _ in SPELLINGS])
def test_a_search_s_echo_in_another_spelling_does_not_ground(written: str, echoed: str) -> None:
    out = outcome(
        {"query": echoed, "articles": [{"id": 1, "title": "Billing FAQ", "url": "https://help.example/a/1"}]},
        tool="docs_search",
        arguments={"query": written},
    )
    assert not grounded(out, echoed), (written, echoed)


@pytest.mark.parametrize(("written", "echoed"), SPELLINGS[:4], ids=[repr(w) for w, _ in SPELLINGS[:4]])
def test_a_ticket_phrase_templated_into_a_call_does_not_ground(written: str, echoed: str) -> None:
    """The runbook wrote the ticket's subject into a logs filter; the rows' path repeats it folded."""
    out = outcome(
        {"account_id": "acme", "top": [{"path": f"/v2/{echoed}", "status": 404, "count": 3, "share": 1.0}]},
        tool="logs_top_errors",
        arguments={"account_id": "acme", "path": f"/v2/{written}"},
    )
    assert not grounded(out, echoed)


def test_a_genuine_value_beside_an_echo_still_grounds() -> None:
    out = outcome(
        {"query": "refund approved", "articles": [{"id": 7, "title": "Refunds take 5 to 10 business days"}]},
        tool="docs_search",
        arguments={"query": "refund-approved"},
    )
    assert grounded(out, "Refunds take 5 to 10 business days")
    assert not grounded(out, "refund approved")


def test_another_account_s_refused_call_grounds_nothing() -> None:
    out = outcome(
        {"customer": {"id": "cus_Bw7Qx2LmNp"}}, tool="billing_account", arguments={"account_id": "globex"}
    )
    refused = out.model_copy(update={"ok": False, "error": "account scope", "error_kind": "scope"})
    assert not grounded(refused, "cus_Bw7Qx2LmNp")
