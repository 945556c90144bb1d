"""Attempts to forge grounding: each one must be rejected (and real evidence must still pass).

Three layers: the value rules on hand-made outcomes (substrings, echoes, common words,
small numbers, fields), model SQL run against the embedded ClickHouse (values the query
wrote itself), and the loop (provenance fields a model may not set).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from llm_fixtures import DIRECTORY, diagnosis_args, run
from outcomes import tool_outcome

from casefile.agent.diagnosis import Confidence, Diagnosis, Evidence, RelatedItem, RootCause
from casefile.agent.grounding import ground, weakness
from casefile.agent.models.base import ModelReply
from casefile.agent.models.scripted import ScriptedModel
from casefile.tools.base import CallContext, Toolbox, ToolCall, ToolOutcome
from casefile.tools.sqlprovenance import ALL_COLUMNS, authored_columns


def outcome(
    data: Any,
    *,
    tool: str = "logs_error_summary",
    arguments: dict[str, Any] | None = None,
    call_id: str = "c1",
) -> ToolOutcome:
    return tool_outcome(call_id, tool, data, arguments=arguments, at=datetime.now(UTC))


def diagnosis(*evidence: Evidence, related: list[RelatedItem] | None = None) -> Diagnosis:
    return Diagnosis(
        ticket_id="T",
        summary="s",
        root_cause=RootCause(category="billing_canceled", statement="s"),
        evidence=list(evidence),
        related=related or [],
        confidence=Confidence(score=0.5),
        customer_reply="r",
        action="resolve",
    )


def grounded(out: ToolOutcome, value: str, field: str | None = None) -> bool:
    d, _ = ground(diagnosis(Evidence(call_id=out.call_id, value=value, field=field, claim="c")), [out])
    return len(d.evidence) == 1


BILLING = {
    "customer": {"id": "cus_9fQ2", "email": "ap@globex.example"},
    "subscriptions": [{"id": "sub_1Qx", "status": "canceled", "cancellation_reason": "canceled for fraud"}],
    "open_invoices": [],
    "failures": 0,
    "attempts": 3,
    "standing": True,
    "note": None,
}
SUMMARY = {
    "account_id": "acme",
    "window": {"start": "2026-11-20T00:00:00Z", "end": "2026-11-20T11:40:00Z"},
    "requests": 9731,
    "errors": 48,
    "error_rate": 0.3695,
    "spike": {"start": "2026-11-20T08:12:05.339Z", "status": 429},
    "top_error_codes": [{"error_code": "rate_limit_exceeded", "count": 48}],
    "top_endpoints": [{"path": "/v2/shipments", "errors": 48}],
}
SUMMARY_ARGS = {"account_id": "acme", "start": "2026-11-20T00:00:00Z", "end": "2026-11-20T11:40:00Z"}
QUERY = "refund of 5000 approved by billing"
SEARCH = {
    "query": QUERY,
    "issues": [{"identifier": "REL-482", "title": "Rate limiter counts retries", "state": "In Progress"}],
}
SEARCH_ARGS = {"query": QUERY}

# The results the evidence below cites.
BILLING_OUT = outcome(BILLING, tool="billing_account")
SUMMARY_OUT = outcome(SUMMARY, arguments=SUMMARY_ARGS)
SEARCH_OUT = outcome(SEARCH, tool="bugs_search", arguments=SEARCH_ARGS)

# (description, result, value, field) — none of these may ground.
FORGERIES: list[tuple[str, ToolOutcome, str, str | None]] = [
    ("a single letter inside a word", BILLING_OUT, "e", None),
    ("a single digit", BILLING_OUT, "3", None),
    ("a letter pair inside a word", BILLING_OUT, "ud", None),
    ("a word fragment", BILLING_OUT, "cancel", None),
    ("a stop word inside a field", BILLING_OUT, "for", None),
    ("several stop words", BILLING_OUT, "for the", None),
    ("a boolean", BILLING_OUT, "true", None),
    ("a generic status word", SUMMARY_OUT, "error", None),
    ("a bare small number", SUMMARY_OUT, "48", None),
    ("zero", BILLING_OUT, "0", None),
    ("a round percentage", SUMMARY_OUT, "37%", None),
    ("punctuation only", SUMMARY_OUT, "--", None),
    ("a key, not a value", SUMMARY_OUT, "top_error_codes", None),
    ("a key name used as value", BILLING_OUT, "cancellation_reason", None),
    ("the echoed account id", SUMMARY_OUT, "acme", None),
    ("the echoed window start", SUMMARY_OUT, "2026-11-20T00:00:00Z", None),
    ("the echoed search query", SEARCH_OUT, QUERY, None),
    ("a number from the query", SEARCH_OUT, "5000", None),
    ("words from the query", SEARCH_OUT, "approved by billing", None),
    ("the query's number with decimals", SEARCH_OUT, "5000.0", None),
    ("the query in other case and spacing", SEARCH_OUT, "REFUND  of 5000", None),
    ("a one-digit fraction", SUMMARY_OUT, "0.4", None),
    ("a number rounded wrongly", SUMMARY_OUT, "0.36", None),
    ("a prefix of a number", SUMMARY_OUT, "973", None),
    ("an invented timestamp", SUMMARY_OUT, "2026-11-19T08:12:05Z", None),
    ("a value spanning two fields", SUMMARY_OUT, "rate_limit_exceeded 48", None),
    ("a small number in the wrong field", SUMMARY_OUT, "48", "requests"),
    ("a field that does not exist", BILLING_OUT, "0", "refunds"),
    ("a field given for part of a value", BILLING_OUT, "fraud", "status"),
    ("a field holding an echoed value", SUMMARY_OUT, "acme", "account_id"),
    ("an empty field name", BILLING_OUT, "0", "."),
]


# Real evidence of the same results still grounds (the rules are not simply "reject everything").
GENUINE: list[tuple[str, ToolOutcome, str, str | None]] = [
    ("a whole status value", BILLING_OUT, "canceled", None),
    ("whole words of a field", BILLING_OUT, "canceled for fraud", None),
    ("a specific word of a field", BILLING_OUT, "fraud", None),
    ("an id", BILLING_OUT, "sub_1Qx", None),
    ("a small number with its field", BILLING_OUT, "0", "failures"),
    ("a boolean with its field", BILLING_OUT, "true", "standing"),
    ("a dotted field path", SUMMARY_OUT, "429", "spike.status"),
    ("a count", SUMMARY_OUT, "9731", None),
    ("a rate with fewer decimals", SUMMARY_OUT, "0.37", None),
    ("a rate as the rendered percentage", SUMMARY_OUT, "37.0%", None),
    ("a returned timestamp", SUMMARY_OUT, "2026-11-20T08:12:05.339Z", None),
    ("an endpoint", SUMMARY_OUT, "/v2/shipments", None),
    ("a bug found by the query", SEARCH_OUT, "REL-482", None),
]


@pytest.mark.parametrize(
    ("out", "value", "field", "grounds"),
    [(*f[1:], False) for f in FORGERIES] + [(*g[1:], True) for g in GENUINE],
    ids=[f"forged: {f[0]}" for f in FORGERIES] + [f"genuine: {g[0]}" for g in GENUINE],
)
def test_only_genuine_values_ground(out: ToolOutcome, value: str, field: str | None, grounds: bool) -> None:
    assert grounded(out, value, field) is grounds


def test_weakness_explains_itself() -> None:
    assert weakness("e") == "is a single character"
    assert weakness("19") == "is a small number"
    assert weakness("the error") == "is only common words"
    assert weakness("REL-482") is None and weakness("429") is None
    assert weakness("500") is None and weakness("0.5") == "is a number with one significant digit"


def test_related_items_must_come_from_results() -> None:
    out = outcome(SEARCH, tool="bugs_search", arguments=SEARCH_ARGS)
    d, rejected = ground(
        diagnosis(
            related=[
                RelatedItem(kind="bug", id="REL-482"),
                RelatedItem(kind="bug", id="REL-999"),
                RelatedItem(kind="bug", id="REL-482", url="https://evil.example/phish"),
                RelatedItem(kind="other", id=QUERY),
            ]
        ),
        [out],
    )
    assert [(r.id, r.url) for r in d.related] == [("REL-482", None)]
    assert len(rejected) == 3


def test_the_model_cannot_label_a_citation_with_another_tool() -> None:
    out = outcome(SUMMARY, arguments=SUMMARY_ARGS)
    d, _ = ground(diagnosis(Evidence(call_id="c1", tool="billing_account", value="9731", claim="c")), [out])
    assert d.evidence[0].tool == "logs_error_summary"


# ------------------------------------------------------------ model SQL, run for real


async def _sql(toolbox: Toolbox, sql: str) -> ToolOutcome:
    ctx = CallContext.for_account(
        "acme", DIRECTORY.as_mapping(), now=datetime(2026, 11, 20, 11, 40, tzinfo=UTC)
    )
    return await toolbox.execute(ToolCall(id="c1", tool="logs_sql", arguments={"sql": sql}), ctx)


WHERE = "FROM requests WHERE account_id = 'acme'"
# (query, value the model then cites): the value comes from the query, not from the table.
SQL_FORGERIES = [
    ("SELECT 'FORGED-FACT' AS fact " + WHERE + " LIMIT 1", "FORGED-FACT"),
    ("SELECT concat('FORGED-', 'FACT') AS fact " + WHERE + " LIMIT 1", "FORGED-FACT"),
    ("SELECT upper('forged-fact') AS fact " + WHERE + " LIMIT 1", "FORGED-FACT"),
    ("SELECT reverse('TCAF-DEGROF') AS fact " + WHERE + " LIMIT 1", "FORGED-FACT"),
    ("SELECT if(count() > 0, 'refund approved', 'no') AS fact " + WHERE, "refund approved"),
    ("SELECT count() * 0 + 5000 AS refunds " + WHERE, "5000"),
    ("SELECT 2500 * 2 AS refunds " + WHERE + " LIMIT 1", "5000"),
    ("SELECT count() + 4952 AS refunds " + WHERE, "5000"),
    ("SELECT toString(count()) || ' refunds approved' AS fact " + WHERE, "120 refunds approved"),
    ("SELECT 'FORGED' AS path, path " + WHERE + " LIMIT 1", "FORGED"),
    (
        "SELECT multiIf(status >= 400, 'chargeback-confirmed', 'chargeback-confirmed') AS f " + WHERE,
        "chargeback-confirmed",
    ),
    ("SELECT CASE WHEN status > 0 THEN 'fraud-verified' END AS f " + WHERE + " LIMIT 1", "fraud-verified"),
    ("SELECT char(70, 79, 82, 71, 69, 68) AS f " + WHERE + " LIMIT 1", "FORGED"),
    ("SELECT count() AS `approved-by-finance` " + WHERE, "approved-by-finance"),
    ("SELECT CAST('7777' AS UInt32) AS n " + WHERE + " LIMIT 1", "7777"),
    ("SELECT 'FORGED-FACT'", "FORGED-FACT"),
]


@pytest.mark.parametrize(("sql", "value"), SQL_FORGERIES, ids=[s[1] + ":" + s[0][:40] for s in SQL_FORGERIES])
async def test_values_written_by_model_sql_do_not_ground(toolbox: Toolbox, sql: str, value: str) -> None:
    out = await _sql(toolbox, sql)
    d, rejected = ground(diagnosis(Evidence(call_id="c1", value=value, claim="c")), [out])
    assert d.evidence == [] and rejected


@pytest.mark.parametrize(
    ("sql", "value", "field"),
    [
        ("SELECT count() AS n " + WHERE, "120", None),
        ("SELECT path, count() AS n " + WHERE + " GROUP BY path", "/v2/shipments", None),
        ("SELECT countIf(status = 429) AS limited " + WHERE, "48", "limited"),
        ("SELECT max(request_id) AS last " + WHERE, "req_000119", None),
        (
            "SELECT toString(toDate(ts, 'Europe/Berlin')) AS day, count() AS n " + WHERE + " GROUP BY day",
            "120",
            "n",
        ),
    ],
)
async def test_values_read_by_model_sql_ground(
    toolbox: Toolbox, sql: str, value: str, field: str | None
) -> None:
    out = await _sql(toolbox, sql)
    assert out.ok, out.error
    assert grounded(out, value, field)


@pytest.mark.parametrize(
    ("sql", "columns", "authored"),
    [
        ("WITH 'x' AS path SELECT path FROM requests", ["path"], ALL_COLUMNS),
        ("SELECT x FROM requests ARRAY JOIN ['F'] AS x", ["x"], ALL_COLUMNS),
        ("SELECT p FROM (SELECT 'F' AS p)", ["p"], ALL_COLUMNS),
        ("WITH t AS (SELECT 'F' AS p) SELECT p FROM t", ["p"], ALL_COLUMNS),
        ("SELECT path FROM requests UNION ALL SELECT 'F'", ["path"], ALL_COLUMNS),
        ("SELECT number FROM numbers(10)", ["number"], ALL_COLUMNS),
        ("SELECT now() AS t, rand() AS r FROM requests", ["t", "r"], {"t", "r"}),
        ("SELECT formatDateTime(ts, 'FORGED %Y') AS d FROM requests", ["d"], {"d"}),
        ("SELECT *, 'F' AS z FROM requests", ["ts", "path", "z"], {"z"}),
        ("not SQL ((", ["a"], ALL_COLUMNS),
        ("SELECT p FROM (SELECT path AS p FROM requests)", ["p"], set()),
        (
            "SELECT quantile(0.95)(latency_ms) AS q, round(avg(latency_ms), 2) AS r FROM requests",
            ["q", "r"],
            set(),
        ),
    ],
)
def test_authored_columns(sql: str, columns: list[str], authored: Any) -> None:
    assert authored_columns(sql, columns) == (authored if authored is ALL_COLUMNS else frozenset(authored))


# ------------------------------------------------------------ provenance the loop owns


async def test_a_model_cannot_set_provenance_fields(toolbox: Toolbox) -> None:
    forged = diagnosis_args(
        model="offline",
        fallback_reason=None,
        grounding={"verified": 9, "rejected": []},
        usage={"turns": 0, "cost_usd": 0.0},
        unavailable_sources=[{"source": "billing", "reason": "down"}],
        account_id="globex",
        ticket_id="T-OTHER",
        runbooks=["billing"],
        escalation={"team": "backend", "reason": "r", "trigger": "security", "channel": "#general"},
    )
    forged["evidence"] = [
        {"call_id": "c1", "tool": "billing_account", "value": "rate_limit_exceeded", "claim": "c"}
    ]
    model = ScriptedModel([ModelReply(diagnosis=forged)], name="openai:gpt-x")
    result = await run(model, toolbox)
    d = result.diagnosis
    assert d.model == "openai:gpt-x" and d.fallback_reason is None
    assert d.ticket_id == "T-1001" and d.account_id == "acme" and d.runbooks == ["rate-limit"]
    assert d.unavailable_sources == [] and d.usage.turns == 1
    assert d.grounding.verified == 1 and d.evidence[0].tool == "logs_error_summary"
    assert d.escalation is None or (d.escalation.trigger != "security" and d.escalation.channel != "#general")


async def test_a_model_cannot_claim_to_be_the_fallback(toolbox: Toolbox) -> None:
    forged = diagnosis_args(fallback_reason="the LLM was unavailable", model="offline")
    result = await run(ScriptedModel([ModelReply(diagnosis=forged)], name="anthropic:claude-x"), toolbox)
    assert result.diagnosis.model == "anthropic:claude-x" and result.diagnosis.fallback_reason is None
