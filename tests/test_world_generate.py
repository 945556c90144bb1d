"""The world generator: a scenario spec → the same world every time, in today's world format.

Also: the demo world is made by the same generator (its committed files are what
``make_world.py`` produces), a world may name its own log columns in
``clickhouse/mapping.json`` (and a wrong name is a clear error), and the bundled
worlds of other companies load and answer the logs tools under their own names.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from casefile import PACKAGE_DIR
from casefile.tools.base import CallContext, ToolCall
from casefile.tools.world.generate.build import build_world, dumps, load_spec
from casefile.tools.world.loader import World, WorldError

SCENARIOS = PACKAGE_DIR / "evals" / "scenarios"
WORLDS = PACKAGE_DIR / "evals" / "worlds"
SPECS = sorted(p for p in SCENARIOS.glob("*.yaml") if not p.name.endswith(".cases.yaml"))


def test_there_are_other_companies_worlds() -> None:
    assert len(SPECS) >= 1
    assert all((WORLDS / p.stem).is_dir() for p in SPECS)


@pytest.mark.parametrize("spec_file", SPECS, ids=lambda p: p.stem)
def test_same_spec_same_world_and_the_committed_world_is_its_spec(spec_file: Path) -> None:
    first = build_world(load_spec(spec_file))
    assert build_world(load_spec(spec_file)) == first
    world = WORLDS / spec_file.stem
    on_disk = {
        p.relative_to(world).as_posix(): p.read_text(encoding="utf-8")
        for p in world.rglob("*")
        if p.is_file()
    }
    assert on_disk == first, "stale world: run python -m evals.build_worlds"


def test_the_demo_world_is_made_by_the_generator() -> None:
    module_spec = importlib.util.spec_from_file_location(
        "make_world", PACKAGE_DIR / "examples" / "world" / "make_world.py"
    )
    assert module_spec is not None and module_spec.loader is not None
    make_world = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(make_world)
    demo = PACKAGE_DIR / "examples" / "world"
    spec = make_world.spec()
    prints = {
        a.id: make_world.fingerprint(demo / "sso" / f"{a.idp.file}.xml") for a in spec.accounts if a.idp
    }
    from casefile.tools.world.generate.billing_objects import stripe
    from casefile.tools.world.generate.build import accounts
    from casefile.tools.world.generate.deploy_objects import github
    from casefile.tools.world.generate.issue_objects import linear, tickets

    made = {
        "accounts.json": accounts(spec, prints),
        "stripe.json": stripe(spec),
        "github.json": github(spec),
        "linear.json": linear(spec),
        "tickets.json": tickets(spec),
    }
    for name, data in made.items():
        assert dumps(data) == (demo / name).read_text(encoding="utf-8"), name


def test_generated_certificates_are_deterministic_and_dated_by_the_spec() -> None:
    from cryptography import x509

    from casefile.tools.world.generate.saml import make_cert, subject_for

    one = make_cert(subject_for("onelogin", "Acme"), "2025-01-01T00:00:00Z", "2030-01-01T00:00:00Z", 7)
    two = make_cert(subject_for("onelogin", "Acme"), "2025-01-01T00:00:00Z", "2030-01-01T00:00:00Z", 7)
    assert one == two
    cert = x509.load_der_x509_certificate(one.der)
    assert cert.not_valid_after_utc == datetime(2030, 1, 1, tzinfo=UTC)
    assert (
        make_cert(subject_for("onelogin", "Acme"), "2025-01-01T00:00:00Z", "2030-01-01T00:00:00Z", 8) != one
    )


# ---------------------------------------------------------------- log column mapping


def _copy(world: Path, tmp_path: Path) -> Path:
    target = tmp_path / "world"
    shutil.copytree(world, target)
    return target


def _self_contained(world: Path, tmp_path: Path, extra: str = "") -> Path:
    """A copy of ``world`` in the format of a world made elsewhere: with its own ``schema.sql``."""
    target = _copy(world, tmp_path)
    schema = World(target).schema_sql
    if extra:
        schema = schema.replace("response_headers String\n", f"response_headers String,\n  {extra}\n", 1)
    (target / "clickhouse" / "schema.sql").write_text(schema, encoding="utf-8")
    return target


def test_a_mapped_world_without_schema_gets_the_demo_tables_under_its_names() -> None:
    assert not (WORLDS / "kestrel" / "clickhouse" / "schema.sql").exists()
    schema = World(WORLDS / "kestrel").schema_sql
    assert "CREATE TABLE api_events" in schema and "CREATE TABLE requests" not in schema
    assert "merchant_id LowCardinality(String)" in schema and "http_status UInt16" in schema
    # the columns the mapping leaves alone keep the demo's names and types
    assert "request_headers String" in schema and "clock_skew_s Int32" in schema


def test_a_world_with_its_own_schema_loads_that_file(tmp_path: Path) -> None:
    world = World(_self_contained(WORLDS / "kestrel", tmp_path, extra="plan_tier LowCardinality(String)"))
    assert "plan_tier" in world.schema_sql
    client = world.clickhouse()
    columns = [r[0] for r in client.query(f"DESCRIBE TABLE `{world.database}`.api_events").result_rows]
    assert columns[0] == "event_time" and "plan_tier" in columns
    count = client.query(f"SELECT count() FROM `{world.database}`.api_events").result_rows[0][0]
    assert count > 0


def test_a_world_without_schema_or_log_files_says_so(tmp_path: Path) -> None:
    world = _copy(WORLDS / "kestrel", tmp_path)
    shutil.rmtree(world / "clickhouse")
    with pytest.raises(WorldError, match=r"clickhouse/schema\.sql missing"):
        World(world).clickhouse()


def test_a_mapped_column_the_table_lacks_is_named_with_its_mapping_key(tmp_path: Path) -> None:
    world = _self_contained(WORLDS / "kestrel", tmp_path)
    mapping_file = world / "clickhouse" / "mapping.json"
    mapping = json.loads(mapping_file.read_text(encoding="utf-8"))
    mapping["requests"]["status"] = "http_code"
    mapping_file.write_text(json.dumps(mapping), encoding="utf-8")
    with pytest.raises(WorldError) as info:
        World(world).log_settings  # noqa: B018
    message = str(info.value)
    assert "requests.status" in message and "'http_code'" in message and "api_events" in message
    with pytest.raises(WorldError, match=r"requests\.status"):
        World(world).clickhouse()


def test_a_world_without_mapping_whose_columns_differ_says_where_to_declare_them(tmp_path: Path) -> None:
    world = _self_contained(WORLDS / "kestrel", tmp_path)
    (world / "clickhouse" / "mapping.json").unlink()
    with pytest.raises(WorldError) as info:
        World(world).log_settings  # noqa: B018
    assert "requests.table" in str(info.value) and "mapping.json" in str(info.value)


def test_a_mapping_with_an_unknown_section_is_refused(tmp_path: Path) -> None:
    world = _copy(WORLDS / "kestrel", tmp_path)
    (world / "clickhouse" / "mapping.json").write_text(
        '{"request": {"table": "api_events"}}', encoding="utf-8"
    )
    with pytest.raises(WorldError, match="requests, webhooks, sso"):
        World(world).log_settings  # noqa: B018


def test_the_demo_world_keeps_the_default_mapping() -> None:
    settings = World(PACKAGE_DIR / "examples" / "world").log_settings
    assert settings.requests.table == "requests" and settings.requests.status == "status"
    assert settings.allowed_tables == ["requests", "webhook_deliveries", "sso_logins"]


@pytest.fixture(scope="module")
def kestrel() -> World:
    return World(WORLDS / "kestrel")


@pytest.fixture
async def kestrel_tools(kestrel: World) -> AsyncIterator[Any]:
    box = kestrel.toolbox()
    yield box
    await box.aclose()


async def test_a_mapped_world_answers_the_logs_tools_under_its_own_names(
    kestrel: World, kestrel_tools: Any
) -> None:
    settings = kestrel.log_settings
    assert (settings.requests.table, settings.requests.account, settings.requests.status) == (
        "api_events",
        "merchant_id",
        "http_status",
    )
    now = datetime(2026, 10, 12, 12, tzinfo=UTC)
    ctx = CallContext.for_account("fernway", kestrel.accounts, now=now)
    window = {"account_id": "fernway", "start": "2026-10-07T00:00:00Z", "end": "2026-10-08T00:00:00Z"}
    summary = await kestrel_tools.execute(ToolCall(id="1", tool="logs_error_summary", arguments=window), ctx)
    assert summary.ok, summary.error
    # the base world's noise: one of fernway's keys refused for twenty minutes
    assert "invalid_api_key (36)" in summary.rendered, summary.rendered
    hooks = await kestrel_tools.execute(
        ToolCall(id="2", tool="logs_webhook_deliveries", arguments={**window, "account_id": "brightcart"}),
        CallContext.for_account("brightcart", kestrel.accounts, now=now),
    )
    assert hooks.ok and hooks.data["attempts"] > 0
    assert hooks.data["endpoint_urls"] == ["https://api.brightcart.co/hooks/kestrel"]
    sql = await kestrel_tools.execute(
        ToolCall(id="3", tool="logs_sql", arguments={"sql": "SELECT count() AS n FROM api_events"}), ctx
    )
    assert sql.ok and sql.data["rows"][0][0] > 0


def test_adfs_and_pingone_metadata_parse_as_their_vendors_publish_them() -> None:
    """AD FS lists its keys twice (a WS-Federation RoleDescriptor, then the SAML IdP role):
    only the SAML role's certificates count; PingOne publishes plain SAML metadata."""
    from casefile.tools.sso_metadata import parse_idp_metadata
    from casefile.tools.world.generate.saml import make_cert, metadata, subject_for

    old = make_cert(
        subject_for("adfs", "sts.example.test"), "2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z", 1
    )
    new = make_cert(
        subject_for("adfs", "sts.example.test"), "2026-06-01T00:00:00Z", "2028-06-01T00:00:00Z", 2
    )
    entity = "http://sts.example.test/adfs/services/trust"
    adfs = metadata("adfs", entity, "https://sts.example.test/adfs/ls/", "sts.example.test", [old, new])
    assert "RoleDescriptor" in adfs
    parsed = parse_idp_metadata(adfs.encode())
    assert parsed.entity_id == entity
    assert [c.sha1 for c in parsed.certificates] == [old.sha1, new.sha1]
    assert {u["location"] for u in parsed.sso_urls} == {"https://sts.example.test/adfs/ls/"}

    ping = make_cert(subject_for("ping", "Example Prod"), "2025-01-01T00:00:00Z", "2030-01-01T00:00:00Z", 3)
    sso = "https://auth.pingone.example/env-1/saml20/idp/sso"
    document = metadata("ping", "https://auth.pingone.example/env-1", sso, "Example Prod", [ping])
    parsed = parse_idp_metadata(document.encode())
    assert [c.sha1 for c in parsed.certificates] == [ping.sha1]
    assert {u["location"] for u in parsed.sso_urls} == {sso}


def test_a_metered_plan_is_a_usage_based_stripe_price_billed_by_the_units_used() -> None:
    """A plan priced per unit (a label, a shipment) is what Stripe makes of it: a metered price on a
    billing meter, a subscription item without a quantity, an invoice line of units × unit price; the
    billing connector still reads its limits from the price metadata."""
    from casefile.tools.billing_standing import shape_subscription
    from casefile.tools.world.generate.billing_objects import stripe
    from casefile.tools.world.generate.spec import MeteredSpec

    spec = load_spec(SCENARIOS / "paysaga.yaml")
    spec.plans["basic"].metered = MeteredSpec(unit="label", unit_amount=8, event_name="label_created")
    licensed = stripe(load_spec(SCENARIOS / "paysaga.yaml"))
    data = stripe(spec)
    price = next(p for p in data["prices"] if p["lookup_key"] == "paysaga_basic_monthly")
    assert price["recurring"]["usage_type"] == "metered"
    assert price["recurring"]["meter"].startswith("mtr_")
    assert price["unit_amount"] == 8 and price["metadata"]["max_employees"] == "50"
    sub = next(s for s in data["subscriptions"] if s["metadata"]["account_id"] == "nusantara")
    item = sub["items"]["data"][0]
    assert "quantity" not in item and item["plan"]["usage_type"] == "metered"
    assert item["plan"]["meter"] == price["recurring"]["meter"]
    invoice = next(i for i in data["invoices"] if i["id"] == sub["latest_invoice"])
    line = invoice["lines"]["data"][0]
    assert line["quantity"] == 9900 // 8 and line["description"] == "1,237 × Paysaga Basic (at $0.08 / label)"
    assert invoice["amount_due"] == 9900
    products = {p["id"]: p for p in data["products"]}
    shaped = shape_subscription(sub, products)
    assert shaped["plan"]["amount"] == 8 and shaped["limits"]["max_employees"] == "50"
    # the licensed plans of the same world are untouched
    others = [p for p in data["prices"] if p["lookup_key"] != "paysaga_basic_monthly"]
    assert others == [p for p in licensed["prices"] if p["lookup_key"] != "paysaga_basic_monthly"]
    assert all(p["recurring"]["usage_type"] == "licensed" for p in others)


def test_keycloak_metadata_names_each_key_and_parses_as_the_realm() -> None:
    """A Keycloak realm's descriptor: a ds:KeyName per key, one endpoint for every binding."""
    from casefile.tools.sso_metadata import parse_idp_metadata
    from casefile.tools.world.generate.saml import make_cert, metadata, subject_for

    key = make_cert(subject_for("keycloak", "clinic"), "2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z", 4)
    realm = "https://id.example.test/realms/clinic"
    document = metadata("keycloak", realm, f"{realm}/protocol/saml", "clinic", [key])
    assert f"<ds:KeyName>{key.kid}</ds:KeyName>" in document and len(key.kid) == 43
    parsed = parse_idp_metadata(document.encode())
    assert parsed.entity_id == realm
    assert [c.sha1 for c in parsed.certificates] == [key.sha1]
    assert parsed.certificates[0].subject == "CN=clinic"
    assert {u["binding"].rsplit(":", 1)[1] for u in parsed.sso_urls} == {
        "HTTP-POST", "HTTP-Redirect", "SOAP", "HTTP-Artifact"
    }  # fmt: skip


def test_pingfederate_metadata_parses_with_its_subject_and_both_keys_during_a_rollover() -> None:
    """A self-hosted PingFederate: the subject the admin typed, SSO.saml2 and SLO.saml2 endpoints,
    and, while a signing key is rolled over, both certificates in the document."""
    from casefile.tools.sso_metadata import parse_idp_metadata
    from casefile.tools.world.generate.saml import make_cert, metadata, subject_for

    host = "sso.example.test"
    old = make_cert(subject_for("pingfederate", host), "2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z", 5)
    new = make_cert(subject_for("pingfederate", host), "2026-06-01T00:00:00Z", "2029-06-01T00:00:00Z", 6)
    sso = f"https://{host}/idp/SSO.saml2"
    document = metadata("pingfederate", f"https://{host}/pf", sso, host, [old, new])
    parsed = parse_idp_metadata(document.encode())
    assert parsed.entity_id == f"https://{host}/pf"
    assert [c.sha1 for c in parsed.certificates] == [old.sha1, new.sha1]
    assert "OU=PingFederate" in parsed.certificates[0].subject and host in parsed.certificates[0].subject
    assert {u["location"] for u in parsed.sso_urls} == {sso}
    assert f'Location="https://{host}/idp/SLO.saml2"' in document


def test_an_idp_whose_metadata_nobody_outside_can_reach_is_not_served() -> None:
    """``metadata_served: false`` (an IdP behind the customer's firewall, or retired): the account keeps
    its metadata URL and configured certificate, but the world's IdP host does not answer it."""
    from casefile.tools.world.generate.build import sso_files

    spec = load_spec(SCENARIOS / "posthorn.yaml")
    files, configured = sso_files(spec)
    gone = next(a for a in spec.accounts if a.idp is not None and a.idp.vendor == "adfs")
    assert gone.idp is not None
    assert gone.idp.metadata_url in json.loads(files["sso/urls.json"])
    gone.idp.metadata_served = False
    files, hidden = sso_files(spec)
    assert gone.idp.metadata_url not in json.loads(files["sso/urls.json"])
    assert hidden == configured and f"sso/{gone.idp.file}.xml" in files


def test_a_yearly_plan_paid_by_invoice_bills_a_year_with_a_due_date() -> None:
    """An annual plan: the price recurs yearly, the period is a year, and an invoice sent to be paid
    within 30 days (send_invoice) carries its due date, and with no charge it stays open; a monthly plan
    keeps charging automatically."""
    from casefile.tools.world.generate.billing_objects import stripe
    from casefile.tools.world.generate.build import load_spec
    from casefile.tools.world.generate.ids import ts

    spec = load_spec(SCENARIOS / "paysaga.yaml")
    spec.plans["scale"].interval = "year"
    yearly = next(a for a in spec.accounts if a.plan == "scale")
    yearly.billing.days_until_due = 30
    yearly.billing.charges = []  # nobody has paid the renewal invoice yet
    monthly = next(a for a in spec.accounts if a.plan != "scale")
    objects = stripe(spec)
    price = next(p for p in objects["prices"] if p["nickname"].startswith(spec.plans["scale"].name))
    assert price["recurring"]["interval"] == "year" and price["lookup_key"].endswith("_scale_yearly")
    sub = next(s for s in objects["subscriptions"] if s["metadata"]["account_id"] == yearly.id)
    item = sub["items"]["data"][0]
    assert item["plan"]["interval"] == "year"
    start = ts(yearly.anchor)
    assert item["current_period_end"] - start in (365 * 86400, 366 * 86400)
    assert (sub["collection_method"], sub["days_until_due"]) == ("send_invoice", 30)
    invoice = next(i for i in objects["invoices"] if i["id"] == sub["latest_invoice"])
    assert invoice["collection_method"] == "send_invoice"
    assert (invoice["status"], invoice["attempted"], invoice["amount_paid"]) == ("open", False, 0)
    assert invoice["due_date"] == invoice["effective_at"] + 30 * 86400
    assert invoice["lines"]["data"][0]["description"].endswith("/ year)")
    other = next(s for s in objects["subscriptions"] if s["metadata"]["account_id"] == monthly.id)
    assert other["collection_method"] == "charge_automatically" and other["days_until_due"] is None
    assert other["items"]["data"][0]["plan"]["interval"] == "month"


def test_log_times_stored_in_the_companys_zone_are_the_same_instants(tmp_path: Path) -> None:
    """A spec's ``log_time_zone`` writes the tables with their time columns in that zone: a row shows
    local time, and the logs tools, which compare instants, answer as for the same rows in UTC."""
    from casefile.tools.world.generate.build import write_world
    from casefile.tools.world.generate.spec import WorldSpec

    spec = load_spec(SCENARIOS / "kestrel.yaml")
    assert spec.traffic is not None
    first_account = next(iter(spec.traffic["requests"]))
    spec.traffic = {  # one account's three hours of requests are enough
        **{k: v for k, v in spec.traffic.items() if k not in ("request_anomalies", "webhooks", "sso_logins")},
        "end": "2026-10-05T03:00:00Z",
        "requests": {first_account: spec.traffic["requests"][first_account]},
    }
    write_world(spec, tmp_path / "utc")
    write_world(spec.model_copy(update={"log_time_zone": "Asia/Shanghai"}), tmp_path / "cst")
    utc, cst = World(tmp_path / "utc"), World(tmp_path / "cst")
    assert "DateTime64(3, 'Asia/Shanghai')" in cst.schema_sql and "'UTC'" not in cst.schema_sql
    client = cst.clickhouse()
    first = "SELECT toString(min(event_time)), toUnixTimestamp64Milli(min(event_time)), count() FROM `{}`.api_events"
    local, ms, n = client.query(first.format(cst.database)).result_rows[0]
    _, utc_ms, utc_n = utc.clickhouse().query(first.format(utc.database)).result_rows[0]
    assert (ms, n) == (utc_ms, utc_n) and n > 0
    assert local.startswith("2026-10-05 08:")  # 00:xx UTC is 08:xx in Shanghai
    with pytest.raises(ValueError, match="not an IANA time zone"):
        WorldSpec.model_validate({**spec.model_dump(), "log_time_zone": "Mars/Olympus"})


def test_shibboleth_metadata_is_the_idps_own_document_and_parses() -> None:
    """A Shibboleth IdP's idp-metadata.xml: default namespace, its scope, the profile endpoints."""
    from casefile.tools.sso_metadata import parse_idp_metadata
    from casefile.tools.world.generate.saml import make_cert, metadata, subject_for

    key = make_cert(
        subject_for("shibboleth", "idp.uni.example"), "2025-01-01T00:00:00Z", "2028-01-01T00:00:00Z", 9
    )
    entity = "https://idp.uni.example/idp/shibboleth"
    sso = "https://idp.uni.example/idp/profile/SAML2/Redirect/SSO"
    document = metadata("shibboleth", entity, sso, "idp.uni.example", [key])
    assert '<shibmd:Scope regexp="false">uni.example</shibmd:Scope>' in document and "<md:" not in document
    parsed = parse_idp_metadata(document.encode())
    assert parsed.entity_id == entity
    assert [c.sha1 for c in parsed.certificates] == [key.sha1]
    assert parsed.certificates[0].subject == "CN=idp.uni.example"
    assert sso in {u["location"] for u in parsed.sso_urls}


def test_duo_sso_metadata_names_duo_and_parses() -> None:
    """Duo SSO as a SAML IdP: plain SAML 2.0 metadata under the Duo account's SSO host, its signing
    certificate issued in Duo's name; the parser reads the entity, certificate and SSO URL."""
    from casefile.tools.sso_metadata import parse_idp_metadata
    from casefile.tools.world.generate.saml import make_cert, metadata, subject_for

    host = "sso-abc123.sso.duosecurity.com"
    key = make_cert(subject_for("duo", host), "2025-01-01T00:00:00Z", "2028-01-01T00:00:00Z", 11)
    entity = f"https://{host}/saml2/sp/DIEXAMPLE0001/metadata"
    sso = f"https://{host}/saml2/sp/DIEXAMPLE0001/sso"
    parsed = parse_idp_metadata(metadata("duo", entity, sso, host, [key]).encode())
    assert parsed.entity_id == entity
    assert [c.sha1 for c in parsed.certificates] == [key.sha1]
    assert (
        "O=Duo Security" in parsed.certificates[0].subject and f"CN={host}" in parsed.certificates[0].subject
    )
    assert sso in {u["location"] for u in parsed.sso_urls}


def test_a_plan_change_and_an_ended_trial_are_in_the_billing_objects() -> None:
    """``previous_plan``: the previous period's invoice and charge are the old plan's, the current the
    new one's (a downgrade). ``trial_end``: a trial with no card: Stripe's $0 invoice, no charge, the
    trial dates on the subscription, which a trial ending without a card cancels."""
    from casefile.tools.world.generate.billing_objects import stripe
    from casefile.tools.world.generate.ids import ts

    spec = load_spec(SCENARIOS / "paysaga.yaml")
    changed, trial = spec.accounts[0], spec.accounts[1]
    old_plan = next(p for p in spec.plans if p != changed.plan)
    changed.billing.previous_plan = old_plan
    trial.billing.trial_end = "2026-12-10T00:00:00Z"
    trial.billing.status = "canceled"
    objects = stripe(spec)
    mine = sorted(
        (i for i in objects["invoices"] if i["customer_email"] == changed.email), key=lambda i: i["created"]
    )
    assert [i["lines"]["data"][0]["description"].split(" (")[0].split("× ")[1] for i in mine] == [
        spec.plans[old_plan].name,
        spec.plans[changed.plan].name,
    ]
    assert mine[0]["total"] == spec.plans[old_plan].amount != mine[1]["total"]
    sub = next(s for s in objects["subscriptions"] if s["metadata"]["account_id"] == trial.id)
    assert (sub["trial_start"], sub["trial_end"]) == (ts(trial.created), ts("2026-12-10T00:00:00Z"))
    assert sub["trial_settings"]["end_behavior"]["missing_payment_method"] == "cancel"
    assert sub["status"] == "canceled" and sub["default_payment_method"] is None
    customer = next(c for c in objects["customers"] if c["id"] == sub["customer"])
    assert customer["invoice_settings"]["default_payment_method"] is None
    invoices = [i for i in objects["invoices"] if i["customer_email"] == trial.email]
    assert [(i["total"], i["billing_reason"], i["id"]) for i in invoices] == [
        (0, "subscription_create", sub["latest_invoice"])
    ]
    charged = {c["customer"] for c in objects["charges"]}
    assert sub["customer"] not in charged


def test_a_slowdown_keeps_each_endpoints_own_success_status() -> None:
    """An anomaly whose status_mix is {"ok": 1.0} slows requests down without changing their status:
    a POST that answers 202 still answers 202 (a {"200": 1.0} mix would turn it into a 200)."""
    from casefile.tools.world.traffic import generate

    description = {
        "seed": 7,
        "start": "2026-11-09T00:00:00Z",
        "end": "2026-11-09T06:00:00Z",
        "requests": {
            "acme": {
                "peak_rpm": 20,
                "latency": {"p50_ms": 50, "p95_ms": 100},
                "endpoints": [
                    {"method": "POST", "path": "/v3/messages", "weight": 1, "ok_status": 202},
                    {"method": "GET", "path": "/v3/domains", "weight": 1, "ok_status": 200},
                ],
            }
        },
        "request_anomalies": [
            {"id": "slow", "account": "acme", "start": "2026-11-09T03:00:00Z", "end": "2026-11-09T06:00:00Z",
             "status_mix": {"ok": 1.0}, "latency_multiplier": 10},
        ],
    }  # fmt: skip
    rows = generate(description)["requests"]
    by_path = {
        p: {s for p2, s in zip(rows["path"], rows["status"], strict=True) if p2 == p}
        for p in set(rows["path"])
    }
    assert by_path == {"/v3/messages": {202}, "/v3/domains": {200}}


def test_a_plans_overage_is_a_second_metered_price_billed_per_package() -> None:
    """A plan with an allowance and a billed overage: the subscription carries the plan's licensed item
    and a metered overage item (per 1,000 units: transform_quantity), the invoice lists the overage at
    zero, and the billing connector still reads the plan and its limits from the first item."""
    from casefile.tools.billing_standing import shape_subscription
    from casefile.tools.world.generate.billing_objects import stripe
    from casefile.tools.world.generate.spec import MeteredSpec

    spec = load_spec(SCENARIOS / "paysaga.yaml")
    spec.plans["basic"].overage = MeteredSpec(
        unit="payslip", unit_amount=40, package=100, event_name="payslips"
    )
    data = stripe(spec)
    over = next(p for p in data["prices"] if p["lookup_key"] == "paysaga_basic_overage")
    assert over["recurring"]["usage_type"] == "metered" and over["recurring"]["meter"].startswith("mtr_")
    assert over["transform_quantity"] == {"divide_by": 100, "round": "up"} and over["unit_amount"] == 40
    sub = next(s for s in data["subscriptions"] if s["metadata"]["account_id"] == "nusantara")
    base, extra = sub["items"]["data"]
    assert (base["quantity"], base["price"]["recurring"]["usage_type"]) == (1, "licensed")
    assert "quantity" not in extra and extra["price"]["id"] == over["id"]
    assert (
        extra["plan"]["usage_type"] == "metered"
        and extra["plan"]["transform_usage"] == over["transform_quantity"]
    )
    invoice = next(i for i in data["invoices"] if i["id"] == sub["latest_invoice"])
    lines = invoice["lines"]["data"]
    assert [line["amount"] for line in lines] == [invoice["amount_due"], 0]
    assert lines[1]["description"] == "0 × Paysaga Basic overage (at $0.40 per 100 payslips)"
    products = {p["id"]: p for p in data["products"]}
    shaped = shape_subscription(sub, products)
    assert shaped["plan"]["price_id"] == base["price"]["id"] and shaped["limits"]["max_employees"] == "50"
    plain = stripe(load_spec(SCENARIOS / "paysaga.yaml"))
    assert all(len(s["items"]["data"]) == 1 for s in plain["subscriptions"])


def test_a_price_per_location_bills_the_accounts_quantity() -> None:
    """A plan priced per unit (a location, a seat): the subscription item carries the account's quantity,
    and its invoice and charges are the plan's amount times it; other accounts stay at one unit."""
    from casefile.tools.world.generate.billing_objects import stripe

    spec = load_spec(SCENARIOS / "paysaga.yaml")
    chain = spec.accounts[0]
    chain.quantity = 4
    data = stripe(spec)
    sub = next(s for s in data["subscriptions"] if s["metadata"]["account_id"] == chain.id)
    assert sub["items"]["data"][0]["quantity"] == 4
    invoice = next(i for i in data["invoices"] if i["id"] == sub["latest_invoice"])
    amount = spec.plans[chain.plan].amount
    assert invoice["amount_due"] == 4 * amount and invoice["lines"]["data"][0]["quantity"] == 4
    assert invoice["lines"]["data"][0]["description"].startswith(f"4 × {spec.plans[chain.plan].name}")
    paid = [c for c in data["charges"] if c["customer"] == sub["customer"]]
    assert paid and {c["amount"] for c in paid} == {4 * amount}
    other = next(s for s in data["subscriptions"] if s["metadata"]["account_id"] == spec.accounts[1].id)
    assert other["items"]["data"][0]["quantity"] == 1


def test_an_offline_client_reaches_nothing_and_a_200_may_carry_an_error_code() -> None:
    """An "offline" window: none of the account's requests reach the API then (a register selling
    offline), while the hours around it are logged; an error code listed for status 200 is a GraphQL
    error answered with HTTP 200, and the rest of the 200s carry none."""
    from casefile.tools.world.traffic import generate

    description = {
        "seed": 11,
        "start": "2026-10-24T00:00:00Z",
        "end": "2026-10-24T12:00:00Z",
        "error_codes": {"200": ["BAD_USER_INPUT"]},
        "requests": {
            "shop": {"peak_rpm": 30, "trough": 1.0, "status_mix": {"200": 0.2},
                     "endpoints": [{"method": "POST", "path": "SubmitOrder", "ok_status": 200}]},
        },
        "request_anomalies": [
            {"id": "no-internet", "account": "shop", "start": "2026-10-24T04:00:00Z",
             "end": "2026-10-24T07:30:00Z", "offline": True},
        ],
    }  # fmt: skip
    rows = generate(description)["requests"]
    hours = {t.hour for t in rows["ts"]}
    assert {4, 5, 6}.isdisjoint(hours) and {0, 3, 7, 11} <= hours
    assert set(rows["status"]) == {200}
    codes = set(rows["error_code"])
    assert codes == {"", "BAD_USER_INPUT"}
    assert 0.1 < rows["error_code"].count("BAD_USER_INPUT") / len(rows["error_code"]) < 0.3


def test_a_sepa_debit_fails_with_the_banks_return_reason_in_the_companys_currency() -> None:
    """An account paying by SEPA Direct Debit: its charges are sepa_debit under a mandate, a refused debit
    carries the bank's reason (a revoked mandate: debit_not_authorized) instead of a card decline, and
    every price, invoice and charge is in the brand's currency; a card account of the same world keeps
    its card."""
    from casefile.tools.world.generate.billing_objects import stripe
    from casefile.tools.world.generate.spec import ChargeSpec

    spec = load_spec(SCENARIOS / "paysaga.yaml")
    spec.brand.currency = "eur"
    debtor, other = spec.accounts[0], spec.accounts[1]
    debtor.billing.payment_method = "sepa_debit"
    debtor.billing.charges = [ChargeSpec(decline="debit_not_authorized")]
    data = stripe(spec)
    mine = [c for c in data["charges"] if c["billing_details"]["email"] == debtor.email]
    failed = [c for c in mine if c["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["failure_code"] == "debit_not_authorized"
    assert "unauthorized" in failed[0]["failure_message"]
    details = failed[0]["payment_method_details"]
    assert details["type"] == "sepa_debit" and details["sepa_debit"]["mandate"].startswith("mandate_")
    assert "card" not in details and failed[0]["outcome"]["reason"] is None
    theirs = next(c for c in data["charges"] if c["billing_details"]["email"] == other.email)
    assert theirs["payment_method_details"]["type"] == "card"
    currencies = {c["currency"] for c in data["charges"]} | {i["currency"] for i in data["invoices"]}
    assert currencies | {p["currency"] for p in data["prices"]} == {"eur"}


def test_a_returned_ach_debit_is_a_bank_account_charge_with_stripes_failure_code() -> None:
    """A fleet paying by ACH direct debit: its charges are us_bank_account payments, a debit the bank
    returned (R01) carries Stripe's failure_code insufficient_funds and no card decline, and the invoice
    stays open for the retry; a card payer's decline is still a card_declined."""
    from casefile.tools.world.generate.billing_objects import stripe
    from casefile.tools.world.generate.spec import ChargeSpec

    spec = load_spec(SCENARIOS / "tachyra.yaml")
    debit = next(a for a in spec.accounts if a.billing.payment_method == "us_bank_account")
    debit.billing.charges = [ChargeSpec(decline="insufficient_funds", seed="returned")]
    card = next(a for a in spec.accounts if a.billing.payment_method == "card")
    card.billing.charges = [ChargeSpec(decline="insufficient_funds", seed="declined")]
    objects = stripe(spec)
    by_name = {c["billing_details"]["name"]: c for c in objects["charges"] if c["status"] == "failed"}
    returned, declined = by_name[debit.name], by_name[card.name]
    details = returned["payment_method_details"]
    assert details["type"] == "us_bank_account" and "card" not in details
    assert details["us_bank_account"]["last4"] == debit.billing.card_last4
    assert details["us_bank_account"]["bank_name"] == debit.billing.bank_name
    assert returned["failure_code"] == "insufficient_funds"
    assert "insufficient funds" in returned["failure_message"]
    assert returned["outcome"]["network_decline_code"] is None
    assert (
        declined["failure_code"] == "card_declined" and declined["payment_method_details"]["type"] == "card"
    )
    assert declined["outcome"]["reason"] == "insufficient_funds"
    sub = next(s for s in objects["subscriptions"] if s["metadata"]["account_id"] == debit.id)
    invoice = next(i for i in objects["invoices"] if i["id"] == sub["latest_invoice"])
    assert invoice["status"] == "open" and invoice["amount_paid"] == 0


def test_a_bacs_direct_debit_returned_for_a_closed_account_names_the_sort_code_and_mandate() -> None:
    """A UK account paying by Bacs Direct Debit: its charges are bacs_debit under the payer's mandate with
    the account's sort code, a debit returned because the payer closed the account carries Stripe's
    failure_code account_closed (Bacs' ARUDD B) and no card decline, and the invoice stays open; a card
    payer of the same world keeps its card."""
    from casefile.tools.world.generate.billing_objects import stripe
    from casefile.tools.world.generate.spec import ChargeSpec

    spec = load_spec(SCENARIOS / "paysaga.yaml")
    spec.brand.currency = "gbp"
    payer, other = spec.accounts[0], spec.accounts[1]
    payer.billing.payment_method = "bacs_debit"
    payer.billing.sort_code = "309634"
    payer.billing.card_last4 = "5510"
    payer.billing.charges = [ChargeSpec(decline="account_closed", seed="closed")]
    objects = stripe(spec)
    mine = [c for c in objects["charges"] if c["billing_details"]["email"] == payer.email]
    failed = [c for c in mine if c["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["failure_code"] == "account_closed"
    assert (
        "closed" in failed[0]["failure_message"]
        and "account_closed" in failed[0]["outcome"]["seller_message"]
    )
    details = failed[0]["payment_method_details"]
    assert details["type"] == "bacs_debit" and "card" not in details
    assert details["bacs_debit"]["sort_code"] == "309634" and details["bacs_debit"]["last4"] == "5510"
    assert details["bacs_debit"]["mandate"].startswith("mandate_")
    sub = next(s for s in objects["subscriptions"] if s["metadata"]["account_id"] == payer.id)
    invoice = next(i for i in objects["invoices"] if i["id"] == sub["latest_invoice"])
    assert invoice["status"] == "open" and invoice["amount_paid"] == 0 and invoice["currency"] == "gbp"
    theirs = next(c for c in objects["charges"] if c["billing_details"]["email"] == other.email)
    assert theirs["payment_method_details"]["type"] == "card"


def test_an_offline_window_on_some_endpoints_silences_them_while_the_others_are_logged() -> None:
    """An "offline" window that names methods: the devices' own messages stop (their connection is gone)
    while their reconnection attempts, another endpoint, are still logged in the same hours, failing
    with the status an anomaly gives them; outside the window the silenced messages are back."""
    from casefile.tools.world.traffic import generate

    description = {
        "seed": 7,
        "start": "2026-05-04T00:00:00Z",
        "end": "2026-05-04T12:00:00Z",
        "error_codes": {"503": ["NoUpstream"]},
        "requests": {
            "depot": {"peak_rpm": 40, "trough": 1.0,
                      "endpoints": [{"method": "GET", "path": "/ws/{device}", "ok_status": 101, "weight": 1},
                                    {"method": "SEND", "path": "/ws/{device}/Ping", "ok_status": 200, "weight": 4}]},
        },
        "request_anomalies": [
            {"id": "gone", "account": "depot", "start": "2026-05-04T04:00:00Z", "end": "2026-05-04T06:00:00Z",
             "offline": True, "methods": ["SEND"]},
            {"id": "refused", "account": "depot", "start": "2026-05-04T04:00:00Z", "end": "2026-05-04T06:00:00Z",
             "path": "/ws/{device}", "status": 503},
        ],
    }  # fmt: skip
    rows = generate(description)["requests"]
    during = [i for i, t in enumerate(rows["ts"]) if 4 <= t.hour < 6]
    assert during and {rows["method"][i] for i in during} == {"GET"}
    assert {rows["status"][i] for i in during} == {503}
    assert {rows["error_code"][i] for i in during} == {"NoUpstream"}
    later = {rows["method"][i] for i, t in enumerate(rows["ts"]) if t.hour >= 6}
    assert later == {"GET", "SEND"}


def test_an_invoices_purchase_order_number_is_a_stripe_custom_field() -> None:
    """An institution that pays against a purchase order: its invoices and its customer's invoice settings
    carry the PO number as a Stripe custom field; an account without one keeps ``custom_fields: null``."""
    from casefile.tools.world.generate.billing_objects import stripe

    spec = load_spec(SCENARIOS / "paysaga.yaml")
    buyer, other = spec.accounts[0], spec.accounts[1]
    buyer.billing.invoice_fields = {"PO number": "PO-77-0412"}
    data = stripe(spec)
    customer = next(c for c in data["customers"] if c["metadata"]["account_id"] == buyer.id)
    field = [{"name": "PO number", "value": "PO-77-0412"}]
    assert customer["invoice_settings"]["custom_fields"] == field
    invoices = [i for i in data["invoices"] if i["customer"] == customer["id"]]
    assert invoices and all(i["custom_fields"] == field for i in invoices)
    plain = next(c for c in data["customers"] if c["metadata"]["account_id"] == other.id)
    assert plain["invoice_settings"]["custom_fields"] is None
    assert all(i["custom_fields"] is None for i in data["invoices"] if i["customer"] == plain["id"])


def test_an_account_invoiced_in_another_currency_is_billed_at_its_plans_price_in_it() -> None:
    """A customer invoiced in AUD by a USD company: the plan's price offers AUD (Stripe's currency_options,
    the overage too), and that customer's subscription, invoices, charges and customer record are in AUD
    at the AUD amounts times its quantity; the other customers stay in the brand's currency; an account
    invoiced in a currency its plan has no price in is refused."""
    from pydantic import ValidationError

    from casefile.tools.world.generate.billing_objects import stripe
    from casefile.tools.world.generate.spec import MeteredSpec, WorldSpec

    spec = load_spec(SCENARIOS / "paysaga.yaml")
    group, other = spec.accounts[0], spec.accounts[1]
    plan = spec.plans[group.plan]
    plan.currency_options = {"aud": 7300}
    plan.overage = MeteredSpec(
        unit="booking", unit_amount=35, event_name="bookings", currency_options={"aud": 55}
    )
    group.quantity, group.billing.currency = 3, "aud"
    data = stripe(spec)
    price = next(
        p for p in data["prices"] if p["id"] == data["subscriptions"][0]["items"]["data"][0]["price"]["id"]
    )
    assert price["currency"] == spec.brand.currency
    assert price["currency_options"]["aud"]["unit_amount"] == 7300
    assert price["currency_options"][spec.brand.currency]["unit_amount"] == plan.amount
    sub = next(s for s in data["subscriptions"] if s["metadata"]["account_id"] == group.id)
    assert sub["currency"] == "aud" and sub["items"]["data"][0]["plan"]["amount"] == 7300
    assert sub["items"]["data"][1]["plan"]["amount"] == 55
    invoice = next(i for i in data["invoices"] if i["id"] == sub["latest_invoice"])
    assert (invoice["currency"], invoice["amount_due"]) == ("aud", 3 * 7300)
    assert invoice["lines"]["data"][1]["pricing"]["unit_amount_decimal"] == "55"
    assert invoice["lines"]["data"][1]["description"].endswith("(at $0.55 / booking)")
    customer = next(c for c in data["customers"] if c["metadata"]["account_id"] == group.id)
    assert customer["currency"] == "aud"
    paid = [c for c in data["charges"] if c["customer"] == customer["id"]]
    assert paid and {(c["currency"], c["amount"]) for c in paid} == {("aud", 3 * 7300)}
    rest = next(s for s in data["subscriptions"] if s["metadata"]["account_id"] == other.id)
    assert rest["currency"] == spec.brand.currency
    raw = spec.model_dump()
    raw["plans"][group.plan]["currency_options"] = {}
    with pytest.raises(ValidationError, match="invoiced in aud"):
        WorldSpec.model_validate(raw)


def test_a_prepaid_balance_is_the_customers_credit_and_its_recharges_are_charges_outside_invoices() -> None:
    """A customer that prepays usage: its Stripe balance is negative (credit left), its auto-recharge
    settings are customer metadata, and each recharge is a card charge of its own amount (a declined one
    with the issuer's code) that no invoice holds; an account without one keeps a zero balance."""
    from casefile.tools.world.generate.billing_objects import stripe
    from casefile.tools.world.generate.spec import TopUpSpec

    spec = load_spec(SCENARIOS / "paysaga.yaml")
    prepaid, other = spec.accounts[0], spec.accounts[1]
    prepaid.billing.balance = -125
    prepaid.billing.customer_metadata = {"auto_recharge": "on", "recharge_below_usd": "20"}
    prepaid.billing.top_ups = [
        TopUpSpec(at="2026-12-08T10:00:00Z", amount=10000),
        TopUpSpec(at="2026-12-10T10:00:00Z", amount=10000, decline="insufficient_funds",
                  description="Auto-recharge"),
    ]  # fmt: skip
    data = stripe(spec)
    customer = next(c for c in data["customers"] if c["metadata"]["account_id"] == prepaid.id)
    assert customer["balance"] == -125
    assert customer["metadata"] == {
        "account_id": prepaid.id,
        "domain": prepaid.domains[0],
        "auto_recharge": "on",
        "recharge_below_usd": "20",
    }
    top_ups = [c for c in data["charges"] if c["customer"] == customer["id"] and c["amount"] == 10000]
    assert [(c["status"], c["failure_code"], c["description"]) for c in top_ups] == [
        ("failed", "card_declined", "Auto-recharge"),
        ("succeeded", None, "Balance recharge"),
    ]
    assert top_ups[0]["outcome"]["reason"] == "insufficient_funds"
    invoiced = {i["charge"] for i in data["invoices"] if i.get("charge")}
    assert not invoiced & {c["id"] for c in top_ups}
    plain = next(c for c in data["customers"] if c["metadata"]["account_id"] == other.id)
    assert plain["balance"] == 0 and set(plain["metadata"]) == {"account_id", "domain"}
