"""Webhook deliveries: each account's events, attempts and retries, and endpoint outages."""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Mapping
from typing import Any

from casefile.tools.world.traffic.common import HOUR_MS, Columns, to_datetimes, window
from casefile.tools.world.traffic.draws import account_curve, gauss, lognormal, offsets, poisson, weighted

__all__ = ["webhook_rows"]


_WEBHOOK_COLUMNS = (
    "ts",
    "account_id",
    "delivery_id",
    "webhook_id",
    "event_type",
    "endpoint_url",
    "attempt",
    "response_status",
    "response_ms",
    "error",
)


_NO_RESPONSE = {"timeout", "connection_refused", "tls_error"}


def webhook_rows(rng: random.Random, start: int, end: int, section: Mapping[str, Any]) -> Columns:
    cols: dict[str, list[Any]] = {name: [] for name in _WEBHOOK_COLUMNS}
    anomalies = section.get("anomalies") or []
    for account_id, spec in (section.get("accounts") or {}).items():
        what = f"webhooks.{account_id}"
        mine = []
        for n, a in enumerate(x for x in anomalies if x.get("account") == account_id):
            lo, hi = window(a, f"{what} anomaly {n}")
            outcomes, cum = weighted(a.get("outcomes") or {"503": 1}, f"{what} anomaly {n}.outcomes")
            mine.append(
                (lo, hi, outcomes, cum, float(a.get("share", 1.0)), float(a.get("timeout_ms", 10_000)))
            )
        rows = _account_webhooks(rng, start, end, spec, mine, what)
        rows.sort(key=lambda row: row[0])
        for row in rows:
            for name, value in zip(_WEBHOOK_COLUMNS, (row[0], account_id, *row[1:]), strict=True):
                cols[name].append(value)
    cols["ts"] = to_datetimes(cols["ts"])
    return cols


def _account_webhooks(
    rng: random.Random,
    start: int,
    end: int,
    spec: Mapping[str, Any],
    anomalies: list[tuple[int, int, list[str], list[float], float, float]],
    what: str,
) -> list[tuple[Any, ...]]:
    url = str(spec["endpoint_url"])
    webhook_id = str(spec.get("webhook_id", "we_default"))
    types, type_cum = weighted(spec.get("event_types") or ["order.updated"], f"{what}.event_types")
    mu, sigma = lognormal(spec.get("response_ms"), (120.0, 400.0))
    noise = float(spec.get("failure_rate", 0.003))
    schedule = [0, *[int(s) * 1000 for s in spec.get("retry_schedule_s", [60, 300, 1800, 7200, 21600])]]
    curve = account_curve(spec, start, end, trough=0.25, weekend=0.5)
    per_hour = float(spec.get("events_per_hour", 10))
    rand = rng.random
    # One event a few seconds after each anomaly starts, so "failing since" is its first minute.
    pinned = [a[0] + rng.randrange(1_000, 20_000) for a in anomalies]
    rows: list[tuple[Any, ...]] = []
    for hour, factor in curve:
        lo, hi = max(start, hour), min(end, hour + HOUR_MS)
        starts = offsets(rng, poisson(rng, per_hour * factor), lo, hi)
        starts += [t for t in pinned if lo <= t < hi]
        for t0 in sorted(starts):
            event = types[bisect.bisect(type_cum, rand() * type_cum[-1])]
            delivery = "whd_" + rng.randbytes(10).hex()
            for attempt, delay in enumerate(schedule, 1):
                t = t0 + delay + (int(rand() * 2_000) if attempt > 1 else 0)
                if t >= end:
                    break
                outcome, timeout_ms = None, 10_000.0
                for a_lo, a_hi, outcomes, cum, share, a_timeout in anomalies:
                    if a_lo <= t < a_hi and rand() < share:
                        outcome = outcomes[bisect.bisect(cum, rand() * cum[-1])]
                        timeout_ms = a_timeout
                        break
                if outcome is None and rand() < noise:
                    outcome = ("502", "timeout", "503", "connection_refused")[int(rand() * 4)]
                ms = round(math.exp(mu + sigma * gauss(rand)), 1)
                if outcome is None:
                    rows.append((t, delivery, webhook_id, event, url, attempt, 200, ms, ""))
                    break
                if outcome in _NO_RESPONSE:
                    wait = timeout_ms if outcome == "timeout" else round(ms / 10, 1)
                    rows.append((t, delivery, webhook_id, event, url, attempt, 0, wait, outcome))
                else:
                    rows.append(
                        (t, delivery, webhook_id, event, url, attempt, int(outcome), ms, "http_error")
                    )
    return rows
