"""logs_sso_logins: one account's SSO login failures."""

from __future__ import annotations

from typing import Any

from casefile.tools.base import CallContext, operation
from casefile.tools.logs.args import WindowArgs
from casefile.tools.logs.common import LOOKBACK, TOP_N
from casefile.tools.logs.engine import LogsEngine
from casefile.tools.logs.pool import gather
from casefile.tools.logs.render import render_sso
from casefile.tools.logs.values import from_ms, plain
from casefile.tools.sso_responses import RESPONSE_FIELDS, response_changes

__all__ = ["SsoLogins"]


class SsoLogins(LogsEngine):
    """logs_sso_logins."""

    @operation("logs_sso_logins", WindowArgs, render=render_sso)
    async def sso_logins(self, args: WindowArgs, ctx: CallContext) -> dict[str, Any]:
        """SSO (SAML) login attempts of one account over a window.

        Attempts and failures, the last successful login before the window's end
        (user, certificate fingerprint), since when logins fail, the most common
        failure messages and the latest failures with clock skew and certificate.
        """
        t = self.sso
        t.require("status")
        failed = f"{t.status} != 'success'"
        optional = await self._optional(t, ["user_email", "cert_sha1", "clock_skew_s", *RESPONSE_FIELDS])
        said = ", ".join(f"{optional[c]} AS {c}" for c in RESPONSE_FIELDS)
        params = self._window_params(args.account_id, args.start, args.end)
        error_sql = t.error or "''"
        # Independent queries run at once; only "failing since" needs the last success first.
        results = await gather(
            {
                "totals": self._query(
                    f"SELECT count() AS attempts, countIf({failed}) AS failures FROM {t.name} WHERE "
                    f"{t.account_range()}",
                    params,
                ),
                "last": self._query(
                    f"SELECT {t.ts_ms} AS ts_ms, {optional['user_email']} AS user_email, "
                    f"{optional['cert_sha1']} AS cert_sha1, {said} "
                    f"FROM {t.name} WHERE {t.account_range()} AND NOT ({failed}) "
                    f"ORDER BY {t.time} DESC LIMIT 1",
                    self._window_params(args.account_id, args.start - LOOKBACK, args.end),
                ),
                "top_errors": self._query(
                    f"SELECT {error_sql} AS error, count() AS n FROM {t.name} "
                    f"WHERE {t.account_range()} AND {failed} "
                    f"GROUP BY error ORDER BY n DESC, error LIMIT {TOP_N}",
                    params,
                ),
                "recent": self._query(
                    f"SELECT {t.ts_ms} AS ts_ms, {optional['user_email']} AS user_email, "
                    f"{error_sql} AS error, {optional['clock_skew_s']} AS clock_skew_s, "
                    f"{optional['cert_sha1']} AS cert_sha1, {said} FROM {t.name} "
                    f"WHERE {t.account_range()} AND {failed} ORDER BY {t.time} DESC LIMIT {TOP_N}",
                    params,
                ),
            }
        )
        totals = results["totals"].one()
        last = results["last"]
        last_success = None
        since_filter = ""
        since_params = params
        if last.rows:
            row = last.one()
            last_success = {
                "ts": from_ms(row["ts_ms"]),
                "user_email": row["user_email"],
                "cert_sha1": row["cert_sha1"],
                **{c: plain(row[c]) for c in RESPONSE_FIELDS},
            }
            since_filter = f" AND {t.ts_ms} > {{ls:Int64}}"
            since_params = {**params, "ls": int(row["ts_ms"])}
        failing = (
            await self._query(
                f"SELECT min({t.ts_ms}) AS first_ms, count() AS n FROM {t.name} "
                f"WHERE {t.account_range()} AND {failed}{since_filter}",
                since_params,
            )
        ).one()
        top_errors = results["top_errors"]
        recent = [
            {"ts": from_ms(r.pop("ts_ms")), **{k: plain(v) for k, v in r.items()}}
            for r in results["recent"].dicts()
        ]
        return {
            "account_id": args.account_id,
            "attempts": int(totals["attempts"] or 0),
            "failures": int(totals["failures"] or 0),
            "last_success": last_success,
            "failing_since": from_ms(failing["first_ms"]) if int(failing["n"] or 0) else None,
            "top_errors": [{"error": e, "count": int(n)} for e, n in top_errors.rows],
            "recent_failures": recent,
            # What the failing responses were made with that the last working one was not.
            "config_changes": response_changes(last_success, recent[0] if recent else None),
        }
