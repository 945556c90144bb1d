"""Expand a compact traffic description into ClickHouse log rows, deterministically.

A world's ``clickhouse/traffic.json`` describes a week of API traffic in a few hundred
lines; :func:`generate` turns it into the ``requests``, ``webhook_deliveries`` and
``sso_logins`` tables (column-oriented, ready for clickhouse-connect's
``insert(..., column_oriented=True)``). The same description always yields the same
rows: every random draw comes from one ``random.Random(seed)``, consumed in a fixed
order, and nothing reads the clock or the global random state.

Description format (all timestamps ISO 8601 UTC ending in ``Z``; every section optional)::

    {
      "seed": 20261120,
      "start": "2026-11-13T00:00:00Z", "end": "2026-11-20T18:00:00Z",
      "error_codes": {"400": ["invalid_request"], "429": ["rate_limit_exceeded"], ...},
      "requests": {
        "<account_id>": {
          "peak_rpm": 10,                  # requests per minute at the peak hour
          "timezone": "Europe/Berlin",     # the diurnal curve follows local time
          "peak_hour": 13,                 # local hour of the peak
          "trough": 0.06,                  # night volume as a fraction of the peak
          "weekend_factor": 0.3,           # Saturday/Sunday multiplier (local days)
          "region": "eu-central-1", "user_agent": "relay-python/3.4.1",
          "host": "api-v2.relay.example",  # the Host header of its requests (default api.relayhq.dev)
          "api_keys": {"<key hash>": 9, "<key hash>": 1},   # weights (or a plain list)
          "ratelimit_limit": 600,          # x-ratelimit-limit response header
          "latency": {"p50_ms": 80, "p95_ms": 240},          # lognormal fitted to p50/p95
          "status_mix": {"400": 0.006, "404": 0.004},        # the rest is success
          "endpoints": [{"method": "POST", "path": "/v2/shipments", "weight": 40,
                         "ok_status": 201, "latency": {...},
                         "user_agent": "relay-ios-sdk/2.0",  # optional: another client
                         "host": "cdn.relay.example", "region": "ap-southeast-1"}, ...]  # optional: a CDN edge
        }
      },
      "request_anomalies": [
        {"id": "acme-429", "account": "acme", "start": "...", "end": "...",
         "endpoint": "POST /v2/shipments",  # or "path": "/v2/x", or "methods": ["POST"]; all optional
         "api_key": "<key hash>",           # optional
         "status": 429, "share": 0.4,       # or "status_mix": {"500": 0.6, "502": 0.1}
         "error_code": "rate_limit_exceeded",  # default: the first code listed for the status
         "latency_multiplier": 0.1}
      ],
      "webhooks": {
        "accounts": {"<account_id>": {"webhook_id": "we_...", "endpoint_url": "https://...",
                     "events_per_hour": 12, "timezone": "...", "peak_hour": 14, "trough": 0.2,
                     "event_types": {"order.updated": 5, "order.created": 3},
                     "response_ms": {"p50_ms": 120, "p95_ms": 400}, "failure_rate": 0.003,
                     "retry_schedule_s": [60, 300, 1800, 7200, 21600]}},
        "anomalies": [{"account": "...", "start": "...", "end": "...",
                       "outcomes": {"503": 0.55, "timeout": 0.45}, "share": 1.0, "timeout_ms": 10000}]
      },
      "sso_logins": {
        "accounts": {"<account_id>": {"idp_entity_id": "...", "cert_sha1": "AB:CD:...",
                     "email_domain": "initech.io", "users": 40, "timezone": "...",
                     "business_hours": [8, 18], "logins_per_hour": 6, "weekend_factor": 0.1,
                     "acs_url": "https://...", "audience": "https://...",
                     "nameid_format": "urn:...:emailAddress", "sig_alg": "http://...#rsa-sha256"}},
        "anomalies": [{"account": "...", "start": "...", "end": "...", "error": "...",
                       "share": 1.0, "clock_skew_s": 0, "cert_sha1": "...", "idp_entity_id": "...",
                       "acs_url": "...", "audience": "...", "nameid_format": "...", "sig_alg": "..."}],
        "events": [{"account": "...", "ts": "...", "user_email": "..."}]   # pinned attempts
      }
    }

Semantics worth knowing:

* Volume per account-hour is Poisson around ``peak_rpm * 60 * curve(local hour)`` where the
  curve is ``trough + (1 - trough) * ((1 + cos(2π (h - peak_hour) / 24)) / 2) ** 2``.
* An anomaly changes the status of matching requests inside ``[start, end)`` with
  probability ``share`` (or the sum of its ``status_mix``); the rest keep the account's
  baseline mix. Each anomaly also pins one matching request a few seconds after its
  ``start``, so "first error at" lands in the anomaly's first minute whatever the volume.
* Webhook events are delivered at attempt 1 and retried on the schedule until one attempt
  succeeds or the schedule runs out; all attempts of one event share a ``delivery_id``.
  Attempts inside a webhook anomaly fail with one of its ``outcomes`` (an HTTP status, or
  ``timeout`` / ``connection_refused`` / ``tls_error``, which get response_status 0).
* SSO attempts inside an anomaly fail with its ``error``; pinned ``events`` add attempts at
  exact times (e.g. the first login of the day that meets an expired certificate).

Modules: ``requests``, ``webhooks``, ``sso`` (one generator a table), ``common`` (shared draws).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from casefile.tools.world.traffic.common import Columns, TrafficError, ms
from casefile.tools.world.traffic.requests import DEFAULT_ERROR_CODES, request_rows
from casefile.tools.world.traffic.sso import sso_logins_rows
from casefile.tools.world.traffic.webhooks import webhook_rows

__all__ = ["TrafficError", "generate"]


def generate(description: Mapping[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """Expand ``description`` into ``{table: {column: values}}`` (see the module docstring).

    Timestamps are timezone-aware UTC datetimes; rows are ordered by account, then time.
    """
    rng = random.Random(int(description.get("seed", 0)))
    start = ms(description.get("start"), "start")
    end = ms(description.get("end"), "end")
    if end <= start:
        raise TrafficError("end must be after start")
    codes = dict(DEFAULT_ERROR_CODES)
    for status, names in (description.get("error_codes") or {}).items():
        codes[int(status)] = [names] if isinstance(names, str) else list(names)

    tables: dict[str, Columns] = {}
    if description.get("requests"):
        tables["requests"] = request_rows(
            rng, start, end, description["requests"], description.get("request_anomalies") or [], codes
        )
    if description.get("webhooks"):
        tables["webhook_deliveries"] = webhook_rows(rng, start, end, description["webhooks"])
    if description.get("sso_logins"):
        tables["sso_logins"] = sso_logins_rows(rng, start, end, description["sso_logins"])
    return tables
