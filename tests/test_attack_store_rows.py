"""Round-4 attacks on the store's rows: one corrupted or outdated stored diagnosis.

A row written by an older version (a category since renamed), cut short by a full disk, or
edited by hand must not take every listing down with it: the investigations list, the shared
causes report, past diagnoses (``cases_similar`` reads the whole store on every ticket) and the
row itself answer, the others' data is intact, and the bad row says why it cannot be read.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_store import _result, _ticket

from casefile.agent.similar.clusters import cluster_report
from casefile.agent.store import Store
from casefile.tools.base import CallContext, Toolbox, ToolCall
from casefile.tools.cases import CasesConnector, store_cases

CORRUPTIONS = {
    "cut short": '{"ticket_id": "T-2", "summary": "half a diag',
    "not JSON": "\x00\x01garbage",
    "a category since renamed": (
        '{"ticket_id": "T-2", "summary": "s", "root_cause": {"category": "quota_exceeded_v0", "statement": "s"},'
        ' "confidence": {"score": 0.5}, "customer_reply": "r", "action": "resolve"}'
    ),
    "a list": "[]",
    "null": "null",
}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")


def _two_done(store: Store, corruption: str) -> tuple[str, str]:
    good = store.create_investigation(_ticket("T-1"), source="api", requested_by="t", priority="on_demand")
    bad = store.create_investigation(_ticket("T-2"), source="api", requested_by="t", priority="on_demand")
    store.save_result(good, _result("T-1"), "t")
    store.save_result(bad, _result("T-2"), "t")
    with store._tx() as cur:
        cur.execute("UPDATE investigations SET diagnosis_json = ? WHERE id = ?", (corruption, bad))
    return good, bad


@pytest.mark.parametrize("corruption", list(CORRUPTIONS.values()), ids=list(CORRUPTIONS))
def test_one_unreadable_diagnosis_does_not_take_the_listings_down(store: Store, corruption: str) -> None:
    good, bad = _two_done(store, corruption)
    records = {r.id: r for r in store.list()}
    assert set(records) == {good, bad}
    assert records[good].diagnosis is not None and records[good].diagnosis.summary  # intact
    unreadable = records[bad]
    assert unreadable.diagnosis is None and "stored diagnosis" in (unreadable.error or "")
    assert len((unreadable.error or "").splitlines()) == 1
    assert store.get(bad) is not None  # the row itself answers
    cluster_report(store.list(), since=_ticket().created_at.replace(year=2000))
    assert [c.investigation_id for c in store_cases(store.url)] == [good]


def test_past_diagnoses_still_search_a_store_with_a_bad_row(store: Store) -> None:
    good, _ = _two_done(store, CORRUPTIONS["a category since renamed"])
    cases = CasesConnector(lambda tenant: store_cases(store.url, tenant))
    call = ToolCall(id="c1", tool="cases_similar", arguments={"text": "API calls failing with 429"})
    outcome = asyncio.run(Toolbox([cases]).execute(call, CallContext(account_id="acme")))
    assert outcome.ok, outcome.error
    assert outcome.data["searched"] == 1
    assert [c["investigation_id"] for c in outcome.data["cases"]] in ([], [good])


def test_the_service_lists_and_shows_a_store_with_a_bad_row(store: Store) -> None:
    from fastapi.testclient import TestClient
    from service_helpers import AUTH, FakeZendesk, light_env, scripted_factory, settings

    from casefile.agent.service.app import create_app

    good, bad = _two_done(store, CORRUPTIONS["cut short"])
    app = create_app(
        settings(),
        env=light_env(),
        model_factory=scripted_factory(),
        store=store,
        helpdesk_transport=FakeZendesk().transport(),
    )
    with TestClient(app) as client:
        listed = client.get("/v1/investigations", headers=AUTH)
        assert listed.status_code == 200, listed.text
        shown = client.get(f"/v1/investigations/{bad}", headers=AUTH)
        assert shown.status_code == 200 and "stored diagnosis" in shown.text
        assert client.get(f"/v1/investigations/{good}", headers=AUTH).json()["diagnosis"]["summary"]
        assert client.get("/v1/reports/clusters?since=30000d", headers=AUTH).status_code == 200
