"""Round-6 attacks on "one account per investigation": what the model reads and what is kept.

Round 4 scrubbed other customers from what leaves in the diagnosis. The model still read them as
they came (a resolved ticket's subject and resolution, an article's title and body, a bug's
description, a past diagnosis), the stored events and audit rows kept whatever a call's arguments
and errors said, and a source link's label (an article's title) went to the sidebar as it was. In
the world of ``test_attack_tenancy`` (another customer's identities and an injection planted in
each cross-customer source), ``hooli``'s investigation is attacked for each:

* every prompt a model is shown (the opening, each tool result, the differential) names no other
  account of the directory, though the raw results do;
* every event (the CLI's progress, the SSE stream, the stored trace) and every audit row;
* the source links stored beside the audit rows.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from test_attack_tenancy import INJECTION, OWN, others_named, planted  # noqa: F401 - fixture

from casefile.agent.events import Event
from casefile.agent.models._prompt import outcome_block, render_opening
from casefile.agent.models.base import LoopState, ModelReply, ToolCall
from casefile.agent.models.scripted import ScriptedModel
from casefile.agent.pipeline import Environment
from casefile.agent.service.links import source_links
from casefile.agent.store import AuditRow, Store

# Searches whose results (in the planted world) name another customer.
SEARCHES = [
    ("tickets_similar", {"text": "export endpoint returning 500 since the deploy"}),
    ("docs_search", {"query": "export 500"}),
    ("cases_similar", {"text": "Export returns 500 internal_error after deploy"}),
    ("bugs_search", {"query": "rate limit Idempotency-Key"}),
    ("docs_article", {"article_id": 360999}),
    ("bugs_issue", {"identifier": "REL-482"}),  # its description names the customer who reported it
]
# What a model steered by the injection asks for: another account by id, name and address.
STEERED = [
    ("billing_account", {"account_id": "globex"}),
    ("tickets_similar", {"text": "Globex Retail ap@globex.example cus_xT6c8gorhiHjUz"}),
    ("logs_sql", {"sql": "SELECT count() FROM requests WHERE account_id = 'globex'"}),
]


class Reader:
    """A model that records every text it is shown, makes ``calls``, then concludes."""

    def __init__(self, calls: list[tuple[str, dict[str, Any]]], *, refusal: str | None = None) -> None:
        self.read: list[str] = []
        self.calls = calls
        self.refusal = refusal

    def _see(self, state: LoopState) -> None:
        if state.turn == 1:
            self.read.append(render_opening(state))
        self.read += [outcome_block(o, None, state.withhold) for o in state.new_outcomes]

    def look(self, state: LoopState) -> ModelReply:
        self._see(state)
        requested = [ToolCall(id=f"m{i}", tool=t, arguments=a) for i, (t, a) in enumerate(self.calls)]
        return ModelReply(tool_calls=requested)

    def conclude(self, state: LoopState) -> ModelReply:
        self._see(state)
        return ModelReply(refusal=self.refusal or "nothing to add")

    def model(self) -> ScriptedModel:
        return ScriptedModel([self.look, self.conclude], name="llm")


@dataclass
class Attacked:
    reader: Reader
    result: Any
    streamed: list[Event]
    audit: list[AuditRow]
    stored_events: list[str]
    env: Environment


@pytest.fixture(scope="module")
def attacked(planted: Environment) -> Iterator[Attacked]:  # noqa: F811 - the imported fixture
    """One investigation of hooli's ticket by a model that makes every search and steered call at once,
    recorded in a store as the service records it (events, audit rows, source links)."""
    from test_demo import TICKETS

    from casefile.agent.config import load_settings
    from casefile.agent.intake import load_ticket
    from casefile.agent.pipeline import run_investigation

    settings = load_settings(env={})
    settings = settings.model_copy(
        update={"budgets": settings.budgets.model_copy(update={"max_tool_calls": 200})}
    )
    ticket = load_ticket(TICKETS / "export-regression.json")
    reader = Reader(SEARCHES + STEERED, refusal=f"per {INJECTION}")
    streamed: list[Event] = []
    result = asyncio.run(
        run_investigation(ticket, planted, settings, model=reader.model(), on_event=streamed.append)
    )
    assert planted.directory is not None
    links = source_links(result.outcomes, accounts=planted.directory.as_mapping(), own=OWN)
    store = Store("sqlite:///:memory:")
    inv = store.create_investigation(ticket, source="api", requested_by="token:x")
    store.save_result(inv, result, "token:x", links=links)
    stored = [e.model_dump_json() for _, e in store.events(inv)]
    yield Attacked(reader, result, streamed, store.audit(inv), stored, planted)
    store.close()


def test_the_searches_return_other_customers(attacked: Attacked) -> None:
    """The attack surface is real: the raw results name other accounts, and every call was made."""
    made = {o.tool: o for o in attacked.result.outcomes if o.origin == "model"}
    assert set(made) == {t for t, _ in SEARCHES + STEERED}
    raw = {o.tool: json.dumps(o.data, default=str) for o in made.values() if o.ok}
    named = {tool for tool, text in raw.items() if others_named(attacked.env, text)}
    # logs_sql's result echoes the query that ran, with the account the model wrote into it; a bug
    # search's results carry the start of each issue's description, which may name who reported it
    assert named == {
        "tickets_similar",
        "docs_search",
        "docs_article",
        "bugs_issue",
        "bugs_search",
        "logs_sql",
    }, named


@pytest.mark.parametrize("index", range(len(SEARCHES) + len(STEERED) + 1), ids=lambda i: f"prompt{i}")
def test_the_model_reads_no_other_account(attacked: Attacked, index: int) -> None:
    """The opening (ticket, account, preflight results, the differential) and each result it asked for."""
    read = attacked.reader.read
    assert len(read) > len(SEARCHES) + len(STEERED)
    assert "candidate" in read[0], "the differential was not shown: the attack tests nothing"
    text = read[0] if index == 0 else read[-index]
    assert others_named(attacked.env, text) == [], text[:2000]


def test_events_name_no_other_account(attacked: Attacked) -> None:
    """A steered model's arguments, its refusal and the refusals it gets: in no event streamed or kept."""
    events = [*attacked.streamed, *attacked.result.events]
    assert any(e.kind == "tool_started" and e.data.get("tool") == "billing_account" for e in events)
    for event in events:
        assert others_named(attacked.env, event.model_dump_json()) == [], event
    for text in attacked.stored_events:
        assert others_named(attacked.env, text) == [], text


@pytest.mark.parametrize("tool", [t for t, _ in SEARCHES + STEERED])
def test_audit_rows_and_links_name_no_other_account(attacked: Attacked, tool: str) -> None:
    rows = [row for row in attacked.audit if row.tool == tool]
    assert rows
    for row in rows:
        assert others_named(attacked.env, row.model_dump_json()) == [], row


# --- the link rule, on invented names ---------------------------------------------------------


@pytest.mark.parametrize(
    ("article", "label", "url"),
    [
        (
            {
                "title": "Export 500 (as Contoso Pharma saw)",
                "url": "https://help.example/hc/articles/1-export",
            },
            "Help center: Export 500 (as [another account] saw)",
            "https://help.example/hc/articles/1-export",
        ),
        (
            {"title": "Export 500", "url": "https://help.example/hc/articles/2-contoso-export"},
            "Help center: Export 500",
            None,  # a URL naming another account is left out rather than broken
        ),
        (
            {"title": "Northwind Traders: export 500", "url": "https://help.example/a/3"},
            "Help center: Northwind Traders: export 500",  # the investigation's own name stays
            "https://help.example/a/3",
        ),
    ],
)
def test_a_link_names_no_other_account(article: dict[str, str], label: str, url: str | None) -> None:
    from outcomes import tool_outcome
    from test_attack_tenancy import ACCOUNTS

    outcome = tool_outcome("c1", "docs_search", {"articles": [article]})
    links = source_links([outcome], own="northwind", accounts=ACCOUNTS)
    assert links["c1"]["label"] == label
    assert links["c1"].get("url") == url
