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

import yaml

from casefile.tools.world.generate.billing_objects import stripe
from casefile.tools.world.generate.build import accounts, dumps
from casefile.tools.world.generate.deploy_objects import github
from casefile.tools.world.generate.issue_objects import linear, tickets
from casefile.tools.world.generate.spec import (
    AccountSpec,
    Brand,
    CommitSpec,
    DeploySpec,
    FileChange,
    HistorySpec,
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


# ----------------------------------------------------------------------------- the spec

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
    story = yaml.safe_load((WORLD / "story.yaml").read_text(encoding="utf-8"))
    accs = [AccountSpec.model_validate(a) for a in story["accounts"]]
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
    issues = [IssueSpec.model_validate(i) for i in story["issues"]]
    history = [HistorySpec.model_validate(h) for h in story["history"]]
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
