"""The traffic generator: deterministic, fast enough, and the demo scenarios are where they should be."""

from __future__ import annotations

import copy
import json
import re
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from casefile.tools.world.traffic import TrafficError, generate

WORLD = Path(__file__).resolve().parents[1] / "examples" / "world"
DESCRIPTION: dict[str, Any] = json.loads((WORLD / "clickhouse" / "traffic.json").read_text(encoding="utf-8"))

Rows = list[dict[str, Any]]


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def rows(table: dict[str, list[Any]]) -> Rows:
    names = list(table)
    return [dict(zip(names, values, strict=True)) for values in zip(*table.values(), strict=True)]


@pytest.fixture(scope="module")
def tables() -> dict[str, dict[str, list[Any]]]:
    started = time.perf_counter()
    out = generate(DESCRIPTION)
    elapsed = time.perf_counter() - started
    counts = {name: len(cols["ts"]) for name, cols in out.items()}
    print(f"\ntraffic.generate: {elapsed:.3f} s for {counts}")
    return out


@pytest.fixture(scope="module")
def requests(tables: dict[str, dict[str, list[Any]]]) -> Rows:
    return rows(tables["requests"])


def test_same_description_same_rows(tables: dict[str, dict[str, list[Any]]]) -> None:
    assert generate(copy.deepcopy(DESCRIPTION)) == tables


def test_another_seed_gives_other_rows(tables: dict[str, dict[str, list[Any]]]) -> None:
    other = generate({**DESCRIPTION, "seed": DESCRIPTION["seed"] + 1})
    assert other["requests"]["request_id"][:50] != tables["requests"]["request_id"][:50]


def test_columns_match_the_schema(tables: dict[str, dict[str, list[Any]]]) -> None:
    schema = (WORLD / "clickhouse" / "schema.sql").read_text(encoding="utf-8")
    for table, body in re.findall(r"CREATE TABLE (\w+) \((.*?)\) ENGINE", schema, re.S):
        columns = re.findall(r"^\s+(\w+) ", body, re.M)
        assert list(tables[table]) == columns, table
        lengths = {len(values) for values in tables[table].values()}
        assert len(lengths) == 1, f"{table}: ragged columns"


def test_row_counts_in_the_expected_range(tables: dict[str, dict[str, list[Any]]]) -> None:
    assert 60_000 <= len(tables["requests"]["ts"]) <= 120_000
    assert 2_000 <= len(tables["webhook_deliveries"]["ts"]) <= 20_000
    assert 500 <= len(tables["sso_logins"]["ts"]) <= 5_000
    assert set(tables["requests"]["account_id"]) == set(DESCRIPTION["requests"])


def test_timestamps_are_aware_utc_and_in_range(tables: dict[str, dict[str, list[Any]]]) -> None:
    start, end = at(DESCRIPTION["start"]), at(DESCRIPTION["end"])
    for name, cols in tables.items():
        stamps = cols["ts"]
        assert all(ts.tzinfo is UTC for ts in stamps), name
        assert start <= min(stamps) and max(stamps) < end, name


def test_rows_are_ordered_by_account_then_time(requests: Rows) -> None:
    keys = [(r["account_id"], r["ts"]) for r in requests]
    seen: list[str] = []
    for account, _ in keys:
        if not seen or seen[-1] != account:
            assert account not in seen, "an account's rows are not contiguous"
            seen.append(account)
    for account in seen:
        stamps = [ts for a, ts in keys if a == account]
        assert stamps == sorted(stamps)


def test_headers_are_json_redacted_and_realistic(requests: Rows) -> None:
    failing = [r for r in requests if r["status"] >= 400]
    assert len(failing) > 500
    # Headers are kept for failing requests only (sampled the way log pipelines do).
    assert all(r["request_headers"] == r["response_headers"] == "" for r in requests if r["status"] < 400)
    for r in failing:
        req, resp = json.loads(r["request_headers"]), json.loads(r["response_headers"])
        assert req["authorization"] == "Bearer [REDACTED]"
        assert req["x-request-id"] == resp["x-request-id"] == r["request_id"]
        assert ("idempotency-key" in req) == (r["method"] in {"POST", "PUT", "PATCH", "DELETE"})
        assert ("retry-after" in resp) == (r["status"] == 429)
        assert int(resp["x-ratelimit-reset"]) > r["ts"].timestamp()
    assert not any("sk_live" in r["request_headers"] for r in requests)


def test_every_account_has_some_client_errors_and_rare_server_errors(requests: Rows) -> None:
    by_account: dict[str, Counter[int]] = defaultdict(Counter)
    for r in requests:
        by_account[r["account_id"]][r["status"] // 100] += 1
    for account, counts in by_account.items():
        total = sum(counts.values())
        assert counts[4] > 0, account
        assert counts[2] / total > 0.6, account


# ----------------------------------------------------------------------------- the scenarios


def test_acme_429_only_after_0812_on_post_shipments(requests: Rows) -> None:
    spike = at("2026-11-20T08:12:00Z")
    shipments = [
        r
        for r in requests
        if r["account_id"] == "acme" and (r["method"], r["path"]) == ("POST", "/v2/shipments")
    ]
    before = [r for r in shipments if r["ts"] < spike]
    after = [r for r in shipments if r["ts"] >= spike]
    share = lambda rs: sum(r["status"] == 429 for r in rs) / len(rs)  # noqa: E731
    assert share(before) == 0
    assert 0.3 < share(after) < 0.55
    acme_429 = [r for r in requests if r["account_id"] == "acme" and r["status"] == 429]
    assert {(r["method"], r["path"], r["error_code"]) for r in acme_429} == {
        ("POST", "/v2/shipments", "rate_limit_exceeded")
    }
    assert acme_429[0]["ts"].strftime("%Y-%m-%dT%H:%M") == "2026-11-20T08:12"
    assert json.loads(acme_429[0]["response_headers"])["x-ratelimit-remaining"] == "0"


def test_globex_402_on_writes_since_2026_11_19(requests: Rows) -> None:
    cutoff = at("2026-11-19T00:00:00Z")
    globex = [r for r in requests if r["account_id"] == "globex"]
    writes_after = [r for r in globex if r["ts"] >= cutoff and r["method"] in {"POST", "PATCH"}]
    assert writes_after and all(r["status"] == 402 for r in writes_after)
    assert {r["error_code"] for r in writes_after} == {"subscription_past_due"}
    assert not any(r["status"] == 402 for r in globex if r["ts"] < cutoff or r["method"] == "GET")
    assert min(r["ts"] for r in globex if r["status"] == 402).strftime("%Y-%m-%dT%H:%M") == "2026-11-19T00:00"


def test_hooli_export_500_from_1407(requests: Rows) -> None:
    start = at("2026-11-18T14:07:00Z")
    export = [r for r in requests if r["account_id"] == "hooli" and r["path"] == "/v2/orders/export"]
    after = [r for r in export if r["ts"] >= start]
    assert after and all((r["status"], r["error_code"]) == (500, "internal_error") for r in after)
    before = [r for r in export if r["ts"] < start]
    assert sum(r["status"] == 500 for r in before) / len(before) < 0.02
    assert after[0]["ts"].strftime("%Y-%m-%dT%H:%M") == "2026-11-18T14:07"
    other = [r for r in requests if r["account_id"] == "hooli" and r["path"] != "/v2/orders/export"]
    assert sum(r["status"] >= 500 for r in other) / len(other) < 0.005


def test_wayne_502_blip_is_brief(requests: Rows) -> None:
    blip = [r for r in requests if r["account_id"] == "wayne" and r["status"] == 502]
    assert blip
    assert all(at("2026-11-17T19:12:00Z") <= r["ts"] < at("2026-11-17T19:19:00Z") for r in blip)


def test_umbrella_webhooks_fail_since_2210_and_nobody_else(tables: dict[str, dict[str, list[Any]]]) -> None:
    deliveries = rows(tables["webhook_deliveries"])
    start = at("2026-11-19T22:10:00Z")
    umbrella = [d for d in deliveries if d["account_id"] == "umbrella"]
    after = [d for d in umbrella if d["ts"] >= start]
    assert after and all(d["response_status"] in (0, 503) for d in after)
    timeouts = [d for d in after if d["error"] == "timeout"]
    assert timeouts and all((d["response_status"], d["response_ms"]) == (0, 10000) for d in timeouts)
    assert {d["error"] for d in after if d["response_status"] == 503} == {"http_error"}
    assert after[0]["ts"].strftime("%Y-%m-%dT%H:%M") == "2026-11-19T22:10"
    assert {d["endpoint_url"] for d in umbrella} == {"https://hooks.umbrella-health.com/relay"}
    before = [d for d in umbrella if d["ts"] < start]
    assert sum(d["response_status"] != 200 for d in before) / len(before) < 0.01
    others = [d for d in deliveries if d["account_id"] != "umbrella"]
    assert sum(d["response_status"] != 200 for d in others) / len(others) < 0.01
    assert len({d["account_id"] for d in deliveries}) >= 4


def test_webhook_retries_number_attempts_from_one(tables: dict[str, dict[str, list[Any]]]) -> None:
    attempts: dict[str, list[tuple[datetime, int, int]]] = defaultdict(list)
    for d in rows(tables["webhook_deliveries"]):
        attempts[d["delivery_id"]].append((d["ts"], d["attempt"], d["response_status"]))
    retried = 0
    for history in attempts.values():
        history.sort()
        assert [a for _, a, _ in history] == list(range(1, len(history) + 1))
        assert all(status != 200 for _, _, status in history[:-1]), "a retry after a success"
        retried += len(history) > 1
    assert retried > 50


def test_initech_sso_fails_since_0648_with_the_expired_cert(tables: dict[str, dict[str, list[Any]]]) -> None:
    logins = [r for r in rows(tables["sso_logins"]) if r["account_id"] == "initech"]
    failures = [r for r in logins if r["outcome"] == "failure"]
    assert failures[0]["ts"] == at("2026-11-20T06:48:00Z")
    assert {r["error"] for r in failures} == {"Signature validation failed: signing certificate expired"}
    assert all(r["ts"] >= at("2026-11-20T00:00:00Z") for r in failures)
    assert all(r["outcome"] == "failure" for r in logins if r["ts"] >= at("2026-11-20T00:00:00Z"))
    assert len({r["cert_sha1"] for r in logins}) == 1
    assert sum(r["outcome"] == "success" for r in logins) > 100


def test_diurnal_shape_peaks_in_local_business_hours(requests: Rows) -> None:
    # acme runs on Europe/Berlin time (UTC+1 in November): peak 13:00 local = 12 UTC
    weekdays = [r["ts"] for r in requests if r["account_id"] == "acme" and r["ts"].weekday() < 5]
    by_hour = Counter(ts.hour for ts in weekdays if ts < at("2026-11-20T08:00:00Z"))
    assert by_hour[12] > 5 * by_hour[1]
    weekend = Counter(ts.date() for ts in (r["ts"] for r in requests if r["account_id"] == "acme"))
    assert weekend[datetime(2026, 11, 14).date()] < 0.5 * weekend[datetime(2026, 11, 17).date()]


# ----------------------------------------------------------------------------- the format


def small(**extra: Any) -> dict[str, Any]:
    description: dict[str, Any] = {
        "seed": 1,
        "start": "2026-01-05T00:00:00Z",
        "end": "2026-01-05T06:00:00Z",
        "requests": {
            "a": {
                "peak_rpm": 20,
                "trough": 1.0,
                "endpoints": [{"method": "GET", "path": "/x"}, {"method": "POST", "path": "/y"}],
            }
        },
    }
    description.update(extra)
    return description


def anomaly(**fields: Any) -> dict[str, Any]:
    """A request anomaly of account ``a`` from 02:00 to 03:00 on the small world's first day."""
    return {"account": "a", "start": "2026-01-05T02:00:00Z", "end": "2026-01-05T03:00:00Z", **fields}


def test_status_mix_anomaly_and_api_key_filter() -> None:
    description = small(request_anomalies=[anomaly(path="/x", status_mix={"503": 0.5, "504": 0.5})])
    got = rows(generate(description)["requests"])
    inside = [r for r in got if r["path"] == "/x" and r["ts"].hour == 2]
    assert {r["status"] for r in inside} == {503, 504}
    assert {r["error_code"] for r in inside} == {"service_unavailable", "gateway_timeout"}
    assert not any(r["status"] >= 500 for r in got if r["ts"].hour != 2 or r["path"] != "/x")
    assert {r["status"] for r in got if r["path"] == "/y"} == {201}


def test_an_account_calls_its_own_api_host() -> None:
    description = small(request_anomalies=[anomaly(status=500, share=1.0)])
    description["requests"]["a"]["host"] = "api-v7.example.test"
    failing = [r for r in rows(generate(description)["requests"]) if r["status"] >= 400]
    assert failing and {json.loads(r["request_headers"])["host"] for r in failing} == {"api-v7.example.test"}
    description["requests"]["a"]["host"] = 'x"y'
    with pytest.raises(TrafficError, match="host"):
        generate(description)


def test_an_endpoint_called_by_another_client_carries_its_user_agent() -> None:
    """A mobile app's SDK beside the account's server integration: its rows and headers name it."""
    description = small(request_anomalies=[anomaly(status=500, share=1.0)])
    account = description["requests"]["a"]
    account["user_agent"] = "clinic-server/1.0"
    account["endpoints"][1]["user_agent"] = "clinic-ios-sdk/5.4.0 (iPhone; iOS 18.1)"
    got = rows(generate(description)["requests"])
    by_path = {path: {r["user_agent"] for r in got if r["path"] == path} for path in ("/x", "/y")}
    assert by_path == {"/x": {"clinic-server/1.0"}, "/y": {"clinic-ios-sdk/5.4.0 (iPhone; iOS 18.1)"}}
    failing = [r for r in got if r["path"] == "/y" and r["status"] >= 400]
    assert failing and {json.loads(r["request_headers"])["user-agent"] for r in failing} == by_path["/y"]
    account["endpoints"][1]["user_agent"] = 'sdk"1'
    with pytest.raises(TrafficError, match=r"endpoints\[1\]\.user_agent"):
        generate(description)


def test_an_endpoint_served_by_a_cdn_edge_carries_its_host_and_region() -> None:
    """Playback served by a CDN edge in front of the API: its rows name the edge's region, its failing
    requests the edge's host; the account's other endpoints keep the account's host and region."""
    description = small(request_anomalies=[anomaly(status=500, share=1.0)])
    account = description["requests"]["a"]
    account["host"], account["region"] = "api.example.test", "eu-central-1"
    account["endpoints"][1].update(host="cdn.example.test", region="edge-sin")
    got = rows(generate(description)["requests"])
    regions = {path: {r["region"] for r in got if r["path"] == path} for path in ("/x", "/y")}
    assert regions == {"/x": {"eu-central-1"}, "/y": {"edge-sin"}}
    hosts = {
        path: {
            json.loads(r["request_headers"])["host"] for r in got if r["path"] == path and r["status"] >= 400
        }
        for path in ("/x", "/y")
    }
    assert hosts == {"/x": {"api.example.test"}, "/y": {"cdn.example.test"}}
    account["endpoints"][1]["host"] = 'cdn"x'
    with pytest.raises(TrafficError, match=r"endpoints\[1\]\.host"):
        generate(description)


def test_an_api_of_another_media_type_is_asked_for_in_it() -> None:
    """A JSON:API service: Accept, and the Content-Type of writes, are application/vnd.api+json."""
    description = small(request_anomalies=[anomaly(status=500, share=1.0)])
    description["requests"]["a"]["media_type"] = "application/vnd.api+json"
    failing = [r for r in rows(generate(description)["requests"]) if r["status"] >= 400]
    headers = [json.loads(r["request_headers"]) for r in failing]
    assert headers and {h["accept"] for h in headers} == {"application/vnd.api+json"}
    assert {h.get("content-type") for h in headers if "idempotency-key" in h} == {"application/vnd.api+json"}
    default = rows(generate(small(request_anomalies=[anomaly(status=500, share=1.0)]))["requests"])
    assert {json.loads(r["request_headers"])["accept"] for r in default if r["status"] >= 400} == {
        "application/json"
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end": "2026-01-04T00:00:00Z"}, "end must be after start"),
        ({"request_anomalies": [{"account": "zzz", "start": "2026-01-05T01:00:00Z", "end": "2026-01-05T02:00:00Z"}]},
         "unknown accounts"),
        ({"request_anomalies": [{"account": "a", "start": "2026-01-05T01:00:00Z", "end": "2026-01-05T02:00:00Z",
                                 "path": "/nope"}]}, "matches none"),
        ({"request_anomalies": [{"account": "a", "start": "2026-01-05T01:00:00Z", "end": "2026-01-05T02:00:00Z",
                                 "status_mix": {"500": 0.7, "502": 0.7}}]}, "add up to"),
        ({"start": "yesterday"}, "not an ISO 8601"),
    ],
)  # fmt: skip
def test_malformed_descriptions_are_refused_with_a_reason(change: dict[str, Any], message: str) -> None:
    with pytest.raises(TrafficError, match=message):
        generate(small(**change))
