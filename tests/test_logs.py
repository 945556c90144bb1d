"""The logs connector against a small seeded world in the embedded chdb engine.

Every number is checked against a plain Python computation over the same rows.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from llm_fixtures import SCHEMA

from casefile.tools.base import CallContext, Toolbox, ToolCall
from casefile.tools.errors import (
    ReadOnlyViolation,
    SourceAuthError,
    SourceTimeout,
    SourceTooLarge,
    SourceUnavailable,
    ToolArgumentError,
    ToolError,
)
from casefile.tools.logs import Bucket, ClickHouseConnector, detect_spike, translate_error
from casefile.tools.settings import LogsSettings, LogTableMap
from casefile.tools.world.chdb import load_tables, parse_schema

START = datetime(2026, 11, 13, tzinfo=UTC)
END = datetime(2026, 11, 20, 18, tzinfo=UTC)
SPIKE_FIRST_ERROR = datetime(2026, 11, 20, 8, 12, 3, 250000, tzinfo=UTC)
WEBHOOK_FAILING_FROM = datetime(2026, 11, 19, 22, 10, tzinfo=UTC)
SSO_FAILING_FROM = datetime(2026, 11, 20, 6, 48, tzinfo=UTC)
PATHS = ["/v2/shipments", "/v2/orders", "/v2/rates"]


def _request(
    rng: random.Random, ts: datetime, account: str, path: str, status: int, code: str
) -> dict[str, Any]:
    return {
        "ts": ts,
        "account_id": account,
        "api_key_hash": f"key_{account}_1",
        "method": "POST" if path == "/v2/shipments" else "GET",
        "path": path,
        "status": status,
        "error_code": code,
        "latency_ms": rng.randrange(20, 2000) / 2,  # multiples of 0.5: exact in Float32
        "request_id": f"req_{rng.getrandbits(48):012x}",
        "trace_id": f"tr_{rng.getrandbits(48):012x}",
        "region": "eu-west-1",
        "user_agent": "relay-python/3.2",
        "request_headers": json.dumps({"idempotency-key": "k", "authorization": "[redacted]"}),
        "response_headers": json.dumps({"x-ratelimit-remaining": "0"} if status == 429 else {}),
    }


def build_rows(seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    requests: list[dict[str, Any]] = []
    minute = START
    while minute < END:
        for account, every in (("acme", 1), ("globex", 4), ("stark", 3)):
            if (minute - START).seconds // 60 % every:
                continue
            ts = minute + timedelta(milliseconds=rng.randrange(60_000))
            path = rng.choice(PATHS)
            roll = rng.random()
            status, code = (
                (500, "internal_error") if roll < 0.01 else (404, "not_found") if roll < 0.02 else (200, "")
            )
            if account == "globex" and minute >= datetime(2026, 11, 19, tzinfo=UTC) and path != "/v2/rates":
                status, code = 402, "subscription_past_due"
            requests.append(_request(rng, ts, account, path, status, code))
        # acme's incident: extra shipment calls from 08:12, most rejected with 429.
        if minute >= SPIKE_FIRST_ERROR.replace(second=0, microsecond=0):
            for i in range(3):
                ts = minute + timedelta(seconds=3 + 19 * i, milliseconds=250)
                limited = ts == SPIKE_FIRST_ERROR or rng.random() < 0.85
                status, code = (429, "rate_limit_exceeded") if limited else (201, "")
                requests.append(_request(rng, ts, "acme", "/v2/shipments", status, code))
        minute += timedelta(minutes=1)

    webhooks: list[dict[str, Any]] = []
    ts = START
    n = 0
    while ts < END:
        for account in ("umbrella", "acme", "stark"):
            n += 1
            failing = account == "umbrella" and ts >= WEBHOOK_FAILING_FROM
            timeout = failing and rng.random() < 0.3
            status = 0 if timeout else 503 if failing else (500 if rng.random() < 0.005 else 200)
            webhooks.append(
                {
                    "ts": ts + timedelta(seconds=rng.randrange(60)),
                    "account_id": account,
                    "delivery_id": f"dlv_{n}",
                    "webhook_id": f"wh_{account}",
                    "event_type": "order.updated",
                    "endpoint_url": f"https://hooks.{account}.example/relay",
                    "attempt": 1,
                    "response_status": status,
                    "response_ms": 10000.0 if timeout else rng.randrange(40, 800) / 2,
                    "error": "timeout" if timeout else "http_error" if status >= 500 else "",
                }
            )
        ts += timedelta(minutes=10)

    sso: list[dict[str, Any]] = []
    ts = START
    while ts < END:
        for account in ("initech", "stark"):
            failing = account == "initech" and ts >= SSO_FAILING_FROM
            sso.append(
                {
                    "ts": ts + timedelta(seconds=rng.randrange(60)),
                    "account_id": account,
                    "user_email": f"user{rng.randrange(5)}@{account}.example",
                    "idp_entity_id": f"http://www.okta.com/{account}",
                    "outcome": "failure" if failing else "success",
                    "error": "Signature validation failed: signing certificate expired" if failing else "",
                    "clock_skew_s": rng.randrange(-3, 4),
                    "cert_sha1": "AA:BB:CC",
                }
            )
        ts += timedelta(minutes=30)
    for table in (requests, webhooks, sso):
        table.sort(key=lambda r: (r["account_id"], r["ts"]))
    return {"requests": requests, "webhook_deliveries": webhooks, "sso_logins": sso}


def columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [row[name] for row in rows] for name in rows[0]}


# ---------------------------------------------------------------- fixtures

DB = "casefile_test_logs"
ALT_DB = "casefile_test_logs_alt"
ALT_SCHEMA = """
CREATE TABLE edge_logs (event_time DateTime64(3, 'UTC'), tenant LowCardinality(String), route String,
  http_status UInt16, err String, duration Float64, trace String)
  ENGINE = MergeTree ORDER BY (tenant, event_time);
"""
NOW = datetime(2026, 11, 20, 11, 40, tzinfo=UTC)
DAY0 = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture
def connector(client: Any) -> ClickHouseConnector:
    return ClickHouseConnector(LogsSettings(database=DB), client=client)


@pytest.fixture
def ctx() -> CallContext:
    return CallContext(now=NOW)


def table_counts(client: Any, database: str = DB) -> dict[str, int]:
    return {
        str(name): int(n)
        for name, n in client.query(
            "SELECT table, sum(rows) FROM system.parts WHERE database = {db:String} AND active "
            "GROUP BY table",
            parameters={"db": database},
        ).result_rows
    }


async def call(connector: ClickHouseConnector, name: str, ctx: CallContext, **arguments: Any) -> Any:
    tool = next(t for t in connector.tools() if t.name == name)
    data = await tool.call(arguments, ctx)
    assert tool.render(data)  # every result renders to some text for the model
    return data


def iso(ts: datetime) -> str:
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def exact_quantile(values: list[float], level: float) -> float:
    # ClickHouse quantileExact: the element at position floor(level * n) of the sorted values.
    ordered = sorted(values)
    return ordered[min(int(level * len(ordered)), len(ordered) - 1)]


# ---------------------------------------------------------------- operations vs. Python


async def test_error_summary_matches_python_and_finds_planted_spike(
    connector: ClickHouseConnector, ctx: CallContext, rows: dict[str, list[dict[str, Any]]]
) -> None:
    start, end = DAY0, DAY0 + timedelta(hours=12)
    data = await call(connector, "logs_error_summary", ctx, account_id="acme", start=iso(start), end=iso(end))

    acme = [r for r in rows["requests"] if r["account_id"] == "acme"]
    window = [r for r in acme if start <= r["ts"] < end]
    base = [r for r in acme if start - timedelta(days=7) <= r["ts"] < start]
    errors = [r for r in window if r["status"] >= 400]
    assert data["requests"] == len(window)
    assert data["errors"] == len(errors)
    assert data["error_rate"] == round(len(errors) / len(window), 4)
    assert data["baseline"]["requests"] == len(base)
    assert data["baseline"]["errors"] == sum(r["status"] >= 400 for r in base)
    by_status = Counter(r["status"] for r in errors)
    assert {s["status"]: s["count"] for s in data["by_status"]} == dict(by_status)
    assert data["by_status"][0]["status"] == 429
    shipments = [r for r in window if r["path"] == "/v2/shipments"]
    base_shipments = [r for r in base if r["path"] == "/v2/shipments"]
    top = data["top_endpoints"][0]
    assert top == {
        "path": "/v2/shipments",
        "requests": len(shipments),
        "errors": sum(r["status"] >= 400 for r in shipments),
        "error_rate": round(sum(r["status"] >= 400 for r in shipments) / len(shipments), 4),
        "baseline_error_rate": round(
            sum(r["status"] >= 400 for r in base_shipments) / len(base_shipments), 4
        ),
    }
    codes = Counter(r["error_code"] for r in errors if r["error_code"])
    assert {c["error_code"]: c["count"] for c in data["top_error_codes"]} == dict(codes)

    spike = data["spike"]
    assert spike["start"] == "2026-11-20T08:10:00.000Z"
    assert spike["first_error_at"] == iso(SPIKE_FIRST_ERROR)
    assert spike["status"] == 429
    assert spike["bucket_minutes"] == 5
    since = [r for r in window if r["ts"] >= datetime(2026, 11, 20, 8, 10, tzinfo=UTC)]
    assert spike["errors_since"] == sum(r["status"] >= 400 for r in since)
    assert spike["before_rate"] < 0.05 < 0.5 < spike["after_rate"]


async def test_top_errors_carry_each_codes_baseline_at_other_accounts(
    connector: ClickHouseConnector, ctx: CallContext, rows: dict[str, list[dict[str, Any]]]
) -> None:
    # The same (status, code) at the other accounts, in the window and the 7 days before, with their
    # requests in both: the baseline that tells a code's usual background from news. Aggregates only.
    start, end = DAY0, DAY0 + timedelta(hours=12)
    data = await call(connector, "logs_top_errors", ctx, account_id="acme", start=iso(start), end=iso(end))
    others = [r for r in rows["requests"] if r["account_id"] != "acme"]
    window = [r for r in others if start <= r["ts"] < end]
    before = [r for r in others if start - timedelta(days=7) <= r["ts"] < start]
    assert data["others_requests"] == len(window)
    assert data["others_baseline_requests"] == len(before)
    listed = {(o["status"], o["error_code"]): o for o in data["others"]}
    assert (429, "rate_limit_exceeded") in listed  # compared, and nobody else got it: listed with zeros
    assert listed[(429, "rate_limit_exceeded")] == {
        "status": 429, "error_code": "rate_limit_exceeded", "accounts": 0, "count": 0, "before": 0,
        "first_at": None, "last_at": None,
    }  # fmt: skip
    for (status, code), o in listed.items():
        now = [r for r in window if r["status"] == status and r["error_code"] == code]
        then = [r for r in before if r["status"] == status and r["error_code"] == code]
        assert (o["count"], o["before"], o["accounts"]) == (
            len(now),
            len(then),
            len({r["account_id"] for r in now}),
        )
        # when the others' run of it began and ended in the window (an incident outlives one account)
        assert (o["first_at"], o["last_at"]) == (
            (iso(min(r["ts"] for r in now)), iso(max(r["ts"] for r in now))) if now else (None, None)
        )
    assert listed[(500, "internal_error")]["before"] > listed[(500, "internal_error")]["count"] > 0
    assert "acme" not in json.dumps(data["others"])


async def test_error_summary_status_and_path_filters(
    connector: ClickHouseConnector, ctx: CallContext
) -> None:
    data = await call(
        connector,
        "logs_error_summary",
        ctx,
        account_id="acme",
        start="2026-11-20T00:00:00Z",
        end="2026-11-20T12:00:00Z",
        status=429,
        path="/v2/shipments",
    )
    assert [e["path"] for e in data["top_endpoints"]] == ["/v2/shipments"]
    assert data["errors"] == data["by_status"][0]["count"]
    assert data["spike"]["first_error_at"] == iso(SPIKE_FIRST_ERROR)


async def test_no_spike_for_steady_account(connector: ClickHouseConnector, ctx: CallContext) -> None:
    data = await call(
        connector, "logs_error_summary", ctx, account_id="stark", start="2026-11-20T00:00:00Z", end=iso(NOW)
    )
    assert data["spike"] is None
    assert data["requests"] > 0


async def test_slow_onset_found_with_coarser_buckets(
    connector: ClickHouseConnector, ctx: CallContext
) -> None:
    # globex makes a call every 4 minutes: too few per 5-minute bucket, so hourly buckets find it.
    data = await call(
        connector, "logs_error_summary", ctx, account_id="globex", start="2026-11-18T12:00:00Z", end=iso(NOW)
    )
    assert data["spike"]["start"] == "2026-11-19T00:00:00.000Z"
    assert data["spike"]["status"] == 402
    assert data["spike"]["bucket_minutes"] == 60


def test_detect_spike_ignores_a_lone_bad_bucket() -> None:
    t0 = datetime(2026, 11, 20, tzinfo=UTC)
    buckets = [Bucket(t0 + timedelta(minutes=5 * i), 100, 1) for i in range(20)]
    buckets[3] = Bucket(buckets[3].start, 100, 40)  # one bad bucket, then normal again
    assert detect_spike(buckets, 0.01, 5) is None
    for i in range(10, 20):
        buckets[i] = Bucket(buckets[i].start, 100, 30)
    spike = detect_spike(buckets, 0.01, 5)
    assert spike is not None and spike.start == buckets[10].start
    # A rise within the baseline's own noise (< baseline + 5 points) is no spike.
    assert detect_spike([Bucket(t0, 100, 12), Bucket(t0, 100, 12)], 0.10, 5) is None


async def test_latency_matches_python(
    connector: ClickHouseConnector, ctx: CallContext, rows: dict[str, list[dict[str, Any]]]
) -> None:
    start, end = DAY0, NOW
    data = await call(connector, "logs_latency", ctx, account_id="acme", start=iso(start), end=iso(end))
    window = [r for r in rows["requests"] if r["account_id"] == "acme" and start <= r["ts"] < end]
    base = [
        r
        for r in rows["requests"]
        if r["account_id"] == "acme" and start - timedelta(days=7) <= r["ts"] < start
    ]
    lat = [r["latency_ms"] for r in window]
    assert data["scope"] == "account"
    assert data["requests"] == len(window)
    assert data["p50_ms"] == exact_quantile(lat, 0.5)
    assert data["p95_ms"] == exact_quantile(lat, 0.95)
    assert data["p99_ms"] == exact_quantile(lat, 0.99)
    assert data["baseline"]["p95_ms"] == exact_quantile([r["latency_ms"] for r in base], 0.95)
    slowest = max(window, key=lambda r: r["latency_ms"])
    assert data["slowest"][0]["latency_ms"] == slowest["latency_ms"]
    assert len(data["slowest"]) == 5
    ship = [r["latency_ms"] for r in window if r["path"] == "/v2/shipments"]
    by_path = {e["path"]: e for e in data["by_endpoint"]}
    assert by_path["/v2/shipments"]["p95_ms"] == exact_quantile(ship, 0.95)
    assert "accounts" not in data
    # Per region (a CDN edge, a data center): every request here is served from one.
    assert data["by_region"] == [
        {
            "region": "eu-west-1",
            "requests": len(window),
            "p95_ms": data["p95_ms"],
            "baseline_p95_ms": data["baseline"]["p95_ms"],
        }
    ]

    everyone = await call(connector, "logs_latency", ctx, account_id=None, start=iso(start), end=iso(end))
    assert everyone["scope"] == "all"
    assert everyone["requests"] == sum(1 for r in rows["requests"] if start <= r["ts"] < end)
    # Other accounts only as an aggregate: how many, and their p95 ratios, never their names or requests.
    assert everyone["accounts_compared"] == 3 and len(everyone["p95_ratios"]) == 3
    assert everyone["p95_ratios"] == sorted(everyone["p95_ratios"], reverse=True)
    assert everyone["slowest"] == [] and "accounts" not in everyone
    assert not any(a in json.dumps(everyone) for a in ("acme", "globex", "stark"))
    # Per region as aggregates over its accounts: how many, how many slower than their own baseline.
    ratios = []
    for who in ("acme", "globex", "stark"):
        now = [r["latency_ms"] for r in rows["requests"] if r["account_id"] == who and start <= r["ts"] < end]
        then = [
            r["latency_ms"]
            for r in rows["requests"]
            if r["account_id"] == who and start - timedelta(days=7) <= r["ts"] < start
        ]
        ratios.append(exact_quantile(now, 0.95) / max(exact_quantile(then, 0.95), 1))
    (region,) = everyone["by_region"]
    assert (region["region"], region["accounts"]) == ("eu-west-1", 3)
    assert region["slow_accounts"] == sum(r >= 1.5 for r in ratios)
    assert abs(region["top_ratio"] - max(ratios)) < 0.006


async def test_recent_requests_newest_first_and_bounded(
    connector: ClickHouseConnector, ctx: CallContext, rows: dict[str, list[dict[str, Any]]]
) -> None:
    data = await call(connector, "logs_recent_requests", ctx, account_id="acme", limit=20, status=429)
    expected = sorted(
        (r for r in rows["requests"] if r["account_id"] == "acme" and r["status"] == 429 and r["ts"] < NOW),
        key=lambda r: r["ts"],
        reverse=True,
    )[:20]
    assert [r["request_id"] for r in data["requests"]] == [r["request_id"] for r in expected]
    first = data["requests"][0]
    assert first["ts"] == iso(expected[0]["ts"])
    assert first["method"] == "POST" and first["api_key_hash"] == "key_acme_1"
    assert json.loads(first["response_headers"]) == {"x-ratelimit-remaining": "0"}
    assert data["status_counts"] == {"429": 20}
    with pytest.raises(ToolArgumentError):
        await call(connector, "logs_recent_requests", ctx, account_id="acme", limit=5000)


async def test_webhook_deliveries_matches_python(
    connector: ClickHouseConnector, ctx: CallContext, rows: dict[str, list[dict[str, Any]]]
) -> None:
    start, end = datetime(2026, 11, 19, 12, tzinfo=UTC), datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
    data = await call(
        connector, "logs_webhook_deliveries", ctx, account_id="umbrella", start=iso(start), end=iso(end)
    )
    mine = [r for r in rows["webhook_deliveries"] if r["account_id"] == "umbrella"]
    window = [r for r in mine if start <= r["ts"] < end]

    def failed(r: dict[str, Any]) -> bool:
        return not 200 <= r["response_status"] < 300 or r["error"] != ""

    assert data["attempts"] == len(window)
    assert data["failures"] == sum(map(failed, window))
    last_ok = max((r for r in mine if not failed(r) and r["ts"] < end), key=lambda r: r["ts"])
    assert data["last_success"]["ts"] == iso(last_ok["ts"])
    first_fail = min(r["ts"] for r in window if failed(r) and r["ts"] > last_ok["ts"])
    assert data["failing_since"] == iso(first_fail)
    assert first_fail >= WEBHOOK_FAILING_FROM
    assert {e["error"]: e["count"] for e in data["by_error"]} == dict(
        Counter(r["error"] for r in window if r["error"])
    )
    assert data["response_ms"]["max"] == 10000.0
    assert data["endpoint_urls"] == ["https://hooks.umbrella.example/relay"]
    others = [
        r for r in rows["webhook_deliveries"] if r["account_id"] != "umbrella" and start <= r["ts"] < end
    ]
    assert data["platform"]["attempts"] == len(others)
    assert data["platform"]["failures"] == sum(map(failed, others))
    assert data["platform"]["failure_rate"] < 0.05
    assert sum(h["attempts"] for h in data["history"]) == len(window)
    assert len(data["history"]) <= 48


async def test_sso_logins_matches_python(
    connector: ClickHouseConnector, ctx: CallContext, rows: dict[str, list[dict[str, Any]]]
) -> None:
    start, end = datetime(2026, 11, 19, 9, tzinfo=UTC), datetime(2026, 11, 20, 9, 5, tzinfo=UTC)
    data = await call(connector, "logs_sso_logins", ctx, account_id="initech", start=iso(start), end=iso(end))
    window = [r for r in rows["sso_logins"] if r["account_id"] == "initech" and start <= r["ts"] < end]
    fails = [r for r in window if r["outcome"] != "success"]
    assert data["attempts"] == len(window)
    assert data["failures"] == len(fails)
    last_ok = max((r for r in window if r["outcome"] == "success"), key=lambda r: r["ts"])
    assert data["last_success"] == {
        "ts": iso(last_ok["ts"]),
        "user_email": last_ok["user_email"],
        "cert_sha1": "AA:BB:CC",
        # What the response was made with; a table without those columns reads them as null.
        "idp_entity_id": last_ok["idp_entity_id"],
        "acs_url": None,
        "audience": None,
        "nameid_format": None,
        "sig_alg": None,
    }
    assert data["failing_since"] == iso(min(r["ts"] for r in fails))
    assert data["top_errors"] == [
        {"error": "Signature validation failed: signing certificate expired", "count": len(fails)}
    ]
    assert data["recent_failures"][0]["ts"] == iso(max(r["ts"] for r in fails))
    assert set(data["recent_failures"][0]) == {
        "ts", "user_email", "error", "clock_skew_s", "cert_sha1",
        "idp_entity_id", "acs_url", "audience", "nameid_format", "sig_alg",
    }  # fmt: skip
    assert data["config_changes"] == []  # the same certificate and issuer as the last working login

    fine = await call(connector, "logs_sso_logins", ctx, account_id="stark", start=iso(start), end=iso(end))
    assert fine["failures"] == 0 and fine["failing_since"] is None


async def test_schema_lists_allowed_tables_only(connector: ClickHouseConnector, ctx: CallContext) -> None:
    data = await call(connector, "logs_schema", ctx)
    assert set(data["tables"]) == {"requests", "webhook_deliveries", "sso_logins"}
    assert {"name": "status", "type": "UInt16"} in data["tables"]["requests"]


# ---------------------------------------------------------------- configuration


async def test_other_column_names_only_change_configuration(
    client: Any, connector: ClickHouseConnector, ctx: CallContext, rows: dict[str, list[dict[str, Any]]]
) -> None:
    # edge_logs holds our request columns under names of its own, in this order:
    ours = ["ts", "account_id", "path", "status", "error_code", "latency_ms", "trace_id"]
    edge = list(parse_schema(ALT_SCHEMA, ALT_DB)[0][2])
    source = rows["requests"]
    load_tables(
        client,
        ALT_DB,
        ALT_SCHEMA,
        {"edge_logs": {e: [r[o] for r in source] for o, e in zip(ours, edge, strict=True)}},
    )
    fields = dict(zip(("time", "account", "path", "status", "error", "latency"), edge, strict=False))
    settings = LogsSettings(
        database=ALT_DB, requests=LogTableMap(table="edge_logs", **fields), allowed_tables=["edge_logs"]
    )
    alt = ClickHouseConnector(settings, client=client)
    window = {"account_id": "acme", "start": "2026-11-20T00:00:00Z", "end": "2026-11-20T12:00:00Z"}
    assert await call(alt, "logs_error_summary", ctx, **window) == await call(
        connector, "logs_error_summary", ctx, **window
    )
    mine = await call(alt, "logs_latency", ctx, **window)
    theirs = await call(connector, "logs_latency", ctx, **window)
    assert mine["p95_ms"] == theirs["p95_ms"] and mine["by_endpoint"] == theirs["by_endpoint"]
    recent = await call(alt, "logs_recent_requests", ctx, account_id="acme", limit=3)
    assert recent["requests"][0]["method"] is None  # optional column absent: null, not an error
    same = await call(connector, "logs_recent_requests", ctx, account_id="acme", limit=3)
    assert [r["request_id"] for r in recent["requests"]] == [None, None, None]  # no request_id column either
    assert [(r["ts"], r["path"], r["status"]) for r in recent["requests"]] == [
        (r["ts"], r["path"], r["status"]) for r in same["requests"]
    ]


def test_identifiers_from_settings_are_validated(client: Any) -> None:
    bad = LogsSettings(database=DB, requests=LogTableMap(table="requests; DROP TABLE x", status="status"))
    with pytest.raises(SourceUnavailable):
        ClickHouseConnector(bad, client=client)


async def test_missing_dsn_is_a_clear_unavailable_error(ctx: CallContext) -> None:
    unconfigured = ClickHouseConnector(LogsSettings())
    with pytest.raises(SourceUnavailable, match="DSN"):
        await call(unconfigured, "logs_schema", ctx)


# ---------------------------------------------------------------- bounds and errors


async def test_huge_result_is_bounded_and_flagged(client: Any) -> None:
    ctx = CallContext(now=NOW, account_id="acme")  # logs_sql sees one account's rows
    small = ClickHouseConnector(LogsSettings(database=DB, max_rows=50), client=client)
    data = await call(small, "logs_sql", ctx, sql="SELECT * FROM requests")
    assert data["row_count"] == 50 and len(data["rows"]) == 50 and data["truncated"] is True
    assert data["sql"].endswith("LIMIT 51")
    exact = await call(small, "logs_sql", ctx, sql="SELECT ts FROM requests ORDER BY ts LIMIT 50")
    assert exact["row_count"] == 50 and exact["truncated"] is False
    few = await call(small, "logs_sql", ctx, sql="SELECT 1 AS a UNION ALL SELECT 2 AS a")
    assert sorted(few["rows"]) == [[1], [2]] and few["truncated"] is False


async def test_model_sql_mistakes_come_back_as_argument_errors(connector: ClickHouseConnector) -> None:
    toolbox = Toolbox([connector])
    outcome = await toolbox.execute(
        ToolCall(id="1", tool="logs_sql", arguments={"sql": "SELECT nope FROM requests"}),
        CallContext(now=NOW, account_id="acme"),
    )
    assert outcome.ok is False and outcome.error_kind == "bad_arguments"
    assert "nope" in (outcome.error or "") and "readonly" not in (outcome.error or "")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            DatabaseError("Code: 159. DB::Exception: Timeout exceeded: elapsed 1.0 s. (TIMEOUT_EXCEEDED)"),
            SourceTimeout,
        ),
        (
            DatabaseError("Code: 160. DB::Exception: Estimated query execution time is too long. (TOO_SLOW)"),
            SourceTimeout,
        ),
        (
            DatabaseError(
                "Code: 516. DB::Exception: default: Authentication failed. (AUTHENTICATION_FAILED)"
            ),
            SourceAuthError,
        ),
        (DatabaseError("Code: 192. DB::Exception: Unknown user x. (UNKNOWN_USER)"), SourceAuthError),
        (
            DatabaseError("Code: 164. DB::Exception: Cannot execute query in readonly mode. (READONLY)"),
            ReadOnlyViolation,
        ),
        (
            DatabaseError("Code: 60. DB::Exception: Unknown table expression identifier. (UNKNOWN_TABLE)"),
            ToolArgumentError,
        ),
        (
            DatabaseError("Code: 62. DB::Exception: Syntax error: failed at position 7. (SYNTAX_ERROR)"),
            ToolArgumentError,
        ),
        (
            DatabaseError("Code: 396. DB::Exception: Limit for result exceeded. (TOO_MANY_ROWS_OR_BYTES)"),
            SourceTooLarge,
        ),
        (
            OperationalError("Error HTTPConnectionPool(host='ch', port=8123): connection refused"),
            SourceUnavailable,
        ),
        (OperationalError("HTTPSConnectionPool(host='ch', port=8443): Read timed out."), SourceTimeout),
    ],
)
def test_clickhouse_errors_map_to_the_error_tree(error: Exception, expected: type[ToolError]) -> None:
    mapped = translate_error(error)
    assert type(mapped) is expected
    assert mapped.source == "logs"


def test_unreachable_server_is_unavailable(ctx: CallContext) -> None:
    class DeadClient:
        def create_query_context(self, **kwargs: Any) -> Any:
            return clickhouse_connect.driver.query.QueryContext(kwargs["query"], kwargs["parameters"])

        def query(self, *args: Any, **kwargs: Any) -> Any:
            raise OperationalError("Error HTTPConnectionPool(host='ch', port=8123): Connection refused")

    dead = ClickHouseConnector(LogsSettings(database=DB), client=DeadClient())
    with pytest.raises(SourceUnavailable, match="unreachable"):
        dead._query_sync("SELECT 1")


async def test_every_query_runs_read_only(
    client: Any, connector: ClickHouseConnector, ctx: CallContext
) -> None:
    seen: list[dict[str, Any]] = []

    class Spy:
        def __getattr__(self, name: str) -> Any:
            return getattr(client, name)

        def query(self, sql: str, parameters: Any = None, settings: Any = None) -> Any:
            seen.append(settings)
            return client.query(sql, parameters=parameters, settings=settings)

    spied = ClickHouseConnector(LogsSettings(database=DB), client=Spy())
    window = {"account_id": "acme", "start": "2026-11-20T00:00:00Z", "end": "2026-11-20T12:00:00Z"}
    await call(spied, "logs_error_summary", ctx, **window)
    await call(spied, "logs_webhook_deliveries", ctx, **window)
    await call(spied, "logs_sso_logins", ctx, **window)
    await call(spied, "logs_recent_requests", ctx, account_id="acme")
    await call(spied, "logs_schema", ctx)
    assert len(seen) > 10
    for settings in seen:
        assert settings["readonly"] == 1 and list(settings)[-1] == "readonly"
        assert settings["max_execution_time"] == 10
        assert settings["result_overflow_mode"] == "throw"


def test_spike_onset_found_on_thin_traffic() -> None:
    """Thin traffic: the first buckets of an incident hold too few errors to confirm it alone."""
    from datetime import UTC, datetime, timedelta

    from casefile.tools.logs import Bucket, detect_spike

    t0 = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    counts = [(20, 0)] * 14 + [(37, 3), (32, 1), (30, 2)] + [(35, 9)] * 8
    buckets = [Bucket(t0 + timedelta(minutes=5 * i), n, e) for i, (n, e) in enumerate(counts)]
    spike = detect_spike(buckets, baseline_rate=0.0, bucket_minutes=5)
    assert spike is not None
    assert spike.start == t0 + timedelta(minutes=70)  # the first bucket with 429s, not the first with 5+
    assert spike.errors_since == 3 + 1 + 2 + 9 * 8
    # an isolated error long before the incident is not its onset
    counts[2] = (20, 1)
    buckets = [Bucket(t0 + timedelta(minutes=5 * i), n, e) for i, (n, e) in enumerate(counts)]
    assert detect_spike(buckets, baseline_rate=0.0, bucket_minutes=5).start == t0 + timedelta(minutes=70)  # type: ignore[union-attr]


async def test_webhook_platform_baseline_samples_the_directory(
    connector: ClickHouseConnector, rows: dict[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an account directory the platform rate is read per account (the sort key), at most N of them."""
    from casefile.tools.logs import webhooks

    start, end = datetime(2026, 11, 19, 12, tzinfo=UTC), datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
    ids = sorted({r["account_id"] for r in rows["webhook_deliveries"]} - {"umbrella"})
    assert len(ids) >= 2
    monkeypatch.setattr(webhooks, "PLATFORM_SAMPLE", 1)
    directory = {a: {"id": a} for a in [*ids, "umbrella"]}
    data = await call(
        connector,
        "logs_webhook_deliveries",
        CallContext.for_account("umbrella", directory, now=NOW),
        account_id="umbrella",
        start=iso(start),
        end=iso(end),
    )
    sampled = [r for r in rows["webhook_deliveries"] if r["account_id"] == ids[0] and start <= r["ts"] < end]
    assert data["platform"]["attempts"] == len(sampled) > 0


def test_concurrent_queries_use_separate_clients_up_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """One client serialises its queries, so concurrent investigations must not share one."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    in_flight = 0
    peak = 0
    started = 0
    guard = threading.Lock()
    both_running = threading.Barrier(2, timeout=60)  # a bound for a stuck test, not a slow one
    made: list[Any] = []

    class SlowClient:
        def __init__(self) -> None:
            self.busy = threading.Lock()
            made.append(self)

        def create_query_context(self, **kwargs: Any) -> Any:
            return clickhouse_connect.driver.query.QueryContext(kwargs["query"], kwargs["parameters"])

        def query(self, sql: str, parameters: Any = None, settings: Any = None) -> Any:
            nonlocal in_flight, peak, started
            assert self.busy.acquire(blocking=False), "a client ran two queries at once"
            with guard:
                in_flight += 1
                started += 1
                first_two = started <= 2
                peak = max(peak, in_flight)
            try:
                if first_two:
                    both_running.wait()  # times out if the two never run side by side
                import time

                time.sleep(0.05)
                return type("R", (), {"column_names": ["x"], "result_rows": [(1,)]})()
            finally:
                with guard:
                    in_flight -= 1
                self.busy.release()

    monkeypatch.setattr(clickhouse_connect, "get_client", lambda **kw: SlowClient())
    connector = ClickHouseConnector(LogsSettings(dsn="http://ch:8123", database=DB, max_concurrent_queries=2))
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: connector._query_sync("SELECT 1"), range(6)))
    assert all(r.rows == [(1,)] for r in results)
    assert peak == 2  # in parallel, and never more than the limit
    assert len(made) == 2  # clients are reused


def test_engine_lock_lets_queries_overlap_but_not_a_load() -> None:
    import threading
    import time

    from casefile.tools.world.chdb import EngineLock

    lock = EngineLock()
    events: list[str] = []
    # Both readers hold the lock at once before the load asks for it (a load already waiting would
    # rightly keep the second reader out: with a 10 ms head start, a late thread deadlocked here).
    readers_in = threading.Barrier(3, timeout=60)

    def reader(name: str) -> None:
        with lock.shared():
            events.append(f"{name} in")
            readers_in.wait()
            time.sleep(0.05)
            events.append(f"{name} out")

    def writer() -> None:
        readers_in.wait()
        # Re-entrant for its thread, and the loading thread may query what it loads.
        with lock.exclusive(), lock.exclusive(), lock.shared():
            events.append("load")

    threads = [threading.Thread(target=reader, args=(n,)) for n in ("a", "b")]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert events.index("load") > max(events.index("a out"), events.index("b out"))


def test_extra_handles_open_the_engine_at_the_given_clients_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """chdb refuses a handle on another path than the engine's, so the pool must reuse the path."""
    import casefile.tools.world.chdb as chdb_module

    opened: list[str] = []

    def open_handle(path: str) -> str:
        opened.append(path)
        return "handle"

    monkeypatch.setattr(chdb_module, "new_embedded_client", open_handle)

    class ChdbClient:  # the name is how the connector recognises an embedded engine
        path = "/var/lib/casefile/chdb"

    connector = ClickHouseConnector(LogsSettings(database=DB), client=ChdbClient())
    assert connector._pool._make is not None
    assert connector._pool._make() == "handle"
    assert opened == ["/var/lib/casefile/chdb"]


ENDPOINT_DB = "casefile_test_logs_endpoint"
RATES_FIRST_ERROR = datetime(2026, 11, 20, 8, 17, 30, tzinfo=UTC)


def endpoint_incident_rows(seed: int = 11) -> list[dict[str, Any]]:
    """Two accounts, five requests a minute for three days, 10% of them to /v2/rates; 1% errors.

    From 08:17:30 one account's /v2/rates fails 30% of the time with 500s: its account-wide error
    rate rises by ~3 points only, below the account-level spike threshold.
    """
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    minute = datetime(2026, 11, 18, tzinfo=UTC)
    while minute < END:
        for account in ("wayne", "hooli"):
            for _ in range(5):
                ts = minute + timedelta(milliseconds=rng.randrange(60_000))
                path = "/v2/rates" if rng.random() < 0.1 else rng.choice(["/v2/shipments", "/v2/orders"])
                status, code = (500, "internal_error") if rng.random() < 0.01 else (200, "")
                incident = account == "wayne" and path == "/v2/rates" and ts > RATES_FIRST_ERROR
                if incident and rng.random() < 0.3:
                    status, code = 500, "internal_error"
                out.append(_request(rng, ts, account, path, status, code))
        minute += timedelta(minutes=1)
    # the incident's first failure, exactly
    out.append(_request(rng, RATES_FIRST_ERROR, "wayne", "/v2/rates", 500, "internal_error"))
    return out


async def test_a_spike_on_one_endpoint_is_found_when_the_account_rate_barely_moves(
    client: Any, ctx: CallContext
) -> None:
    load_tables(client, ENDPOINT_DB, SCHEMA, {"requests": columns(endpoint_incident_rows())})
    connector = ClickHouseConnector(LogsSettings(database=ENDPOINT_DB), client=client)
    window = {"start": "2026-11-19T12:00:00Z", "end": "2026-11-20T18:00:00Z", "baseline_days": 1}

    data = await call(connector, "logs_error_summary", ctx, account_id="wayne", **window)
    assert data["error_rate"] < 0.06  # account-wide: no account-level spike to see
    spike = data["spike"]
    assert spike is not None and spike["path"] == "/v2/rates"
    # On thin traffic the spike is confirmed in hourly buckets: it is placed within the hour.
    assert iso(RATES_FIRST_ERROR) <= spike["first_error_at"] < iso(RATES_FIRST_ERROR + timedelta(hours=2))
    assert spike["start"] <= spike["first_error_at"]
    assert spike["status"] == 500 and spike["after_rate"] > 0.15 > 0.05 > spike["before_rate"]
    rates = next(e for e in data["top_endpoints"] if e["path"] == "/v2/rates")
    assert rates["baseline_error_rate"] is not None and rates["baseline_error_rate"] < 0.03

    # The same traffic without the incident: no endpoint is reported.
    healthy = await call(connector, "logs_error_summary", ctx, account_id="hooli", **window)
    assert healthy["spike"] is None


async def test_a_spike_opened_by_another_status_is_dated_by_the_failing_endpoints_own(
    client: Any, ctx: CallContext
) -> None:
    # Half an hour of 401s the evening before (a stale token, over by itself), then /v2/rates' 500s:
    # the account-wide jump opens with the 401s and "stays up" only because of the later 500s. The
    # 500s began at 08:17, not the evening before.
    rows = endpoint_incident_rows()
    burst = (datetime(2026, 11, 19, 21, 0, tzinfo=UTC), datetime(2026, 11, 19, 21, 35, tzinfo=UTC))
    for r in rows:
        if (
            r["account_id"] == "wayne"
            and burst[0] <= r["ts"] < burst[1]
            and r["request_id"][-1] in "02468ace"
        ):
            r["status"], r["error_code"] = 401, "token_expired"
    load_tables(client, ENDPOINT_DB + "_mixed", SCHEMA, {"requests": columns(rows)})
    connector = ClickHouseConnector(LogsSettings(database=ENDPOINT_DB + "_mixed"), client=client)
    window = {"start": "2026-11-19T12:00:00Z", "end": "2026-11-20T18:00:00Z", "baseline_days": 1}
    data = await call(connector, "logs_error_summary", ctx, account_id="wayne", **window)
    spike = data["spike"]
    assert spike is not None and spike["path"] == "/v2/rates" and spike["status"] == 500
    assert iso(RATES_FIRST_ERROR) <= spike["first_error_at"] < iso(RATES_FIRST_ERROR + timedelta(hours=2))
    assert "opened_by" not in spike
    # The 401s alone, without the later 500s, are the spike (nothing else dominates it).
    calm = [
        r
        for r in rows
        if not (r["account_id"] == "wayne" and r["status"] == 500 and r["ts"] > RATES_FIRST_ERROR)
    ]
    load_tables(client, ENDPOINT_DB + "_burst", SCHEMA, {"requests": columns(calm)})
    connector = ClickHouseConnector(LogsSettings(database=ENDPOINT_DB + "_burst"), client=client)
    data = await call(connector, "logs_error_summary", ctx, account_id="wayne", **window)
    assert data["spike"] is not None and data["spike"]["status"] == 401
    assert data["spike"]["first_error_at"].startswith("2026-11-19T21:0")


async def test_async_queries_get_a_thread_each_up_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight slow queries at once: asyncio's default executor (cores + 4 threads) would queue some."""
    import threading

    all_running = threading.Barrier(8, timeout=60)

    class SlowClient:
        def create_query_context(self, **kwargs: Any) -> Any:
            return clickhouse_connect.driver.query.QueryContext(kwargs["query"], kwargs["parameters"])

        def query(self, sql: str, parameters: Any = None, settings: Any = None) -> Any:
            all_running.wait()  # times out unless all eight are in flight together
            return type("R", (), {"column_names": ["x"], "result_rows": [(1,)]})()

        def close(self) -> None:
            pass

    monkeypatch.setattr(clickhouse_connect, "get_client", lambda **kw: SlowClient())
    connector = ClickHouseConnector(LogsSettings(dsn="http://ch:8123", database=DB, max_concurrent_queries=8))
    results = await asyncio.gather(*(connector._query("SELECT 1") for _ in range(8)))
    assert [r.rows for r in results] == [[(1,)]] * 8
    await connector.aclose()


async def test_an_error_code_inside_a_2xx_answer_counts_as_an_error(client: Any, ctx: CallContext) -> None:
    # A batch endpoint answers 200 and names each refused item's code in its body (the log keeps the
    # code): those answers failed whatever their status. A success's empty code (or "0") does not.
    rng = random.Random(5)
    rows: list[dict[str, Any]] = []
    minute = datetime(2026, 11, 19, tzinfo=UTC)
    while minute < END:
        ts = minute + timedelta(seconds=rng.randrange(60))
        refused = minute >= DAY0 + timedelta(hours=6) and rng.random() < 0.5
        code = "dom_unverified" if refused else rng.choice(["", "0"])
        rows.append(_request(rng, ts, "zephyr", "/v2/batch", 200, code))
        minute += timedelta(minutes=2)
    load_tables(client, DB + "_inside_200", SCHEMA, {"requests": columns(rows)})
    connector = ClickHouseConnector(LogsSettings(database=DB + "_inside_200"), client=client)
    window = {"start": iso(DAY0), "end": iso(DAY0 + timedelta(hours=12))}
    refused_rows = [
        r
        for r in rows
        if r["error_code"] == "dom_unverified" and DAY0 <= r["ts"] < DAY0 + timedelta(hours=12)
    ]

    summary = await call(connector, "logs_error_summary", ctx, account_id="zephyr", **window, baseline_days=1)
    assert summary["errors"] == len(refused_rows) > 0
    assert summary["by_status"] == [
        {
            "status": 200,
            "count": len(refused_rows),
            "rate": pytest.approx(len(refused_rows) / summary["requests"], abs=1e-4),
            "baseline_rate": 0.0,
        }
    ]
    assert summary["top_error_codes"] == [{"error_code": "dom_unverified", "count": len(refused_rows)}]
    assert summary["spike"] is not None and summary["spike"]["status"] == 200

    top = await call(connector, "logs_top_errors", ctx, account_id="zephyr", **window)
    assert [(r["status"], r["error_code"], r["count"]) for r in top["top"]] == [
        (200, "dom_unverified", len(refused_rows))
    ]
    assert top["errors"] == len(refused_rows)
