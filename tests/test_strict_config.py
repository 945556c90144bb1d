"""Strict, helpful configuration: typos are errors with file, line and "did you mean"; a broken
runbook disables that runbook only, loudly; runbooks reload when their files change."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_helpers import AUTH, TICKETS, scripted_factory, settings

from casefile.agent.config import ConfigError, load_settings
from casefile.agent.events import Event
from casefile.agent.intake import load_ticket
from casefile.agent.pipeline import Environment, run_investigation
from casefile.agent.routing import check_routing
from casefile.agent.runbooks import RUNBOOKS_DIR, check_runbooks
from casefile.agent.service.app import create_app
from casefile.agent.store import Store
from casefile.agent.strict import toml_line
from casefile.tools.base import Toolbox

ROOT = Path(__file__).resolve().parent.parent


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "casefile.toml"
    path.write_text(text)
    return path


def test_unknown_key_in_a_section_names_file_line_and_the_key_meant(tmp_path: Path) -> None:
    path = _config(tmp_path, 'model = "offline"\n\n[budgets]\nmax_turns = 4\nmax_turnz = 3\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert str(caught.value) == f"{path}:5: unknown key max_turnz in [budgets] (did you mean max_turns?)"
    assert caught.value.exit_code == 78


def test_unknown_section_and_nested_connector_keys(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        '[budget]\nmax_turns = 3\n\n[connectors.logs]\ndsn = "https://h:8443/db"\nmax_rowz = 5\n\n'
        '[connectors.logs.requests]\ntable = "r"\nlatencyy = "ms"\n\n[connectors.linaer]\napi_key = "k"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    message = str(caught.value)
    assert "\n" not in message
    assert f"{path}:1: unknown key budget (did you mean budgets?)" in message
    assert f"{path}:6: unknown key max_rowz in [connectors.logs] (did you mean max_rows?)" in message
    assert "unknown key latencyy in [connectors.logs.requests] (did you mean latency?)" in message
    assert "(and 1 more)" in message  # [connectors.linaer]


def test_a_valid_config_and_a_bad_value_with_its_line(tmp_path: Path) -> None:
    ok = _config(tmp_path, 'model = "offline"\n[budgets]\nmax_turns = 3\n[service]\nport = 8001\n')
    assert load_settings(ok, env={}).budgets.max_turns == 3
    bad = _config(tmp_path, 'model = "offline"\n[budgets]\nmax_turns = 0\n')
    with pytest.raises(ConfigError, match=r"casefile.toml:3: budgets.max_turns: Input should be greater"):
        load_settings(bad, env={})


def test_toml_line_finds_tables_keys_and_dotted_keys() -> None:
    text = 'a = 1\n[b]\nc = 2\n[b.d]\n"e" = 3\nf.g = 4\n[[h]]\ni = 5\n'
    assert toml_line(text, ["a"]) == 1
    assert toml_line(text, ["b", "c"]) == 3
    assert toml_line(text, ["b", "d"]) == 4
    assert toml_line(text, ["b", "d", "e"]) == 5
    assert toml_line(text, ["b", "d", "f", "g"]) == 6
    assert toml_line(text, ["h", 0, "i"]) == 8
    assert toml_line(text, ["nope"]) == 0


def _runbooks_copy(tmp_path: Path) -> Path:
    directory = tmp_path / "runbooks"
    shutil.copytree(RUNBOOKS_DIR, directory)
    return directory


def test_runbook_typos_get_did_you_mean(tmp_path: Path) -> None:
    directory = _runbooks_copy(tmp_path)
    billing = directory / "billing.md"
    billing.write_text(billing.read_text().replace("\ntitle:", "\ntitel:", 1))
    _, problems = check_runbooks(directory)
    assert any(
        p.file.endswith("billing.md") and p.line > 1 and p.reason == "unknown key titel (did you mean title?)"
        for p in problems
    ), problems


def test_routing_typos_get_did_you_mean(tmp_path: Path) -> None:
    text = (ROOT / "prompts" / "routing.yaml").read_text().replace("    channel:", "    chanel:", 1)
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    _, problems = check_routing(path)
    assert any(p.reason == "unknown key chanel in teams.backend (did you mean channel?)" for p in problems)


def _env_with_runbooks(directory: Path) -> Environment:
    env = Environment(Toolbox([]), None, [], None, "test", runbooks_dir=directory)
    env.refresh_runbooks(force=True)
    return env


def test_a_broken_runbook_disables_only_itself_and_reloads_when_fixed(tmp_path: Path) -> None:
    directory = _runbooks_copy(tmp_path)
    good = len(list(directory.glob("*.md")))
    env = _env_with_runbooks(directory)
    assert len(env.runbooks) == good and env.runbook_problems == []

    billing = directory / "billing.md"
    original = billing.read_text()
    billing.write_text(original.replace("\ntitle:", "\ntitle: [unclosed", 1))
    assert env.refresh_runbooks() is True  # the file changed: reloaded without a restart
    assert "billing" not in [r.id for r in env.runbooks] and len(env.runbooks) == good - 1
    assert [Path(p.file).name for p in env.runbook_problems] == ["billing.md"]
    assert env.refresh_runbooks() is False  # nothing changed since

    # An investigation still runs, and says which runbook was left out.
    events: list[Event] = []
    ticket = load_ticket(TICKETS / "billing-past-due.json")
    result = asyncio.run(
        run_investigation(
            ticket, env, load_settings(env={}), model=scripted_factory()(ticket), on_event=events.append
        )
    )
    assert result.diagnosis.summary
    matched = next(e for e in events if e.kind == "runbooks_matched")
    assert matched.data["disabled"] and "billing.md" in matched.data["disabled"][0]

    billing.write_text(original)
    assert env.refresh_runbooks() is True
    assert env.runbook_problems == [] and len(env.runbooks) == good


def test_healthz_lists_disabled_runbooks(tmp_path: Path) -> None:
    directory = _runbooks_copy(tmp_path)
    (directory / "broken.md").write_text("---\nid: broken\n: : :\n---\n")
    store = Store("sqlite:///:memory:")
    try:
        app = create_app(
            settings(), env=_env_with_runbooks(directory), model_factory=scripted_factory(), store=store
        )
        with TestClient(app) as client:
            health = client.get("/healthz", headers=AUTH).json()  # why, with a token only
        assert health["status"] == "degraded"
        assert health["runbooks"]["loaded"] == len(list(RUNBOOKS_DIR.glob("*.md")))
        assert health["runbooks"]["disabled"][0].startswith("broken.md:")
    finally:
        store.close()


def test_runbooks_check_reports_fields_the_results_do_not_have(tmp_path: Path) -> None:
    """`subscription` is a let over billing_account's subscriptions: its fields are known."""
    directory = _runbooks_copy(tmp_path)
    billing = directory / "billing.md"
    billing.write_text(billing.read_text().replace("subscription.status in", "subscription.stauts in", 1))
    rate = directory / "api-rate-limit.md"
    rate.write_text(rate.read_text().replace("spike.first_error_at", "spike.first_eror_at", 1))
    _, problems = check_runbooks(directory)
    reasons = {(Path(p.file).name, p.reason) for p in problems}
    assert (
        "billing.md",
        "subscription.stauts: no field 'stauts' in this result (did you mean status?)",
    ) in reasons
    assert any(
        name == "api-rate-limit.md" and "no field 'first_eror_at'" in reason and "first_error_at?" in reason
        for name, reason in reasons
    ), reasons
    # The bundled runbooks read only declared fields.
    assert check_runbooks()[1] == []


def test_field_checker_follows_lets_filters_and_indexes() -> None:
    from casefile.agent.runbook_fields import FieldChecker

    found: list[str] = []
    shape = {"items": [{"id": None, "state": {"name": None}}], "count": None}
    checker = FieldChecker({"bugs": shape, "other": None}, found.append)
    checker.define("top", "(bugs.items | selectattr('id') | first) if bugs else none")
    for text in (
        "bugs.items[0].state.name",
        "top.state.name and bugs.count",
        "bugs.items | length",
        "other.anything.at.all",
        "bugs.get('count')",
        "unknown_name.field",
    ):
        checker.check(text, expression=True)
    assert found == []
    checker.check(
        "{{ top.state.nmae }} {{ bugs.cuont }} {% for i in bugs.items %}{{ i.whatever }}{% endfor %}"
    )
    assert found == [
        "top.state.nmae: no field 'nmae' in this result (did you mean name?)",
        "bugs.cuont: no field 'cuont' in this result (did you mean count?)",
    ]
