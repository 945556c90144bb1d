"""``casefile eval record``: grow the golden set from a resolved ticket.

The ticket is investigated (offline investigator) against the live systems, or a
world standing in for them (``--world``: the connectors are the same code), with
every HTTP exchange of the connectors recorded on the way
(:class:`RecordingTransport` wraps the transport they were given). What the
systems answered becomes a standalone world in the new case
(``casefile.evals.snapshot`` turns the exchanges into world files), so a replay
gets exactly those answers, and a query the investigation did not make (another
model, another plan) is answered by the world's emulators from the same data:

* ``ticket.json`` — the ticket after intake (secrets already redacted);
* ``world/accounts.json`` — only that account's directory entry (and the
  last-working IdP snapshot it names, under ``world/sso/``);
* ``world/stripe.json``, ``linear.json``, ``github.json``, ``tickets.json``,
  ``sso/`` — every object Stripe, Linear, GitHub, Zendesk and the IdP returned;
* ``world/clickhouse/<table>.jsonl.gz`` — the account's log rows the
  investigation's log queries read (:func:`log_windows`: rows shown one by one
  in full; rows only counted, and the baselines they were compared with, with
  identifiers and headers blanked), each window widened by ``days`` — read
  through the guarded ``logs_sql`` tool, headers redacted again, gzipped;
* ``expected.json`` — the category/action/team given on the command line and
  the facts to cite, for review.

Recording "live" when no live system is configured is refused: it would only
snapshot the demo world.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from casefile.agent.errors import UsageError
from casefile.agent.runner import run_to_end
from casefile.tools.logs_results import RecentRequests, SqlResult
from casefile.tools.values import GarbledResult

if TYPE_CHECKING:
    from casefile.agent.config import Settings
    from casefile.agent.pipeline import Environment
    from casefile.tools.base import Toolbox, ToolOutcome
    from casefile.tools.settings import ConnectorSettings

__all__ = ["Exchange", "RecordingTransport", "record_case"]

_TABLES = ("requests", "webhook_deliveries", "sso_logins")
_HEADER_COLUMNS = ("request_headers", "response_headers")
# Columns no summary reads (blanked in rows that were only counted); the latency summary alone shows
# trace ids (of its window's slowest requests).
_COUNTED_BLANK = frozenset({"request_id", *_HEADER_COLUMNS})
_UNTRACED_BLANK = _COUNTED_BLANK | {"trace_id"}


@dataclass(frozen=True)
class Exchange:
    """One request a connector sent and what the system answered."""

    method: str
    url: httpx.URL
    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes every request to ``inner`` and keeps the answer (:attr:`exchanges`)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        await response.aclose()
        headers = httpx.Headers(
            [
                (k, v)
                for k, v in response.headers.multi_items()
                if k.lower() not in ("content-encoding", "content-length")
            ]
        )
        self.exchanges.append(Exchange(request.method, request.url, response.status_code, headers, body))
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    def __getattr__(self, name: str) -> Any:
        # What else the inner transport offers connectors (a world's DNS: ``resolve``).
        return getattr(self.inner, name)

    async def aclose(self) -> None:
        await self.inner.aclose()


class _RecordingStandIns:
    """The :class:`casefile.tools.base.StandIns` connectors are built with while recording."""

    def __init__(self, transport: RecordingTransport, clickhouse: Any, path: Path | None) -> None:
        self._transport, self._clickhouse, self._path = transport, clickhouse, path

    @property
    def path(self) -> Any:
        return self._path

    @property
    def transport(self) -> RecordingTransport:
        return self._transport

    def clickhouse(self) -> Any:
        return self._clickhouse  # None: the connector connects to settings.logs.dsn itself


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _parse(value: Any) -> datetime | None:
    from casefile.agent.templating import parse_ts

    return parse_ts(str(value)) if value else None


def _merge(windows: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(windows):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


@dataclass(frozen=True)
class LogWindows:
    """What the investigation's log queries read, by how much of each row they need.

    ``rows``: windows read row by row (recent requests, model SQL), every column
    kept; ``traced``: latency windows, which show their slowest requests' trace
    ids; ``counted``: error summaries' windows and every window's history (its
    ``baseline_days``, else 7), only counted, so request ids, trace ids and
    headers are blanked. Each later tier excludes the earlier ones.
    """

    rows: list[tuple[datetime, datetime]]
    traced: list[tuple[datetime, datetime]]
    counted: list[tuple[datetime, datetime]]


# Log tools that only count and measure the requests in their window (the latency summary also
# shows its slowest requests' trace ids). Any other tool with a window is kept row by row.
_SUMMARY_TOOLS = frozenset({"logs_error_summary", "logs_top_errors", "logs_latency"})
_HISTORY_DAYS = 7  # what a windowed log tool compares against unless told (its baseline_days)


def _newest_rows_from(outcome: ToolOutcome) -> datetime | None:
    """The oldest request a call of the latest requests returned (its window's real start)."""
    if outcome.tool != "logs_recent_requests":
        return None  # the other logs tools without a window return no timed rows
    try:
        requests = outcome.view(RecentRequests).requests
    except GarbledResult:
        return None
    found = [t for t in (_parse(r.ts) for r in requests) if t is not None]
    return min(found) if found else None


def log_windows(outcomes: Iterable[Any], now: datetime, pad: timedelta) -> LogWindows:
    """The windows of :class:`LogWindows` for an investigation's outcomes, merged, widened by ``pad``."""
    rows: list[tuple[datetime, datetime]] = [(now - pad, now)]
    traced: list[tuple[datetime, datetime]] = []
    counted: list[tuple[datetime, datetime]] = []
    for outcome in outcomes:
        if outcome.source != "logs":
            continue
        args = outcome.arguments or {}
        start, end = _parse(args.get("start")), _parse(args.get("end"))
        if start and end:
            tier = (
                rows
                if outcome.tool not in _SUMMARY_TOOLS
                else traced
                if outcome.tool == "logs_latency"
                else counted
            )
            tier.append((start - pad, min(end + pad, now)))
            days = int(args.get("baseline_days", _HISTORY_DAYS))
            if days:
                counted.append((start - timedelta(days=days) - pad, start))
        else:
            before = _parse(args.get("before")) or now
            oldest = _newest_rows_from(outcome) if outcome.ok else None
            rows.append((min(oldest or before, before - pad), before))
    full = _merge(rows)
    with_traces = [p for w in _merge(traced) for p in _subtract(w, full)]
    only_counted = [p for w in _merge(counted) for p in _subtract(w, full + with_traces)]
    return LogWindows(full, with_traces, only_counted)


def _subtract(
    window: tuple[datetime, datetime], cuts: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    pieces = [window]
    for c_lo, c_hi in cuts:
        nxt = []
        for lo, hi in pieces:
            if c_hi <= lo or c_lo >= hi:
                nxt.append((lo, hi))
                continue
            if lo < c_lo:
                nxt.append((lo, c_lo))
            if c_hi < hi:
                nxt.append((c_hi, hi))
        pieces = nxt
    return pieces


async def _rows(
    toolbox: Toolbox, ctx: Any, table: str, account_id: str, lo: datetime, hi: datetime
) -> list[dict[str, Any]]:
    """The account's rows of ``table`` in [lo, hi), through the guarded ``logs_sql``; halves a capped slice."""
    from casefile.tools.base import ToolCall

    sql = (
        f"SELECT * FROM {table} WHERE account_id = '{account_id}' "
        f"AND ts >= parseDateTime64BestEffort('{_iso(lo)}') AND ts < parseDateTime64BestEffort('{_iso(hi)}') "
        "ORDER BY ts"
    )
    outcome = await toolbox.execute(ToolCall(id=f"rec-{table}", tool="logs_sql", arguments={"sql": sql}), ctx)
    if not outcome.ok:
        return []
    try:
        result = outcome.view(SqlResult)
    except GarbledResult:
        return []
    if result.truncated and hi - lo > timedelta(seconds=2):
        mid = lo + (hi - lo) / 2
        return [
            *await _rows(toolbox, ctx, table, account_id, lo, mid),
            *await _rows(toolbox, ctx, table, account_id, mid, hi),
        ]
    return result.records()


async def _snapshot_logs(
    env: Environment, ticket: Any, account_id: str, outcomes: list[Any], pad: timedelta
) -> dict[str, list[dict[str, Any]]]:
    from casefile.agent.redact import redact
    from casefile.tools.base import CallContext

    ctx = CallContext.for_account(
        account_id,
        env.directory.as_mapping() if env.directory else {},
        now=ticket.created_at,
        requested_by="eval-record",
    )
    windows = log_windows(outcomes, ticket.created_at, pad)
    tiers = ((windows.rows, ()), (windows.traced, _COUNTED_BLANK), (windows.counted, _UNTRACED_BLANK))
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in _TABLES:
        found: list[dict[str, Any]] = []
        for spans, blank in tiers:
            for lo, hi in spans:
                for row in await _rows(env.toolbox, ctx, table, account_id, lo, hi):
                    for key in _HEADER_COLUMNS:
                        if isinstance(row.get(key), str):
                            row[key] = redact(row[key])[0]
                    # Only counted, never shown: identifiers and headers are dead weight there.
                    found.append(
                        {k: ("" if k in blank and isinstance(v, str) else v) for k, v in row.items()}
                    )
        found.sort(key=lambda r: str(r.get("ts")))
        tables[table] = found
    return tables


def _recording_environment(
    settings: Settings,
    world: Path | None,
    transport: httpx.AsyncBaseTransport | None,
    clickhouse: Any,
) -> tuple[Environment, RecordingTransport, ConnectorSettings, Toolbox]:
    """The environment ``open_environment`` gives, its toolbox rebuilt on a recording transport."""
    from casefile.agent.pipeline import _live_configured, open_environment
    from casefile.tools.registry import build_toolbox
    from casefile.tools.settings import ConnectorSettings, GitHubSettings, LogsSettings

    if world is None and not _live_configured(settings):
        raise UsageError(
            "nothing live is configured to record from (set CLICKHOUSE_DSN, STRIPE_API_KEY, LINEAR_API_KEY or "
            "GitHub repositories in casefile.toml); to record from a world, pass --world"
        )
    env = open_environment(settings, world)
    if env.world is not None:
        github = env.world.read_json("github.json", {"repos": {}})
        connectors = ConnectorSettings(
            logs=LogsSettings(database=env.world.database),
            github=GitHubSettings(repos=sorted(github.get("repos", {}))),
        )
        recorder = RecordingTransport(env.world.transport)
        stand_ins = _RecordingStandIns(recorder, env.world.clickhouse(), env.world.path)
        toolbox = build_toolbox(connectors, world=stand_ins)
    else:
        connectors = settings.connectors
        recorder = RecordingTransport(transport or httpx.AsyncHTTPTransport())
        snapshots = Path(connectors.sso.snapshot_dir) if connectors.sso.snapshot_dir else None
        stand_ins = _RecordingStandIns(recorder, clickhouse, snapshots)
        toolbox = build_toolbox(connectors, world=stand_ins, configured_only=True)
    replaced, env.toolbox = env.toolbox, toolbox
    return env, recorder, connectors, replaced


def record_case(
    ticket_path: Path,
    out: Path,
    settings: Settings,
    *,
    world: Path | None = None,
    days: float = 1 / 24,
    category: str,
    action: str,
    team: str | None = None,
    must_cite: list[str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clickhouse: Any = None,
) -> Path:
    """Investigate ``ticket_path`` and write a new case directory ``out``; returns it.

    ``days`` pads every log window the investigation read. Live systems are
    reached through ``transport`` (default: the network) and ``clickhouse`` (a
    client; default: ``settings.connectors.logs.dsn``): a test passes a world's.
    """
    from casefile.agent.intake import load_ticket
    from casefile.agent.pipeline import run_investigation
    from casefile.agent.signals import extract_signals
    from casefile.evals.snapshot import world_files

    if out.exists():
        raise UsageError(f"{out} already exists")
    ticket = load_ticket(ticket_path)
    env, recorder, connectors, replaced = _recording_environment(settings, world, transport, clickhouse)

    async def run() -> tuple[Any, dict[str, list[dict[str, Any]]]]:
        await replaced.aclose()  # the toolbox open_environment built, without the recorder
        try:
            signals = extract_signals(ticket, env.directory)
            if not signals.account_id:
                raise UsageError("the ticket's account could not be resolved; set account_id in the ticket")
            result = await run_investigation(ticket, env, settings)
            rows = await _snapshot_logs(
                env, ticket, signals.account_id, result.outcomes, timedelta(days=days)
            )
            return result, rows
        finally:
            await env.aclose()

    result, rows = run_to_end(run())
    account_id = result.diagnosis.account_id
    entry = env.directory.get(account_id) if env.directory and account_id else None
    w = out / "world"
    (w / "clickhouse").mkdir(parents=True)
    files = world_files(recorder.exchanges, connectors, accounts=[entry] if entry else [])
    for relative, content in files.items():
        (w / relative).parent.mkdir(parents=True, exist_ok=True)
        (w / relative).write_bytes(content)
    _copy_sso_snapshot(entry, env, connectors, w)
    # The company catalogue (components, owners) is part of what routing knew: a world carries its own.
    catalog = env.world.file("catalog.yaml") if env.world is not None else settings.catalog_file
    if catalog is not None and Path(catalog).is_file():
        shutil.copyfile(catalog, w / "catalog.yaml")
    # A recorded world is self-contained: its DDL is written out even when its world derives it.
    from casefile.tools.world.schema import CANONICAL_SCHEMA

    schema = env.world.schema_sql if env.world is not None else CANONICAL_SCHEMA.read_text(encoding="utf-8")
    (w / "clickhouse" / "schema.sql").write_text(schema, encoding="utf-8")
    (w / "accounts.json").write_text(
        json.dumps({"accounts": [entry] if entry else []}, indent=2, default=str) + "\n"
    )
    for table, found in rows.items():
        # Compressed: a week of one account's traffic is megabytes as JSON, a few hundred kB gzipped.
        with gzip.open(w / "clickhouse" / f"{table}.jsonl.gz", "wt", encoding="utf-8", compresslevel=9) as fh:
            for row in found:
                fh.write(json.dumps(row, default=str, separators=(",", ":")) + "\n")
    (out / "ticket.json").write_text(ticket.model_dump_json(indent=2, exclude_defaults=True) + "\n")
    expected = {
        "category": category,
        "action": action,
        "team": team,
        "must_cite": must_cite or [e.value for e in result.diagnosis.evidence][:3],
        "must_not_claim": [],
        "tags": ["recorded"],
        "needs_tools": True,
        "notes": f"recorded from {ticket_path.name} ({env.description}); the offline investigator said "
        f"{result.diagnosis.root_cause.category}/{result.diagnosis.action}. Review before committing.",
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    return out


def _copy_sso_snapshot(entry: Any, env: Environment, connectors: ConnectorSettings, w: Path) -> None:
    """The account's last-working IdP metadata is a file, not an API answer: copy it beside the world."""
    snapshot = ((entry or {}).get("idp") or {}).get("last_working_snapshot")
    if not snapshot:
        return
    root = env.world.path if env.world is not None else connectors.sso.snapshot_dir
    source = Path(root) / snapshot if root else None
    if source is not None and source.is_file() and not Path(snapshot).is_absolute():
        (w / snapshot).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, w / snapshot)
