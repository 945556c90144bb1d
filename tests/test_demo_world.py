"""The demo world's files: valid, in the providers' shapes, and consistent with each other."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree

from casefile.agent.intake import load_ticket
from casefile.tools.world.traffic import generate

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
WORLD = EXAMPLES / "world"
TICKETS = EXAMPLES / "tickets"
REFERENCE = Path("/work/shared/reference")
NS = {"md": "urn:oasis:names:tc:SAML:2.0:metadata", "ds": "http://www.w3.org/2000/09/xmldsig#"}


def load(name: str) -> Any:
    return json.loads((WORLD / name).read_text(encoding="utf-8"))


def reference(name: str) -> Any:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"reference file {path} not available")
    return json.loads(path.read_text(encoding="utf-8"))


ACCOUNTS = {a["id"]: a for a in load("accounts.json")["accounts"]}
STRIPE = load("stripe.json")
GITHUB = load("github.json")["repos"]
LINEAR = {i["identifier"]: i for i in load("linear.json")["issues"]}


def certificates(xml_file: Path) -> list[x509.Certificate]:
    """Signing certificates of an IdP descriptor, in document order."""
    tree = etree.parse(str(xml_file), etree.XMLParser(resolve_entities=False, no_network=True))
    out = []
    for node in tree.iterfind(".//md:IDPSSODescriptor/md:KeyDescriptor//ds:X509Certificate", NS):
        out.append(x509.load_der_x509_certificate(base64.b64decode(re.sub(r"\s+", "", node.text or ""))))
    return out


def sha1(cert: x509.Certificate) -> str:
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA1()))


# ----------------------------------------------------------------------------- accounts


def test_the_eight_accounts_of_the_story() -> None:
    assert set(ACCOUNTS) == {"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka"}
    assert ACCOUNTS["acme"]["domains"] == ["acme-logistics.com"]
    for account in ACCOUNTS.values():
        for key in ("id", "name", "domains", "plan", "timezone", "stripe_customer", "webhook_url", "idp"):
            assert key in account, (account["id"], key)
    assert ACCOUNTS["umbrella"]["webhook_url"] == "https://hooks.umbrella-health.com/relay"
    assert ACCOUNTS["initech"]["idp"]["vendor"] == "okta"
    assert sum(a["idp"] is not None for a in ACCOUNTS.values()) >= 3


def test_stripe_customers_of_the_accounts_exist() -> None:
    customers = {c["id"]: c for c in STRIPE["customers"]}
    for account in ACCOUNTS.values():
        customer = customers[account["stripe_customer"]]
        assert customer["metadata"]["account_id"] == account["id"]
        assert customer["email"].endswith("@" + account["domains"][0])


# ----------------------------------------------------------------------------- Stripe


@pytest.mark.parametrize(
    ("collection", "kind"),
    [
        ("customers", "customer"),
        ("subscriptions", "subscription"),
        ("invoices", "invoice"),
        ("charges", "charge"),
        ("prices", "price"),
        ("products", "product"),
    ],
)
def test_stripe_objects_carry_every_field_of_stripes_own_example(collection: str, kind: str) -> None:
    example = reference("stripe_fixtures_subset.json")["resources"][kind]
    assert STRIPE[collection], collection
    for obj in STRIPE[collection]:
        missing = set(example) - set(obj)
        assert not missing, f"{obj['id']} lacks {sorted(missing)}"
        assert obj["object"] == kind


def test_subscription_items_carry_the_period_and_the_price() -> None:
    example = reference("stripe_fixtures_subset.json")["resources"]["subscription_item"]
    prices = {p["id"] for p in STRIPE["prices"]}
    for sub in STRIPE["subscriptions"]:
        for item in sub["items"]["data"]:
            assert not set(example) - set(item)
            assert item["price"]["id"] in prices
            assert item["current_period_start"] < item["current_period_end"]


def test_plan_limits_live_in_product_metadata() -> None:
    limits = {p["name"]: p["metadata"]["api_rpm"] for p in STRIPE["products"]}
    assert limits == {"Relay Starter": "120", "Relay Growth": "600", "Relay Enterprise": "3000"}


def test_globex_is_past_due_after_three_declines() -> None:
    customer = ACCOUNTS["globex"]["stripe_customer"]
    (sub,) = [s for s in STRIPE["subscriptions"] if s["customer"] == customer]
    assert sub["status"] == "past_due"
    (invoice,) = [i for i in STRIPE["invoices"] if i["customer"] == customer and i["status"] == "open"]
    assert invoice["attempt_count"] == 3
    assert invoice["parent"]["subscription_details"]["subscription"] == sub["id"]
    failed = sorted((c for c in STRIPE["charges"] if c["customer"] == customer and c["status"] == "failed"),
                    key=lambda c: c["created"])  # fmt: skip
    assert len(failed) == 3
    last = failed[-1]
    assert datetime.fromtimestamp(last["created"], UTC).date().isoformat() == "2026-11-14"
    assert (last["failure_code"], last["outcome"]["reason"]) == ("card_declined", "insufficient_funds")


def test_everyone_else_is_in_good_standing() -> None:
    for account in ACCOUNTS.values():
        if account["id"] == "globex":
            continue
        customer = account["stripe_customer"]
        assert all(s["status"] == "active" for s in STRIPE["subscriptions"] if s["customer"] == customer)
        assert not [i for i in STRIPE["invoices"] if i["customer"] == customer and i["status"] == "open"]


# ----------------------------------------------------------------------------- GitHub


def test_github_objects_carry_every_field_of_the_rest_examples() -> None:
    deployment = reference("github_list_deployments.json")[0]
    status = reference("github_list_deployment_statuses.json")[0]
    compare = reference("github_compare_commits.json")
    assert set(GITHUB) == {"relayhq/api", "relayhq/webhooks", "relayhq/web"}
    for repo, data in GITHUB.items():
        assert 5 <= len(data["deployments"]) <= 10, repo
        for d in data["deployments"]:
            assert not set(deployment) - set(d), d["id"]
            assert not set(deployment["creator"]) - set(d["creator"])
            statuses = data["deployment_statuses"][str(d["id"])]
            assert statuses and all(not set(status) - set(s) for s in statuses)
        for key, c in data["compares"].items():
            assert not set(compare) - set(c), key
            assert all(not set(compare["commits"][0]) - set(commit) for commit in c["commits"])
            assert all(not set(compare["files"][0]) - set(f) for f in c["files"])
            assert all(re.fullmatch(r"[0-9a-f]{40}", s) for s in key.split("..."))


def test_a_compare_for_every_consecutive_pair_of_production_deploys() -> None:
    for repo, data in GITHUB.items():
        prod = sorted(
            (d for d in data["deployments"]
             if d["environment"] == "production"
             and data["deployment_statuses"][str(d["id"])][0]["state"] == "success"),
            key=lambda d: d["created_at"],
        )  # fmt: skip
        pairs = {f"{a['sha']}...{b['sha']}" for a, b in pairwise(prod) if a["sha"] != b["sha"]}
        assert pairs == set(data["compares"]), repo


def production(ref: str) -> dict[str, Any]:
    (d,) = [
        d
        for d in GITHUB["relayhq/api"]["deployments"]
        if d["ref"] == ref and d["environment"] == "production"
    ]
    return d


def compare_into(ref: str) -> dict[str, Any]:
    head = production(ref)["sha"]
    (c,) = [c for key, c in GITHUB["relayhq/api"]["compares"].items() if key.endswith("..." + head)]
    return c


def test_the_two_api_deploys_of_the_story() -> None:
    assert production("v2.41.0")["created_at"] == "2026-11-20T08:04:00Z"
    assert production("v2.40.3")["created_at"] == "2026-11-18T14:02:00Z"
    assert "src/gateway/ratelimit.py" in {f["filename"] for f in compare_into("v2.41.0")["files"]}
    assert "src/orders/export.py" in {f["filename"] for f in compare_into("v2.40.3")["files"]}
    assert "src/orders/export.py" not in {f["filename"] for f in compare_into("v2.41.0")["files"]}
    releases = {r["tag_name"] for r in GITHUB["relayhq/api"]["releases"]}
    assert {"v2.40.3", "v2.41.0"} <= releases


# ----------------------------------------------------------------------------- Linear


def test_linear_issues_have_the_graphql_fields() -> None:
    fields = {"id", "identifier", "title", "description", "url", "priority", "priorityLabel", "createdAt",
              "updatedAt", "dueDate", "state", "labels", "team", "comments"}  # fmt: skip
    assert len(LINEAR) >= 13
    for ident, issue in LINEAR.items():
        assert not fields - set(issue), ident
        assert re.fullmatch(r"REL-\d+", ident)
        assert issue["url"].startswith(f"https://linear.app/relayhq/issue/{ident}/")
        assert re.fullmatch(r"[0-9a-f-]{36}", issue["id"])
        assert set(issue["state"]) == {"name", "type"}
        assert issue["team"] == {"key": "REL", "name": "Relay"}
        assert all(set(c) == {"body", "createdAt", "user"} for c in issue["comments"]["nodes"])


def test_rel_482_is_the_open_rate_limiter_bug() -> None:
    issue = LINEAR["REL-482"]
    assert issue["state"]["name"] == "In Progress"
    assert "Idempotency-Key" in issue["title"] and "v2.41.0" in issue["title"]
    assert "Workaround:" in issue["description"]
    assert (
        "Retry with exponential backoff and reuse the same Idempotency-Key at most once; "
        "or temporarily lower client concurrency to 5" in issue["description"]
    )
    assert "ETA: fix ships 2026-11-21" in issue["description"]
    assert not [i for i in LINEAR.values() if "export" in i["title"].lower() and "500" in i["title"]]


# ----------------------------------------------------------------------------- SSO


def test_configured_fingerprints_match_the_metadata_files() -> None:
    urls = json.loads((WORLD / "sso" / "urls.json").read_text(encoding="utf-8"))
    traffic = json.loads((WORLD / "clickhouse" / "traffic.json").read_text(encoding="utf-8"))
    for account in ACCOUNTS.values():
        idp = account["idp"]
        if idp is None:
            continue
        current = WORLD / "sso" / urls[idp["metadata_url"]]
        assert sha1(certificates(current)[0]) == idp["configured_cert_sha1"], account["id"]
        snapshot = WORLD / idp["last_working_snapshot"]
        assert idp["configured_cert_sha1"] in {sha1(c) for c in certificates(snapshot)}
        assert traffic["sso_logins"]["accounts"][account["id"]]["cert_sha1"] == idp["configured_cert_sha1"]
        assert traffic["sso_logins"]["accounts"][account["id"]]["idp_entity_id"] == idp["entity_id"]
    assert set(urls.values()) <= {p.name for p in (WORLD / "sso").glob("*.xml")}


def test_initechs_signing_cert_expired_and_nothing_else_changed() -> None:
    idp = ACCOUNTS["initech"]["idp"]
    current = WORLD / "sso" / "initech-okta.xml"
    (cert,) = certificates(current)
    assert cert.not_valid_after_utc == datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC)
    assert (WORLD / idp["last_working_snapshot"]).read_bytes() == current.read_bytes()


def test_other_idps_are_valid_into_2027() -> None:
    for name in ("stark-okta.xml", "wayne-entra.xml", "hooli-google.xml"):
        certs = certificates(WORLD / "sso" / name)
        assert all(c.not_valid_after_utc > datetime(2027, 1, 1, tzinfo=UTC) for c in certs), name
        assert all(c.public_key().key_size == 2048 for c in certs)  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- tickets


SCENARIO_TICKETS = {
    "429-spike.json": ("acme", "2026-11-20T11:40:00Z"),
    "billing-past-due.json": ("globex", "2026-11-20T10:15:00Z"),
    "saml-expired-cert.json": ("initech", "2026-11-20T09:05:00Z"),
    "webhook-endpoint-down.json": ("umbrella", "2026-11-20T14:30:00Z"),
    "export-regression.json": ("hooli", "2026-11-19T09:30:00Z"),
}


@pytest.mark.parametrize("name", sorted(SCENARIO_TICKETS))
def test_scenario_tickets_in_our_format(name: str) -> None:
    account, created = SCENARIO_TICKETS[name]
    raw = json.loads((TICKETS / name).read_text(encoding="utf-8"))
    assert set(raw) == {"id", "subject", "body", "requester", "created_at", "tags"}
    assert re.fullmatch(r"T-\d{4}", raw["id"])
    assert raw["created_at"] == created
    assert raw["requester"]["email"].endswith("@" + ACCOUNTS[account]["domains"][0])
    ticket = load_ticket(TICKETS / name)
    assert ticket.created_at == datetime.fromisoformat(created.replace("Z", "+00:00"))


def test_tickets_read_like_customers_wrote_them() -> None:
    acme = (TICKETS / "429-spike.json").read_text(encoding="utf-8")
    assert "Our API calls have been failing with 429 errors since this morning" in acme
    assert "retry-after:" in acme
    assert "is your api down" in (TICKETS / "billing-past-due.json").read_text(encoding="utf-8").lower()
    secrets = [p.name for p in TICKETS.glob("*.json") if "sk_live_51H" in p.read_text(encoding="utf-8")]
    assert secrets
    assert all(load_ticket(TICKETS / name).redactions >= 1 for name in secrets)


def test_request_ids_pasted_in_tickets_exist_in_the_logs() -> None:
    requests = generate(json.loads((WORLD / "clickhouse" / "traffic.json").read_text(encoding="utf-8")))[
        "requests"
    ]
    index = {rid: i for i, rid in enumerate(requests["request_id"])}
    for name, (account, _) in SCENARIO_TICKETS.items():
        for rid in re.findall(r"req_[0-9a-f]{24}", (TICKETS / name).read_text(encoding="utf-8")):
            i = index[rid]
            assert requests["account_id"][i] == account
            assert requests["status"][i] in (429, 500)


def test_zendesk_export_is_the_429_ticket() -> None:
    export = json.loads((TICKETS / "zendesk-export.json").read_text(encoding="utf-8"))
    ticket = export["ticket"]
    for key in ("id", "url", "subject", "description", "requester_id", "submitter_id", "organization_id",
                "status", "priority", "tags", "created_at", "updated_at", "via", "custom_fields"):  # fmt: skip
        assert key in ticket, key
    assert ticket["via"]["channel"] == "email"
    users = {u["id"]: u for u in export["users"]}
    assert users[ticket["requester_id"]]["email"] == "jonas.weber@acme-logistics.com"
    for comment in export["comments"]:
        assert {"id", "type", "author_id", "body", "html_body", "plain_body", "public", "created_at"} <= set(
            comment
        )
        assert comment["type"] == "Comment" and comment["author_id"] in users
    own = json.loads((TICKETS / "429-spike.json").read_text(encoding="utf-8"))
    assert export["comments"][0]["body"] == own["body"] and ticket["created_at"] == own["created_at"]
    parsed = load_ticket(TICKETS / "zendesk-export.json")
    assert parsed.source == "zendesk" and parsed.requester.email == own["requester"]["email"]


def test_helpdesk_history() -> None:
    history = load("tickets.json")["tickets"]
    assert len(history) >= 15
    for t in history:
        assert set(t) == {
            "id",
            "subject",
            "body",
            "resolution",
            "tags",
            "created_at",
            "solved_at",
            "article_url",
        }
        assert t["created_at"] < t["solved_at"] <= "2026-11-20T00:00:00Z"


def test_examples_stay_small() -> None:
    size = sum(p.stat().st_size for p in EXAMPLES.rglob("*") if p.is_file())
    assert size < 5 * 1024 * 1024
