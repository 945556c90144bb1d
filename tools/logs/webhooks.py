"""logs_webhook_deliveries: one account's webhook deliveries against the platform's."""

from __future__ import annotations

import math
from typing import Any

from casefile.tools.base import CallContext, operation
from casefile.tools.errors import SourceUnavailable
from casefile.tools.logs.args import WindowArgs
from casefile.tools.logs.common import LOOKBACK, PLATFORM_SAMPLE, SOURCE, TOP_N, Table
from casefile.tools.logs.engine import LogsEngine
from casefile.tools.logs.pool import gather
from casefile.tools.logs.render import render_webhooks
from casefile.tools.logs.values import from_ms, ms_or_none, rate_of

__all__ = ["WebhookDeliveries"]


class WebhookDeliveries(LogsEngine):
    """logs_webhook_deliveries."""

    @operation("logs_webhook_deliveries", WindowArgs, render=render_webhooks)
    async def webhook_deliveries(self, args: WindowArgs, ctx: CallContext) -> dict[str, Any]:
        """Webhook delivery attempts to one account's endpoints over a window.

        Failure rate (a failure is no 2xx response or a delivery error), response
        statuses and errors (timeout, connection_refused, ...), the endpoint URLs,
        the last successful delivery and since when deliveries fail, response-time
        percentiles and history, and the failure rate of every other account over the
        same window (to tell our dispatcher's fault from the customer's endpoint).
        """
        t = self.webhooks
        failed = self._webhook_failure(t)
        params = self._window_params(args.account_id, args.start, args.end)
        latency = f"toFloat64({t.latency})" if t.latency else "toFloat64(0)"
        status_sql = t.status or "NULL"
        error_sql = t.error or "''"
        url_sql = t.path or "''"
        hours = max(1.0, (args.end - args.start).total_seconds() / 3600)
        step = next((h for h in (1, 3, 6, 12, 24) if hours / h <= 48), 24 * math.ceil(hours / 24 / 48))
        # The platform baseline: other accounts from the directory (at most PLATFORM_SAMPLE of
        # them, so the read follows the (account, time) key instead of scanning every account's
        # window); without a directory, every other account.
        others = [a for a in ctx.baseline_accounts if a != args.account_id][:PLATFORM_SAMPLE]
        scope = f"{t.account} IN {{others:Array(String)}}" if others else f"{t.account} != {{account:String}}"
        # Independent queries run at once; only "failing since" needs the last success first.
        results = await gather(
            {
                "totals": self._query(
                    f"SELECT count() AS attempts, countIf({failed}) AS failures, "
                    f"quantilesExact(0.5, 0.95)({latency}) AS q, max({latency}) AS mx "
                    f"FROM {t.name} WHERE {t.account_range()}",
                    params,
                ),
                # One pass for statuses, errors and endpoint URLs: a few distinct combinations per account.
                "groups": self._query(
                    f"SELECT {status_sql} AS s, {error_sql} AS e, {url_sql} AS u, count() AS n FROM {t.name} "
                    f"WHERE {t.account_range()} GROUP BY s, e, u ORDER BY n DESC LIMIT 1000",
                    params,
                ),
                "last": self._query(
                    f"SELECT {t.ts_ms} AS ts_ms, {status_sql} AS response_status, {latency} AS response_ms "
                    f"FROM {t.name} "
                    f"WHERE {t.account_range()} AND NOT ({failed}) ORDER BY {t.time} DESC LIMIT 1",
                    self._window_params(args.account_id, args.start - LOOKBACK, args.end),
                ),
                "history": self._query(
                    f"SELECT intDiv({t.ts_ms}, {step * 3_600_000}) * {step * 3_600_000} AS h, "
                    f"count() AS attempts, countIf({failed}) AS failures, "
                    f"quantileExact(0.95)({latency}) AS p95 FROM {t.name} "
                    f"WHERE {t.account_range()} GROUP BY h ORDER BY h",
                    params,
                ),
                "platform": self._query(
                    f"SELECT count() AS attempts, countIf({failed}) AS failures FROM {t.name} "
                    f"WHERE {scope} AND {t.time_range()}",
                    {**params, "others": others} if others else params,
                ),
            }
        )
        totals = results["totals"].one()
        attempts = int(totals["attempts"] or 0)
        failures = int(totals["failures"] or 0)
        q = list(totals["q"] or [None, None]) if attempts else [None, None]
        by_status: dict[int, int] = {}
        by_error: dict[str, int] = {}
        url_set: set[str] = set()
        for status_value, error_value, url_value, n in results["groups"].rows:
            if status_value is not None:
                by_status[int(status_value)] = by_status.get(int(status_value), 0) + int(n)
            if error_value:
                by_error[str(error_value)] = by_error.get(str(error_value), 0) + int(n)
            if url_value:
                url_set.add(str(url_value))
        statuses = [
            {"status": k, "count": v} for k, v in sorted(by_status.items(), key=lambda kv: (-kv[1], kv[0]))
        ][:TOP_N]
        errors = [
            {"error": k, "count": v} for k, v in sorted(by_error.items(), key=lambda kv: (-kv[1], kv[0]))
        ][:TOP_N]
        urls = sorted(url_set)[:TOP_N]
        last = results["last"]
        last_success = None
        since_params = params
        if last.rows:
            row = last.one()
            last_success = {
                "ts": from_ms(row["ts_ms"]),
                "response_status": None if row["response_status"] is None else int(row["response_status"]),
                "response_ms": ms_or_none(row["response_ms"]),
            }
            since_params = {**params, "ls": int(row["ts_ms"])}
        since_filter = f" AND {t.ts_ms} > {{ls:Int64}}" if "ls" in since_params else ""
        failing = await self._query(
            f"SELECT min({t.ts_ms}) AS first_ms, count() AS n FROM {t.name} "
            f"WHERE {t.account_range()} AND {failed}{since_filter}",
            since_params,
        )
        failing_row = failing.one()
        failing_since = from_ms(failing_row["first_ms"]) if int(failing_row["n"] or 0) else None
        history = results["history"]
        platform = results["platform"].one()
        p_attempts = int(platform["attempts"] or 0)
        p_failures = int(platform["failures"] or 0)
        return {
            "account_id": args.account_id,
            "attempts": attempts,
            "failures": failures,
            "failure_rate": rate_of(failures, attempts),
            "by_response_status": statuses,
            "by_error": errors,
            "endpoint_urls": urls,
            "last_success": last_success,
            "failing_since": failing_since,
            "response_ms": {
                "p50": ms_or_none(q[0]),
                "p95": ms_or_none(q[1]),
                "max": ms_or_none(totals["mx"]) if attempts else None,
            },
            "history": [
                {"hour": from_ms(h), "attempts": int(n), "failures": int(f), "p95_ms": ms_or_none(p)}
                for h, n, f, p in history.rows
            ],
            "platform": {
                "attempts": p_attempts,
                "failures": p_failures,
                "failure_rate": rate_of(p_failures, p_attempts),
            },
        }

    @staticmethod
    def _webhook_failure(t: Table) -> str:
        parts = []
        if t.status is not None:
            parts.append(f"({t.status} < 200 OR {t.status} >= 300)")
        if t.error is not None:
            parts.append(f"{t.error} != ''")
        if not parts:
            raise SourceUnavailable(
                SOURCE, "logs settings map neither status nor error for webhook deliveries"
            )
        return "(" + " OR ".join(parts) + ")"
