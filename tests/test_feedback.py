"""Bounce-back feedback and the weekly escalation report, on a temporary SQLite store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from llm_fixtures import diagnosis_body

from casefile.agent.cli import main
from casefile.agent.diagnosis import Diagnosis
from casefile.agent.investigation import Investigation
from casefile.agent.metrics.escalations import escalation_report, render_report
from casefile.agent.routing_cli import parse_since
from casefile.agent.store import Store
from casefile.agent.ticket import Signals, Ticket

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
ARTICLE = "https://support.relayhq.dev/hc/articles/360887"


def _diagnosis(
    ticket_id: str, action: str, team: str | None, trigger: str | None, runbooks: list[str], category: str
) -> Diagnosis:
    escalation = (
        {"team": team, "reason": "why", "trigger": trigger, "symptom": "api-errors"} if team else None
    )
    body = diagnosis_body(category, action, ticket_id=ticket_id, escalation=escalation, runbooks=runbooks)
    return Diagnosis.model_validate(body)


def _save(store: Store, ticket_id: str, diagnosis: Diagnosis) -> str:
    ticket = Ticket(id=ticket_id, body="b", created_at=NOW)
    inv = store.create_investigation(ticket, source="cli", requested_by="test")
    store.set_status(inv, "running")
    signals = Signals(window_start=NOW - timedelta(hours=1), window_end=NOW)
    store.save_result(inv, Investigation(diagnosis, signals, [], []), "test")
    return inv


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'casefile.sqlite3'}"


@pytest.fixture
def seeded(store_url: str) -> dict[str, Any]:
    store = Store(store_url)
    ids = {
        "rate": _save(
            store, "T-1", _diagnosis("T-1", "escalate", "backend", None, ["api-rate-limit"], "rate_limit")
        ),
        "export": _save(
            store,
            "T-2",
            _diagnosis("T-2", "escalate", "backend", "http-5xx", ["api-errors"], "deploy_regression"),
        ),
        "sso": _save(
            store,
            "T-3",
            _diagnosis("T-3", "escalate", "identity", None, ["sso-login"], "insufficient_evidence"),
        ),
        "resolved": _save(
            store, "T-4", _diagnosis("T-4", "resolve", None, None, ["billing"], "billing_past_due")
        ),
    }
    store.close()
    return ids


def test_feedback_and_report_through_the_cli(
    store_url: str, seeded: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--database-url", store_url]
    assert (
        main(
            [
                "feedback",
                seeded["rate"],
                "--bounced",
                "--article",
                ARTICLE,
                "--note",
                "plan limit, see KB",
                *db,
            ]
        )
        == 0
    )
    assert "bounced back from backend" in capsys.readouterr().out
    assert main(["feedback", seeded["export"], "--note", "good catch", *db]) == 0
    snippet = "Macro 'SSO metadata': ask the customer to re-upload their IdP metadata."
    assert (
        main(
            [
                "feedback",
                seeded["sso"],
                "--bounced",
                "--snippet",
                snippet,
                "--note",
                "IdP metadata looks fine",
                *db,
            ]
        )
        == 0
    )
    capsys.readouterr()

    assert main(["report", "escalations", "--since", "7d", *db]) == 0
    text = capsys.readouterr().out
    assert "3 escalated of 4 investigations; 2 bounced back (bounce rate 67%)" in text
    assert "backend             2 escalated    1 bounced (50%)" in text
    assert "identity            1 escalated    1 bounced (100%)" in text
    assert (
        "ticket T-1 → backend [rate_limit, runbooks api-rate-limit]" in text and f"article: {ARTICLE}" in text
    )
    assert (
        "runbook api-rate-limit: 1 of 1 escalations bounced → add a finding to runbook api-rate-limit" in text
    )
    assert "Time to escalation: median" in text

    assert main(["report", "escalations", "--since", "7d", "--json", *db]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (
        report["escalations"] == 3
        and report["bounced"] == 2
        and report["bounce_rate"] == pytest.approx(0.667)
    )
    assert [p["ticket_id"] for p in report["preventable"]] == ["T-1"]  # T-3 bounced with a snippet only
    kinds = {(c["kind"], c["name"]) for c in report["changes"]}
    assert ("runbook", "sso-login") in kinds and ("trigger", "http-5xx") not in kinds  # T-2 did not bounce


def test_a_later_verdict_never_erases_a_bounce(
    store_url: str, seeded: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--database-url", store_url]
    store = Store(store_url)
    store.add_feedback(seeded["export"], bounced=True, article=ARTICLE, note="dup of KB", by="a")
    report = escalation_report(store.list(), store.feedback(), since=NOW - timedelta(days=3650))
    assert report.bounced == 1
    assert ("trigger", "http-5xx") in {(c.kind, c.name) for c in report.changes}
    trigger_change = next(c for c in report.changes if c.kind == "trigger")
    assert "unless" in trigger_change.suggestion and trigger_change.articles == [ARTICLE]
    # `casefile feedback INV` without --bounced appends to the history; the bounce still counts.
    assert main(["feedback", seeded["export"], "--note", "actually it was ours", *db]) == 0
    history = store.feedback(investigation=seeded["export"])
    assert [(f.bounced, f.note, f.via) for f in history] == [
        (True, "dup of KB", "api"),
        (False, "actually it was ours", "cli"),
    ]
    report = escalation_report(store.list(), store.feedback(), since=NOW - timedelta(days=3650))
    store.close()
    assert report.bounced == 1 and report.preventable[0].note == "dup of KB"


def test_a_bounce_needs_an_escalation_a_solution_and_a_reason(
    store_url: str, seeded: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--database-url", store_url]
    cases = [
        (seeded["resolved"], ["--article", ARTICLE, "--note", "KB covers it"], "resolved the ticket"),
        (seeded["rate"], ["--note", "KB covers it"], "name the article or the snippet"),
        (seeded["rate"], ["--article", ARTICLE], "a reason is required"),
        (seeded["rate"], ["--article", ARTICLE, "--note", "x" * 501], "keep it to two sentences"),
    ]
    for inv, extra, message in cases:
        assert main(["feedback", inv, "--bounced", *extra, *db]) == 2
        assert message in capsys.readouterr().err
    store = Store(store_url)
    assert store.feedback() == []  # nothing refused was stored
    store.close()


def test_unknown_investigation_is_a_usage_error(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feedback", "inv_nope", "--bounced", "--database-url", store_url]) == 2
    assert "no investigation 'inv_nope'" in capsys.readouterr().err


def test_article_must_be_a_url(
    store_url: str, seeded: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["feedback", seeded["rate"], "--bounced", "--article", "see KB", "--database-url", store_url])
        == 2
    )


def test_empty_report() -> None:
    report = escalation_report([], [], since=NOW - timedelta(days=7), until=NOW)
    assert report.escalations == 0 and report.bounce_rate is None
    text = render_report(report)
    assert "Escalations 2026-11-13T12:00:00Z → 2026-11-20T12:00:00Z" in text and "(no escalations)" in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("24h", NOW - timedelta(hours=24)),
        ("2w", NOW - timedelta(weeks=2)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
    ],
)
def test_parse_since(value: str, expected: datetime) -> None:
    assert parse_since(value, NOW) == expected


def test_parse_since_rejects_nonsense() -> None:
    from casefile.agent.errors import UsageError

    with pytest.raises(UsageError):
        parse_since("last week", NOW)


def test_one_bounce_is_one_suggestion(store_url: str) -> None:
    """An escalation forced by a trigger rule, with two runbooks and a symptom, bounces once: one cause."""
    store = Store(store_url)
    made = _diagnosis(
        "T-9", "escalate", "backend", "http-5xx", ["api-errors", "api-latency"], "deploy_regression"
    )
    inv = _save(store, "T-9", made)
    store.add_feedback(inv, bounced=True, article=ARTICLE, note="documented", by="eng")
    report = escalation_report(store.list(), store.feedback(), since=NOW - timedelta(days=3650))
    store.close()
    assert [(c.kind, c.name, c.bounced) for c in report.changes] == [("trigger", "http-5xx", 1)]
    assert ARTICLE in report.changes[0].suggestion


def test_one_write_for_every_verdict(store_url: str, seeded: dict[str, Any]) -> None:
    from casefile.agent.handoff.bounce import InvalidBounce, NotEscalated, Verdict, record_feedback

    store = Store(store_url)
    try:
        record = store.get(seeded["export"])
        assert record is not None
        right = Verdict(bounced=False, snippet="macro 12", note="good catch")
        kept = record_feedback(store, record, right, by="ana", via="api")
        assert (kept.bounced, kept.snippet, kept.note, kept.team) == (False, "macro 12", "good catch", None)
        with pytest.raises(InvalidBounce, match="http"):
            record_feedback(store, record, Verdict(bounced=False, article="see KB"), by="ana", via="api")
        bounce = Verdict(bounced=True, article=ARTICLE, note="  documented   already ")
        entry = record_feedback(store, record, bounce, by="ana", via="cli")
        assert (entry.bounced, entry.team, entry.note, entry.via) == (
            True,
            "backend",
            "documented already",
            "cli",
        )
        resolved = store.get(seeded["resolved"])
        assert resolved is not None
        with pytest.raises(NotEscalated):
            record_feedback(store, resolved, bounce, by="ana", via="cli")
        assert len(store.feedback(investigation=record.id)) == 2  # the refused article wrote nothing
        assert store.feedback(investigation=resolved.id) == []
    finally:
        store.close()
