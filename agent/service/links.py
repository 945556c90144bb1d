"""Where a person can see each tool call's source: the link beside each piece of evidence.

Built from the call's arguments and result (never from ticket text):
a Linear issue's URL, the GitHub compare page, the Stripe dashboard customer,
the IdP metadata document, and for the log store the equivalent ClickHouse
query (a link when a ClickHouse Play URL is configured).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from casefile.tools.base import ToolOutcome

__all__ = ["source_link", "source_links"]

_TABLES = {
    "logs_error_summary": "requests",
    "logs_latency": "requests",
    "logs_recent_requests": "requests",
    "logs_webhook_deliveries": "webhook_deliveries",
    "logs_sso_logins": "sso_logins",
}


def _sql_literal(value: Any) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _logs_query(outcome: ToolOutcome) -> str | None:
    args = outcome.arguments
    if outcome.tool == "logs_sql":
        sql = args.get("sql")
        if not sql and isinstance(outcome.data, dict):
            sql = outcome.data.get("sql")
        return str(sql) if sql else None
    table = _TABLES.get(outcome.tool)
    if table is None:
        return None
    where = []
    if args.get("account_id"):
        where.append(f"account_id = {_sql_literal(args['account_id'])}")
    if args.get("start"):
        where.append(f"ts >= {_sql_literal(args['start'])}")
    if args.get("end"):
        where.append(f"ts < {_sql_literal(args['end'])}")
    if args.get("status"):
        where.append(f"status = {int(args['status'])}")
    if args.get("path"):
        where.append(f"path = {_sql_literal(args['path'])}")
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    return f"SELECT * FROM {table}{clause} ORDER BY ts DESC LIMIT 100"


def source_link(
    outcome: ToolOutcome,
    *,
    accounts: Mapping[str, Mapping[str, Any]] | None = None,
    clickhouse_play_url: str | None = None,
) -> dict[str, Any] | None:
    """``{label, url?, query?}`` for one call, or None when there is nothing to point at."""
    data = outcome.data if isinstance(outcome.data, dict) else {}
    args = outcome.arguments
    tool = outcome.tool
    account = (accounts or {}).get(str(args.get("account_id") or "")) or {}
    if tool.startswith("logs_"):
        query = _logs_query(outcome)
        if query is None:
            return None
        link: dict[str, Any] = {"label": "ClickHouse query", "query": query}
        if clickhouse_play_url:
            link["url"] = f"{clickhouse_play_url}#{quote(query)}"
        return link
    if tool == "bugs_issue" and data.get("url"):
        return {"label": f"Linear {data.get('identifier', '')}".strip(), "url": data["url"]}
    if tool == "bugs_search":
        issues = data.get("issues") or []
        if issues and isinstance(issues[0], dict) and issues[0].get("url"):
            return {"label": f"Linear {issues[0].get('identifier', '')}".strip(), "url": issues[0]["url"]}
        return None
    if tool == "deploys_compare":
        repo, base, head = args.get("repo"), args.get("base"), args.get("head")
        url = data.get("html_url") or (f"https://github.com/{repo}/compare/{base}...{head}" if repo else None)
        return {"label": f"GitHub compare {base}...{head}", "url": url} if url else None
    if tool == "deploys_list":
        repo = args.get("repo")
        url = f"https://github.com/{repo}/deployments" if repo else None
        return {"label": f"GitHub deployments {repo or ''}".strip(), **({"url": url} if url else {})}
    if tool == "billing_account":
        customer = (data.get("customer") or {}).get("id") or account.get("stripe_customer")
        if customer:
            return {"label": "Stripe customer", "url": f"https://dashboard.stripe.com/customers/{customer}"}
        return None
    if tool == "sso_check":
        idp = account.get("idp") or {}
        url = data.get("metadata_url") or idp.get("metadata_url")
        return {"label": "IdP metadata", "url": url} if url else None
    return None


def source_links(
    outcomes: Iterable[ToolOutcome],
    *,
    accounts: Mapping[str, Mapping[str, Any]] | None = None,
    clickhouse_play_url: str | None = None,
) -> dict[str, dict[str, Any]]:
    """call id → link, for every call that has one."""
    links = {}
    for outcome in outcomes:
        link = source_link(outcome, accounts=accounts, clickhouse_play_url=clickhouse_play_url)
        if link:
            links[outcome.call_id] = link
    return links
