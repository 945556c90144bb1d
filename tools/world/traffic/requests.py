"""API requests: each account's diurnal traffic over its endpoints, statuses, latencies and
headers, and the anomalies (spikes of one status, latency) a description adds."""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from casefile.tools.world.traffic.common import HOUR_MS, Columns, TrafficError, to_datetimes, window
from casefile.tools.world.traffic.draws import account_curve, lognormal, offsets, poisson, weighted, z_table

__all__ = ["DEFAULT_ERROR_CODES", "request_rows"]


_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

DEFAULT_ERROR_CODES: dict[int, list[str]] = {
    400: ["invalid_request", "missing_parameter"],
    401: ["authentication_failed"],
    402: ["subscription_past_due"],
    403: ["forbidden"],
    404: ["not_found"],
    409: ["idempotency_conflict"],
    422: ["validation_failed", "invalid_address"],
    429: ["rate_limit_exceeded"],
    500: ["internal_error"],
    502: ["bad_gateway"],
    503: ["service_unavailable"],
    504: ["gateway_timeout"],
}

# Relative latency of error responses: the gateway answers 401/429 before the handler runs.
_STATUS_LATENCY = {401: 0.08, 402: 0.1, 403: 0.1, 429: 0.05, 404: 0.4, 400: 0.35, 422: 0.5}

_REQUEST_COLUMNS = (
    "ts",
    "account_id",
    "api_key_hash",
    "method",
    "path",
    "status",
    "error_code",
    "latency_ms",
    "request_id",
    "trace_id",
    "region",
    "user_agent",
    "request_headers",
    "response_headers",
)


# ----------------------------------------------------------------------------- requests


@dataclass
class _Endpoint:
    method: str
    path: str
    ok_status: int
    mu: float
    sigma: float
    req_template: str  # %-template: (request_id[, idempotency key])
    user_agent: str  # the client calling it: the account's, or another (its mobile app's SDK)
    region: str  # where it is served: the account's region, or a CDN edge's (playback)


@dataclass
class _RequestAnomaly:
    start: int
    end: int
    endpoints: frozenset[int]  # indices into the account's endpoints
    api_key: str | None
    cum: list[float]  # cumulative probability per status
    statuses: list[tuple[int, str]]  # (status, error_code)
    latency: float


def request_rows(
    rng: random.Random,
    start: int,
    end: int,
    accounts: Mapping[str, Any],
    anomalies: Sequence[Mapping[str, Any]],
    codes: Mapping[int, list[str]],
) -> Columns:
    cols: dict[str, list[Any]] = {name: [] for name in _REQUEST_COLUMNS}
    for account_id, spec in accounts.items():
        mine = [a for a in anomalies if a.get("account") == account_id]
        _account_requests(rng, start, end, account_id, spec, mine, codes, cols)
    unknown = {a.get("account") for a in anomalies} - set(accounts)
    if unknown:
        raise TrafficError(f"request_anomalies name unknown accounts: {sorted(map(str, unknown))}")
    cols["ts"] = to_datetimes(cols["ts"])
    return cols


# "ok" in an anomaly's status_mix: each request keeps its endpoint's own success status (a slowdown
# of a POST that answers 202 must not turn it into a 200)
OK = 0


def _status_table(
    mix: Mapping[str, Any], codes: Mapping[int, list[str]], what: str
) -> tuple[list[float], list[int]]:
    cum, statuses, total = [], [], 0.0
    for status, share in mix.items():
        code = OK if status == "ok" else int(status)
        if code >= 400 and code not in codes:
            raise TrafficError(f"{what}: no error code known for status {code}; add it to error_codes")
        total += float(share)
        cum.append(total)
        statuses.append(code)
    if total > 1:
        raise TrafficError(f"{what}: shares add up to {total} > 1")
    return cum, statuses


def _account_requests(
    rng: random.Random,
    start: int,
    end: int,
    account_id: str,
    spec: Mapping[str, Any],
    anomaly_specs: Sequence[Mapping[str, Any]],
    codes: Mapping[int, list[str]],
    cols: dict[str, list[Any]],
) -> None:
    """Append one account's requests to ``cols``.

    Built column by column with comprehensions (not row by row): at ~100k rows the
    per-row interpreter overhead is what dominates generation time.
    """
    what = f"requests.{account_id}"
    user_agent = str(spec.get("user_agent", "relay-client/1.0"))
    host = str(spec.get("host", "api.relayhq.dev"))  # the API host the account calls (a versioned one)
    _header_safe(f"{what}.user_agent", user_agent)
    _header_safe(f"{what}.host", host)
    # the API's media type (JSON:API's application/vnd.api+json): Accept, and Content-Type of writes
    media = _header_safe(f"{what}.media_type", str(spec.get("media_type", "application/json")))
    region = str(spec.get("region", "us-east-1"))
    limit = int(spec.get("ratelimit_limit", 600))
    keys, key_cum = weighted(spec.get("api_keys") or ["key_" + account_id], f"{what}.api_keys")
    default_latency = lognormal(spec.get("latency"), (80.0, 250.0))

    endpoints: list[_Endpoint] = []
    weights: list[float] = []
    for n, ep in enumerate(spec.get("endpoints") or []):
        method, path = str(ep["method"]).upper(), str(ep["path"])
        mu, sigma = lognormal(ep["latency"], (0, 0)) if ep.get("latency") else default_latency
        ok = int(ep.get("ok_status", 201 if method == "POST" else 200))
        client = _header_safe(f"{what}.endpoints[{n}].user_agent", str(ep.get("user_agent", user_agent)))
        # a route served by another host (a CDN edge in front of the API) in another region
        ep_host = _header_safe(f"{what}.endpoints[{n}].host", str(ep.get("host", host)))
        head = '{"host":"' + ep_host + '","user-agent":"' + client + '","accept":"' + media + '",'
        head += '"authorization":"Bearer [REDACTED]",'
        if method in _WRITE_METHODS:
            head += '"content-type":"' + media + '","idempotency-key":"%s",'
        ep_region = str(ep.get("region", region))
        endpoints.append(
            _Endpoint(method, path, ok, mu, sigma, head + '"x-request-id":"%s"}', client, ep_region)
        )
        weights.append(float(ep.get("weight", 1)))
        if weights[-1] <= 0:
            raise TrafficError(f"{what}.endpoints[{n}]: weight must be positive")
    if not endpoints:
        raise TrafficError(f"{what}: needs at least one endpoint")
    ep_cum = [sum(weights[: i + 1]) for i in range(len(weights))]
    base_cum, base_statuses = _status_table(spec.get("status_mix") or {}, codes, f"{what}.status_mix")
    anomalies = [
        _request_anomaly(a, endpoints, codes, f"{what} anomaly {a.get('id', n)}")
        for n, a in enumerate(anomaly_specs)
        if not a.get("offline")
    ]
    # "offline": the account's clients had no connection, so none of their requests reached the API
    # (a register selling offline uploads its queue later: the failure and the log are hours apart);
    # with an endpoint, path or methods, only the matching requests are missing (devices that lost their
    # connection send nothing while their reconnection attempts still reach the API and fail)
    gaps: list[tuple[int, int]] = []
    silences: list[tuple[int, int, frozenset[int]]] = []
    for n, a in enumerate(anomaly_specs):
        if a.get("offline"):
            label = f"{what} anomaly {a.get('id', n)}"
            if a.get("endpoint") or a.get("path") or a.get("methods"):
                lo, hi = window(a, label)
                silences.append((lo, hi, _matching(a, endpoints, label)))
            else:
                gaps.append(window(a, label))

    # 1. arrival times: Poisson volume per hour following the local diurnal curve
    peak = float(spec.get("peak_rpm", 1)) * 60
    times: list[int] = []
    for hour, factor in account_curve(spec, start, end, trough=0.08, weekend=0.35):
        times += offsets(rng, poisson(rng, peak * factor), max(start, hour), min(end, hour + HOUR_MS))
    if gaps:
        times = [t for t in times if not any(lo <= t < hi for lo, hi in gaps)]
    # one matching request a few seconds after each anomaly starts (see module docstring)
    pins = sorted((a.start + rng.randrange(1_000, 20_000), n) for n, a in enumerate(anomalies))
    pins = [(t, n) for t, n in pins if start <= t < end]
    for t, _ in pins:
        bisect.insort(times, t)
    n_rows = len(times)
    if not n_rows:
        return

    # 2. what each request was
    eps = rng.choices(range(len(endpoints)), cum_weights=ep_cum, k=n_rows)
    if silences:
        kept = [
            i
            for i, (t, e) in enumerate(zip(times, eps, strict=True))
            if not any(lo <= t < hi and e in chosen for lo, hi, chosen in silences)
        ]
        times, eps, n_rows = [times[i] for i in kept], [eps[i] for i in kept], len(kept)
        if not n_rows:
            return
    req_keys = [keys[0]] * n_rows if len(keys) == 1 else rng.choices(keys, cum_weights=key_cum, k=n_rows)
    overrides: dict[int, tuple[int, str, float]] = {}
    for t, n in pins:
        anomaly, i = anomalies[n], bisect.bisect_left(times, t)
        while i in overrides:  # two pins on the same millisecond: take the next row
            i += 1
        if i >= n_rows:  # the pinned row fell in a silence and no request follows it
            continue
        if eps[i] not in anomaly.endpoints:
            eps[i] = min(anomaly.endpoints)
        req_keys[i] = anomaly.api_key or req_keys[i]
        status, code = anomaly.statuses[0]
        overrides[i] = (status, code, anomaly.latency)
    rand = rng.random
    for anomaly in anomalies:
        for i in range(bisect.bisect_left(times, anomaly.start), bisect.bisect_left(times, anomaly.end)):
            if i in overrides or eps[i] not in anomaly.endpoints:
                continue
            if anomaly.api_key is not None and req_keys[i] != anomaly.api_key:
                continue
            r = rand()
            if r < anomaly.cum[-1]:
                status, code = anomaly.statuses[bisect.bisect(anomaly.cum, r)]
                overrides[i] = (status, code, anomaly.latency)

    # 3. baseline status mix, then the anomalies on top
    ok_status = [ep.ok_status for ep in endpoints]
    p_err = base_cum[-1] if base_cum else 0.0
    draws = [rand() for _ in range(n_rows)]
    statuses = [
        ok_status[e] if r >= p_err else base_statuses[bisect.bisect(base_cum, r)]
        for r, e in zip(draws, eps, strict=True)
    ]
    error_codes = [""] * n_rows
    lat_factor: dict[int, float] = {}
    for i, r in enumerate(draws):
        if r < p_err:
            names = codes[statuses[i]]
            error_codes[i] = names[int(r * 1_000_003) % len(names)]
            lat_factor[i] = _STATUS_LATENCY.get(statuses[i], 1.0)
    for i, (status, code, factor) in overrides.items():
        statuses[i], error_codes[i] = status or ok_status[eps[i]], code
        lat_factor[i] = factor if factor != 1.0 else _STATUS_LATENCY.get(status, 1.0)

    # 4. latency from per-endpoint quantile tables (1024 steps of the lognormal)
    z, bits = z_table(), rng.getrandbits
    tables = [[round(math.exp(ep.mu + ep.sigma * q), 1) for q in z] for ep in endpoints]
    latency = [tables[e][bits(10)] for e in eps]
    for i, factor in lat_factor.items():
        latency[i] = round(latency[i] * factor, 1)

    # 5. ids and headers
    request_ids = ["req_" + bits(96).to_bytes(12).hex() for _ in range(n_rows)]
    templates = [ep.req_template for ep in endpoints]
    writes = [ep.method in _WRITE_METHODS for ep in endpoints]
    # Headers are kept for failing requests only, as log pipelines commonly sample them: they are
    # what an escalation packet needs, and they would otherwise be most of the world's bytes.
    # (Idempotency keys are drawn for every write all the same, so the random stream, and with
    # it every later id, does not depend on which requests failed.)
    idem_keys = [bits(128) if writes[e] else 0 for e in eps]
    request_headers = [
        ""
        if s < 400
        else templates[e] % (_uuid(key.to_bytes(16).hex()), rid)
        if writes[e]
        else templates[e] % rid
        for e, rid, s, key in zip(eps, request_ids, statuses, idem_keys, strict=True)
    ]
    head = '{"content-type":"application/json","x-request-id":"%s","x-ratelimit-limit":"' + str(limit)
    resp_ok = head + '","x-ratelimit-remaining":"%d","x-ratelimit-reset":"%d"}'
    resp_429 = head + '","x-ratelimit-remaining":"0","x-ratelimit-reset":"%d","retry-after":"%d"}'
    spread = min(limit, 97)
    response_headers = [
        ""
        if s < 400
        else resp_429 % (rid, t // 60_000 * 60 + 60, 60 - t // 1000 % 60)
        if s == 429
        else resp_ok % (rid, limit - 1 - t % spread, t // 60_000 * 60 + 60)
        for t, s, rid in zip(times, statuses, request_ids, strict=True)
    ]

    cols["ts"] += times
    cols["account_id"] += [account_id] * n_rows
    cols["api_key_hash"] += req_keys
    cols["method"] += [endpoints[e].method for e in eps]
    cols["path"] += [endpoints[e].path for e in eps]
    cols["status"] += statuses
    cols["error_code"] += error_codes
    cols["latency_ms"] += latency
    cols["request_id"] += request_ids
    cols["trace_id"] += [bits(128).to_bytes(16).hex() for _ in range(n_rows)]
    cols["region"] += [endpoints[e].region for e in eps]
    cols["user_agent"] += [endpoints[e].user_agent for e in eps]
    cols["request_headers"] += request_headers
    cols["response_headers"] += response_headers


def _header_safe(what: str, value: str) -> str:
    """``value``, refused if it would break the JSON of the headers it is written into."""
    if '"' in value or "\\" in value:
        raise TrafficError(f"{what}: quotes and backslashes are not supported")
    return value


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def _uuid(h: str) -> str:
    """A version-4 UUID string from 32 random hex digits (cheaper than uuid.UUID)."""
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def _matching(spec: Mapping[str, Any], endpoints: Sequence[_Endpoint], what: str) -> frozenset[int]:
    """The account's endpoints an anomaly names (``endpoint``: "METHOD /path", ``path``, ``methods``; all
    of them when it names none)."""
    method = path = None
    if spec.get("endpoint"):
        method, _, path = str(spec["endpoint"]).partition(" ")
        if not path:
            method, path = None, method
    path = spec.get("path", path)
    methods = {str(m).upper() for m in spec.get("methods") or ([method] if method else [])}
    chosen = frozenset(
        i
        for i, ep in enumerate(endpoints)
        if (not path or ep.path == path) and (not methods or ep.method in methods)
    )
    if not chosen:
        raise TrafficError(f"{what}: matches none of the account's endpoints")
    return chosen


def _request_anomaly(
    spec: Mapping[str, Any], endpoints: Sequence[_Endpoint], codes: Mapping[int, list[str]], what: str
) -> _RequestAnomaly:
    lo, hi = window(spec, what)
    chosen = _matching(spec, endpoints, what)
    mix = spec.get("status_mix") or {str(spec.get("status", 500)): spec.get("share", 1.0)}
    cum, statuses = _status_table(mix, codes, what)
    pairs = []
    for status in statuses:
        code = spec.get("error_code") if len(statuses) == 1 and spec.get("error_code") else None
        pairs.append((status, code or (codes[status][0] if status >= 400 else "")))
    return _RequestAnomaly(
        lo, hi, chosen, spec.get("api_key"), cum, pairs, float(spec.get("latency_multiplier", 1))
    )
