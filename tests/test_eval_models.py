"""`casefile eval run` with an LLM: who diagnosed is scored, configuration errors stop the run.

The model is a Chat Completions server on loopback (``OPENAI_BASE_URL``), reached
through the real SDK and HTTP stack, as a local model server would be.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from llm_fixtures import chat_completion, chat_server, diagnosis_body

from casefile.agent.cli import main
from casefile.agent.models import _chat
from casefile.evals.report import load_results

CASE = "billing-globex-demo"


def _error(status: int, message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


def _call(call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        ],
    }
    return chat_completion(message, "tool_calls")


def _cites_provider_ids(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Looks up billing, then cites the result by the tool_call_id it was given (as real models do)."""
    tool_messages = [m for m in body["messages"] if m["role"] == "tool"]
    if not tool_messages:
        return 200, _call("call_3ed0Bq7Zs1", "billing_account", {"account_id": "globex"})
    seen = tool_messages[-1]
    assert seen["tool_call_id"] == "call_3ed0Bq7Zs1" and "past_due" in seen["content"]
    invoice = re.search(r"in_[A-Za-z0-9]+", seen["content"])
    assert invoice
    evidence = [
        {"call_id": "call_3ed0Bq7Zs1", "value": "past_due", "claim": "the subscription is past due"},
        {"call_id": "call_3ed0Bq7Zs1", "value": invoice.group(0), "claim": "the unpaid invoice"},
        {"call_id": "call_3ed0Bq7Zs1", "value": "card_declined", "claim": "why the payment failed"},
    ]
    diagnosis = diagnosis_body(
        "billing_past_due",
        score=0.85,
        summary="Globex's subscription is past_due: the card was declined, so order creation is blocked.",
        evidence=evidence,
    )
    return 200, _call("call_submit", "submit_diagnosis", diagnosis)


@pytest.fixture
def openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-0123456789abcdefghijklmnop")


def _run(tmp_path: Path, *args: str) -> int:
    return main(["eval", "run", "--case", CASE, "--out", str(tmp_path / "run"), "-q", *args])


def test_an_unknown_model_scores_zero_stops_and_says_why(
    tmp_path: Path, openai_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The offline investigator does not stand in for a model the provider does not know."""
    not_found = _error(
        404, "The model `gpt-typo` does not exist or you do not have access to it.", "model_not_found"
    )
    with chat_server(lambda body: (404, not_found)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        code = _run(
            tmp_path, "--model", "openai:gpt-typo", "--case", "ratelimit-acme-demo", "--concurrency", "1"
        )
    assert code == 78
    assert len(server.requests_seen) == 1  # fail fast: the second case never asked
    err = capsys.readouterr().err
    assert "stopped: openai:gpt-typo cannot be used: HTTP 404" in err and "Traceback" not in err
    run = load_results(tmp_path / "run" / "results.json")
    assert run.summary.pass_rate == 0.0 and run.summary.passed == 0
    assert run.summary.diagnosed_by == {} and run.summary.errors == 2
    assert run.stopped and "does not exist" in run.stopped
    assert any((s.error or "").startswith("not run: ") for s in run.scores)
    report = (tmp_path / "run" / "report.md").read_text()
    assert "The run stopped: openai:gpt-typo cannot be used: HTTP 404" in report
    assert "pass rate | 0.0% (0/2)" in report and "1 case(s) not run: the run stopped" in report


def test_an_outage_is_a_failure_of_the_model_not_a_pass(
    tmp_path: Path, openai_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mid-run outage: investigate falls back (the answer is still right), but eval fails the model."""

    async def no_wait(seconds: float) -> None:
        return None

    monkeypatch.setattr(_chat.RetryPolicy, "__init__", _instant(_chat.RetryPolicy.__init__, no_wait))
    down = _error(503, "The server is overloaded.", "server_error")
    with chat_server(lambda body: (503, down)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        code = _run(tmp_path, "--model", "openai:gpt-4.1", "--fail-under", "0.5")
    assert code == 1
    run = load_results(tmp_path / "run" / "results.json")
    (score,) = run.scores
    assert score.diagnosed_by == "offline" and score.requested_model == "openai:gpt-4.1" and not score.passed
    assert score.category_ok and score.action_ok and not score.facts_missing  # the stand-in was right…
    assert "HTTP 503" in (score.fallback_reason or "")  # …and it still does not count for the model
    assert run.summary.fallbacks == 1 and run.summary.pass_rate == 0.0 and run.summary.brier is None
    out = capsys.readouterr()
    assert "stood in for openai:gpt-4.1 in 1 of 1" in out.err and "under 50.0%" in out.err
    assert "stand-in" in out.out and "fallbacks 1" in out.out
    report = (tmp_path / "run" / "report.md").read_text()
    assert "Not diagnosed by openai:gpt-4.1: the offline investigator stood in" in report
    assert "stood in for openai:gpt-4.1 in 1 of 1 runs" in report


def _instant(init: Any, sleep: Any) -> Any:
    def patched(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["sleep"] = sleep
        init(self, *args, **kwargs)

    return patched


def test_a_model_citing_tool_call_ids_passes_without_repairs(
    tmp_path: Path, openai_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with chat_server(_cites_provider_ids) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        code = _run(tmp_path, "--model", "openai:loopback-model", "--fail-under", "1")
    run = load_results(tmp_path / "run" / "results.json")
    (score,) = run.scores
    assert code == 0, score.failures()
    assert score.passed and score.diagnosed_by == "openai:loopback-model"
    assert score.repairs == 0 and score.rejections == 0 and score.grounding == 1.0
    assert run.summary.diagnosed_by == {"openai:loopback-model": 1} and run.summary.fallbacks == 0
    assert (tmp_path / "run" / "transcripts" / f"{CASE}.0.jsonl").is_file()


def test_a_missing_key_fails_before_any_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, "--model", "anthropic:claude-haiku-4-5") == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("casefile: anthropic: set ANTHROPIC_API_KEY") and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_old_results_with_fallbacks_are_rescored_as_failures(tmp_path: Path) -> None:
    """A results.json written before this rule counted stand-ins as passes; a baseline must not."""
    old = {
        "run_id": "r",
        "model": "openai:gpt-4.1",
        "started_at": "2026-11-01T00:00:00Z",
        "scores": [
            {"case_id": "a", "passed": True, "fallback_reason": "openai:gpt-4.1 unavailable: HTTP 404"},
            {"case_id": "b", "passed": True},
        ],
        "summary": {"cases": 2, "runs": 2, "passed": 2, "pass_rate": 1.0},
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(old))
    run = load_results(path)
    assert [s.passed for s in run.scores] == [False, True]
    assert run.summary.pass_rate == 0.5 and run.summary.fallbacks == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--baseline", "nowhere/results.json"], "casefile: no results file at nowhere/results.json"),
        (["--case", "no-such-case"], "casefile: unknown case(s) in "),
        (["--tag", "no-such-tag"], "casefile eval: no case has the tag(s) no-such-tag"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["eval", "run", "-q", "--out", str(tmp_path / "run"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(message) and not any(
        "Traceback" in line or "internal error" in line for line in err
    )


def test_a_broken_golden_directory_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "golden" / "half-written"
    broken.mkdir(parents=True)
    (broken / "ticket.json").write_text("{}")
    (broken / "expected.json").write_text('{"category": "billing_past_due"}')
    assert main(["eval", "run", "-q", "--golden", str(tmp_path / "golden")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "casefile: half-written: expected.json: action: Field required"
    assert main(["eval", "run", "-q", "--golden", str(tmp_path / "nowhere")]) == 2
    assert main(["eval", "validate", "--golden", str(tmp_path / "golden"), "--case", "nope"]) == 2


def test_investigate_stops_on_an_unknown_model(
    tmp_path: Path, openai_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from casefile.evals.cases import GOLDEN_DIR

    not_found = _error(404, "The model `gpt-typo` does not exist.", "model_not_found")
    with chat_server(lambda body: (404, not_found)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        ticket = GOLDEN_DIR / CASE / "ticket.json"
        code = main(["investigate", str(ticket), "--model", "openai:gpt-typo", "--no-save", "-q"])
    assert code == 78
    out = capsys.readouterr()
    assert out.out == ""  # no stand-in diagnosis printed as if it were the model's
    assert out.err.strip() == (
        "casefile: openai:gpt-typo cannot be used: HTTP 404: The model `gpt-typo` does not exist. "
        "(check the model name, the key and the base URL)"
    )


def test_a_run_where_every_case_errored_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from casefile.evals.cases import GOLDEN_DIR

    case = tmp_path / "golden" / "lost-world"
    case.mkdir(parents=True)
    (case / "ticket.json").write_bytes((GOLDEN_DIR / CASE / "ticket.json").read_bytes())
    expected = json.loads((GOLDEN_DIR / CASE / "expected.json").read_text())
    (case / "expected.json").write_text(json.dumps({**expected, "world": "../nowhere"}))
    code = main(["eval", "run", "-q", "--golden", str(tmp_path / "golden"), "--out", str(tmp_path / "run")])
    assert code == 1
    assert "every case errored (1)" in capsys.readouterr().err
    run = load_results(tmp_path / "run" / "results.json")
    assert run.summary.errors == 1 and run.summary.facts_recall == 0.0
