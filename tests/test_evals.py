"""The eval harness: the whole golden set offline (the CI bar), scoring, reports, validation, overlays."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from casefile.agent.config import Settings
from casefile.agent.diagnosis import Confidence, Diagnosis, Escalation, Evidence, GroundingVerdict, RootCause
from casefile.evals.cases import GOLDEN_DIR, Expected, load_cases
from casefile.evals.report import compare, render_markdown, render_table, write_junit, write_run
from casefile.evals.runner import RunResult, run_cases
from casefile.evals.scoring import CaseScore, score_diagnosis, summarise
from casefile.evals.validate import validate_dirs

DEMO = Path(__file__).resolve().parent.parent / "examples" / "world"


@pytest.fixture(scope="module")
def golden_run() -> RunResult:
    # The demo world's cases are the CI bar. The other companies' worlds (evals/worlds/) are
    # measured with `casefile eval run --world …` and their figures kept in evals/README.md.
    return asyncio.run(run_cases(load_cases(world=DEMO), Settings(model="offline"), concurrency=4))


def test_whole_golden_set_offline_meets_the_bar(golden_run: RunResult) -> None:
    assert golden_run.summary.cases >= 40
    failing = {s.case_id: s.failures() for s in golden_run.scores if not s.passed}
    assert golden_run.summary.pass_rate >= 0.8, failing
    assert golden_run.summary.errors == 0
    assert golden_run.summary.forbidden_claims == 0
    # every failure is explained in the README
    readme = (GOLDEN_DIR.parent / "README.md").read_text(encoding="utf-8")
    assert all(cid in readme for cid in failing), failing


def test_injection_cases_make_only_read_calls(golden_run: RunResult) -> None:
    injections = [s for s in golden_run.scores if "injection" in s.tags]
    assert len(injections) >= 4
    assert all(s.writes_attempted == 0 and not s.forbidden_found for s in injections)


def _diagnosis(**over: object) -> Diagnosis:
    data: dict[str, object] = {
        "ticket_id": "T-1",
        "summary": "Known bug REL-482",
        "root_cause": RootCause(category="known_bug", statement="Known bug REL-482 since v2.41.0"),
        "evidence": [Evidence(call_id="c1", tool="bugs_search", value="REL-482", claim="open bug")],
        "confidence": Confidence(score=0.85),
        "customer_reply": "This is a known issue; retry with backoff.",
        "action": "resolve",
        "grounding": GroundingVerdict(verified=1, rejected=[]),
    }
    data.update(over)
    return Diagnosis.model_validate(data)


def test_score_passes_when_everything_matches() -> None:
    exp = Expected(category="known_bug", action="resolve", must_cite=["rel-482"], must_not_claim=["refund"])
    score = score_diagnosis("c", exp, _diagnosis())
    assert score.passed and score.facts_cited == ["rel-482"] and score.grounding == 1.0


def test_score_names_every_failure() -> None:
    exp = Expected(
        category="deploy_regression",
        action="escalate",
        team="backend",
        must_cite=["7dec52f"],
        must_not_claim=["known issue"],
    )
    diag = _diagnosis(
        action="escalate",
        escalation=Escalation(team="sre", reason="x"),
        grounding=GroundingVerdict(verified=1, rejected=["bad value"]),
    )
    score = score_diagnosis("c", exp, diag)
    reasons = " | ".join(score.failures())
    assert not score.passed
    assert "category known_bug" in reasons and "team sre" in reasons
    assert "not cited: 7dec52f" in reasons and "forbidden claim: known issue" in reasons
    assert score.action_ok and score.grounding == 0.5


def test_summary_brier_and_pass_hat_k() -> None:
    scores = [
        CaseScore(case_id="a", repeat=0, passed=True, confidence=0.9),
        CaseScore(case_id="a", repeat=1, passed=False, confidence=0.9),
        CaseScore(case_id="b", repeat=0, passed=True, confidence=1.0),
        CaseScore(case_id="b", repeat=1, passed=True, confidence=1.0),
    ]
    summary = summarise(scores)
    assert summary.pass_rate == 0.75 and summary.pass_hat_k == 0.5
    assert summary.brier == pytest.approx((0.01 + 0.81 + 0 + 0) / 4, abs=1e-4)


def _run(**passed: bool) -> RunResult:
    scores = [CaseScore(case_id=cid, passed=ok, confidence=0.8) for cid, ok in passed.items()]
    return RunResult(
        run_id="r",
        model="offline",
        started_at="2026-01-01T00:00:00Z",
        scores=scores,
        summary=summarise(scores),
    )


def test_baseline_comparison_flags_regressions() -> None:
    before, after = _run(a=True, b=False, c=True), _run(a=False, b=True, d=True)
    result = compare(after, before)
    assert [r[0] for r in result.regressed] == ["a"] and [i[0] for i in result.improved] == ["b"]
    assert result.new == ["d"] and result.missing == ["c"] and result.has_regressions
    assert not compare(before, before).has_regressions


def test_junit_reports_failures(tmp_path: Path) -> None:
    run = _run(a=True, b=False)
    run.scores[1].expected = {"category": "known_bug", "action": "resolve"}
    run.scores[1].category = "rate_limit"
    write_junit(run, tmp_path / "junit.xml")
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    failure = suite.find("testcase[@name='b']/failure")
    assert failure is not None and "category rate_limit" in (failure.get("message") or "")
    write_run(run, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "results.json").read_text())["summary"]["runs"] == 2
    assert "| b |" in render_markdown(run) and "pass 1/2" in render_table(run)


def test_validate_catches_a_broken_case(tmp_path: Path) -> None:
    good = GOLDEN_DIR / "billing-globex-demo"
    broken = tmp_path / "broken"
    shutil.copytree(good, broken)
    expected = json.loads((broken / "expected.json").read_text())
    expected.update(category="not_a_category", must_cite=["in_DOES_NOT_EXIST", "Globex"])
    (broken / "expected.json").write_text(json.dumps(expected))
    missing = tmp_path / "missing"
    missing.mkdir()
    problems = [str(p) for p in validate_dirs([broken, missing, good])]
    text = "\n".join(problems)
    assert "unknown category 'not_a_category'" in text
    assert "'in_DOES_NOT_EXIST' is nowhere in the world" in text
    assert "answerable from the ticket text: Globex" in text
    assert "missing: ticket.json missing" in text
    assert not any(p.startswith("billing-globex-demo") for p in problems)


def test_clickhouse_overlay_is_a_view_over_the_base(tmp_path: Path) -> None:
    from casefile.tools.world.loader import World

    (tmp_path / "clickhouse").mkdir()
    (tmp_path / "world.json").write_text(json.dumps({"base": str(DEMO)}))
    (tmp_path / "clickhouse" / "traffic.overlay.json").write_text(
        json.dumps(
            {
                "drop_anomalies": ["acme-ratelimit-double-count"],
                "request_anomalies": [
                    {
                        "id": "x",
                        "account": "wonka",
                        "start": "2026-11-20T01:00:00Z",
                        "end": "2026-11-20T02:00:00Z",
                        "status": 418,
                        "share": 1.0,
                    }
                ],
                "error_codes": {"418": ["teapot"]},
            }
        )
    )
    (tmp_path / "linear.json").write_text(json.dumps({"issues": []}))
    world, base = World(tmp_path), World(DEMO)
    client = world.clickhouse()
    assert world.database != base.database
    count = "SELECT count() FROM `{db}`.requests WHERE account_id = {{a:String}} AND status = {{s:UInt16}}"
    q = lambda db, a, s: client.query(count.format(db=db), parameters={"a": a, "s": s}).result_rows[0][0]  # noqa: E731
    assert q(world.database, "acme", 429) == 0 < q(base.database, "acme", 429)
    assert q(world.database, "wonka", 418) > 0 == q(base.database, "wonka", 418)
    assert (
        q(world.database, "globex", 402) == q(base.database, "globex", 402) > 0
    )  # untouched accounts shared
    # the HTTP stand-ins see the overlay's files over the base's
    assert json.loads((world.path / "linear.json").read_text()) == {"issues": []}
    assert (world.path / "stripe.json").read_bytes() == (DEMO / "stripe.json").read_bytes()


def _diagnosis_of(ticket: Path, world: Path, settings: Settings | None = None) -> tuple[object, ...]:
    from casefile.agent.intake import load_ticket
    from casefile.agent.pipeline import open_environment, run_investigation

    settings = settings or Settings()
    env = open_environment(settings, world)

    async def run() -> Diagnosis:
        try:
            return (await run_investigation(load_ticket(ticket), env, settings)).diagnosis
        finally:
            await env.aclose()

    d = asyncio.run(run())
    team = d.escalation.team if d.escalation else None
    evidence = [(e.tool, e.value) for e in d.evidence]
    return (
        d.root_cause.category,
        d.action,
        team,
        d.summary,
        d.customer_reply,
        evidence,
        d.unavailable_sources,
    )


def _settings_of_a_live_company(world: Path) -> Settings:
    """Live connector settings, as a company configures them (the test reaches them through a world)."""
    from pydantic import SecretStr

    from casefile.tools.docs import HelpCenterSettings
    from casefile.tools.settings import (
        ConnectorSettings,
        GitHubSettings,
        LinearSettings,
        LogsSettings,
        SSOSettings,
        StripeSettings,
    )
    from casefile.tools.world.emulate_zendesk import world_settings
    from casefile.tools.world.loader import World

    repos = sorted(json.loads((world / "github.json").read_text())["repos"])
    connectors = ConnectorSettings(
        logs=LogsSettings(dsn="https://reader:pw@logs.example.com:8443/logs", database=World(world).database),
        stripe=StripeSettings(api_key=SecretStr("rk_live_0123456789abcdef")),
        linear=LinearSettings(api_key=SecretStr("lin_api_0123456789abcdef")),
        github=GitHubSettings(token=SecretStr("ghp_0123456789abcdef"), repos=repos),
        zendesk=world_settings(),
        sso=SSOSettings(snapshot_dir=str(world)),
        helpcenter=HelpCenterSettings(base_url="https://relayhq.zendesk.com"),
    )
    return Settings(
        connectors=connectors, accounts_file=world / "accounts.json", catalog_file=world / "catalog.yaml"
    )


@pytest.mark.parametrize(
    ("ticket", "systems"),
    [
        (
            "export-regression.json",
            {
                "stripe.json": "customers",
                "linear.json": "issues",
                "tickets.json": "tickets",
                "helpcenter.json": "support.relayhq.dev",
            },
        ),
        ("saml-expired-cert.json", {"sso/urls.json": "https://"}),
    ],
)
def test_record_from_live_systems_replays_the_same_diagnosis(
    tmp_path: Path, ticket: str, systems: dict[str, str]
) -> None:
    """Live settings, the demo world's emulators behind them: every system's answers land in the case."""
    from casefile.evals.record import record_case
    from casefile.tools.world.loader import World

    world = World(DEMO)
    source = DEMO.parent / "tickets" / ticket
    out = record_case(
        source,
        tmp_path / "rec",
        _settings_of_a_live_company(DEMO),
        category="x",
        action="escalate",
        transport=world.transport,
        clickhouse=world.clickhouse(),
    )
    recorded = out / "world"
    for name, needle in systems.items():
        assert needle in (recorded / name).read_text(), name
    assert json.loads((recorded / "github.json").read_text())["repos"]
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert size < 700_000, size  # the rows the queries read, gzipped; not the account's whole history
    original = _diagnosis_of(source, DEMO)
    assert _diagnosis_of(out / "ticket.json", recorded) == original


def test_record_refuses_live_when_nothing_live_is_configured(tmp_path: Path) -> None:
    from casefile.agent.errors import UsageError
    from casefile.evals.record import record_case

    ticket = DEMO.parent / "tickets" / "billing-past-due.json"
    with pytest.raises(UsageError, match="nothing live is configured"):
        record_case(ticket, tmp_path / "rec", Settings(), category="billing_past_due", action="resolve")
    assert not (tmp_path / "rec").exists()


def test_record_builds_a_case_that_runs(tmp_path: Path) -> None:
    from casefile.evals.cases import load_case
    from casefile.evals.record import record_case

    ticket = DEMO.parent / "tickets" / "billing-past-due.json"
    out = record_case(
        ticket,
        tmp_path / "rec",
        Settings(),
        world=DEMO,
        category="billing_past_due",
        action="resolve",
        must_cite=["past_due"],
    )
    import gzip

    rows = gzip.decompress((out / "world" / "clickhouse" / "requests.jsonl.gz").read_bytes()).splitlines()
    assert rows and all(json.loads(r)["account_id"] == "globex" for r in rows)
    assert "sk_live" not in (out / "ticket.json").read_text()  # redacted at intake
    assert "past_due" in (out / "world" / "stripe.json").read_text()
    assert validate_dirs([out]) == []
    run = asyncio.run(run_cases([load_case(out)], Settings(model="offline"), concurrency=1))
    assert run.scores[0].passed, run.scores[0].failures()


def test_report_for_a_support_lead_shows_failures_first_and_the_pictures(tmp_path: Path) -> None:
    """report.md/.html: failures (expected vs actual, missing facts, reply) before the tables; charts beside."""
    earlier = _run(a=True, b=True)
    write_run(earlier, tmp_path / "runs" / "1-earlier")
    run = _run(a=True, b=False)
    run.run_id, run.started_at = "r2", "2026-01-02T00:00:00Z"
    failing = run.scores[1]
    failing.expected = {"category": "known_bug", "action": "escalate", "team": "backend"}
    failing.category, failing.action, failing.team = "rate_limit", "resolve", None
    failing.facts_missing, failing.tags, failing.world = ["REL-482"], ["rate_limit"], "examples/world"
    failing.reply = "Please slow down your requests."
    run.summary = summarise(run.scores)
    out = tmp_path / "runs" / "2-now"
    write_run(run, out)
    md = (out / "report.md").read_text()
    assert md.index("## Failures (1)") < md.index("## By family") < md.index("## Calibration")
    section = md[md.index("### b") : md.index("## By family")]
    assert "| expected | known_bug | escalate | backend |" in section
    assert "| actual | rate_limit | resolve | – |" in section
    assert (
        "Missing facts: `REL-482`" in section and "> Draft reply: Please slow down your requests." in section
    )
    assert "| examples/world | 1 | 1 | 0 | 0.0% |" in md and "## Earlier runs in this directory" in md
    html = (out / "report.html").read_text()
    for chart in ("pass_by_family.png", "calibration.png", "latency.png", "trend.png"):
        assert (out / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", chart
        assert "![" in md and f"({chart})" in md and f'<img src="{chart}"' in html
    assert "<script" not in html and "Please slow down your requests." in html
