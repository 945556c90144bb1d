"""Regenerate the demo world's provider files from the story told in this script.

Run from the repository root: ``python examples/world/make_world.py``. It writes
``accounts.json``, ``stripe.json``, ``github.json``, ``linear.json`` and
``tickets.json`` next to it, deterministically (ids and SHAs are hashes of fixed
strings), with the world generator of ``casefile.tools.world.generate``: this
script only tells the story as a scenario spec. The objects have the field sets
the providers' APIs return (Stripe API 2025+, GitHub REST 2022-11-28, Linear
GraphQL), so the connectors parse them exactly as they would parse the real thing.
The SAML files come from ``make_sso.py``; the configured certificate fingerprints
are read back from those files.

The story and its ground truth are described in ``examples/README.md``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

from casefile.tools.world.generate.billing_objects import stripe
from casefile.tools.world.generate.build import accounts, dumps
from casefile.tools.world.generate.deploy_objects import github
from casefile.tools.world.generate.issue_objects import linear, tickets
from casefile.tools.world.generate.spec import (
    AccountSpec,
    BillingSpec,
    Brand,
    ChargeSpec,
    CommitSpec,
    DeploySpec,
    FileChange,
    HistorySpec,
    IdpSpec,
    IssueComment,
    IssueSpec,
    Person,
    PlanSpec,
    RepoSpec,
    WorldSpec,
)

WORLD = Path(__file__).resolve().parent


def fingerprint(xml_file: Path) -> str:
    """SHA-1 of the first X509Certificate in a metadata file, colon-separated upper hex."""
    text = xml_file.read_text(encoding="utf-8")
    match = re.search(r"<ds:X509Certificate>(.*?)</ds:X509Certificate>", text, re.S)
    if not match:
        raise SystemExit(f"{xml_file}: no certificate (run make_sso.py first)")
    der = base64.b64decode(re.sub(r"\s+", "", match.group(1)))
    return ":".join(f"{b:02X}" for b in hashlib.sha1(der).digest())


# ----------------------------------------------------------------------------- the story

ACCOUNTS: list[dict[str, Any]] = [
    {"id": "acme", "name": "Acme Logistics", "domains": ["acme-logistics.com"], "plan": "growth",
     "timezone": "Europe/Berlin", "webhook_url": "https://ops.acme-logistics.com/webhooks/relay",
     "anchor": "2026-11-03T09:00:00Z", "created": "2024-03-11T10:22:41Z", "email": "billing@acme-logistics.com"},
    {"id": "globex", "name": "Globex Retail", "domains": ["globex.example"], "plan": "starter",
     "timezone": "Europe/Amsterdam", "webhook_url": "https://oms.globex.example/hooks/relay",
     "anchor": "2026-11-05T08:00:00Z", "created": "2025-02-05T08:13:09Z", "email": "ap@globex.example"},
    {"id": "initech", "name": "Initech", "domains": ["initech.io"], "plan": "growth",
     "timezone": "Europe/London", "webhook_url": None,
     "anchor": "2026-11-01T00:00:00Z", "created": "2023-11-01T15:40:00Z", "email": "finance@initech.io"},
    {"id": "umbrella", "name": "Umbrella Health", "domains": ["umbrella-health.com"], "plan": "growth",
     "timezone": "Europe/London", "webhook_url": "https://hooks.umbrella-health.com/relay",
     "anchor": "2026-11-10T12:00:00Z", "created": "2024-08-10T12:02:55Z", "email": "accounts@umbrella-health.com"},
    {"id": "hooli", "name": "Hooli", "domains": ["hooli.xyz"], "plan": "enterprise",
     "timezone": "Europe/Dublin", "webhook_url": "https://events.hooli.xyz/ingest/relay",
     "anchor": "2026-11-01T00:00:00Z", "created": "2023-05-01T09:00:00Z", "email": "vendors@hooli.xyz"},
    {"id": "stark", "name": "Stark Industries", "domains": ["stark-industries.com"], "plan": "enterprise",
     "timezone": "America/New_York", "webhook_url": "https://api.stark-industries.com/relay/webhooks",
     "anchor": "2026-11-15T14:00:00Z", "created": "2024-01-15T14:31:12Z", "email": "ap@stark-industries.com"},
    {"id": "wayne", "name": "Wayne Enterprises", "domains": ["wayne-enterprises.com"], "plan": "growth",
     "timezone": "America/Chicago", "webhook_url": None,
     "anchor": "2026-11-08T16:00:00Z", "created": "2025-06-08T16:45:30Z", "email": "payables@wayne-enterprises.com"},
    {"id": "wonka", "name": "Wonka Confections", "domains": ["wonka.dev"], "plan": "starter",
     "timezone": "Asia/Singapore", "webhook_url": "https://wonka.dev/api/relay-events",
     "anchor": "2026-11-02T03:00:00Z", "created": "2025-09-02T03:12:00Z", "email": "billing@wonka.dev"},
]  # fmt: skip

IDPS: dict[str, dict[str, str]] = {
    "initech": {"vendor": "okta", "entity_id": "http://www.okta.com/exk8in1tech2sso3ok4a",
                "metadata_url": "https://initech.okta.com/app/exk8in1tech2sso3ok4a/sso/saml/metadata",
                "file": "initech-okta"},
    "stark": {"vendor": "okta", "entity_id": "http://www.okta.com/exk5st4rk3ind2us1ry0",
              "metadata_url": "https://stark-industries.okta.com/app/exk5st4rk3ind2us1ry0/sso/saml/metadata",
              "file": "stark-okta"},
    "wayne": {"vendor": "entra", "entity_id": "https://sts.windows.net/5f0c2c1e-8d3b-4e6a-9b7d-2a1c3e4f5a6b/",
              "metadata_url": "https://login.microsoftonline.com/5f0c2c1e-8d3b-4e6a-9b7d-2a1c3e4f5a6b/"
                              "federationmetadata/2007-06/federationmetadata.xml"
                              "?appid=8a1d2c3b-4e5f-4a6b-9c7d-0e1f2a3b4c5d",
              "file": "wayne-entra"},
    "hooli": {"vendor": "google", "entity_id": "https://accounts.google.com/o/saml2?idpid=C03h0ol1x",
              "metadata_url": "https://sso.hooli.xyz/saml/google-idp-metadata.xml", "file": "hooli-google"},
}  # fmt: skip


PLANS = {
    "starter": {"name": "Relay Starter", "amount": 9900, "rpm": "120", "sso": "false", "webhooks": "2"},
    "growth": {"name": "Relay Growth", "amount": 49900, "rpm": "600", "sso": "true", "webhooks": "10"},
    "enterprise": {
        "name": "Relay Enterprise",
        "amount": 249900,
        "rpm": "3000",
        "sso": "true",
        "webhooks": "50",
    },
}


PEOPLE = {
    "mkowalski": ("Marta Kowalski", "marta@relayhq.dev", 58211093),
    "dokafor": ("David Okafor", "david@relayhq.dev", 61120457),
    "lchen": ("Lin Chen", "lin@relayhq.dev", 49982231),
    "psharma": ("Priya Sharma", "priya@relayhq.dev", 70311842),
    "relay-deploy[bot]": ("relay-deploy[bot]", "deploy@relayhq.dev", 149820311),
}


# Per repo: deploys in time order: (tag, environment, created_at, state, [(message, author, [files])]).
# A file is (path, status, additions, deletions, patch).
_RATELIMIT_PATCH = """@@ -88,14 +88,27 @@ class SlidingWindowLimiter:
     def check(self, request: Request) -> Decision:
         key = self.bucket_key(request)
-        count = self.store.incr(key, window=self.window)
+        count = self.store.incr(key, window=self.window)
+        idem = request.headers.get("idempotency-key")
+        if idem and self.idempotency.seen(idem):
+            # replayed request: charge the client for the replay as well
+            count = self.store.incr(key, window=self.window)
         if count > self.limit(request.account):
             return Decision.reject(retry_after=self.window.reset_in())"""
_EXPORT_PATCH = """@@ -41,12 +41,19 @@ def export_orders(account, params):
-    rows = Order.objects.for_account(account).filter(**params.filters)
-    return csv_response(rows, columns=EXPORT_COLUMNS)
+    rows = Order.objects.for_account(account).filter(**params.filters).iterator(chunk_size=2000)
+    serializer = OrderExportSerializer(columns=params.columns or EXPORT_COLUMNS)
+    # customs fields are now required by the serializer
+    return streaming_csv_response(serializer.row(o) for o in rows)"""

DEPLOYS: dict[str, list[tuple[str, str, str, str, list[tuple[str, str, list[tuple[str, str, int, int, str]]]]]]] = {
    "relayhq/api": [
        ("v2.39.2", "production", "2026-11-13T10:20:00Z", "success", [
            ("orders: fix pagination cursor for archived orders (#2241)", "lchen",
             [("src/orders/pagination.py", "modified", 12, 4, "")]),
        ]),
        ("v2.40.0", "staging", "2026-11-16T08:10:00Z", "success", []),
        ("v2.40.0", "production", "2026-11-16T09:30:00Z", "success", [
            ("orders: full-text search on reference and customer name (#2250)", "dokafor",
             [("src/orders/search.py", "added", 184, 0, ""), ("migrations/0142_orders_search_index.sql", "added", 9, 0, ""),
              ("tests/orders/test_search.py", "added", 121, 0, "")]),
            ("deps: bump psycopg to 3.2.3 (#2256)", "relay-deploy[bot]", [("requirements.lock", "modified", 3, 3, "")]),
        ]),
        ("v2.40.1", "production", "2026-11-17T13:15:00Z", "success", [
            ("labels: DHL Express label size A6 (#2262)", "psharma",
             [("src/shipments/labels.py", "modified", 22, 6, ""), ("src/carriers/dhl.py", "modified", 15, 2, "")]),
        ]),
        ("v2.40.2", "production", "2026-11-18T09:40:00Z", "success", [
            ("rates: cache carrier rate cards for 5 minutes (#2270)", "lchen",
             [("src/rates/cache.py", "added", 64, 0, ""), ("src/rates/service.py", "modified", 18, 9, "")]),
        ]),
        ("v2.40.3", "production", "2026-11-18T14:02:00Z", "success", [
            ("orders/export: stream CSV rows through the new serializer (#2291)", "dokafor",
             [("src/orders/export.py", "modified", 48, 17, _EXPORT_PATCH),
              ("src/orders/serializers.py", "modified", 36, 5, ""),
              ("tests/orders/test_export.py", "modified", 27, 3, "")]),
            ("docs: export columns (#2293)", "psharma", [("docs/api/orders-export.md", "modified", 14, 2, "")]),
        ]),
        ("v2.41.0", "staging", "2026-11-19T15:30:00Z", "success", []),
        ("v2.41.0", "production", "2026-11-20T08:04:00Z", "success", [
            ("gateway: sliding-window rate limiter per API key (#2304)", "mkowalski",
             [("src/gateway/ratelimit.py", "modified", 96, 31, _RATELIMIT_PATCH),
              ("src/gateway/middleware.py", "modified", 11, 4, ""),
              ("tests/gateway/test_ratelimit.py", "modified", 58, 12, "")]),
            ("gateway: honour Idempotency-Key replays in the limiter (#2310)", "mkowalski",
             [("src/gateway/idempotency.py", "modified", 23, 8, ""), ("src/gateway/ratelimit.py", "modified", 9, 2, "")]),
            ("shipments: accept ISO 3166-2 subdivision codes (#2312)", "psharma",
             [("src/shipments/address.py", "modified", 19, 7, "")]),
        ]),
    ],
    "relayhq/webhooks": [
        ("v1.18.0", "production", "2026-11-13T15:05:00Z", "success", [
            ("dispatcher: per-endpoint concurrency limit (#412)", "lchen",
             [("dispatcher/pool.go", "modified", 44, 12, "")]),
        ]),
        ("v1.18.1", "production", "2026-11-17T16:20:00Z", "success", [
            ("retry: add jitter to the retry schedule (#418)", "lchen", [("dispatcher/retry.go", "modified", 8, 3, "")]),
        ]),
        ("v1.19.0", "staging", "2026-11-19T10:05:00Z", "success", []),
        ("v1.19.0", "production", "2026-11-19T16:45:00Z", "success", [
            ("events: shipment.exception event type (#425)", "psharma",
             [("events/types.go", "modified", 21, 0, ""), ("events/shipment.go", "modified", 33, 4, "")]),
            ("deps: bump golang.org/x/net to v0.31.0 (#427)", "relay-deploy[bot]",
             [("go.mod", "modified", 1, 1, ""), ("go.sum", "modified", 2, 2, "")]),
        ]),
        ("v1.19.1", "production", "2026-11-20T13:10:00Z", "success", [
            ("dashboard API: expose last delivery status per endpoint (#431)", "lchen",
             [("api/endpoints.go", "modified", 27, 5, "")]),
        ]),
    ],
    "relayhq/web": [
        ("web-2026.11.13", "production", "2026-11-13T12:30:00Z", "success", [
            ("settings: API keys page shows last used (#903)", "psharma",
             [("app/settings/api-keys/page.tsx", "modified", 31, 6, "")]),
        ]),
        ("web-2026.11.16", "production", "2026-11-16T11:00:00Z", "success", [
            ("orders: bulk actions toolbar (#911)", "dokafor", [("app/orders/toolbar.tsx", "added", 140, 0, "")]),
        ]),
        ("web-2026.11.17", "production", "2026-11-17T10:40:00Z", "failure", [
            ("sso: show IdP certificate expiry in settings (#915)", "mkowalski",
             [("app/settings/sso/page.tsx", "modified", 52, 8, "")]),
        ]),
        ("web-2026.11.17", "production", "2026-11-17T11:05:00Z", "success", []),
        ("web-2026.11.19", "production", "2026-11-19T09:20:00Z", "success", [
            ("webhooks: delivery log filters (#921)", "lchen", [("app/webhooks/log.tsx", "modified", 64, 20, "")]),
        ]),
        ("web-2026.11.20", "production", "2026-11-20T09:12:00Z", "success", [
            ("rate limits: usage chart per API key (#926)", "psharma",
             [("app/usage/rate-limits.tsx", "added", 118, 0, "")]),
        ]),
    ],
}  # fmt: skip


ISSUES: list[dict[str, Any]] = [
    {"n": 482, "title": "Gateway rate limiter double-counts retried requests with Idempotency-Key since v2.41.0",
     "state": "In Progress", "priority": 1, "labels": ["Bug", "gateway", "rate-limiting", "customer-impact"],
     "created": "2026-11-20T09:41:00Z", "updated": "2026-11-20T11:02:00Z", "due": "2026-11-21",
     "description": (
         "Since **v2.41.0** (deployed 2026-11-20 08:04 UTC) the sliding-window limiter in "
         "`src/gateway/ratelimit.py` increments the client's bucket twice when a request carries an "
         "`Idempotency-Key` that the gateway has already seen (a client retry). Clients that retry "
         "`POST /v2/shipments` with the same key burn their budget twice as fast and get `429` "
         "`rate_limit_exceeded` far below their plan limit.\n\n"
         "## Impact\nAccounts retrying POSTs with Idempotency-Key (Acme Logistics reported first). "
         "x-ratelimit-remaining drops to 0 while real traffic is ~5% of the plan limit.\n\n"
         "## Workaround:\nRetry with exponential backoff and reuse the same Idempotency-Key at most once; "
         "or temporarily lower client concurrency to 5.\n\n"
         "## Fix\nCount a replayed Idempotency-Key once (PR #2318).\n\nETA: fix ships 2026-11-21"),
     "comments": [("Marta Kowalski", "2026-11-20T10:05:00Z",
                   "Reproduced on staging: two increments per replay in `SlidingWindowLimiter.check`. "
                   "Introduced by #2310."),
                  ("David Okafor", "2026-11-20T11:02:00Z",
                   "Fix in review (#2318). Not hotfixing tonight; ships with 2026-11-21 train.")]},
    {"n": 431, "title": "429 on bulk import endpoint when batch exceeds 500 orders",
     "state": "Done", "priority": 2, "labels": ["Bug", "rate-limiting", "orders"],
     "created": "2026-09-02T13:20:00Z", "updated": "2026-09-09T16:00:00Z", "due": None,
     "description": "`POST /v2/orders/bulk` counted each order in a batch as one request against the "
                    "rate limit, so batches > 500 orders returned `429` on Growth plans.\n\n"
                    "Fixed in v2.33.0: a batch counts as one request.",
     "comments": [("Lin Chen", "2026-09-09T16:00:00Z", "Shipped in v2.33.0.")]},
    {"n": 455, "title": "Rate limit headers missing from API docs",
     "state": "Todo", "priority": 4, "labels": ["Docs", "rate-limiting"],
     "created": "2026-10-14T09:00:00Z", "updated": "2026-10-20T10:30:00Z", "due": None,
     "description": "The API reference does not document `x-ratelimit-limit`, `x-ratelimit-remaining`, "
                    "`x-ratelimit-reset` or `retry-after` on 429 responses. Customers keep asking.",
     "comments": []},
    {"n": 480, "title": "Rate limiter: per-key buckets not reset after plan upgrade",
     "state": "Backlog", "priority": 3, "labels": ["Bug", "gateway", "rate-limiting"],
     "created": "2026-11-11T15:10:00Z", "updated": "2026-11-11T15:10:00Z", "due": None,
     "description": "After an upgrade from Starter to Growth the old 120 rpm limit applies until the "
                    "gateway cache expires (up to 1 hour). Low impact; upgrades are rare.",
     "comments": []},
    {"n": 471, "title": "Idempotency-Key conflicts return 500 instead of 409",
     "state": "Done", "priority": 2, "labels": ["Bug", "gateway"],
     "created": "2026-10-28T08:45:00Z", "updated": "2026-11-04T12:00:00Z", "due": None,
     "description": "Reusing an Idempotency-Key with a different body raised `IntegrityError` → 500. "
                    "Now returns `409 idempotency_conflict`. Fixed in v2.39.0.",
     "comments": []},
    {"n": 476, "title": "Orders export times out for accounts with more than 100k orders",
     "state": "Done", "priority": 2, "labels": ["Bug", "orders", "export"],
     "created": "2026-10-21T10:00:00Z", "updated": "2026-11-02T09:30:00Z", "due": None,
     "description": "`GET /v2/orders/export` hit the 30 s gateway timeout (504) for very large accounts. "
                    "Export now paginates server-side. Fixed in v2.38.0.",
     "comments": [("David Okafor", "2026-11-02T09:30:00Z", "Verified with Hooli's dataset; closing.")]},
    {"n": 474, "title": "Orders export: created_at column uses server timezone instead of UTC",
     "state": "In Review", "priority": 3, "labels": ["Bug", "orders", "export", "data"],
     "created": "2026-11-06T14:00:00Z", "updated": "2026-11-19T17:20:00Z", "due": None,
     "description": "CSV export writes `created_at` in Europe/Berlin time without an offset. "
                    "Data team reported a one-hour discrepancy. No errors, only wrong values.",
     "comments": []},
    {"n": 440, "title": "402 subscription_past_due returned on GET endpoints",
     "state": "Done", "priority": 2, "labels": ["Bug", "billing", "gateway"],
     "created": "2026-09-15T11:00:00Z", "updated": "2026-09-22T15:45:00Z", "due": None,
     "description": "Past-due accounts must keep read access during the grace period; only write "
                    "endpoints (POST/PUT/PATCH/DELETE) should return `402 subscription_past_due`. "
                    "Fixed in v2.35.1.",
     "comments": []},
    {"n": 470, "title": "Webhook retries use a fixed delay instead of exponential backoff",
     "state": "Done", "priority": 3, "labels": ["Bug", "webhooks"],
     "created": "2026-10-25T09:00:00Z", "updated": "2026-11-17T16:30:00Z", "due": None,
     "description": "Retry schedule is now 1 min, 5 min, 30 min, 2 h, 6 h with jitter (webhooks v1.18.1).",
     "comments": []},
    {"n": 484, "title": "Webhook dispatcher: say 'endpoint TLS certificate expired' instead of tls_error",
     "state": "Todo", "priority": 4, "labels": ["Improvement", "webhooks"],
     "created": "2026-11-19T11:30:00Z", "updated": "2026-11-19T11:30:00Z", "due": None,
     "description": "Customers can't tell why deliveries fail with `tls_error`. Surface the reason "
                    "in the delivery log.",
     "comments": []},
    {"n": 478, "title": "Dashboard shows stale webhook endpoint status",
     "state": "Todo", "priority": 3, "labels": ["Bug", "web", "webhooks"],
     "created": "2026-11-12T10:00:00Z", "updated": "2026-11-19T09:25:00Z", "due": None,
     "description": "Webhooks page caches endpoint health for 24 h, so a failing endpoint shows green.",
     "comments": []},
    {"n": 463, "title": "SAML: clearer error page when the IdP signing certificate has expired",
     "state": "Backlog", "priority": 3, "labels": ["Improvement", "sso"],
     "created": "2026-10-08T12:00:00Z", "updated": "2026-10-08T12:00:00Z", "due": None,
     "description": "Users see 'Login failed' when the customer's IdP signs with an expired certificate. "
                    "Show 'Your identity provider's certificate expired; ask your admin to rotate it.'",
     "comments": []},
    {"n": 459, "title": "SSO login loop in Safari 17 with IdP-initiated flow",
     "state": "Done", "priority": 2, "labels": ["Bug", "sso", "web"],
     "created": "2026-09-28T08:00:00Z", "updated": "2026-10-03T14:00:00Z", "due": None,
     "description": "SameSite=Lax session cookie dropped on the POST from the IdP. Fixed in web-2026.10.03.",
     "comments": []},
    {"n": 466, "title": "p95 latency regression on POST /v2/rates in ap-southeast-1",
     "state": "Done", "priority": 2, "labels": ["Bug", "performance", "rates"],
     "created": "2026-10-19T03:00:00Z", "updated": "2026-10-24T08:00:00Z", "due": None,
     "description": "Carrier rate lookups went cross-region. Fixed by regional rate-card cache.",
     "comments": []},
    {"n": 485, "title": "API down? Status page shows operational during 502 blip on 2026-11-17",
     "state": "Canceled", "priority": 4, "labels": ["Incident", "gateway"],
     "created": "2026-11-17T19:40:00Z", "updated": "2026-11-18T08:00:00Z", "due": None,
     "description": "Seven minutes of 502 from one load balancer node (19:12–19:19 UTC). Only a handful "
                    "of requests affected; not worth a status page entry. Duplicate of INC-219.",
     "comments": []},
]  # fmt: skip


HISTORY: list[tuple[str, str, str, list[str], str, str]] = [
    ("429 Too Many Requests during our nightly sync",
     "Our nightly order sync gets 429s after ~2 minutes. We're on Starter.",
     "Customer was sending 300 rpm on a Starter plan (120 rpm). Explained x-ratelimit-* headers and "
     "backoff; they upgraded to Growth.", ["api", "429", "rate-limit", "plan-limit"],
     "2026-08-12T22:10:00Z", "2026-08-13T09:40:00Z"),
    ("Bulk import returns 429",
     "POST /v2/orders/bulk with 800 orders always returns 429 rate_limit_exceeded.",
     "Bug REL-431: batches counted per order. Fixed in v2.33.0; workaround was batches of 400.",
     ["api", "429", "bug", "bulk-import"], "2026-09-02T10:00:00Z", "2026-09-09T17:00:00Z"),
    ("Getting 402 on every POST",
     "All our POSTs fail with 402 subscription_past_due, GETs work.",
     "Card expired; invoice open with 2 failed attempts. Customer updated the card in the billing "
     "portal, invoice paid, writes restored within a minute.", ["api", "402", "billing", "past-due"],
     "2026-07-21T08:30:00Z", "2026-07-21T10:05:00Z"),
    ("Is the API down? 402 errors",
     "Nothing works since this morning, we get 402 Payment Required.",
     "Not an outage: subscription past_due after insufficient_funds declines. Routed to Billing, who "
     "arranged an invoice payment by bank transfer.", ["api", "402", "billing"],
     "2026-10-06T07:50:00Z", "2026-10-06T12:30:00Z"),
    ("SSO broken: Signature validation failed",
     "Our users can't log in via Okta, error says Signature validation failed.",
     "Customer rotated the Okta signing certificate without sending us the new one. Updated the "
     "configured certificate fingerprint from their new metadata.", ["sso", "saml", "okta", "certificate"],
     "2026-06-03T08:15:00Z", "2026-06-03T11:00:00Z"),
    ("SAML login says certificate expired",
     "Azure AD login fails with 'signing certificate expired'.",
     "The customer's Entra ID app certificate expired. Their admin created a new certificate in the "
     "Enterprise App, made it active, and re-uploaded metadata; login restored.",
     ["sso", "saml", "entra", "certificate-expired"], "2026-04-14T09:00:00Z", "2026-04-14T15:20:00Z"),
    ("SSO redirect loop in Safari",
     "Safari users bounce between our IdP and your login page.",
     "Bug REL-459 (SameSite cookie). Fixed in web-2026.10.03.", ["sso", "safari", "bug"],
     "2026-09-28T07:30:00Z", "2026-10-03T15:00:00Z"),
    ("Webhooks not arriving",
     "We stopped receiving order.updated webhooks yesterday.",
     "Delivery log showed 503 from the customer's endpoint after their load balancer change; their "
     "team fixed the target group. Deliveries were retried automatically.",
     ["webhooks", "503", "customer-endpoint"], "2026-08-30T13:00:00Z", "2026-08-30T16:45:00Z"),
    ("Webhook deliveries timing out",
     "Your webhooks time out against our server, please check your side.",
     "Customer endpoint took >10 s (synchronous DB writes). Advised to acknowledge fast and process "
     "asynchronously. Platform delivery failure rate was 0.2% at the time.",
     ["webhooks", "timeout", "customer-endpoint"], "2026-10-11T09:20:00Z", "2026-10-12T08:00:00Z"),
    ("Duplicate webhook events",
     "We get the same shipment.updated twice.",
     "At-least-once delivery: retries after a timeout. Explained the delivery id for deduplication.",
     ["webhooks", "duplicates", "how-to"], "2026-07-02T12:00:00Z", "2026-07-02T14:10:00Z"),
    ("Export endpoint 504",
     "GET /v2/orders/export times out for our full history.",
     "Bug REL-476, fixed in v2.38.0 (server-side pagination).", ["api", "export", "504", "bug"],
     "2026-10-21T09:00:00Z", "2026-11-02T10:00:00Z"),
    ("Export has wrong timestamps",
     "created_at in the CSV export is an hour off.",
     "Bug REL-474 (timezone of export column) escalated to Data; workaround: use the JSON API.",
     ["export", "data", "timezone"], "2026-11-06T13:00:00Z", "2026-11-07T09:00:00Z"),
    ("500 on label creation",
     "POST /v2/labels returns 500 for DHL shipments.",
     "Regression from a carrier API change; Backend deployed a fix in v2.40.1.",
     ["api", "500", "labels", "regression"], "2026-11-16T15:00:00Z", "2026-11-17T14:00:00Z"),
    ("API key stopped working",
     "All requests return 401 authentication_failed since 3pm.",
     "Customer rotated keys and deployed the revoked one to a worker. Pointed them to the key hash in "
     "the request log.", ["api", "401", "api-key"], "2026-11-16T15:30:00Z", "2026-11-16T16:10:00Z"),
    ("Dashboard slow to load orders",
     "Orders page in the dashboard takes 20 seconds.",
     "Slow search query on a large account; index added in v2.40.0 (orders search).",
     ["ui", "performance"], "2026-11-10T10:00:00Z", "2026-11-16T10:00:00Z"),
    ("Invoice shows wrong company name",
     "Our invoice is addressed to our old entity name.",
     "Billing updated the customer name in Stripe and re-issued the invoice PDF.", ["billing", "invoice"],
     "2026-09-10T09:00:00Z", "2026-09-10T11:00:00Z"),
]  # fmt: skip


# ----------------------------------------------------------------------------- the spec

BILLING = {
    # Smart Retries: 2026-11-05, 2026-11-09, 2026-11-14 all declined; next try 2026-11-21.
    "globex": BillingSpec(
        status="past_due", delinquent=True, card_last4="0341", next_attempt="2026-11-21T10:31:52Z",
        charges=[ChargeSpec(at=at, decline="insufficient_funds", seed=f"globex-try-{n}") for n, at in
                 enumerate(["2026-11-05T09:02:11Z", "2026-11-09T11:47:36Z", "2026-11-14T10:31:52Z"])]),
    # noise: one decline (expired card), then the customer updated the card and paid
    "wonka": BillingSpec(
        card_last4="8210", card_exp_year=2026, paid_at="2026-11-03T07:15:40Z",
        charges=[ChargeSpec(decline="expired_card", seed="wonka-expired"),
                 ChargeSpec(at="2026-11-03T07:15:38Z", seed="wonka-retry")]),
}  # fmt: skip
HOSTS = {
    "relayhq/api": "api.relayhq.dev",
    "relayhq/webhooks": "hooks.relayhq.dev",
    "relayhq/web": "app.relayhq.dev",
}


def spec() -> WorldSpec:
    brand = Brand(
        name="Relay", legal_name="Relay, Inc.", stripe_account="acct_1RelayHQ",
        statement_descriptor="RELAYHQ.DEV", price_lookup_prefix="relay", app_host="app.relayhq.dev",
        ci_host="ci.relayhq.dev", help_center="https://support.relayhq.dev/hc/en-us/articles/",
        linear_workspace="relayhq", linear_team_key="REL", linear_team_name="Relay",
        deploy_bot="relay-deploy[bot]",
        people={login: Person(name=n, email=e, id=i) for login, (n, e, i) in PEOPLE.items()},
    )  # fmt: skip
    plans = {
        key: PlanSpec(
            name=p["name"], amount=p["amount"],
            description=f"{p['name']}: orders and shipping API, {p['rpm']} requests per minute",
            metadata={"api_rpm": p["rpm"], "sso": p["sso"], "webhook_endpoints": p["webhooks"], "plan": key},
        )
        for key, p in PLANS.items()
    }  # fmt: skip
    accs = []
    for acc in ACCOUNTS:
        idp = None
        if acc["id"] in IDPS:
            i = IDPS[acc["id"]]
            idp = IdpSpec(
                vendor=i["vendor"], entity_id=i["entity_id"], metadata_url=i["metadata_url"], file=i["file"]
            )  # type: ignore[arg-type]
        repos = ["relayhq/api", "relayhq/web"] + (["relayhq/webhooks"] if acc["webhook_url"] else [])
        accs.append(AccountSpec(
            id=acc["id"], name=acc["name"], domains=acc["domains"], plan=acc["plan"], timezone=acc["timezone"],
            email=acc["email"], anchor=acc["anchor"], created=acc["created"], webhook_url=acc["webhook_url"],
            repos=repos, billing=BILLING.get(acc["id"], BillingSpec()), idp=idp,
        ))  # fmt: skip
    repos = {
        repo: RepoSpec(host=HOSTS[repo], releases=repo != "relayhq/web", deploys=[
            DeploySpec(tag=tag, environment=env, at=at, state=state, commits=[  # type: ignore[arg-type]
                CommitSpec(message=m, author=a, files=[
                    FileChange(path=p, status=s, additions=ad, deletions=de, patch=pt) for p, s, ad, de, pt in files
                ]) for m, a, files in commits
            ]) for tag, env, at, state, commits in deploys
        ])
        for repo, deploys in DEPLOYS.items()
    }  # fmt: skip
    issues = [
        IssueSpec(
            n=i["n"], title=i["title"], state=i["state"], priority=i["priority"], labels=i["labels"],
            created=i["created"], updated=i["updated"], due=i["due"], description=i["description"],
            comments=[IssueComment(author=w, at=at, body=b) for w, at, b in i["comments"]],
        )
        for i in ISSUES
    ]  # fmt: skip
    history = [
        HistorySpec(subject=s, body=b, resolution=r, tags=t, created=c, solved=d)
        for s, b, r, t, c, d in HISTORY
    ]
    return WorldSpec(name="demo", brand=brand, plans=plans, accounts=accs, repos=repos, issues=issues,
                     history=history)  # fmt: skip


def dump(name: str, data: Any) -> None:
    (WORLD / name).write_text(dumps(data), encoding="utf-8")


def main() -> None:
    world = spec()
    prints = {a.id: fingerprint(WORLD / "sso" / f"{a.idp.file}.xml") for a in world.accounts
              if a.idp and (WORLD / "sso" / f"{a.idp.file}.xml").exists()}  # fmt: skip
    dump("accounts.json", accounts(world, prints))
    dump("stripe.json", stripe(world))
    gh = github(world)
    dump("github.json", gh)
    dump("linear.json", linear(world))
    dump("tickets.json", tickets(world))
    for d in reversed(gh["repos"]["relayhq/api"]["deployments"]):
        print(f"relayhq/api {d['ref']:8} {d['environment']:10} {d['created_at']} id={d['id']} sha={d['sha']}")


if __name__ == "__main__":
    main()
