"""How evidence is weighed (session 10), on invented companies: one source checked against another.

An endpoint slow for every account that calls it is the platform's, though nobody's overall latency moved;
a little-used endpoint that crawls is listed beside the busiest; refusals that began the minute the
subscription ended are its enforcement; an incident confirmed by its tracker record is no more "the data
alone" than the record was; requests an endpoint took until minutes after a deploy changed it, and refuses
since, are the deploy's stricter validation. No bundled world's names.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from llm_fixtures import SCHEMA
from test_differential import (
    best,
    cited,
    latency_evidence,
    state,
)
from test_logs import _request, call, columns

from casefile.agent.differential import assess
from casefile.agent.differential.evidence import slowed_endpoint
from casefile.tools.base import CallContext
from casefile.tools.logs import ClickHouseConnector
from casefile.tools.logs_results import Latency
from casefile.tools.settings import LogsSettings
from casefile.tools.world.chdb import load_tables

# NOW is 2027-03-04T15:00Z (test_differential.state).

_MINE = {
    "scope": "account",
    "p95_ms": 130.0,
    "baseline": {"p95_ms": 120.0},
    "by_endpoint": [
        {"path": "/v1/lockers/{id}/pings", "requests": 9000, "p95_ms": 40.0, "baseline_p95_ms": 38.0},
        {"path": "/v1/lockers", "requests": 1200, "p95_ms": 90.0, "baseline_p95_ms": 95.0},
        {"path": "/partner/v3/parcels", "requests": 140, "p95_ms": 7800.0, "baseline_p95_ms": 520.0},
    ],
}
# Nobody's overall p95 moved: the endpoint is a sliver of every account's traffic.
_EVERYONE = {"scope": "all", "accounts_compared": 6, "p95_ratios": [1.2, 1.1, 1.05, 1.0, 0.98, 0.9]}


def _on_the_endpoint(ratios: list[float]) -> Any:
    """logs_latency over every account on the account's slowed endpoint (``ratios``: each account's p95
    there against its own baseline, unnamed)."""
    return cited(
        Latency,
        {
            "scope": "all",
            "by_endpoint": [{"path": "/partner/v3/parcels", "requests": 900, "p95_ms": 7400.0}],
            "accounts_compared": len(ratios),
            "p95_ratios": ratios,
        },
        "c12",
        "logs_latency",
    )


def test_an_endpoint_slow_for_every_account_that_calls_it_is_the_platform() -> None:
    ticket = state("Our partner says the parcel lookups take 20 seconds since this morning. Is it only us?")
    assert slowed_endpoint(Latency.model_validate(_MINE)) is not None
    ev = latency_evidence(_MINE, _EVERYONE, latency_endpoint=_on_the_endpoint([15.0, 12.1, 9.8, 7.7, 1.1]))
    h = best(assess(ticket, ev))
    assert h.category == "performance_platform", h
    assert "/partner/v3/parcels" in h.statement and h.action == "escalate"
    assert any(c.call_id == "c12" and c.value == "15.0" for c in h.evidence)
    # Only this account is slow there: the account's own slowness, as before.
    ev = latency_evidence(_MINE, _EVERYONE, latency_endpoint=_on_the_endpoint([15.0, 1.1, 1.0, 0.9]))
    assert best(assess(ticket, ev)).category == "performance_account"
    # Without the comparison on the endpoint (not read), the account's own slowness too.
    assert best(assess(ticket, latency_evidence(_MINE, _EVERYONE))).category == "performance_account"


def test_an_endpoint_slowed_over_too_few_requests_or_not_doubled_is_not_slowed() -> None:
    few = {
        **_MINE,
        "by_endpoint": [{"path": "/v1/x", "requests": 12, "p95_ms": 9000.0, "baseline_p95_ms": 90.0}],
    }
    assert slowed_endpoint(Latency.model_validate(few)) is None
    mild = {
        **_MINE,
        "by_endpoint": [{"path": "/v1/x", "requests": 900, "p95_ms": 170.0, "baseline_p95_ms": 90.0}],
    }
    assert slowed_endpoint(Latency.model_validate(mild)) is None


_SLOW_DB = "casefile_test_logs_slowed"
_NOW = datetime(2027, 3, 4, 15, tzinfo=UTC)
_SLOWED_FROM = datetime(2027, 3, 3, 22, tzinfo=UTC)


def _crawling_report_rows(seed: int = 5) -> list[dict[str, Any]]:
    """One account: twelve busy device endpoints, and a report endpoint called once an hour whose
    answers take seconds from ``_SLOWED_FROM`` on (a fraction of a second before)."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    busy = [f"/v1/units/{{id}}/frame{n}" for n in range(12)]
    minute = _NOW - timedelta(days=8)
    while minute < _NOW:
        for path in busy[: 3 + minute.minute % 10]:
            out.append(_request(rng, minute + timedelta(seconds=rng.randrange(60)), "tamsin", path, 200, ""))
        if minute.minute == 0:
            report = _request(rng, minute + timedelta(seconds=5), "tamsin", "/v1/reports/trips", 200, "")
            report["latency_ms"] = 9000.0 if minute >= _SLOWED_FROM else 200.0
            out.append(report)
        minute += timedelta(minutes=1)
    return out


async def test_a_little_used_endpoint_that_crawls_is_listed_beside_the_busiest(client: Any) -> None:
    load_tables(client, _SLOW_DB, SCHEMA, {"requests": columns(_crawling_report_rows())})
    connector = ClickHouseConnector(LogsSettings(database=_SLOW_DB), client=client)
    window = {"start": "2027-03-03T00:00:00Z", "end": "2027-03-04T15:00:00Z"}
    data = await call(connector, "logs_latency", CallContext(now=_NOW), account_id="tamsin", **window)
    paths = [e["path"] for e in data["by_endpoint"]]
    assert "/v1/reports/trips" in paths[10:], paths  # after the ten busiest
    assert len(paths) == len(set(paths))
    report = next(e for e in data["by_endpoint"] if e["path"] == "/v1/reports/trips")
    assert report["p95_ms"] == 9000.0 and report["baseline_p95_ms"] == 200.0
    assert slowed_endpoint(Latency.model_validate(data)) is not None
