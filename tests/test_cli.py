"""The casefile command end to end: the demo tickets, bad input, start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llm_fixtures import own_ticket

ROOT = Path(__file__).resolve().parent.parent
TICKETS = ROOT / "examples" / "tickets"
CASEFILE = [sys.executable, "-m", "casefile.agent.cli"]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["CASEFILE_DATABASE_URL"] = "sqlite:///" + str(cwd / ".casefile-test.sqlite3")
    return subprocess.run([*CASEFILE, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def write_ticket(tmp_path: Path, **fields: object) -> Path:
    path = tmp_path / "ticket.json"
    path.write_text(json.dumps(own_ticket(**fields)), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.json", "not found"),
        (lambda p: (p / "bad.json").write_text("{ not json", encoding="utf-8") and p / "bad.json", "JSON"),
        (lambda p: write_ticket(p, body=""), "no body"),
        (
            lambda p: (
                (p / "big.json").write_bytes(b'{"body": "' + b"x" * 5_000_000 + b'"}') and p / "big.json"
            ),
            "MB",
        ),
        (lambda p: (p / "bin.json").write_bytes(bytes(range(256)) * 64) and p / "bin.json", "UTF-8"),
        (lambda p: p, "directory"),
    ],
    ids=["missing", "invalid-json", "no-body", "5mb", "binary", "directory"],
)
def test_bad_ticket_is_one_line_exit_2(tmp_path: Path, make: object, message: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    result = run("investigate", str(path))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert result.stdout == ""


def test_unknown_account_still_yields_a_diagnosis(tmp_path: Path) -> None:
    path = write_ticket(tmp_path, requester={"name": "Pat", "email": "pat@nobody-we-know.org"})
    result = run("investigate", str(path), "--json")
    assert result.returncode == 0, result.stderr
    diagnosis = json.loads(result.stdout)
    assert diagnosis["account_id"] is None
    assert "could not be resolved" in diagnosis["root_cause"]["statement"]
    # It is sure of what it says (nothing could be checked) and asks who they are; no cause is claimed.
    assert (
        diagnosis["root_cause"]["category"] == "insufficient_evidence" and diagnosis["action"] == "escalate"
    )
    assert diagnosis["confidence"]["score"] >= 0.7 and "account" in diagnosis["customer_reply"]


def test_unknown_command_option_is_usage_error() -> None:
    result = run("investigate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_schema_is_the_diagnosis_json_schema() -> None:
    result = run("schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "Diagnosis"
    assert {"root_cause", "evidence", "confidence", "customer_reply", "action"} <= set(schema["properties"])


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; from agent.cli import build_parser; build_parser().format_help(); "
        "heavy = [m for m in ('openai', 'anthropic', 'clickhouse_connect', 'chdb', 'stripe', 'fastapi') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""
