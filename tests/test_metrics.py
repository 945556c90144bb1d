"""The metrics over a seeded history: every figure counted again from the seed, the CLI's JSON,
a helpdesk that is down, an empty store and a window that is not one."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from metrics_seed import END, START, Seeded, diagnosis, seed_history

from casefile.agent.cli import main
from casefile.agent.config import ZendeskSettings
from casefile.agent.metrics.compute import collect_metrics
from casefile.agent.metrics.model import MetricsReport
from casefile.agent.metrics.outcomes import ZendeskOutcomes, outcome_reader
from casefile.agent.store import Store
from casefile.tools.world.loader import World


def _rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[math.ceil(q * len(ordered)) - 1], 2)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Seeded]:
    root = tmp_path_factory.mktemp("metrics")
    url = f"sqlite:///{root / 'casefile.sqlite3'}"
    store = Store(url)
    try:
        return url, seed_history(store, root / "world")
    finally:
        store.close()


async def _report(
    url: str, seeded: Seeded, transport: httpx.AsyncBaseTransport | None = None
) -> MetricsReport:
    assert seeded.world is not None
    store = Store(url)
    reader = outcome_reader(ZendeskSettings(), World(seeded.world), transport=transport)
    try:
        return await collect_metrics(store, reader, since=START, until=END)
    finally:
        assert reader is not None
        await reader.aclose()
        store.close()


async def test_every_figure_matches_the_seed(seeded: tuple[str, Seeded]) -> None:
    url, data = seeded
    report = await _report(url, data)
    seeds, escalated = data.seeds, data.escalated
    total = report.total
    assert total.investigations == 200
    assert total.escalations == len(escalated)
    assert total.escalation_rate == round(len(escalated) / 200, 4)
    assert total.bounced == sum(s.bounced for s in escalated) > 0
    arrival = [(s.finished_at - s.ticket_created_at).total_seconds() for s in seeds]
    assert (total.investigation_time_s.p50, total.investigation_time_s.p95) == (
        _rank(arrival, 0.5),
        _rank(arrival, 0.95),
    )
    to_escalation = [(s.finished_at - s.started_at).total_seconds() for s in escalated]
    assert total.time_to_escalation_s.p50 == _rank(to_escalation, 0.5) > 0
    resolved = [s for s in seeds if s.team is None]
    known = [s for s in resolved if s.status is not None]
    fcr = [s for s in known if s.status in ("solved", "closed") and s.reopens == 0]
    solved = [s for s in known if s.status in ("solved", "closed")]
    assert total.outcome_known == len(escalated) + len(known)
    assert total.outcome_unknown == len(resolved) - len(known) > 0
    assert total.first_contact_resolved == len(fcr) < len(solved) == total.resolved_without_engineering
    assert total.fcr_rate == round(len(fcr) / total.outcome_known, 4)
    assert report.outcomes.read == len(known)
    assert any("unknown for" in note for note in report.notes)

    teams = {s.key: s for s in report.by_team}
    for team in {s.team for s in escalated}:
        mine = [s for s in escalated if s.team == team]
        assert teams[team].escalations == len(mine)
        assert teams[team].escalation_rate == round(len(mine) / 200, 4)
        assert teams[team].bounced == sum(s.bounced for s in mine)
    rules = {line.rule: line for line in report.by_trigger}
    storm = [s for s in escalated if s.rule == "5xx-storm"]
    assert (rules["5xx-storm"].escalations, rules["5xx-storm"].bounced) == (
        len(storm),
        sum(s.bounced for s in storm),
    )
    assert sum(line.escalations for line in report.by_trigger) == len(escalated)
    categories = {s.key: s.investigations for s in report.by_category}
    assert categories == {c: sum(s.category == c for s in seeds) for c in {s.category for s in seeds}}
    assert [w.key for w in report.by_week] == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    assert sum(w.investigations for w in report.by_week) == 200


def test_the_cli_prints_the_same_report(
    seeded: tuple[str, Seeded], capsys: pytest.CaptureFixture[str]
) -> None:
    url, data = seeded
    expected = asyncio.run(_report(url, data))
    window = ["--since", START.isoformat(), "--until", END.isoformat(), "--database-url", url]
    assert main(["report", "metrics", "--json", "--world", str(data.world), *window]) == 0
    assert MetricsReport.model_validate_json(capsys.readouterr().out) == expected
    assert main(["report", "metrics", "--world", str(data.world), *window]) == 0
    text = capsys.readouterr().out
    assert "investigations            200" in text
    assert "5xx-storm" in text and "By week (Monday):" in text
    out = Path(str(data.world)) / "review.md"
    assert main(["report", "review", "--world", str(data.world), "--out", str(out), *window]) == 0
    review = out.read_text()
    assert "| investigations | 200 |" in review and "## What to change" in review
    # One suggestion per cause: the trigger rule that forced a bounced escalation, else its runbook.
    causes = {s.rule if s.rule != "(decision)" else f"rb-{s.category}" for s in data.escalated if s.bounced}
    assert review.count("would have prevented") == len(causes) > 1


async def test_a_helpdesk_that_is_down_leaves_fcr_unknown_and_says_so(seeded: tuple[str, Seeded]) -> None:
    url, data = seeded

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    report = await _report(url, data, transport=httpx.MockTransport(down))
    good = await _report(url, data)
    resolved = sum(s.team is None for s in data.seeds)
    assert report.outcomes.error == "Zendesk unreachable: ConnectError"
    assert report.total.outcome_unknown == resolved
    assert report.total.first_contact_resolved == 0
    assert report.total.resolved_without_engineering == 0
    # Everything the helpdesk does not decide is still there.
    assert report.total.escalations == good.total.escalations
    assert report.total.investigation_time_s == good.total.investigation_time_s
    assert report.by_trigger == good.by_trigger
    assert any("Zendesk unreachable" in note for note in report.notes)


async def test_an_empty_store_gives_empty_figures_and_a_note(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        report = await collect_metrics(store, None, since=START, until=END)
    finally:
        store.close()
    assert report.total.investigations == 0
    assert report.total.escalation_rate is None and report.total.fcr_rate is None
    assert report.by_team == [] and report.by_week == []
    assert report.notes == [
        "no investigation reached a diagnosis between 2026-11-02T00:00:00Z and 2026-11-30T00:00:00Z"
    ]


def test_a_window_that_ends_before_it_starts_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    code = main(
        ["report", "metrics", "--since", "2026-11-30", "--until", "2026-11-02", "--database-url", url]
    )
    assert code == 2
    assert "is not before the end of the window" in capsys.readouterr().err


async def test_the_stand_in_answers_show_many_in_zendesk_s_wire_format(seeded: tuple[str, Seeded]) -> None:
    _, data = seeded
    assert data.world is not None
    known = [s for s in data.seeds if s.status is not None][:3]
    ids = ",".join(s.ticket_id for s in known) + ",999999"
    async with httpx.AsyncClient(transport=World(data.world).transport) as client:
        response = await client.get(
            "https://relayhq.zendesk.com/api/v2/tickets/show_many.json",
            params={"ids": ids, "include": "metric_sets"},
            headers={"Authorization": "Basic eDp5"},
        )
    body = response.json()
    assert [t["id"] for t in body["tickets"]] == [int(s.ticket_id) for s in known]
    assert [t["status"] for t in body["tickets"]] == [s.status for s in known]
    sets = body["metric_sets"]
    assert [(m["ticket_id"], m["reopens"]) for m in sets] == [(int(s.ticket_id), s.reopens) for s in known]
    assert {"first_resolution_time_in_minutes", "full_resolution_time_in_minutes", "solved_at"} <= set(
        sets[0]
    )


async def test_an_unexpected_answer_is_an_unknown_outcome_not_a_crash() -> None:
    def odd(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"tickets": [{"id": "x"}]})

    reader = ZendeskOutcomes(ZendeskSettings(subdomain="example"), transport=httpx.MockTransport(odd))
    from casefile.agent.metrics.outcomes import OutcomesUnavailable

    with pytest.raises(OutcomesUnavailable, match="unexpected shape"):
        await reader.read([1, 2])
    await reader.aclose()


def test_cli_investigations_record_when_they_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Time to escalation of a CLI run is the run's duration, not 0.0 s from an empty start."""
    import casefile.agent.pipeline as pipeline
    from casefile.agent.investigation import Investigation
    from casefile.agent.ticket import Signals

    class Env:
        runbook_problems = ()
        description = "a stand-in environment"

        async def aclose(self) -> None:
            pass

    async def investigate(ticket: Any, env: Any, settings: Any, on_event: Any = None) -> Investigation:
        await asyncio.sleep(0.2)  # the investigation takes time: the start must be before it
        escalated = diagnosis(ticket.id, "deploy_regression", "backend", None)
        signals = Signals(window_start=ticket.created_at, window_end=ticket.created_at)
        return Investigation(escalated, signals, [], [])

    monkeypatch.setattr(pipeline, "open_environment", lambda settings, world: Env())
    monkeypatch.setattr(pipeline, "run_investigation", investigate)
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("CASEFILE_DATABASE_URL", url)
    ticket = tmp_path / "t.json"
    ticket.write_text('{"id": "T-1", "body": "API fails", "created_at": "2026-11-20T09:00:00Z"}')
    assert main(["investigate", str(ticket), "--quiet"]) == 0
    store = Store(url)
    try:
        (record,) = store.list()
        report = asyncio.run(collect_metrics(store, None, since=record.created_at - timedelta(minutes=1)))
    finally:
        store.close()
    assert record.started_at is not None and record.finished_at is not None
    assert (record.finished_at - record.started_at) >= timedelta(seconds=0.2)
    assert report.total.time_to_escalation_s.p50 is not None and report.total.time_to_escalation_s.p50 >= 0.2
