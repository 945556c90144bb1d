"""The Stripe emulation: Stripe's envelopes, filters, search syntax, expand and errors,
and the billing connector running unchanged against it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from casefile.tools.base import CallContext
from casefile.tools.billing import BillingAccountArgs, BillingSearchArgs, StripeConnector
from casefile.tools.errors import ReadOnlyViolation, SourceNotFound, ToolArgumentError
from casefile.tools.settings import StripeSettings
from casefile.tools.world import emulate_stripe
from casefile.tools.world.emulate_stripe import SearchQueryError, parse_search_query
from casefile.tools.world.emulator import WorldTransport

FIXTURES = Path("/work/shared/reference/stripe_fixtures_subset.json")
API = "https://api.stripe.com"
NOV_14 = int(datetime(2026, 11, 14, 9, 0, tzinfo=UTC).timestamp())

Handler = Callable[[httpx.Request], httpx.Response]


def _world(tmp_path: Path) -> Path:
    res = json.loads(FIXTURES.read_text())["resources"]

    def cus(cid: str, email: str, name: str, account: str, created: int, **extra: Any) -> dict[str, Any]:
        obj = copy.deepcopy(res["customer"])
        obj.update(id=cid, email=email, name=name, metadata={"account_id": account}, created=created, **extra)
        return obj

    def sub(sid: str, customer: str, status: str, created: int) -> dict[str, Any]:
        obj = copy.deepcopy(res["subscription"])
        obj.update(id=sid, customer=customer, status=status, created=created)
        return obj

    def inv(iid: str, customer: str, status: str, subscription: str) -> dict[str, Any]:
        obj = copy.deepcopy(res["invoice"])
        obj.update(id=iid, customer=customer, status=status, attempt_count=3 if status == "open" else 0)
        obj["parent"]["subscription_details"]["subscription"] = subscription
        return obj

    charge = copy.deepcopy(res["charge"])
    charge.update(id="ch_globex_fail", customer="cus_globex", status="failed", created=NOV_14)
    product = copy.deepcopy(res["product"])
    product["metadata"] = {"api_rpm": "600"}
    world = {
        "customers": [
            cus("cus_acme", "billing@acme-logistics.com", "Acme Logistics", "acme", 100),
            cus("cus_globex", "ap@globex.example", "Globex Retail", "globex", 200, delinquent=True),
            cus("cus_stark", "finance@stark-industries.com", "Stark Industries", "stark", 300),
        ],
        "subscriptions": [
            sub("sub_acme", "cus_acme", "active", 10),
            sub("sub_globex", "cus_globex", "past_due", 20),
            sub("sub_globex_old", "cus_globex", "canceled", 5),
        ],
        "invoices": [
            inv("in_globex_open", "cus_globex", "open", "sub_globex"),
            inv("in_globex_paid", "cus_globex", "paid", "sub_globex"),
        ],
        "charges": [charge],
        "prices": [res["price"]],
        "products": [product],
    }
    (tmp_path / "stripe.json").write_text(json.dumps(world))
    return tmp_path


@pytest.fixture
def handle(tmp_path: Path) -> Handler:
    return emulate_stripe.handlers(_world(tmp_path))["api.stripe.com"]


def get(handle: Handler, path: str, **params: Any) -> tuple[int, dict[str, Any]]:
    request = httpx.Request(
        "GET", f"{API}{path}", params=params, headers={"Authorization": "Bearer rk_test_x"}
    )
    response = handle(request)
    return response.status_code, response.json()


def ids(body: dict[str, Any]) -> list[str]:
    return [o["id"] for o in body["data"]]


def test_retrieve_and_list_envelope(handle: Handler) -> None:
    status, body = get(handle, "/v1/customers/cus_acme")
    assert status == 200 and body["object"] == "customer" and body["email"] == "billing@acme-logistics.com"

    status, body = get(handle, "/v1/customers")
    assert status == 200
    assert set(body) == {"object", "data", "has_more", "url"}
    assert body["object"] == "list" and body["url"] == "/v1/customers" and body["has_more"] is False
    assert ids(body) == ["cus_stark", "cus_globex", "cus_acme"]  # newest first


def test_pagination(handle: Handler) -> None:
    _, first = get(handle, "/v1/customers", limit=2)
    assert ids(first) == ["cus_stark", "cus_globex"] and first["has_more"] is True
    _, rest = get(handle, "/v1/customers", limit=2, starting_after="cus_globex")
    assert ids(rest) == ["cus_acme"] and rest["has_more"] is False
    status, body = get(handle, "/v1/customers", limit=101)
    assert status == 400 and body["error"]["param"] == "limit"


def test_list_filters(handle: Handler) -> None:
    assert ids(get(handle, "/v1/customers", email="ap@globex.example")[1]) == ["cus_globex"]
    # Stripe's default subscription list leaves canceled ones out; status=all brings them back.
    assert ids(get(handle, "/v1/subscriptions", customer="cus_globex")[1]) == ["sub_globex"]
    assert ids(get(handle, "/v1/subscriptions", customer="cus_globex", status="all")[1]) == [
        "sub_globex",
        "sub_globex_old",
    ]
    assert ids(get(handle, "/v1/subscriptions", status="past_due")[1]) == ["sub_globex"]
    assert ids(get(handle, "/v1/invoices", customer="cus_globex", status="open")[1]) == ["in_globex_open"]
    assert set(ids(get(handle, "/v1/invoices", subscription="sub_globex")[1])) == {
        "in_globex_open",
        "in_globex_paid",
    }
    assert ids(get(handle, "/v1/charges", customer="cus_globex")[1]) == ["ch_globex_fail"]
    assert ids(get(handle, "/v1/charges", customer="cus_acme")[1]) == []
    status, body = get(handle, "/v1/charges", colour="blue")
    assert status == 400 and body["error"]["code"] == "parameter_unknown"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("email:'ap@globex.example'", ["cus_globex"]),
        ("email:'AP@GLOBEX.EXAMPLE'", ["cus_globex"]),
        ("metadata['account_id']:'acme'", ["cus_acme"]),
        ('metadata["account_id"]:"stark"', ["cus_stark"]),
        ("name~'Retail'", ["cus_globex"]),
        ("name~'ind' AND email~'stark'", ["cus_stark"]),
        ("metadata['account_id']:'acme' OR metadata['account_id']:'globex'", ["cus_globex", "cus_acme"]),
        ("-metadata['account_id']:'acme' AND name~'Ltd'", []),
        ("email:'nobody@example.com'", []),
    ],
)
def test_search(handle: Handler, query: str, expected: list[str]) -> None:
    status, body = get(handle, "/v1/customers/search", query=query)
    assert status == 200
    assert body["object"] == "search_result" and body["next_page"] is None
    assert body["url"] == "/v1/customers/search"
    assert ids(body) == expected


@pytest.mark.parametrize(
    "query",
    ["email:'a' AND name:'b' OR name:'c'", "colour:'blue'", "name~'ab'", "email:unquoted", "email:'x' AND"],
)
def test_search_rejects_what_stripe_rejects(handle: Handler, query: str) -> None:
    with pytest.raises(SearchQueryError):
        parse_search_query(query)
    status, body = get(handle, "/v1/customers/search", query=query)
    assert status == 400 and body["error"]["type"] == "invalid_request_error"


def test_expand(handle: Handler) -> None:
    _, plain = get(handle, "/v1/subscriptions/sub_acme")
    assert plain["customer"] == "cus_acme"
    _, expanded = get(handle, "/v1/subscriptions/sub_acme", **{"expand[]": "customer"})
    assert expanded["customer"]["email"] == "billing@acme-logistics.com"
    _, deep = get(
        handle, "/v1/subscriptions", customer="cus_acme", **{"expand[0]": "data.items.data.price.product"}
    )
    assert deep["data"][0]["items"]["data"][0]["price"]["product"]["metadata"] == {"api_rpm": "600"}
    _, inv = get(
        handle, "/v1/invoices/in_globex_open", **{"expand[]": "parent.subscription_details.subscription"}
    )
    assert inv["parent"]["subscription_details"]["subscription"]["status"] == "past_due"


def test_errors_in_stripes_shape(handle: Handler) -> None:
    status, body = get(handle, "/v1/customers/cus_nope")
    assert status == 404
    assert body == {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
            "message": "No such customer: 'cus_nope'",
            "param": "id",
        }
    }
    status, body = get(handle, "/v1/refunds")
    assert status == 404 and "Unrecognized request URL" in body["error"]["message"]
    unauthenticated = handle(httpx.Request("GET", f"{API}/v1/customers"))
    assert unauthenticated.status_code == 401


def test_writes_are_not_served(handle: Handler, tmp_path: Path) -> None:
    before = (tmp_path / "stripe.json").read_bytes()
    for method in ("POST", "DELETE"):
        response = handle(
            httpx.Request(
                method, f"{API}/v1/customers/cus_acme", headers={"Authorization": "Bearer rk_test_x"}
            )
        )
        assert response.status_code == 405
        assert response.json()["error"]["type"] == "invalid_request_error"
    assert (tmp_path / "stripe.json").read_bytes() == before


def test_a_world_without_stripe_json_has_nothing(tmp_path: Path) -> None:
    handle = emulate_stripe.handlers(tmp_path)["api.stripe.com"]
    status, body = get(handle, "/v1/customers")
    assert status == 200 and body["data"] == []


# --- the connector, unchanged, against the emulation ----------------------------------------


async def test_billing_connector_against_the_world(tmp_path: Path) -> None:
    transport = WorldTransport(emulate_stripe.handlers(_world(tmp_path)))
    conn = StripeConnector(StripeSettings(), transport=transport)
    directory: dict[str, dict[str, Any]] = {
        "globex": {"id": "globex", "stripe_customer": "cus_globex"},
        "acme": {"id": "acme", "stripe_customer": "cus_acme"},
        "stark": {"id": "stark"},  # no customer id: found by metadata search
        "ghost": {"id": "ghost", "stripe_customer": "cus_ghost"},
    }

    def scoped(account_id: str) -> CallContext:
        return CallContext.for_account(account_id, directory, now=datetime(2026, 11, 20, 10, 15, tzinfo=UTC))

    try:
        ctx = scoped("globex")
        globex = await conn.billing_account(BillingAccountArgs(account_id="globex"), ctx)
        assert globex["in_good_standing"] is False
        assert "subscription sub_globex is past_due" in globex["standing_reasons"]
        assert [i["id"] for i in globex["open_invoices"]] == ["in_globex_open"]
        assert [s["id"] for s in globex["subscriptions"]] == ["sub_globex", "sub_globex_old"]

        acme = await conn.billing_account(BillingAccountArgs(account_id="acme"), scoped("acme"))
        assert acme["in_good_standing"] is True
        assert acme["subscriptions"][0]["limits"] == {"api_rpm": "600"}

        stark = await conn.billing_account(BillingAccountArgs(account_id="stark"), scoped("stark"))
        assert stark["customer"]["id"] == "cus_stark"

        found = await conn.billing_search_customers(BillingSearchArgs(query="name~'Globex'"), ctx)
        assert [c["id"] for c in found["customers"]] == ["cus_globex"]

        with pytest.raises(SourceNotFound):
            await conn.billing_account(BillingAccountArgs(account_id="ghost"), scoped("ghost"))
        with pytest.raises(ToolArgumentError):
            await conn.billing_search_customers(BillingSearchArgs(query="colour:'blue'"), ctx)
        with pytest.raises(ReadOnlyViolation):
            await conn.client.v1.customers.update_async("cus_acme", params={"name": "x"})
        assert {method for method, _host, _path in transport.requests} == {"GET"}
    finally:
        await conn.aclose()
