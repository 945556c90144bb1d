"""Round-6 attacks on tenants: ``cases_similar`` reads casefile's own store, which one service shares
between its tenants (two helpdesks, two teams).

Before this round it read every tenant's finished investigations: tenant B's investigation was shown
tenant A's past cases (ids, causes, teams, the identifiers they cited) and, when both helpdesks have
an account of the same id, A's summaries and subjects as "this account's". A call now carries the
investigation's tenant (``CallContext.tenant``) and the store's cases are read for it only; the CLI,
the operator's, has no tenant and reads all.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from llm_fixtures import DIRECTORY
from pydantic import SecretStr
from service_helpers import TICKETS, FakeZendesk, diagnosis_step, read_sse, settings

from casefile.agent.config import ServiceToken
from casefile.agent.models.base import LoopState, ModelReply, ToolCall
from casefile.agent.models.scripted import ScriptedModel
from casefile.agent.pipeline import Environment
from casefile.agent.service.app import create_app
from casefile.agent.store import Store
from casefile.tools.base import CallContext, Toolbox
from casefile.tools.cases import CasesConnector, store_cases

TOKEN_A = "tok_tenant_a_" + "5a6978e1f00f1e2d"
TOKEN_B = "tok_tenant_b_" + "c3d2e1f08796a5b4"
A = {"Authorization": f"Bearer {TOKEN_A}"}
B = {"Authorization": f"Bearer {TOKEN_B}"}
QUERY = {"text": "gateway rate limiter 429 rate_limit_exceeded since this morning", "limit": 10}


class Scene:
    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: list[dict[str, Any]] = []  # each investigation's cases_similar result, in order

    def model(self, ticket: Any) -> ScriptedModel:
        def look(state: LoopState) -> ModelReply:
            return ModelReply(tool_calls=[ToolCall(id="m1", tool="cases_similar", arguments=QUERY)])

        def conclude(state: LoopState) -> ModelReply:
            outcome = next(o for o in state.outcomes if o.tool == "cases_similar")
            assert outcome.ok, outcome.error
            self.seen.append(json.loads(json.dumps(outcome.data, default=str)))
            return diagnosis_step(state)

        return ScriptedModel([look, conclude])


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[tuple[Scene, TestClient, Store]]:
    url = f"sqlite:///{tmp_path}/casefile.sqlite3"
    store = Store(url)
    s = Scene(url)
    env = Environment(
        toolbox=Toolbox([CasesConnector(lambda tenant: store_cases(url, tenant))]),
        directory=DIRECTORY,  # both helpdesks have an account "acme"
        runbooks=[],
        world=None,
        description="test",
    )
    tokens = {
        "agent-a": SecretStr(TOKEN_A),
        "agent-b": ServiceToken(token=SecretStr(TOKEN_B), tenant="helpdesk-b"),
    }
    app = create_app(
        settings(tokens=tokens, tenant="helpdesk-a"),
        env=env,
        model_factory=s.model,
        store=store,
        helpdesk_transport=FakeZendesk().transport(),
    )
    with TestClient(app) as client:
        yield s, client, store
    store.close()


def _investigate(client: TestClient, headers: dict[str, str], n: int) -> str:
    ticket = json.loads((TICKETS / "429-spike.json").read_text())
    # Now, so the earlier investigations are history for it; a new id each time (a new ticket).
    ticket.update(id=f"T-{n}", created_at=datetime.now(UTC).isoformat())
    created = client.post("/v1/investigations", json=ticket, headers=headers)
    assert created.status_code == 202, created.text
    inv = str(created.json()["id"])
    assert read_sse(client, inv, headers=headers)[-1][1]["status"] == "done"
    return inv


def test_a_tenant_reads_its_own_past_cases_only(scene: tuple[Scene, TestClient, Store]) -> None:
    s, client, store = scene
    first_a = _investigate(client, A, 1)
    first_b = _investigate(client, B, 2)
    third_a = _investigate(client, A, 3)
    assert [r.tenant for r in (store.get(first_a), store.get(first_b))] == ["helpdesk-a", "helpdesk-b"]
    ids = [[c["investigation_id"] for c in seen["cases"]] for seen in s.seen]
    assert first_a in ids[2], "tenant A's own history was not found: the attack tests nothing"
    assert ids[1] == [], f"tenant B read tenant A's case: {s.seen[1]}"
    assert ids[2] == [first_a], f"tenant A read tenant B's case: {s.seen[2]}"

    # The tool itself, for each tenant and for none (the operator's CLI reads the whole store).
    connector = CasesConnector(lambda tenant: store_cases(s.url, tenant))
    args = connector.tools()[0].parse_arguments(QUERY)
    for tenant, expected in [
        ("helpdesk-a", {first_a, third_a}),
        ("helpdesk-b", {first_b}),
        ("helpdesk-c", set()),
        (None, {first_a, first_b, third_a}),
    ]:
        ctx = CallContext.for_account("acme", DIRECTORY.as_mapping(), now=datetime.now(UTC), tenant=tenant)
        found = asyncio.run(connector.similar(args, ctx))  # type: ignore[arg-type]
        assert {c.investigation_id for c in found.cases} == expected, tenant


def test_another_tenant_s_volume_does_not_push_a_tenant_s_history_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Round 9: the store's newest ``MAX_CASES`` finished investigations were read across tenants, then
    filtered: a busy tenant A's newer cases pushed tenant B's whole history out of B's searches."""
    from test_store import _result, _ticket

    from casefile.tools import cases as cases_module

    monkeypatch.setattr(cases_module, "MAX_CASES", 3)  # the rule, on a small store
    url = f"sqlite:///{tmp_path}/casefile.sqlite3"
    store = Store(url)
    mine = store.create_investigation(_ticket("T-b"), source="api", requested_by="b", tenant="helpdesk-b")
    store.save_result(mine, _result("T-b"), "b")
    for n in range(4):  # newer, and more than the cap, all tenant A's
        inv = store.create_investigation(
            _ticket(f"T-a{n}"), source="api", requested_by="a", tenant="helpdesk-a"
        )
        store.save_result(inv, _result(f"T-a{n}"), "a")
    store.close()
    connector = CasesConnector(lambda tenant: store_cases(url, tenant))
    args = connector.tools()[0].parse_arguments({"text": "API calls failing with 429"})
    for tenant, searched in [("helpdesk-b", 1), ("helpdesk-a", 3), (None, 3)]:
        ctx = CallContext(account_id="acme", tenant=tenant, now=datetime.now(UTC))
        found = asyncio.run(connector.similar(args, ctx))  # type: ignore[arg-type]
        assert found.searched == searched, (tenant, found.searched)
    ctx = CallContext(account_id="acme", tenant="helpdesk-b", now=datetime.now(UTC))
    assert [c.investigation_id for c in asyncio.run(connector.similar(args, ctx)).cases] == [mine]  # type: ignore[arg-type]
