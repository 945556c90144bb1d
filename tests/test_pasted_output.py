"""What a customer pasted is evidence, not their question (``agent/signals/pasted.py``), on invented
products, hosts and codes: a response header's date does not ask about time zones, nor does an error
message saying a value "does not match" ask why numbers differ; the codes in it are still read."""

from __future__ import annotations

from casefile.agent.intake import parse_ticket
from casefile.agent.runbooks import load_runbooks, match_runbooks
from casefile.agent.signals import extract_signals
from casefile.agent.signals.pasted import prose
from casefile.agent.ticket import Ticket

CURL = """Our resumable transfers to Wobblecast keep breaking halfway since yesterday. Reproduced:

$ curl -i -X PATCH https://api.wobblecast.example/3/parts/prt_81 \\
    -H "Part-Offset: 4096" \\
    --data-binary @part_2.bin
HTTP/2 409
content-type: application/json
date: Fri, 15 Jan 2027 17:41:09 GMT

{"status":409,"code":"PART_OFFSET_INVALID","message":"Part-Offset 4096 does not match the stored offset 2048"}

We didn't change anything. Please check.
"""

TRACE = """The export button of the Zumbalo board does nothing since this morning. The console says:

Uncaught (in promise) TypeError: window.pickThing is not a function
    at openPicker (Picker.9f1a.js:1:220)
2027-01-15T17:41:09Z WARN tz=America/Denver day boundary mismatch

Could you have a look?
"""


def _ticket(body: str) -> Ticket:
    return parse_ticket(
        {
            "id": "T-9",
            "subject": "Transfers break halfway",
            "body": body,
            "requester": {"name": "Ola", "email": "ola@wobbly.example"},
            "created_at": "2027-01-15T18:00:00Z",
        }
    )


def test_prose_keeps_the_customers_sentences_and_blanks_what_they_pasted() -> None:
    kept = prose(CURL)
    assert "keep breaking halfway" in kept and "We didn't change anything" in kept
    for pasted in ("curl", "Part-Offset", "HTTP/2", "content-type", "GMT", "does not match"):
        assert pasted not in kept
    assert kept.count("\n") == CURL.count("\n")  # lines keep their places

    kept = prose(TRACE)
    assert "export button" in kept and "Could you have a look?" in kept
    for pasted in ("TypeError", "openPicker", "America/Denver", "mismatch"):
        assert pasted not in kept


def test_prose_keeps_a_line_that_only_looks_technical() -> None:
    text = (
        "GET /v1/widgets returns 500 since noon.\nNote: the numbers do not match our report.\n> quoted reply"
    )
    assert prose(text) == text
    fenced = "See below.\n```\nerror: totals do not match\n```\nThanks."
    assert prose(fenced) == "See below.\n\n\n\nThanks."


def test_a_pasted_message_is_evidence_not_the_question() -> None:
    signals = extract_signals(_ticket(CURL), None)
    assert 409 in signals.statuses and "PART_OFFSET_INVALID" in signals.error_codes  # still read
    assert "data" not in signals.areas  # "does not match" was the server's message, not the question
    matched = {m.runbook.id for m in match_runbooks(load_runbooks(), _ticket(CURL), signals)}
    assert "data-timezone" not in matched
    # the same words written by the customer are the question
    asked = _ticket("The per-day totals in the report do not match our own counts.")
    assert "data-timezone" in {
        m.runbook.id for m in match_runbooks(load_runbooks(), asked, extract_signals(asked, None))
    }
