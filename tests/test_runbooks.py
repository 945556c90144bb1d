"""Runbooks: the shipped ones are valid; broken ones are reported with file, line and reason."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from casefile.agent.cli import main
from casefile.agent.runbooks import check_runbooks, evaluate, load_runbooks, match_runbooks, runbook_context
from casefile.agent.ticket import Signals, Ticket

GOOD_STEP = """\
  - id: errors
    tool: logs_error_summary
    args:
      account_id: "{{ account.id }}"
      start: "{{ window.start }}"
      end: "{{ window.end }}"
"""


def write(tmp_path: Path, name: str, front: str, body: str = "Guidance.") -> Path:
    path = tmp_path / name
    path.write_text(f"---\n{textwrap.dedent(front)}---\n{body}\n", encoding="utf-8")
    return path


def base_front(extra: str = "", plan: str = GOOD_STEP) -> str:
    return f"id: t\ntitle: T\nteam: backend\ntriggers:\n  keywords: [boom]\nplan:\n{plan}{extra}"


def test_shipped_runbooks_are_valid() -> None:
    runbooks, problems = check_runbooks()
    assert problems == []
    assert {"api-rate-limit", "api-errors", "billing", "sso-login", "webhooks"} <= {r.id for r in runbooks}


@pytest.mark.parametrize(
    ("plan", "extra", "line", "reason"),
    [
        (GOOD_STEP.replace("logs_error_summary", "logs_drop_table"), "", 9, "unknown tool 'logs_drop_table'"),
        (GOOD_STEP + "      colour: red\n", "", 14, "has no argument 'colour'"),
        (GOOD_STEP.replace('      end: "{{ window.end }}"\n', ""), "", 10, "needs argument(s) end"),
        (
            GOOD_STEP.replace('"{{ window.end }}"', '"{{ window.end "'),
            "",
            13,
            "bad expression",
        ),
        (
            GOOD_STEP,
            'findings:\n  - id: f\n    when: "errors.spike and ("\n    category: known_bug\n'
            "    statement: s\n    confidence: 0.5\n    action: resolve\n    reply: r\n",
            16,
            "bad expression",
        ),
        (
            GOOD_STEP,
            'findings:\n  - id: f\n    when: "true"\n    category: martian_attack\n'
            "    statement: s\n    confidence: 0.5\n    action: resolve\n    reply: r\n",
            17,
            "unknown category 'martian_attack'",
        ),
        (
            GOOD_STEP.replace("logs_error_summary", "logs_recent_requests").replace(
                '      start: "{{ window.start }}"\n      end: "{{ window.end }}"\n', "      limit: lots\n"
            ),
            "",
            12,
            "bad argument limit",
        ),
    ],
)
def test_broken_runbook_reports_file_line_reason(
    tmp_path: Path, plan: str, extra: str, line: int, reason: str
) -> None:
    path = write(tmp_path, "broken.md", base_front(extra, plan))
    _, problems = check_runbooks(tmp_path)
    assert problems, "a broken runbook must be reported"
    assert any(p.file == str(path) and reason in p.reason for p in problems), problems
    assert any(p.line == line for p in problems if reason in p.reason), [(p.line, p.reason) for p in problems]


def test_bad_regex_and_missing_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "regex.md", base_front().replace("keywords: [boom]", "regex: ['([a-z']"))
    (tmp_path / "plain.md").write_text("# no front matter\n", encoding="utf-8")
    _, problems = check_runbooks(tmp_path)
    reasons = {Path(p.file).name: p for p in problems}
    assert "bad regex" in reasons["regex.md"].reason and reasons["regex.md"].line == 6
    assert "no front matter" in reasons["plain.md"].reason and reasons["plain.md"].line == 1


def test_cli_runbooks_check_prints_problems_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "broken.md", base_front(plan=GOOD_STEP.replace("logs_error_summary", "nope")))
    assert main(["runbooks", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'broken.md'}:9: plan.0.tool" not in out  # reason is ours, not pydantic's path
    assert f"{tmp_path / 'broken.md'}:9: unknown tool 'nope'" in out
    assert main(["runbooks", "check"]) == 0


def _ticket(text: str) -> Ticket:
    return Ticket(id="T-1", subject="", body=text, created_at=datetime(2026, 11, 20, 12, tzinfo=UTC))


def _signals(**kw: object) -> Signals:
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    return Signals(window_start=now, window_end=now, **kw)  # type: ignore[arg-type]


def test_matching_by_keyword_status_and_area() -> None:
    runbooks = load_runbooks()
    matched = [
        m.runbook.id
        for m in match_runbooks(runbooks, _ticket("we get 429 Too Many Requests"), _signals(statuses=[429]))
    ]
    assert matched[0] == "api-rate-limit"
    sso = [
        m.runbook.id for m in match_runbooks(runbooks, _ticket("Okta login broken"), _signals(areas=["sso"]))
    ]
    assert sso[0] == "sso-login"
    # Only the runbooks that run on every ticket match a ticket that says nothing, and they never lead.
    quiet = match_runbooks(runbooks, _ticket("hello, thanks for the great product"), _signals())
    assert [m.runbook.id for m in quiet] == ["help-center", "past-diagnoses"]
    assert all(m.reasons == ["every ticket"] for m in quiet)
    loud = match_runbooks(runbooks, _ticket("we get 429 Too Many Requests"), _signals(statuses=[429]))
    assert [m.runbook.id for m in loud[-2:]] == ["help-center", "past-diagnoses"]


def test_finding_over_a_missing_source_is_false_not_an_error() -> None:
    runbook = next(r for r in load_runbooks() if r.id == "billing")
    base = {"account": {"id": "acme"}, "window": {}, "signals": {}, "ticket": {}}
    assert evaluate(runbook, runbook_context(runbook, base, {"billing": None, "errors": None})) == []
    results = {
        "billing": {
            "subscriptions": [{"id": "sub_1", "status": "past_due"}],
            "open_invoices": [],
            "recent_payment_failures": [],
            "standing_reasons": ["past due"],
        },
        "errors": None,
    }
    held = evaluate(runbook, runbook_context(runbook, base, results))
    assert held[0].finding.category == "billing_past_due"
    assert held[0].evidence[0] == {
        "step": "billing",
        "value": "past_due",
        "field": None,
        "claim": "subscription sub_1 is past_due",
    }
