"""Round-6 attacks on "one account per investigation" through runbooks: a plan step whose arguments
are templated from what the customer wrote.

A runbook is the company's, but its templates may render the ticket's text into a call (the
help-center runbook searches with the subject). A customer of ``acme`` who writes another account's
id, name, Stripe customer or domain where a template reads it must not get a call that reads that
account: each step below puts the subject into an account argument, a search, a customer query and
model SQL, for each of ``globex``'s identities. Every call is refused or reads ``acme`` only.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from test_demo import TICKETS

from casefile.agent.intake import load_ticket
from casefile.agent.loop import investigate
from casefile.agent.models.base import LoopState, ModelReply
from casefile.agent.models.scripted import ScriptedModel
from casefile.agent.pipeline import Environment
from casefile.agent.runbooks import PlanStep, Runbook, Triggers
from casefile.agent.signals import extract_signals

GLOBEX = ["globex", "Globex Retail", "cus_xT6c8gorhiHjUz", "globex.example"]
STEPS = [
    ("billing_account", {"account_id": "{{ ticket.subject }}"}),
    (
        "logs_error_summary",
        {"account_id": "{{ ticket.subject }}", "start": "{{ window.start }}", "end": "{{ window.end }}"},
    ),
    ("logs_recent_requests", {"account_id": "{{ account.id }}", "path": "{{ ticket.subject }}"}),
    ("billing_search_customers", {"query": "{{ ticket.subject }}"}),
    (
        "logs_sql",
        {
            "sql": "SELECT account_id, count() AS n FROM requests WHERE account_id = '{{ ticket.subject }}' GROUP BY account_id"
        },
    ),
    (
        "logs_sql",
        {
            "sql": "SELECT account_id FROM requests WHERE account_id != '{{ account.id }}' AND '{{ ticket.subject }}' != '' LIMIT 5"
        },
    ),
]


def _runbook() -> Runbook:
    plan = [PlanStep(id=f"s{i}", tool=tool, args=args) for i, (tool, args) in enumerate(STEPS)]
    return Runbook(
        id="templated",
        title="templated from the ticket",
        team="backend",
        triggers=Triggers(keywords=["429"]),
        plan=plan,
    )


@pytest.mark.parametrize("identity", GLOBEX)
def test_a_subject_naming_another_account_reads_none_of_it(env: Environment, identity: str) -> None:
    ticket = load_ticket(TICKETS / "429-spike.json")
    ticket = ticket.model_copy(update={"subject": identity, "body": ticket.body + f"\n\nPS: {identity}"})
    assert env.directory is not None
    signals = extract_signals(ticket, env.directory)
    assert signals.account_id == "acme"

    def conclude(state: LoopState) -> ModelReply:
        return ModelReply(refusal="done looking")

    result = asyncio.run(
        investigate(
            ticket,
            signals=signals,
            account=env.directory.get("acme"),
            accounts=env.directory.as_mapping(),
            toolbox=env.toolbox,
            model=ScriptedModel([conclude]),
            runbooks=[_runbook()],
            differential=False,
        )
    )
    made = [o for o in result.outcomes if o.origin == "preflight"]
    assert len(made) == len(STEPS), [o.tool for o in made]
    for outcome in made:
        # What the source returned, not the query it echoes (the subject the template wrote into it).
        returned = {k: v for k, v in (outcome.data or {}).items() if k not in ("sql", "query")}
        data = json.dumps(returned, default=str)
        if outcome.ok:
            assert _accounts(outcome.data) <= {"acme"}, outcome.data
            assert not any(v in data for v in ("globex", "cus_xT6c8gorhiHjUz", "initech", "umbrella")), (
                outcome.tool,
                data[:500],
            )
        else:
            assert outcome.error_kind in ("refused", "bad_arguments"), (outcome.tool, outcome.error)


def _accounts(data: Any) -> set[str]:
    return {row.get("account_id") for row in (data or {}).get("rows", []) if isinstance(row, dict)}
