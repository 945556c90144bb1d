"""Round-9 attacks on "always finishes": a ticket too big to read in time.

Every signal and reading rule passes over the ticket's text on the investigation's event loop, where
the deadline (an asyncio timeout) cannot interrupt CPU work; the phrase rules (thousands of patterns,
one pass each, several times an investigation) cost the text's length times their number. Before the
fix a 17 kB pasted log held an investigation with a 2 s deadline for 33 s and a 160 kB one for six
minutes (under the shared machine's load), so a customer pasting a log could hold a service's worker
and its event loop for as long. Now an investigation reads ``Ticket.bounded()`` (each part up to
``PART_CHARS``, the latest comments up to ``TEXT_CHARS``), the phrase rules read a text's first
``READ_CHARS`` and remember their last readings; the stored ticket stays whole.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from test_demo import TICKETS

from casefile.agent import phrasebook
from casefile.agent.config import Budgets, Settings
from casefile.agent.intake import load_ticket
from casefile.agent.phrasebook import meanings, reading
from casefile.agent.pipeline import Environment, run_investigation
from casefile.agent.ticket import PART_CHARS, TEXT_CHARS, Comment, Requester, Ticket

# A pasted log line that the rules have something to read in: statuses, codes, paths, times, words.
LINE = (
    "2026-11-20T08:12:05Z POST /v2/orders 429 rate_limit_exceeded retry-after=30 since this morning "
    "the webhook is down, SSO fails with an expired certificate, invoices are past due\n"
)
# How long the test lets a 1 MB ticket with a 1 s deadline run: before the fix it ran for hours.
BOUND_S = 60.0


def invented(body: str, comments: list[str] | None = None) -> Ticket:
    return Ticket(
        id="T-77",
        subject="Exports stall",
        body=body,
        requester=Requester(name="Ilse Varga", email="ilse@brambleway.test"),
        created_at=datetime(2026, 3, 1, 9, tzinfo=UTC),
        comments=[Comment(body=c) for c in comments or []],
    )


def test_a_ticket_the_size_of_a_pasted_log_ends_near_its_deadline(env: Environment) -> None:
    demo = load_ticket(TICKETS / "429-spike.json")
    ticket = demo.model_copy(
        update={
            "body": demo.body + "\n" + LINE * 3_000,  # 0.5 MB
            "comments": [Comment(body=LINE * 30) for _ in range(100)],  # and 0.5 MB more in a thread
        }
    )
    started = time.monotonic()
    result = asyncio.run(run_investigation(ticket, env, Settings(budgets=Budgets(deadline_s=1.0))))
    elapsed = time.monotonic() - started
    assert elapsed < BOUND_S, f"{elapsed:.0f} s for a 1 s deadline"
    assert result.diagnosis.account_id == "acme"  # it was read and investigated, not refused


def test_an_investigation_reads_each_part_and_the_latest_comments_up_to_their_bounds() -> None:
    small = invented("Exports stall since Monday.", ["first", "second"])
    assert small.bounded() is small
    big = invented("x" * (PART_CHARS + 5), [f"c{i} " + "y" * 9_000 for i in range(12)])
    read = big.bounded()
    assert len(read.body) == PART_CHARS and big.body == "x" * (PART_CHARS + 5)  # the ticket stays whole
    kept = [c.body.split()[0] for c in read.comments]
    assert kept == [f"c{i}" for i in range(12 - len(kept), 12)] and 0 < len(kept) < 12  # the latest
    assert len(read.full_text()) <= TEXT_CHARS + 2 * (len(read.comments) + 2)
    long_comment = invented("short", ["z" * (PART_CHARS * 2)]).bounded()
    assert [len(c.body) for c in long_comment.comments] == [PART_CHARS]


def test_the_phrase_rules_read_a_text_s_head_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phrasebook, "READ_CHARS", 400)  # the rule, on a short text (each pass is costly)
    said = "Der Export funktioniert nicht. "
    near, far = said + "." * 10, "." * 410 + said
    assert "is not working" in reading(near) and "is not working" in meanings(near)
    assert reading(far) == far and meanings(far) == []
    assert phrasebook.known_language(near) and not phrasebook.known_language("." * 410 + "funktioniert nicht")
