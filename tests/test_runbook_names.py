"""Runbooks read any company's log schema through the logs connector's mapping, not the demo's names."""

from __future__ import annotations

from casefile.agent.runbooks import load_runbooks, runbook_context
from casefile.agent.templating import render_value
from casefile.tools.logs import ClickHouseConnector
from casefile.tools.settings import LogsSettings, LogTableMap


def test_the_timezone_runbook_counts_days_in_the_companys_own_log_table() -> None:
    mapping = LogTableMap(table="api_hits", time="seen_at", account="tenant", status="http_code")
    settings = LogsSettings(dsn="chdb://", requests=mapping, allowed_tables=["api_hits"])
    connector = ClickHouseConnector(settings, client=object())
    names = connector.runbook_names()
    assert names["requests"]["table"] == "api_hits" and names["requests"]["time"] == "seen_at"

    runbook = next(r for r in load_runbooks() if r.id == "data-timezone")
    base = {
        "logs": names,
        "account": {"id": "tn_42", "timezone": "Pacific/Chatham"},
        "window": {"start": "2027-05-01T00:00:00Z", "end": "2027-05-03T00:00:00Z"},
    }
    context = runbook_context(runbook, base, {})
    for step in runbook.plan:
        assert render_value("{{ " + (step.when or "true") + " }}", context)
        sql = render_value(step.args, context)["sql"]
        assert "FROM api_hits" in sql and "tenant = 'tn_42'" in sql and "toDate(seen_at" in sql
        assert "http_code < 300" in sql
        # None of the demo's own column names is left in the query.
        assert "account_id" not in sql and " ts " not in sql and "FROM requests" not in sql


def test_without_a_mapped_status_column_the_timezone_queries_are_not_run() -> None:
    runbook = next(r for r in load_runbooks() if r.id == "data-timezone")
    context = runbook_context(runbook, {"account": {"id": "tn_42"}}, {})
    assert all(not render_value("{{ " + step.when + " }}", context) for step in runbook.plan if step.when)
