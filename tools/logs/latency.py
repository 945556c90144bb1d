"""Operations over the request log's timings and rows: latency against a baseline, recent requests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from casefile.tools.base import CallContext, operation
from casefile.tools.logs.args import LatencyArgs, RecentRequestsArgs
from casefile.tools.logs.common import LOOKBACK, PLATFORM_RATIOS, TOP_N, TS_PARAM, ident
from casefile.tools.logs.engine import LogsEngine
from casefile.tools.logs.pool import gather
from casefile.tools.logs.render import render_latency, render_recent_requests
from casefile.tools.logs.values import as_utc, from_ms, ms_or_none, param_ts, plain

__all__ = ["RequestTimings"]

# Endpoints listed besides the busiest: those whose p95 rose most against their own baseline, at least
# SLOWED_RATIO times, over at least SLOWED_MIN requests in the window and in the baseline (a quiet
# endpoint's p95 over a few dozen requests wanders to twice its baseline by chance).
SLOWED_N = 3
SLOWED_MIN = 30
SLOWED_RATIO = 3


def _busiest_then_slowed(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The busiest endpoints' rows, then those of the endpoints that slowed most not among them."""
    rows = [*(results["endpoints"].dicts() if "endpoints" in results else [])]
    seen = {r["path"] for r in rows}
    return rows + [
        r for r in (results["slowed"].dicts() if "slowed" in results else []) if r["path"] not in seen
    ]


class RequestTimings(LogsEngine):
    """logs_latency and logs_recent_requests."""

    @operation("logs_latency", LatencyArgs, render=render_latency)
    async def latency(self, args: LatencyArgs, ctx: CallContext) -> dict[str, Any]:
        """Latency percentiles (p50/p95/p99, ms) over a window against a baseline.

        With an account: that account, per endpoint, and its slowest requests with
        trace ids. With account_id null: the whole platform, how many accounts were compared
        and their p95 ratios to their own baselines (highest first, without names), to tell
        "one customer is slow" from "everything is slow".
        """
        t = self.requests
        t.require("latency")
        base_start = args.start - timedelta(days=args.baseline_days)
        scoped = args.account_id is not None
        where = t.account_range() if scoped else t.time_range()
        path_filter = ""
        extra: dict[str, Any] = {"w0": param_ts(args.start)}
        if args.path is not None:
            t.require("path")
            path_filter = f" AND {t.path} = {{path:String}}"
            extra["path"] = args.path
        span = self._window_params(args.account_id, base_start, args.end, **extra)
        window = self._window_params(args.account_id, args.start, args.end, **extra)
        in_window = f"{t.time} >= {{w0:{TS_PARAM}}}"
        lat = f"toFloat64({t.latency})"

        optional = await self._optional(t, ["trace_id", "region"])
        path_sql = t.path or "''"
        # The queries are independent: they run at once (the connector keeps several clients).
        queries = {
            "totals": self._query(
                f"SELECT countIf({in_window}) AS requests, "
                f"quantilesExactIf(0.5, 0.95, 0.99)({lat}, {in_window}) AS w, "
                f"quantilesExactIf(0.5, 0.95, 0.99)({lat}, NOT ({in_window})) AS b "
                f"FROM {t.name} WHERE {where}{path_filter}",
                span,
            )
        }
        if scoped:  # other accounts' requests are not shown, only aggregates over them
            queries["slowest"] = self._query(
                f"SELECT {t.ts_ms} AS ts_ms, {optional['trace_id']} AS trace_id, {path_sql} AS path, "
                f"{lat} AS latency_ms FROM {t.name} WHERE {where}{path_filter} "
                f"ORDER BY latency_ms DESC, ts_ms LIMIT 5",
                window,
            )
        if t.path is not None:
            per_path = (
                f"SELECT {t.path} AS path, countIf({in_window}) AS requests, "
                f"quantileExactIf(0.95)({lat}, {in_window}) AS p95, "
                f"quantileExactIf(0.95)({lat}, NOT ({in_window})) AS bp95, countIf(NOT ({in_window})) AS bn "
                f"FROM {t.name} WHERE {where}{path_filter} GROUP BY path "
            )
            queries["endpoints"] = self._query(
                f"{per_path}HAVING requests > 0 ORDER BY requests DESC, path LIMIT {TOP_N}", span
            )
            # The busiest endpoints hide a little-used one that crawls (a nightly report's pages among
            # thousands of device frames): those that slowed most against their own baseline are listed too.
            queries["slowed"] = self._query(
                f"{per_path}HAVING requests >= {SLOWED_MIN} AND bn >= {SLOWED_MIN} "
                f"AND p95 >= {SLOWED_RATIO} * greatest(bp95, 1) "
                f"ORDER BY p95 / greatest(bp95, 1) DESC, path LIMIT {SLOWED_N}",
                span,
            )
        if optional["region"] != "NULL":
            queries["regions"] = self._regions(where, path_filter, in_window, lat, span, scoped)
        if not scoped:
            # Other accounts only as an aggregate: how many were compared and their p95 ratios to
            # their own baselines, highest first. Their ids never leave the database.
            queries["accounts"] = self._query(
                f"SELECT count() AS compared, arraySlice(arrayReverseSort(groupArray(ratio)), 1, {PLATFORM_RATIOS}) "
                f"AS ratios FROM (SELECT round(quantileExactIf(0.95)({lat}, {in_window}) / "
                f"greatest(quantileExactIf(0.95)({lat}, NOT ({in_window})), 1), 2) AS ratio FROM {t.name} "
                f"WHERE {where}{path_filter} GROUP BY {t.account} "
                f"HAVING countIf({in_window}) >= 20 AND countIf(NOT ({in_window})) >= 20)",
                span,
            )
        results = await gather(queries)
        totals = results["totals"].one()
        w = list(totals["w"] or [None] * 3) if totals["requests"] else [None] * 3
        b = list(totals["b"] or [None] * 3) if args.baseline_days else [None] * 3
        by_endpoint = [
            {
                "path": r["path"],
                "requests": int(r["requests"]),
                "p95_ms": ms_or_none(r["p95"]),
                "baseline_p95_ms": ms_or_none(r["bp95"]) if int(r["bn"]) else None,
            }
            for r in _busiest_then_slowed(results)
        ]
        slowest = results["slowest"].dicts() if scoped else []
        result: dict[str, Any] = {
            "scope": "account" if scoped else "all",
            "account_id": args.account_id,
            "requests": int(totals["requests"] or 0),
            "p50_ms": ms_or_none(w[0]),
            "p95_ms": ms_or_none(w[1]),
            "p99_ms": ms_or_none(w[2]),
            "baseline": {"p50_ms": ms_or_none(b[0]), "p95_ms": ms_or_none(b[1]), "p99_ms": ms_or_none(b[2])},
            "by_endpoint": by_endpoint,
            "slowest": [
                {
                    "ts": from_ms(r["ts_ms"]),
                    "trace_id": r["trace_id"],
                    "path": r["path"],
                    "latency_ms": ms_or_none(r["latency_ms"]),
                }
                for r in slowest
            ],
        }
        regions = results["regions"].dicts() if "regions" in results else []
        result["by_region"] = [
            {
                "region": r["region"],
                "requests": int(r["requests"]),
                "p95_ms": ms_or_none(r["p95"]),
                "baseline_p95_ms": ms_or_none(r["bp95"]) if int(r["bn"]) else None,
            }
            if scoped
            else {
                "region": r["region"],
                "accounts": int(r["accounts"]),
                "slow_accounts": int(r["slow"]),
                "top_ratio": float(r["top"]),
            }
            for r in regions
        ]
        if not scoped:
            accounts = results["accounts"].one()
            result["accounts_compared"] = int(accounts["compared"] or 0)
            result["p95_ratios"] = [float(r) for r in accounts["ratios"] or []]
        return result

    def _regions(
        self, where: str, path_filter: str, in_window: str, lat: str, span: dict[str, Any], scoped: bool
    ) -> Any:
        """Latency per region (a CDN edge, a data center): the account's own p95 against its baseline
        there, or, across the platform, how many accounts each region serves and how many of them are
        at 1.5× their own baseline there or more, with the highest such ratio (aggregates over at least
        two accounts; none named)."""
        t = self.requests
        region = ident("region")
        if scoped:
            return self._query(
                f"SELECT {region} AS region, countIf({in_window}) AS requests, countIf(NOT ({in_window})) AS bn, "
                f"quantileExactIf(0.95)({lat}, {in_window}) AS p95, "
                f"quantileExactIf(0.95)({lat}, NOT ({in_window})) AS bp95 FROM {t.name} "
                f"WHERE {where}{path_filter} GROUP BY region HAVING requests > 0 "
                f"ORDER BY requests DESC, region LIMIT {TOP_N}",
                span,
            )
        return self._query(
            f"SELECT region, count() AS accounts, countIf(ratio >= 1.5) AS slow, max(ratio) AS top "
            f"FROM (SELECT {region} AS region, round(quantileExactIf(0.95)({lat}, {in_window}) / "
            f"greatest(quantileExactIf(0.95)({lat}, NOT ({in_window})), 1), 2) AS ratio FROM {t.name} "
            f"WHERE {where}{path_filter} GROUP BY region, {t.account} "
            f"HAVING countIf({in_window}) >= 20 AND countIf(NOT ({in_window})) >= 20) "
            f"GROUP BY region HAVING accounts >= 2 ORDER BY slow DESC, top DESC, region LIMIT {TOP_N}",
            span,
        )

    @operation("logs_recent_requests", RecentRequestsArgs, render=render_recent_requests)
    async def recent_requests(self, args: RecentRequestsArgs, ctx: CallContext) -> dict[str, Any]:
        """The account's most recent API requests, newest first (at most 200), one line each.

        Shows method, route, status, error code, latency, request and trace ids, the
        API key hash and (in the data) the redacted request/response headers. Filter
        by status or path to see only the failing calls. `before` defaults to the
        ticket's time; requests older than 7 days before it are not searched.
        """
        t = self.requests
        t.require("status", "path")
        before = args.before or as_utc(ctx.now)
        extras = ["method", "request_id", "trace_id", "api_key_hash", "request_headers", "response_headers"]
        optional = await self._optional(t, extras)
        filters = ""
        extra: dict[str, Any] = {}
        if args.status is not None:
            filters += f" AND {t.status} = {{status:UInt16}}"
            extra["status"] = args.status
        if args.path is not None:
            filters += f" AND {t.path} = {{path:String}}"
            extra["path"] = args.path
        error_sql = t.error or "''"
        latency_sql = f"toFloat64({t.latency})" if t.latency else "NULL"
        rows = await self._query(
            f"SELECT {t.ts_ms} AS ts_ms, {optional['method']} AS method, {t.path} AS path, "
            f"{t.status} AS status, "
            f"{error_sql} AS error_code, {latency_sql} AS latency_ms, "
            + ", ".join(f"{optional[n]} AS {n}" for n in extras[1:])
            + f" FROM {t.name} WHERE {t.account_range()}{filters} ORDER BY {t.time} DESC LIMIT {args.limit}",
            self._window_params(args.account_id, before - LOOKBACK, before, **extra),
        )
        requests = []
        counts: dict[str, int] = {}
        for r in rows.dicts():
            ts = from_ms(r.pop("ts_ms"))
            r["status"] = int(r["status"])
            r["latency_ms"] = ms_or_none(r["latency_ms"])
            requests.append({"ts": ts, **{k: plain(v) for k, v in r.items()}})
            counts[str(r["status"])] = counts.get(str(r["status"]), 0) + 1
        return {
            "account_id": args.account_id,
            "requests": requests,
            "status_counts": dict(sorted(counts.items())),
        }
