"""How the logs connector's queries scale with the size of the request log.

Generates a week of traffic for 500 accounts (1M, 10M, 100M request rows, with
webhook deliveries and SSO logins at 1/10 and 1/100 of that) inside an embedded
chdb engine with ``INSERT … SELECT FROM numbers(N)`` and hash functions, then
times every logs operation one investigation uses, for one account over 24 h,
and a full-table scan for comparison. The built-in operations filter on the
``(account_id, ts)`` sort key, so their cost should follow one account's day,
not the table::

    .venv/bin/python benchmarks/logs_scale.py --sizes 1e6,1e7

Not part of the test suite. Needs about 25 GB of disk and a few minutes at 100M.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import clickhouse_connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from casefile.tools.base import CallContext, Tool
from casefile.tools.logs import ClickHouseConnector
from casefile.tools.settings import LogsSettings
from casefile.tools.sqlguard import guard_sql

ACCOUNTS = 500
WEEK_MS = 7 * 24 * 3600 * 1000
START = "2026-11-13 00:00:00"
NOW = datetime(2026, 11, 20, tzinfo=UTC)
ACCOUNT = "acct7"
DAY = {"start": "2026-11-19T00:00:00Z", "end": "2026-11-20T00:00:00Z"}
REPEATS = 5

SCHEMA = [
    """CREATE TABLE {db}.requests (ts DateTime64(3, 'UTC'), account_id LowCardinality(String),
    api_key_hash LowCardinality(String), method LowCardinality(String), path LowCardinality(String),
    status UInt16, error_code LowCardinality(String), latency_ms Float32, request_id String, trace_id String,
    region LowCardinality(String), user_agent LowCardinality(String), request_headers String,
    response_headers String) ENGINE = MergeTree ORDER BY (account_id, ts)""",
    """CREATE TABLE {db}.webhook_deliveries (ts DateTime64(3, 'UTC'), account_id LowCardinality(String),
    delivery_id String, webhook_id LowCardinality(String), event_type LowCardinality(String),
    endpoint_url LowCardinality(String), attempt UInt8, response_status UInt16, response_ms Float32,
    error LowCardinality(String)) ENGINE = MergeTree ORDER BY (account_id, ts)""",
    """CREATE TABLE {db}.sso_logins (ts DateTime64(3, 'UTC'), account_id LowCardinality(String),
    user_email String, idp_entity_id LowCardinality(String), outcome LowCardinality(String), error String,
    clock_skew_s Int32, cert_sha1 LowCardinality(String)) ENGINE = MergeTree ORDER BY (account_id, ts)""",
]


def _ts(n: int) -> str:
    # Spread rows evenly over the week; numbers are generated in order so ts grows with `number`.
    return f"toDateTime64('{START}', 3, 'UTC') + toIntervalMillisecond(intDiv(number * {WEEK_MS}, {n}))"


def _account() -> str:
    return f"concat('acct', toString(cityHash64(number, 1) % {ACCOUNTS}))"


def generate(client: Any, db: str, n: int) -> None:
    client.command(f"CREATE DATABASE {db}")
    for create in SCHEMA:
        client.command(create.format(db=db))
    client.command(
        f"""INSERT INTO {db}.requests SELECT
            {_ts(n)}, {_account()}, concat('key_', toString(cityHash64(number, 1) % {ACCOUNTS})),
            if(cityHash64(number, 3) % 5 = 0, 'POST', 'GET'),
            ['/v2/shipments', '/v2/orders', '/v2/rates', '/v2/orders/export', '/v2/webhooks'][
                cityHash64(number, 3) % 5 + 1],
            multiIf(cityHash64(number, 2) % 1000 < 10, 500, cityHash64(number, 2) % 1000 < 25, 404,
                    cityHash64(number, 2) % 1000 < 30, 429, 200) AS status,
            multiIf(status = 500, 'internal_error', status = 404, 'not_found',
                    status = 429, 'rate_limit_exceeded', ''),
            20 + (cityHash64(number, 4) % 100000) / 100,
            hex(cityHash64(number, 5)), hex(cityHash64(number, 6)), 'eu-west-1', 'relay-python/3.2', '{{}}', '{{}}'
        FROM numbers({n})"""
    )
    w = max(n // 10, 1)
    client.command(
        f"""INSERT INTO {db}.webhook_deliveries SELECT
            {_ts(w)}, {_account()}, hex(cityHash64(number, 7)), 'wh', 'order.updated',
            concat('https://hooks.', toString(cityHash64(number, 1) % {ACCOUNTS}), '.example/relay'), 1,
            if(cityHash64(number, 8) % 100 = 0, 503, 200) AS s, 50 + cityHash64(number, 9) % 500,
            if(s = 503, 'http_error', '')
        FROM numbers({w})"""
    )
    s = max(n // 100, 1)
    client.command(
        f"""INSERT INTO {db}.sso_logins SELECT
            {_ts(s)}, {_account()}, concat('user', toString(number % 50), '@example.com'), 'idp',
            if(cityHash64(number, 10) % 50 = 0, 'failure', 'success') AS o,
            if(o = 'failure', 'Signature validation failed', ''), 0, 'AA:BB'
        FROM numbers({s})"""
    )


INVESTIGATION: list[tuple[str, dict[str, Any]]] = [
    ("logs_error_summary", {"account_id": ACCOUNT, **DAY}),
    ("logs_latency", {"account_id": ACCOUNT, **DAY}),
    ("logs_recent_requests", {"account_id": ACCOUNT, "limit": 50}),
    ("logs_webhook_deliveries", {"account_id": ACCOUNT, **DAY}),
    ("logs_sso_logins", {"account_id": ACCOUNT, **DAY}),
    ("logs_schema", {}),
]
FULL_SCAN = "SELECT status, count(), quantile(0.95)(latency_ms) FROM requests GROUP BY status"


async def _timed(tool: Tool, arguments: dict[str, Any], ctx: CallContext) -> float:
    samples = []
    await tool.call(arguments, ctx)  # warm caches (column lists, marks)
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        await tool.call(arguments, ctx)
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


async def measure(client: Any, db: str) -> dict[str, float]:
    settings = LogsSettings(database=db, max_execution_time_s=600)
    connector = ClickHouseConnector(settings, client=client)
    tools = {t.name: t for t in connector.tools()}
    # Scoped to the account, as an investigation is (the webhook platform baseline samples the others).
    accounts = {f"acct{i}": {"id": f"acct{i}"} for i in range(ACCOUNTS)}
    ctx = CallContext.for_account(ACCOUNT, accounts, now=NOW)
    timings = {name: await _timed(tools[name], args, ctx) for name, args in INVESTIGATION}
    timings["investigation (sum)"] = sum(timings.values())
    # logs_sql only sees the investigation's account: the comparison scans every account's rows
    # through the connector's query path (same settings), below the tool.
    scan = guard_sql(FULL_SCAN, allowed_tables=settings.allowed_tables, database=db, max_rows=1000)
    samples = []
    for _ in range(REPEATS + 1):
        t0 = time.perf_counter()
        await connector._query(scan)
        samples.append((time.perf_counter() - t0) * 1000)
    timings["full scan (all accounts)"] = statistics.median(samples[1:])
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="1e6,1e7,1e8", help="comma-separated row counts (default 1e6,1e7,1e8)"
    )
    parser.add_argument("--path", default=None, help="chdb data directory (default: a temporary one)")
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]

    with tempfile.TemporaryDirectory(prefix="casefile-bench-", dir=args.path) as tmp:
        # chdb allows one data path per process: every size gets its own database in it.
        client = clickhouse_connect.get_client(dsn=f"chdb://{tmp}")
        results: dict[int, dict[str, float]] = {}
        for n in sizes:
            db = f"bench_{n}"
            t0 = time.perf_counter()
            generate(client, db, n)
            print(f"generated {n:,} request rows in {time.perf_counter() - t0:.1f} s", flush=True)
            # Measure a settled table, as in production, not one whose fresh parts are still merging
            # (merges of 100M rows would compete with the queries for the CPUs).
            t0 = time.perf_counter()
            for table in ("requests", "webhook_deliveries", "sso_logins"):
                client.command(f"OPTIMIZE TABLE {db}.{table} FINAL")
            parts = client.query(
                f"SELECT count() FROM system.parts WHERE database = '{db}' AND table = 'requests' AND active"
            ).result_rows[0][0]
            print(f"merged in {time.perf_counter() - t0:.1f} s ({parts} active parts)", flush=True)
            results[n] = asyncio.run(measure(client, db))
            for name, ms in results[n].items():
                print(f"  {name:26s} {ms:9.1f} ms", flush=True)
            client.command(f"DROP DATABASE {db} SYNC")

    names = list(next(iter(results.values())))
    print("\nmedian ms per operation (one account, 24 h)")
    print(
        f"{'operation':26s}"
        + "".join(f"{n:>12,}" for n in sizes)
        + (f"{'growth':>9s}" if len(sizes) > 1 else "")
    )
    for name in names:
        row = "".join(f"{results[n][name]:12.1f}" for n in sizes)
        growth = (
            f"{results[sizes[-1]][name] / max(results[sizes[0]][name], 1e-6):8.1f}×" if len(sizes) > 1 else ""
        )
        print(f"{name:26s}{row}{growth}")


if __name__ == "__main__":
    main()
