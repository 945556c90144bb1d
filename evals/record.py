"""``casefile eval record``: grow the golden set from a resolved ticket.

The ticket is investigated (offline investigator) against the live systems, or a
world standing in for them (``--world``: the connectors are the same code), and
what the tools saw for the account is snapshotted into a new case:

* ``ticket.json`` — the ticket after intake (secrets already redacted);
* ``world/accounts.json`` — only that account's directory entry;
* ``world/clickhouse/<table>.jsonl`` — the account's log rows in the window,
  read through the guarded ``logs_sql`` tool (so the same limits apply) and with
  request headers redacted again;
* ``world/{stripe,linear,github}.json`` and ``world/sso/`` — copied from the
  world when recording from one; from live systems these are not snapshotted yet
  (see evals/README.md), and the case gets ``"world"`` = the demo world as base;
* ``expected.json`` — the category/action/team given on the command line and
  the facts to cite, for review.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casefile.agent.config import Settings

__all__ = ["record_case"]

_TABLES = ("requests", "webhook_deliveries", "sso_logins")
_HTTP_FILES = ("stripe.json", "linear.json", "github.json", "tickets.json")


def _iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def _snapshot(ticket: Any, env: Any, account_id: str, days: float) -> dict[str, list[dict[str, Any]]]:
    from casefile.agent.redact import redact
    from casefile.tools.base import CallContext, ToolCall

    ctx = CallContext.for_account(
        account_id,
        env.directory.as_mapping() if env.directory else {},
        now=ticket.created_at,
        requested_by="eval-record",
    )
    rows: dict[str, list[dict[str, Any]]] = {}
    for table in _TABLES:
        found: list[dict[str, Any]] = []
        # The guard caps a result's rows, so read the window in slices small enough to stay under it.
        lo, step = ticket.created_at - timedelta(days=days), timedelta(hours=2)
        while lo < ticket.created_at:
            hi = min(lo + step, ticket.created_at)
            sql = (
                f"SELECT * FROM {table} WHERE account_id = '{account_id}' "
                f"AND ts >= parseDateTime64BestEffort('{_iso(lo)}') AND ts < parseDateTime64BestEffort('{_iso(hi)}') "
                "ORDER BY ts"
            )
            lo = hi
            call = ToolCall(id=f"rec-{table}", tool="logs_sql", arguments={"sql": sql})
            outcome = await env.toolbox.execute(call, ctx)
            if not outcome.ok or not isinstance(outcome.data, dict):
                break
            columns = outcome.data.get("columns") or []
            for values in outcome.data.get("rows") or []:
                row = dict(zip(columns, values, strict=False))
                for key in ("request_headers", "response_headers"):
                    if isinstance(row.get(key), str):
                        row[key] = redact(row[key])[0]
                found.append(row)
        rows[table] = found
    return rows


def record_case(
    ticket_path: Path,
    out: Path,
    settings: Settings,
    *,
    world: Path | None = None,
    days: float = 3.0,
    category: str,
    action: str,
    team: str | None = None,
    must_cite: list[str] | None = None,
) -> Path:
    """Investigate ``ticket_path`` and write a new case directory ``out``; returns it."""
    from casefile.agent.errors import UsageError
    from casefile.agent.intake import load_ticket
    from casefile.agent.pipeline import open_environment, run_investigation
    from casefile.agent.signals import extract_signals
    from casefile.evals.cases import _DEMO_WORLD

    if out.exists():
        raise UsageError(f"{out} already exists")
    ticket = load_ticket(ticket_path)
    env = open_environment(settings, world)

    async def run() -> tuple[Any, dict[str, list[dict[str, Any]]]]:
        try:
            signals = extract_signals(ticket, env.directory)
            if not signals.account_id:
                raise UsageError("the ticket's account could not be resolved; set account_id in the ticket")
            result = await run_investigation(ticket, env, settings)
            return result, await _snapshot(ticket, env, signals.account_id, days)
        finally:
            await env.aclose()

    result, rows = asyncio.run(run())
    account_id = result.diagnosis.account_id
    w = out / "world"
    (w / "clickhouse").mkdir(parents=True)
    source = Path(env.world.path) if env.world is not None else None
    if source is not None and env.world is not None:
        for name in _HTTP_FILES:
            if (source / name).is_file():
                shutil.copyfile(source / name, w / name)
        if (source / "sso").is_dir():
            shutil.copytree(source / "sso", w / "sso")
        schema = env.world.file("clickhouse/schema.sql")
        if schema is not None:
            shutil.copyfile(schema, w / "clickhouse" / "schema.sql")
    else:
        shutil.copyfile(_DEMO_WORLD / "clickhouse" / "schema.sql", w / "clickhouse" / "schema.sql")
    entry = env.directory.get(account_id) if env.directory and account_id else None
    (w / "accounts.json").write_text(
        json.dumps({"accounts": [entry] if entry else []}, indent=2, default=str) + "\n"
    )
    for table, found in rows.items():
        with (w / "clickhouse" / f"{table}.jsonl").open("w", encoding="utf-8") as fh:
            for row in found:
                fh.write(json.dumps(row, default=str, separators=(",", ":")) + "\n")
    # A standalone world (no base): everything the tools saw is in it.
    (out / "ticket.json").write_text(ticket.model_dump_json(indent=2, exclude_defaults=True) + "\n")
    expected = {
        "category": category,
        "action": action,
        "team": team,
        "must_cite": must_cite or [e.value for e in result.diagnosis.evidence][:3],
        "must_not_claim": [],
        "tags": ["recorded"],
        "needs_tools": True,
        "notes": f"recorded from {ticket_path.name}; the offline investigator said "
        f"{result.diagnosis.root_cause.category}/{result.diagnosis.action}. Review before committing.",
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    return out
