"""The routing file checker: every problem of a routing file with its file, line and reason
(``casefile routing check``), and a load that refuses a file with any problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from casefile.agent.routing import check_routing, load_routing


def test_shipped_routing_file_is_clean() -> None:
    config, problems = check_routing()
    assert problems == [] and config is not None


BAD_FILES: list[tuple[str, str, int, str]] = [
    ("yaml syntax", "version: 1\nteams: {a: [}\n", 2, "invalid YAML"),
    ("not a mapping", "- a\n- b\n", 1, "must be a mapping"),
    (
        "unknown top key",
        "version: 1\nteams: {}\nescalate_everything: true\n",
        3,
        "unknown key escalate_everything",
    ),
    (
        "bad threshold",
        "version: 1\nteams:\n  support-l2: {name: L2, channel: '#l2'}\ndecision:\n  categories:\n"
        "    rate_limit: {threshold: 1.5}\n",
        6,
        "less than or equal to 1",
    ),
    (
        "bad fix",
        "version: 1\nteams:\n  support-l2: {name: L2, channel: '#l2'}\ndecision:\n  categories:\n"
        "    rate_limit: {fix: maybe}\n",
        6,
        "fix",
    ),
    (
        "unknown category",
        "version: 1\nteams:\n  support-l2: {name: L2, channel: '#l2'}\ndecision:\n  categories:\n"
        "    rate_limits: {fix: ours}\n",
        6,
        "unknown category 'rate_limits'",
    ),
    (
        "unknown packet field",
        "version: 1\nteams:\n  support-l2:\n    name: L2\n    channel: '#l2'\n    requires: [logs, similar_tickets]\n",
        6,
        "unknown packet field 'logs'",
    ),
    (
        "unknown team",
        "version: 1\nteams:\n  support-l2: {name: L2, channel: '#l2'}\ntriggers:\n  - id: oom\n    team: infra\n"
        "    keywords: [oom]\n",
        6,
        "unknown team 'infra'",
    ),
    (
        "bad regex",
        "version: 1\nteams:\n  support-l2: {name: L2, channel: '#l2'}\ntriggers:\n  - id: x\n    team: support-l2\n"
        "    regex: ['(unclosed']\n",
        7,
        "bad regex",
    ),
    (
        "unknown fact",
        "version: 1\nteams:\n  support-l2: {name: L2, channel: '#l2'}\ntriggers:\n  - id: x\n    team: support-l2\n"
        "    keywords: [x]\n    unless: [billing_ok]\n",
        8,
        "unknown evidence fact 'billing_ok'",
    ),
    (
        "no matcher",
        "version: 1\nteams:\n  support-l2: {name: L2, channel: '#l2'}\ntriggers:\n  - id: x\n    team: support-l2\n",
        5,
        "can never fire",
    ),
    (
        "duplicate id",
        "version: 1\nteams:\n  support-l2: {name: L2, channel: '#l2'}\ntriggers:\n  - {id: x, team: support-l2, keywords: [a]}\n"
        "  - {id: x, team: support-l2, keywords: [b]}\n",
        6,
        "duplicate trigger id 'x'",
    ),
    (
        "not a status",
        "version: 1\nteams:\n  support-l2: {name: L2, channel: '#l2'}\ntriggers:\n  - id: x\n    team: support-l2\n"
        "    statuses: [42]\n",
        7,
        "not an HTTP status",
    ),
    (
        "missing fallback team",
        "version: 1\nteams:\n  backend: {name: B, channel: '#b'}\ndecision:\n  fallback_team: l2\n",
        5,
        "fallback team 'l2'",
    ),
    (
        "unknown symptom category",
        "version: 1\nteams:\n  support-l2: {name: L2, channel: '#l2'}\nsymptoms:\n  - id: s\n    team: support-l2\n"
        "    categories: [slowness]\n",
        7,
        "unknown category 'slowness'",
    ),
]


@pytest.mark.parametrize(("label", "text", "line", "reason"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_routing_file_is_rejected_with_file_line_reason(
    tmp_path: Path, label: str, text: str, line: int, reason: str
) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    _config, problems = check_routing(path)
    assert problems, label
    assert any(p.file == str(path) and p.line == line and reason in p.reason for p in problems), [
        str(p) for p in problems
    ]
    with pytest.raises(Exception, match=reason.split("'")[0][:10]):
        load_routing(path)


def test_cli_routing_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from casefile.agent.cli import main

    assert main(["routing", "check"]) == 0
    assert "28 trigger rules" in capsys.readouterr().out
    bad = tmp_path / "r.yaml"
    bad.write_text(BAD_FILES[7][1])
    assert main(["routing", "check", str(bad)]) == 1
    assert f"{bad}:6: unknown team 'infra'" in capsys.readouterr().out
