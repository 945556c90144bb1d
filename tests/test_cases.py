"""cases_similar: casefile's own past diagnoses, from a world's investigations.json and from the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from llm_fixtures import diagnosis_body

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.investigation import Investigation
from casefile.agent.store import Store
from casefile.agent.ticket import Signals, Ticket
from casefile.tools.base import CallContext, Toolbox, ToolCall
from casefile.tools.cases import CasesConnector, store_cases, world_cases

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _diagnosis(ticket_id: str, account: str, category: str, summary: str, cited: list[str]) -> dict[str, Any]:
    evidence = [{"call_id": "c1", "tool": "bugs_search", "value": v, "claim": "cited"} for v in cited]
    return diagnosis_body(
        category,
        score=0.8,
        ticket_id=ticket_id,
        summary=summary,
        root_cause={"category": category, "statement": summary},
        evidence=evidence,
        account_id=account,
    )


def _record(inv: str, subject: str, finished: datetime, **diag: Any) -> dict[str, Any]:
    return {
        "id": inv,
        "ticket_id": f"T-{inv}",
        "status": "done",
        "created_at": (finished - timedelta(minutes=2)).isoformat(),
        "finished_at": finished.isoformat(),
        "source": "api",
        "requested_by": "token:sidebar",
        "priority": "on_demand",
        "subject": subject,
        "diagnosis": _diagnosis(f"T-{inv}", **diag),
    }


HISTORY = [
    _record(
        "inv_bug",
        "Shipments API returns 429 for one client",
        NOW - timedelta(hours=3),
        account="globex",
        category="known_bug",
        summary="Known bug REL-900 counts retries twice (rate_limit_exceeded).",
        cited=["REL-900", "rate_limit_exceeded", "kh_e97dd33181a9145a"],
    ),
    _record(
        "inv_own",
        "SSO down",
        NOW - timedelta(days=2),
        account="acme",
        category="sso_certificate_expired",
        summary="Acme's IdP certificate expired.",
        cited=["2026-11-18T23:59:59Z"],
    ),
    _record(
        "inv_future",
        "429 again",
        NOW + timedelta(hours=1),
        account="globex",
        category="known_bug",
        summary="Known bug REL-900 again.",
        cited=["REL-900"],
    ),
]


def _world(tmp_path: Path, body: Any) -> Path:
    (tmp_path / "investigations.json").write_text(json.dumps(body))
    return tmp_path


async def _call(connector: CasesConnector, args: dict[str, Any], account: str | None = "acme") -> Any:
    toolbox = Toolbox([connector])
    outcome = await toolbox.execute(
        ToolCall(id="c9", tool="cases_similar", arguments=args), CallContext(now=NOW, account_id=account)
    )
    await toolbox.aclose()
    return outcome


async def test_past_diagnoses_by_shared_bug_and_meaning_without_another_accounts_words(
    tmp_path: Path,
) -> None:
    path = _world(tmp_path, {"investigations": HISTORY}) / "investigations.json"
    outcome = await _call(
        CasesConnector(lambda _tenant: world_cases(path)),
        {"text": "We get 429 Too Many Requests on shipments", "evidence": ["rate_limit_exceeded"]},
    )
    assert outcome.ok, outcome.error
    cases = outcome.data["cases"]
    assert [c["investigation_id"] for c in cases] == ["inv_bug", "inv_own"]  # inv_future is not history yet
    bug = cases[0]
    assert bug["shared"][0] == "code:rate_limit_exceeded" and bug["category"] == "known_bug"
    assert bug["identifiers"] == ["REL-900", "rate_limit_exceeded"]  # the other account's key hash is not
    assert not bug["same_account"] and bug["summary"] is None and bug["subject"] is None
    own = cases[1]
    assert own["same_account"] and own["summary"] == "Acme's IdP certificate expired."
    assert "another account" in outcome.rendered and "REL-900" in outcome.rendered


async def test_a_world_without_history_finds_nothing_and_junk_is_named(tmp_path: Path) -> None:
    empty = await _call(
        CasesConnector(lambda _tenant: world_cases(tmp_path / "investigations.json")), {"text": "429 errors"}
    )
    assert empty.ok and empty.data["cases"] == [] and empty.data["searched"] == 0
    path = _world(tmp_path, {"investigations": [{"id": "x"}]}) / "investigations.json"
    junk = await _call(CasesConnector(lambda _tenant: world_cases(path)), {"text": "429 errors"})
    assert not junk.ok and junk.source == "cases" and "investigations.json" in (junk.error or "")


async def test_the_store_is_searched_and_a_broken_store_is_unavailable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'casefile.sqlite3'}"
    store = Store(url)
    ticket = Ticket(id="T-1", subject="Shipments 429", body="429 rate_limit_exceeded", created_at=NOW)
    inv = store.create_investigation(ticket, source="cli", requested_by="test")
    store.set_status(inv, "running")
    diagnosis = Diagnosis.model_validate(
        _diagnosis("T-1", "globex", "known_bug", "Known bug REL-900.", ["REL-900", "rate_limit_exceeded"])
    )
    signals = Signals(window_start=NOW - timedelta(hours=1), window_end=NOW)
    store.save_result(inv, Investigation(diagnosis, signals, [], []), "test")
    store.close()
    cases = store_cases(url)
    assert [(c.investigation_id, c.subject, c.category) for c in cases] == [
        (inv, "Shipments 429", "known_bug")
    ]

    def down(tenant: str | None) -> list[Any]:
        raise ConnectionError("could not connect to server")

    outcome = await _call(CasesConnector(down), {"text": "429 errors"})
    assert not outcome.ok and "investigation store is unavailable" in (outcome.error or "")
