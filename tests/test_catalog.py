"""The company catalogue: format, checks with file and line, roles, inference without one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from casefile import PACKAGE_DIR
from casefile.agent.catalog import Catalog, CatalogError, check_catalog, complete, guess_kind, load_catalog
from casefile.agent.templating import render_value

DEMO = PACKAGE_DIR / "examples" / "world" / "catalog.yaml"


def test_demo_catalogue_resolves_roles() -> None:
    catalog = load_catalog(DEMO)
    assert catalog.repos_of("webhooks") == ["relayhq/webhooks"]
    assert catalog.for_path("/v2/orders/{id}").id == "public-api"  # type: ignore[union-attr]
    assert catalog.owner("api", "/v2/orders") == "backend"
    assert catalog.owner("webhooks") == "integrations"
    assert catalog.for_path("/internal/health") is None
    assert catalog.roles()["dashboard"]["repos"] == ["relayhq/web"]


def test_problems_carry_file_line_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.yaml"
    bad.write_text(
        "version: 1\ncomponents:\n  - id: api\n    kind: api\n    repos: [not-a-repo]\n    paths: [v1/]\n"
        "    team: nobody\n  - id: api\n    kind: webhooks\n",
        encoding="utf-8",
    )
    catalog, problems = check_catalog(bad, teams=["backend"])
    assert catalog is not None
    text = "\n".join(map(str, problems))
    assert f"{bad}:5: 'not-a-repo' is not owner/name" in text
    assert f"{bad}:6: path prefix 'v1/' must start with /" in text
    assert f"{bad}:7: unknown team 'nobody'" in text
    assert f"{bad}:8: duplicate component id 'api'" in text
    with pytest.raises(CatalogError):
        load_catalog(bad)


def test_schema_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.yaml"
    bad.write_text("version: 1\ncomponents:\n  - id: api\n    kind: mainframe\n", encoding="utf-8")
    catalog, problems = check_catalog(bad)
    assert catalog is None
    assert problems[0].line == 4 and "kind" in problems[0].reason


def test_an_unknown_key_says_which_was_meant(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.yaml"
    bad.write_text("version: 1\ncomponets: []\n", encoding="utf-8")
    catalog, problems = check_catalog(bad)
    assert catalog is None
    assert [str(p) for p in problems] == [f"{bad}:2: unknown key componets (did you mean components?)"]


def test_cli_check_exit_codes(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "casefile.agent.cli", "catalog", "check", str(DEMO)],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "5 components" in ok.stdout
    bad = tmp_path / "catalog.yaml"
    bad.write_text("components: [1, 2\n", encoding="utf-8")
    failed = subprocess.run(
        [sys.executable, "-m", "casefile.agent.cli", "catalog", "check", str(bad)],
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert f"{bad}:" in failed.stderr and "invalid YAML" in failed.stderr


@pytest.mark.parametrize(
    ("repo", "kind"),
    [
        ("shop/webhook-dispatcher", "webhooks"),
        ("shop/notifications-hooks", "webhooks"),
        ("shop/payments-api", "billing"),
        ("shop/public-api", "api"),
        ("shop/api-gateway", "api"),
        ("shop/dashboard", "dashboard"),
        ("shop/docs-site", "docs"),
        ("shop/auth-service", "auth"),
        ("shop/terraform", "infra"),
        ("shop/zeppelin", None),
    ],
)
def test_kind_guessed_from_the_repository_name(repo: str, kind: str | None) -> None:
    assert guess_kind(repo) == kind


def test_without_a_catalogue_roles_come_from_the_configured_repositories() -> None:
    catalog = complete(Catalog(), ["shop/core-api", "shop/hookshot-dispatcher", "shop/zeppelin"])
    assert catalog.repos_of("api") == ["shop/core-api"]
    assert catalog.repos_of("webhooks") == ["shop/hookshot-dispatcher"]
    assert all(c.inferred for c in catalog.components)
    notes = catalog.unresolved(["api", "dashboard"])
    assert notes == ["no dashboard component is known (no catalogue entry, no repository named like one)"]
    # A declared catalogue keeps its entries and gains the repositories it does not list.
    declared = complete(load_catalog(DEMO), ["relayhq/api", "relayhq/docs"])
    assert [c.id for c in declared.of_kind("docs")] == ["relayhq-docs"]
    assert len(declared.of_kind("api")) == 1


def test_unknown_role_keeps_every_deploy_in_runbook_filters() -> None:
    at = "2026-11-20T08:04:00Z"
    deploys = [{"repo": "a/x", "sha": "1", "created_at": at}, {"repo": "a/y", "sha": "2", "created_at": at}]
    expr = "{{ deploys | in_repos(roles.webhooks.repos) | map(attribute='sha') | join(',') }}"
    known = {"deploys": deploys, "roles": {"webhooks": {"repos": ["a/y"]}}}
    unknown = {"deploys": deploys, "roles": Catalog().roles()}
    assert render_value(expr, known) == "2"
    assert render_value(expr, unknown) == "1,2"
