"""Operations over the request log's errors: the error summary with its spike, the top errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from casefile.tools.base import CallContext, operation
from casefile.tools.logs.args import ErrorSummaryArgs, TopErrorsArgs
from casefile.tools.logs.common import (
    BASELINE_DAYS,
    OTHERS_PAIRS,
    PLATFORM_SAMPLE,
    SPIKE_BUCKETS_MINUTES,
    TOP_N,
    TS_PARAM,
    Table,
)
from casefile.tools.logs.engine import LogsEngine
from casefile.tools.logs.pool import gather
from casefile.tools.logs.render import render_error_summary, render_top_errors
from casefile.tools.logs.spike import Spike, coarsen, detect_spike, earliest, hot_endpoint
from casefile.tools.logs.values import as_iso, from_ms, param_ts, plain, rate_of, ratio

__all__ = ["RequestErrors"]


class RequestErrors(LogsEngine):
    """logs_error_summary and logs_top_errors."""

    @operation("logs_error_summary", ErrorSummaryArgs, render=render_error_summary)
    async def error_summary(self, args: ErrorSummaryArgs, ctx: CallContext) -> dict[str, Any]:
        """Error rate of one account's API requests over a window, against a baseline.

        Returns totals (an error is HTTP status >= 400, or only `status` when given),
        the breakdown by status with each status's baseline rate, the top endpoints
        and error codes, and the spike: when the error rate jumped and stayed up
        (5-minute buckets), with the exact first error. Use it first for "errors
        since ...". `path` narrows everything to one route template.
        """
        t = self.requests
        t.require("status")
        base_start = args.start - timedelta(days=args.baseline_days)
        is_error = f"{t.status} = {{status:UInt16}}" if args.status is not None else t.failed()
        path_filter = ""
        extra: dict[str, Any] = {"w0": param_ts(args.start)}
        if args.status is not None:
            extra["status"] = args.status
        if args.path is not None:
            t.require("path")
            path_filter = f" AND {t.path} = {{path:String}}"
            extra["path"] = args.path
        params = self._window_params(args.account_id, base_start, args.end, **extra)
        in_window = f"{t.time} >= {{w0:{TS_PARAM}}}"

        window_params = self._window_params(args.account_id, args.start, args.end, **extra)
        rows, endpoints, codes, fine, hot = await self._breakdown(t, is_error, path_filter, in_window, params)
        requests = sum(int(r["w_n"]) for r in rows)
        base_requests = sum(int(r["b_n"]) for r in rows)
        errors = sum(int(r["w_errors"]) for r in rows)
        base_errors = sum(int(r["b_errors"]) for r in rows)
        # Each status's failures: all of a 4xx/5xx's requests, a 2xx's that carry an error code.
        for r in rows:
            failing = int(r["status"]) >= 400
            r["w_n"], r["b_n"] = (r["w_n"], r["b_n"]) if failing else (r["w_errors"], r["b_errors"])
        statuses = sorted(
            (r for r in rows if int(r["w_n"]) > 0), key=lambda r: (-int(r["w_n"]), int(r["status"]))
        )[:TOP_N]

        base_rate = ratio(base_errors, base_requests)
        found = earliest(
            [detect_spike(coarsen(fine, m * 60_000), base_rate, m) for m in SPIKE_BUCKETS_MINUTES]
        )
        own = (
            await self._endpoint_spike(hot, t, is_error, window_params) if hot and args.path is None else None
        )
        spike = None
        if found is not None:
            spike = await self._describe_spike(found, t, is_error, path_filter, window_params)
        # One endpoint can fail hard while the account-wide rate barely moves, or long before it does
        # (a night's thin traffic), or the account-wide jump was opened by another status than the one
        # that dominates after it (a half-hour of 401s, then an endpoint's 500s the next day): the
        # endpoint's own spike then says when its failures began.
        mixed = spike is not None and spike.pop("opened_by") != spike["status"]
        if own is not None and hot is not None and (found is None or mixed or own.earlier_than(found)):
            scoped = {**window_params, "hot_path": hot[0]}
            own = own if found is None or mixed else own.as_confirmed()
            spike = await self._describe_spike(
                own, t, is_error, f" AND {t.path} = {{hot_path:String}}", scoped
            )
            spike.pop("opened_by")
            spike["path"] = hot[0]
        return {
            "account_id": args.account_id,
            "window": {"start": as_iso(args.start), "end": as_iso(args.end)},
            "requests": requests,
            "errors": errors,
            "error_rate": rate_of(errors, requests),
            "baseline": {
                "start": as_iso(base_start),
                "end": as_iso(args.start),
                "requests": base_requests,
                "errors": base_errors,
                "error_rate": rate_of(base_errors, base_requests),
            },
            "by_status": [
                {
                    "status": int(r["status"]),
                    "count": int(r["w_n"]),
                    "rate": rate_of(int(r["w_n"]), requests),
                    "baseline_rate": rate_of(int(r["b_n"]), base_requests),
                }
                for r in statuses
            ],
            "top_endpoints": [
                {
                    "path": e["path"],
                    "requests": int(e["requests"]),
                    "errors": int(e["errors"]),
                    "error_rate": rate_of(int(e["errors"]), int(e["requests"])),
                    "baseline_error_rate": e["baseline_error_rate"],
                }
                for e in endpoints
            ],
            "top_error_codes": [{"error_code": c["error_code"], "count": int(c["count"])} for c in codes],
            "spike": spike,
        }

    async def _breakdown(
        self, t: Table, is_error: str, path_filter: str, in_window: str, params: dict[str, Any]
    ) -> tuple[
        list[dict[str, Any]],
        list[dict[str, Any]],
        list[dict[str, Any]],
        list[tuple[int, int, int]],
        tuple[str, float] | None,
    ]:
        """Counts by status (window and baseline), and the window's top endpoints, top error
        codes and 5-minute buckets, in one scan: a query costs the engine a few ms however
        small, and this one replaces four.
        """
        finest = SPIKE_BUCKETS_MINUTES[0] * 60_000
        keys = {"status": t.status}
        if t.path is not None:
            keys["path"] = t.path
        if t.error is not None:
            keys["error_code"] = t.error
        keys["bucket"] = f"if({in_window}, intDiv({t.ts_ms}, {finest}) * {finest}, -1)"
        names = list(keys)
        result = await self._query(
            "SELECT "
            + "".join(f"{sql} AS {name}, " for name, sql in keys.items())
            + f"grouping({', '.join(names)}) AS grouped_by, countIf({in_window}) AS w_n, "
            f"countIf(NOT ({in_window})) AS b_n, countIf({in_window} AND {is_error}) AS w_errors, "
            f"countIf(NOT ({in_window}) AND {is_error}) AS b_errors "
            f"FROM {t.name} WHERE {t.account_range()}{path_filter} "
            f"GROUP BY GROUPING SETS ({', '.join(f'({n})' for n in names)})",
            params,
        )
        # grouping() has a 0 bit for each key its row is grouped by, the first key the highest bit.
        n = len(names)
        set_of_mask = {((1 << n) - 1) ^ (1 << (n - 1 - i)): (name, i) for i, name in enumerate(names)}
        # Rows stay tuples (key, window count, baseline count, window errors, baseline errors):
        # there can be thousands.
        sets: dict[str, list[tuple[Any, int, int, int, int]]] = {name: [] for name in names}
        for row in result.rows:
            name, i = set_of_mask[int(row[n])]
            sets[name].append((row[i], int(row[n + 1]), int(row[n + 2]), int(row[n + 3]), int(row[n + 4])))
        statuses = [
            {"status": key, "w_n": w_n, "b_n": b_n, "w_errors": w_errors, "b_errors": b_errors}
            for key, w_n, b_n, w_errors, b_errors in sorted(sets["status"], key=lambda r: int(r[0]))
        ]
        endpoints = [
            {
                "path": key,
                "requests": w_n,
                "errors": w_errors,
                "baseline_error_rate": rate_of(b_errors, b_n) if b_n else None,
            }
            for key, w_n, b_n, w_errors, b_errors in sorted(
                (r for r in sets.get("path", []) if r[1] > 0), key=lambda r: (-r[3], -r[1], str(r[0]))
            )[:TOP_N]
        ]
        codes = [
            {"error_code": key, "count": w_errors}
            for key, _, _, w_errors, _ in sorted(
                (r for r in sets.get("error_code", []) if r[3] > 0 and r[0] not in ("", None)),
                key=lambda r: (-r[3], str(r[0])),
            )[:TOP_N]
        ]
        fine = sorted((int(key), w_n, w_errors) for key, w_n, _, w_errors, _ in sets["bucket"] if key != -1)
        return statuses, endpoints, codes, fine, hot_endpoint(sets.get("path", []))

    async def _endpoint_spike(
        self, hot: tuple[str, float], t: Table, is_error: str, params: dict[str, Any]
    ) -> Spike | None:
        """The spike of one endpoint's errors against that endpoint's own baseline rate."""
        path, baseline_rate = hot
        finest = SPIKE_BUCKETS_MINUTES[0] * 60_000
        result = await self._query(
            f"SELECT intDiv({t.ts_ms}, {finest}) * {finest} AS bucket, "
            f"count() AS requests, countIf({is_error}) AS errors FROM {t.name} "
            f"WHERE {t.account_range()} AND {t.path} = {{hot_path:String}} GROUP BY bucket ORDER BY bucket",
            {**params, "hot_path": path},
        )
        fine = [(int(b), int(n), int(e)) for b, n, e in result.rows]
        return earliest(
            [detect_spike(coarsen(fine, m * 60_000), baseline_rate, m) for m in SPIKE_BUCKETS_MINUTES]
        )

    async def _describe_spike(
        self, spike: Spike, t: Table, is_error: str, path_filter: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """The spike as the tool reports it: its dominant status and its first error."""
        minutes = spike.bucket_minutes
        detail_params = {
            **params,
            "s0": param_ts(spike.start),
            "s1": param_ts(spike.start + timedelta(minutes=minutes)),
        }
        # Per status since the spike: how many errors, and the first inside its first bucket.
        detail = await self._query(
            f"SELECT {t.status} AS status, count() AS n, "
            f"minIf({t.ts_ms}, {t.time} < {{s1:{TS_PARAM}}}) AS first_ms, "
            f"countIf({t.time} < {{s1:{TS_PARAM}}}) AS in_first FROM {t.name} WHERE "
            f"{t.account_range()}{path_filter} AND {is_error} AND {t.time} >= {{s0:{TS_PARAM}}} "
            f"GROUP BY status",
            detail_params,
        )
        per_status = detail.dicts()
        firsts = [int(r["first_ms"]) for r in per_status if int(r["in_first"]) > 0]
        top = min(per_status, key=lambda r: (-int(r["n"]), int(r["status"])), default=None)
        opening = min(
            per_status, key=lambda r: (-int(r["in_first"]), -int(r["n"]), int(r["status"])), default=None
        )
        return {
            # The status that opened it (most errors in its first bucket); not reported, compared.
            "opened_by": int(opening["status"]) if opening else None,
            "start": as_iso(spike.start),
            "first_error_at": from_ms(min(firsts)) if firsts else None,
            "status": int(top["status"]) if top else None,
            "bucket_minutes": minutes,
            "before_rate": round(spike.before_rate, 4),
            "after_rate": round(spike.after_rate, 4),
            "peak_rate": round(spike.peak_rate, 4),
            "errors_since": spike.errors_since,
        }

    @operation("logs_top_errors", TopErrorsArgs, render=render_top_errors)
    async def top_errors(self, args: TopErrorsArgs, ctx: CallContext) -> dict[str, Any]:
        """The errors one account actually gets, those that grew most first, and whether others get them too.

        Each row is one (status, error code, endpoint, API key[, message]) combination
        with its count, its count in the 7 days before (``before``; 0: new), its share of
        the account's errors and first/last time seen; then
        each API key's requests and failures (a revoked or test key fails alone); then,
        for the top error combinations, how many other accounts saw the same status and
        code in the window (an error nobody else sees is usually the customer's). Use it
        to quote the customer's own errors.
        """
        t = self.requests
        t.require("status")
        optional = await self._optional(t, ["api_key_hash", "error_message", "message"])
        message = optional["error_message"] if optional["error_message"] != "NULL" else optional["message"]
        key, code, path = optional["api_key_hash"], t.error or "''", t.path or "''"
        extra: dict[str, Any] = {}
        path_filter = ""
        if args.path is not None:
            t.require("path")
            path_filter = f" AND {t.path} = {{path:String}}"
            extra["path"] = args.path
        params = self._window_params(args.account_id, args.start, args.end, **extra)
        first = f"{t.status} IN {{reported:Array(UInt16)}} DESC, " if args.statuses else ""
        if args.statuses:
            params["reported"] = [s for s in args.statuses if 100 <= s <= 599]
        base_start = args.start - timedelta(days=BASELINE_DAYS)
        # Rows are ranked by how far they exceed their own history (scaled by the windows' lengths):
        # the errors that are new or grew come first, not the account's usual background.
        ratio = (args.end - args.start) / timedelta(days=BASELINE_DAYS)
        in_window = f"{t.time} >= {{w0:{TS_PARAM}}}"
        wide = {
            **self._window_params(args.account_id, base_start, args.end, **extra),
            "w0": param_ts(args.start),
        }
        if args.statuses:
            wide["reported"] = params["reported"]
        results = await gather(
            {
                # Each combination's count in the window, and in the 7 days before it (a code the
                # account never got before is news even when it is rare).
                "top": self._query(
                    f"SELECT {t.status} AS status, {code} AS error_code, {path} AS path, {key} AS api_key_hash, "
                    f"anyIf({message}, {in_window}) AS message, countIf({in_window}) AS n, "
                    f"countIf(NOT ({in_window})) AS before_n, minIf({t.ts_ms}, {in_window}) AS first_ms, "
                    f"maxIf({t.ts_ms}, {in_window}) AS last_ms FROM {t.name} WHERE {t.account_range()}{path_filter} "
                    f"AND {t.failed()} GROUP BY status, error_code, path, api_key_hash HAVING n > 0 "
                    f"ORDER BY {first}greatest(n - before_n * {ratio:.6f}, 0) DESC, n DESC, status LIMIT {TOP_N}",
                    wide,
                ),
                "baseline": self._query(
                    f"SELECT count() AS n FROM {t.name} WHERE {t.account_range()}{path_filter}",
                    self._window_params(args.account_id, base_start, args.start, **extra),
                ),
                "keys": self._query(
                    f"SELECT {key} AS api_key_hash, count() AS n, countIf({t.failed()}) AS errors "
                    f"FROM {t.name} WHERE {t.account_range()}{path_filter} GROUP BY api_key_hash "
                    f"ORDER BY n DESC LIMIT {TOP_N}",
                    params,
                ),
            }
        )
        top = results["top"].dicts()
        keys = [k for k in results["keys"].dicts() if k["api_key_hash"] not in (None, "")]
        requests = sum(int(k["n"]) for k in results["keys"].dicts())
        errors = sum(int(k["errors"]) for k in results["keys"].dicts())
        pairs = list(dict.fromkeys((int(r["status"]), str(r["error_code"] or "")) for r in top))[
            :OTHERS_PAIRS
        ]
        others: list[dict[str, Any]] = []
        others_requests = others_before = 0
        if pairs:
            # Other accounts (from the directory when there is one, along the (account, ts) key).
            sample = [a for a in ctx.baseline_accounts if a != args.account_id][:PLATFORM_SAMPLE]
            scope = (
                f"{t.account} IN {{others:Array(String)}}" if sample else f"{t.account} != {{account:String}}"
            )
            wanted = " OR ".join(
                f"({t.status} = {{s{i}:UInt16}} AND {code} = {{c{i}:String}})" for i in range(len(pairs))
            )
            pair_params = {f"s{i}": s for i, (s, _) in enumerate(pairs)} | {
                f"c{i}": c for i, (_, c) in enumerate(pairs)
            }
            # Over the window and the 7 days before it: each code's rate elsewhere now and before, the
            # baseline that tells a code's usual background from news (aggregates only, no other
            # account's rows or ids).
            scoped = {**wide, **({"others": sample} if sample else {})}
            scoped.pop("reported", None)
            found = await gather(
                {
                    "seen": self._query(
                        f"SELECT {t.status} AS status, {code} AS error_code, "
                        f"uniqExactIf({t.account}, {in_window}) AS accounts, countIf({in_window}) AS n, "
                        f"countIf(NOT ({in_window})) AS before_n, minIf({t.ts_ms}, {in_window}) AS first_ms, "
                        f"maxIf({t.ts_ms}, {in_window}) AS last_ms FROM {t.name} WHERE {scope} AND {t.time_range()}"
                        f"{path_filter} AND ({wanted}) GROUP BY status, error_code ORDER BY n DESC",
                        {**scoped, **pair_params},
                    ),
                    # Their requests, so a shared error compares as a rate: many accounts' usual few
                    # 422s are not one account's flood of them.
                    "volume": self._query(
                        f"SELECT countIf({in_window}) AS n, countIf(NOT ({in_window})) AS before_n FROM {t.name} "
                        f"WHERE {scope} AND {t.time_range()}{path_filter}",
                        scoped,
                    ),
                }
            )
            seen = found["seen"]
            volume = found["volume"].one()
            others_requests = int(volume["n"] or 0)
            others_before = int(volume["before_n"] or 0)
            counted = {(int(r["status"]), str(r["error_code"] or "")): r for r in seen.dicts()}
            # Every compared pair is listed, zeros included: "nobody else got it" is a finding too.
            others = sorted(
                (
                    {
                        "status": status,
                        "error_code": code_of,
                        "accounts": int(r["accounts"]) if r else 0,
                        "count": int(r["n"]) if r else 0,
                        "before": int(r["before_n"]) if r else 0,
                        # when the others' run of it began and ended: an incident outlives one account's
                        # last request
                        "first_at": from_ms(r["first_ms"]) if r and int(r["n"]) else None,
                        "last_at": from_ms(r["last_ms"]) if r and int(r["n"]) else None,
                    }
                    for (status, code_of), r in ((p, counted.get(p)) for p in pairs)
                ),
                key=lambda o: -int(o["count"]),
            )
        return {
            "account_id": args.account_id,
            "window": {"start": as_iso(args.start), "end": as_iso(args.end)},
            "requests": requests,
            "errors": errors,
            "baseline_requests": int(results["baseline"].one()["n"] or 0),
            "top": [
                {
                    "status": int(r["status"]),
                    "error_code": plain(r["error_code"]) or "",
                    "path": plain(r["path"]) or "",
                    "api_key_hash": plain(r["api_key_hash"]),
                    "message": plain(r["message"]) or None,
                    "count": int(r["n"]),
                    "before": int(r["before_n"]),
                    "share": rate_of(int(r["n"]), errors),
                    "first_at": from_ms(r["first_ms"]),
                    "last_at": from_ms(r["last_ms"]),
                }
                for r in top
            ],
            "keys": [
                {
                    "api_key_hash": plain(k["api_key_hash"]),
                    "requests": int(k["n"]),
                    "errors": int(k["errors"]),
                }
                for k in keys
            ],
            "others": others,
            "others_requests": others_requests,
            "others_baseline_requests": others_before,
        }
