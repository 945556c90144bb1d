"""The runbook filters over results decide on the connector's typed views (bugs_results.Issue,
deploys_results.Deployment) and hand the runbook back its own rows; a row that does not read as one
is kept by none of them."""

from __future__ import annotations

from typing import Any

from casefile.agent.templating import render_value

AT = "2026-11-20T10:00:00Z"


def _deploy(repo: str, sha: str, created_at: str, **extra: Any) -> dict[str, Any]:
    return {
        "repo": repo,
        "sha": sha,
        "environment": "production",
        "created_at": created_at,
        "status": "success",
    } | extra


DEPLOYS = [
    _deploy("acme/api", "a3", "2026-11-20T09:40:00Z"),
    _deploy("acme/api", "a2", "2026-11-20T09:10:00Z", status="failure"),
    _deploy("acme/api", "a1", "2026-11-20T08:00:00Z"),
    _deploy("acme/hooks", "h1", "2026-11-20T09:50:00Z", environment="staging"),
    {"repo": "acme/api", "sha": "garbled", "created_at": 20261120},  # not a deployment row
]
ISSUES = [
    {"identifier": "ABC-1", "title": "Export times out", "state": "In Progress", "workaround": "page by day"},
    {"identifier": "ABC-2", "title": "Export header typo", "state": "Done"},
    {"title": "no identifier", "state": "Todo", "description": "export"},
    {"identifier": "ABC-3", "title": "Login loop", "state": "Todo", "description": "SAML export of users"},
]


def _render(expr: str, **context: Any) -> Any:
    return render_value("{{ " + expr + " }}", {"deploys": DEPLOYS, "issues": ISSUES, **context})


def test_open_issues_and_mentions_read_the_issue_view() -> None:
    assert [i["identifier"] for i in _render("issues | open_issues")] == ["ABC-1", "ABC-3"]
    assert [i["identifier"] for i in _render("issues | mentioning('export')")] == ["ABC-1", "ABC-2", "ABC-3"]
    assert [i["identifier"] for i in _render("issues | mentioning('by day')")] == ["ABC-1"]


def test_deploy_filters_read_the_deployment_view() -> None:
    suspect = _render("deploys | suspect_deploy(at)", at=AT)
    assert suspect is DEPLOYS[0]  # the runbook gets its own row back
    assert _render("deploys | suspect_deploy(at, 5)", at=AT) is None
    assert _render("deploys | previous_deploy(d)", d=DEPLOYS[0]) is DEPLOYS[2]  # the failed one is skipped
    assert _render("deploys | previous_deploy(d)", d=DEPLOYS[4]) is None  # a garbled row has no previous
    assert [d["sha"] for d in _render("deploys | in_repos(['acme/hooks'])")] == ["h1"]
    assert [d["sha"] for d in _render("deploys | in_repos([])")] == ["a3", "a2", "a1", "h1"]
