"""A third-party connector, pip-installed from its own one-file package, becomes a tool like any other.

The package in ``tests/plugin_example`` is installed into a temp directory (not this venv) and
put on ``PYTHONPATH`` of a ``casefile`` subprocess: its entry point is the only thing that
tells casefile it exists.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_install import install_plugin, run_casefile

PLUGIN = Path(__file__).resolve().parent / "plugin_example"

RUNBOOK = """---
id: status-incidents
title: Status page incidents
team: sre
triggers:
  keywords: ["outage"]
plan:
  - id: status
    tool: statuspage_incidents
    args:
      component: api
findings:
  - id: published-incident
    priority: 50
    when: "status and status.incidents"
    category: platform_incident
    statement: "An incident is published on the status page."
    component: api
    confidence: 0.7
    action: escalate
    summary: "A published incident explains the outage."
    evidence:
      - step: status
        value: "inc-9f3"
        claim: "the status page shows incident inc-9f3"
    reply: "We are aware of an incident and are working on it."
    note: "Published incident."
---
Check the status page first.
"""


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_plugin(PLUGIN, tmp_path_factory)


def test_the_plugin_appears_in_tools_list(plugin_site: Path, tmp_path: Path) -> None:
    done = run_casefile(plugin_site, tmp_path, "tools", "list")
    assert done.returncode == 0, done.stderr
    assert "statuspage_incidents" in done.stdout


def test_the_plugin_reads_its_own_section_and_environment_variable(plugin_site: Path, tmp_path: Path) -> None:
    (tmp_path / "casefile.toml").write_text('[connectors.statuspage]\npage = "status.acme.test"\n')
    done = run_casefile(
        plugin_site,
        tmp_path,
        "tools",
        "call",
        "statuspage_incidents",
        "--args",
        '{"component": "webhooks"}',
        STATUSPAGE_TOKEN="t0ken",
    )
    assert done.returncode == 0, done.stderr
    assert "status.acme.test" in done.stdout and "webhooks" in done.stdout
    assert "t0ken" not in done.stdout


def test_without_its_variable_the_plugin_is_not_configured(plugin_site: Path, tmp_path: Path) -> None:
    (tmp_path / "casefile.toml").write_text('[connectors.logs]\ndsn = "http://127.0.0.1:9/"\n')
    done = run_casefile(plugin_site, tmp_path, "tools", "call", "statuspage_incidents", "--args", "{}")
    assert "not configured (set STATUSPAGE_TOKEN)" in done.stdout + done.stderr


def test_a_runbook_calls_the_plugin_and_the_diagnosis_cites_it(plugin_site: Path, tmp_path: Path) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "status.md").write_text(RUNBOOK)
    accounts = {"accounts": [{"id": "acme", "name": "Acme", "domains": ["acme.test"]}]}
    (tmp_path / "accounts.json").write_text(json.dumps(accounts))
    (tmp_path / "casefile.toml").write_text(
        'runbooks_dir = "runbooks"\naccounts_file = "accounts.json"\n[connectors.statuspage]\npage = "status.acme.test"\n'
    )
    check = run_casefile(plugin_site, tmp_path, "runbooks", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    ticket = {
        "id": "T-1",
        "subject": "Total outage",
        "body": "Your API has an outage since 10:00, every call fails.",
        "requester": {"name": "A", "email": "a@acme.test"},
        "created_at": "2026-11-20T11:40:00Z",
    }
    (tmp_path / "ticket.json").write_text(json.dumps(ticket))
    done = run_casefile(
        plugin_site, tmp_path, "investigate", "ticket.json", "--json", "--no-save", STATUSPAGE_TOKEN="t0ken"
    )
    assert done.returncode == 0, done.stderr
    diagnosis = json.loads(done.stdout)
    cited = [(e["tool"], e["value"]) for e in diagnosis["evidence"]]
    assert ("statuspage_incidents", "inc-9f3") in cited
