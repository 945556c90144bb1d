"""The review's knowledge sections: clusters of a shared cause, and the docs gap (help-center search)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from llm_fixtures import diagnosis_body

from casefile.agent.cli import main
from casefile.agent.diagnosis import Diagnosis
from casefile.agent.investigation import Investigation
from casefile.agent.metrics.escalations import escalation_report, render_report
from casefile.agent.similar.clusters import cluster_report
from casefile.agent.similar.review import measure_docs_gap
from casefile.agent.store import Store
from casefile.agent.ticket import Signals, Ticket
from casefile.tools.base import Toolbox, ToolOutcome
from casefile.tools.docs import HelpCenterConnector, HelpCenterSettings
from casefile.tools.world.loader import World

DEMO = Path(__file__).resolve().parents[1] / "examples" / "world"
NOW = datetime.now(UTC)
ARTICLE = "https://support.relayhq.dev/hc/en-us/articles/360887-429-too-many-requests-during-our-nightly-sync"


def _diagnosis(account: str, category: str, cited: list[str], *, escalate: bool = False) -> Diagnosis:
    evidence = [{"call_id": "c1", "tool": "x", "value": v, "claim": "c"} for v in cited]
    action, team = ("escalate", "backend") if escalate else ("resolve", None)
    body = diagnosis_body(
        category, action, team=team, score=0.8, ticket_id="t", evidence=evidence, account_id=account
    )
    return Diagnosis.model_validate(body)


def _save(store: Store, ticket_id: str, subject: str, diagnosis: Diagnosis, query: str | None = None) -> str:
    ticket = Ticket(id=ticket_id, subject=subject, body="b", created_at=NOW)
    inv = store.create_investigation(ticket, source="cli", requested_by="test")
    store.set_status(inv, "running")
    outcomes = []
    if query:
        outcomes.append(
            ToolOutcome(
                call_id="c1",
                tool="docs_search",
                source="docs",
                arguments={"query": query},
                origin="preflight",
                ok=True,
                data={"query": query, "articles": []},
                started_at=NOW,
                duration_ms=3.0,
            )
        )
    signals = Signals(window_start=NOW - timedelta(hours=1), window_end=NOW)
    store.save_result(inv, Investigation(diagnosis, signals, [], outcomes), "test")
    return inv


@pytest.fixture
def store() -> Any:
    s = Store("sqlite:///:memory:")
    yield s
    s.close()


def test_clusters_group_by_the_strongest_shared_identifier(store: Store) -> None:
    bug = [
        _save(store, f"T-{i}", "429s", _diagnosis(f"acct{i}", "known_bug", ["REL-482", "c72d4320384f7a53"]))
        for i in range(3)
    ]
    deploy = _save(store, "T-9", "exports", _diagnosis("acct9", "deploy_regression", ["c72d4320384f7a53"]))
    _save(store, "T-10", "card", _diagnosis("acct1", "billing_card_declined", ["expired_card"]))
    _save(store, "T-11", "card", _diagnosis("acct2", "billing_card_declined", ["insufficient_funds"]))
    outage = [_save(store, f"T-2{i}", "down", _diagnosis(f"a{i}", "platform_incident", [])) for i in range(2)]
    report = cluster_report(store.list(), since=NOW - timedelta(days=1))
    assert report.investigations == 8
    [first, second] = report.clusters
    assert (first.key, first.kind, first.category, first.accounts) == ("bug:REL-482", "bug", "known_bug", 3)
    assert sorted(first.investigations) == sorted(bug) and deploy not in first.investigations
    # The deploy alone is cited by four, but each of those three has the stronger bug id; one left is no cluster.
    assert second.key == "category:platform_incident" and sorted(second.investigations) == sorted(outage)
    # Two customers whose cards failed are not one cause.
    assert all(c.category != "billing_card_declined" for c in report.clusters)
    lines = render_report(escalation_report(store.list(), [], since=NOW - timedelta(days=1)))
    assert "3 tickets hit REL-482 (known_bug, 3 accounts)" in lines


async def test_docs_gap_searches_what_the_investigation_searched(store: Store) -> None:
    found = _save(
        store, "T-1", "429 nightly", _diagnosis("a", "rate_limit", [], escalate=True), "429 Too Many Requests"
    )
    missed = _save(
        store, "T-2", "Webhooks late", _diagnosis("b", "webhook_platform", [], escalate=True), "webhooks late"
    )
    store.add_feedback(found, bounced=True, article=ARTICLE, note=None, by="l2")
    store.add_feedback(
        missed,
        bounced=True,
        article="https://support.relayhq.dev/hc/en-us/articles/360922",
        note=None,
        by="l2",
    )
    report = escalation_report(store.list(), store.feedback(), since=NOW - timedelta(days=1))
    toolbox = Toolbox([HelpCenterConnector.build(_settings(), World(DEMO))])
    try:
        gap = await measure_docs_gap(report.preventable, store, toolbox)
    finally:
        await toolbox.aclose()
    assert gap is not None and gap.unavailable is None
    assert (gap.bounced_with_article, gap.findable, gap.share) == (2, 1, 0.5)
    hit = next(i for i in gap.items if i.findable)
    assert hit.investigation_id == found and hit.query == "429 Too Many Requests" and hit.rank == 1
    report.docs_gap = gap.model_dump(mode="json")
    assert "1 of 2 bounced escalations (50%) had their article" in render_report(report)


async def test_a_help_center_that_is_down_is_named(store: Store) -> None:
    inv = _save(store, "T-1", "429 nightly", _diagnosis("a", "rate_limit", [], escalate=True), "429")
    store.add_feedback(inv, bounced=True, article=ARTICLE, note=None, by="l2")
    report = escalation_report(store.list(), store.feedback(), since=NOW - timedelta(days=1))
    down = httpx.MockTransport(lambda request: httpx.Response(503, json={"error": "Service Unavailable"}))
    toolbox = Toolbox([HelpCenterConnector(HelpCenterSettings(subdomain="acme"), transport=down)])
    try:
        gap = await measure_docs_gap(report.preventable, store, toolbox)
    finally:
        await toolbox.aclose()
    assert gap is not None and gap.unavailable and gap.unavailable.startswith("help center unavailable: ")
    assert await measure_docs_gap(report.preventable, store, None) is None


def _settings() -> Any:
    from casefile.tools.settings import ConnectorSettings

    return ConnectorSettings()


def test_report_command_prints_both_sections(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    s = Store(url)
    inv = _save(
        s, "T-1", "429 nightly", _diagnosis("a", "rate_limit", [], escalate=True), "429 Too Many Requests"
    )
    s.add_feedback(inv, bounced=True, article=ARTICLE, note=None, by="l2")
    s.close()
    assert main(["report", "escalations", "--database-url", url, "--world", str(DEMO)]) == 0
    out = capsys.readouterr().out
    assert "Shared causes" in out and "1 of 1 bounced escalations (100%)" in out
    assert main(["report", "escalations", "--database-url", url, "--world", str(tmp_path / "nope")]) == 2
