"""The Stripe billing connector against Stripe's real wire format (respx), faults included.

Objects come from Stripe's own fixtures (/work/shared/reference/stripe_fixtures_subset.json,
the ones stripe-mock serves) with values adjusted for the demo customers.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from casefile.tools import errors
from casefile.tools.base import CallContext, Toolbox, ToolCall
from casefile.tools.billing import (
    BillingAccountArgs,
    BillingSearchArgs,
    ReadOnlyStripeHTTPClient,
    StripeConnector,
    assess_standing,
)
from casefile.tools.settings import StripeSettings

FIXTURES = Path("/work/shared/reference/stripe_fixtures_subset.json")
API = "https://api.stripe.com"
NOW = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
NOV_14 = int(datetime(2026, 11, 14, 9, 0, tzinfo=UTC).timestamp())
NOV_01 = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
DEC_01 = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())

ACCOUNTS: dict[str, dict[str, Any]] = {
    "globex": {"id": "globex", "stripe_customer": "cus_globex"},
    "acme": {"id": "acme", "stripe_customer": "cus_acme"},
    "wonka": {"id": "wonka", "stripe_customer": None},
}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return json.loads(FIXTURES.read_text())["resources"]


def customer(resources: dict[str, Any], cid: str, **changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(resources["customer"])
    obj.update(id=cid, **changes)
    return obj


def subscription(
    resources: dict[str, Any], sid: str, cus: str, status: str, **changes: Any
) -> dict[str, Any]:
    obj = copy.deepcopy(resources["subscription"])
    obj.update(id=sid, customer=cus, status=status, cancel_at_period_end=False, canceled_at=None)
    obj["items"]["data"][0]["current_period_end"] = DEC_01
    obj["items"]["data"][0]["current_period_start"] = NOV_01
    obj["items"]["data"][0]["price"]["nickname"] = "Growth monthly"
    obj.update(changes)
    return obj


def invoice(resources: dict[str, Any], iid: str, cus: str, sub: str, **changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(resources["invoice"])
    obj.update(id=iid, customer=cus, **changes)
    obj["parent"] = {
        "quote_details": None,
        "subscription_details": {"metadata": {}, "subscription": sub},
        "type": "subscription_details",
    }
    return obj


def failed_charge(resources: dict[str, Any], chid: str, cus: str) -> dict[str, Any]:
    obj = copy.deepcopy(resources["charge"])
    obj.update(
        id=chid,
        customer=cus,
        status="failed",
        paid=False,
        created=NOV_14,
        amount=49900,
        failure_code="card_declined",
        failure_message="Your card has insufficient funds.",
    )
    obj["outcome"].update(
        type="issuer_declined", reason="insufficient_funds", network_status="declined_by_network"
    )
    return obj


def product(resources: dict[str, Any], **metadata: str) -> dict[str, Any]:
    obj = copy.deepcopy(resources["product"])
    obj.update(name="Relay Growth", metadata=metadata)
    return obj


def listing(url: str, data: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def stripe_error(status: int, type_: str, message: str, code: str | None = None) -> httpx.Response:
    error: dict[str, Any] = {"type": type_, "message": message}
    if code:
        error["code"] = code
    return httpx.Response(status, json={"error": error}, headers={"request-id": "req_test"})


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    # assert_all_mocked: any request without a route fails the test (no real network).
    with respx.mock(base_url=API, assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
async def connector() -> Any:
    conn = StripeConnector(StripeSettings(api_key=SecretStr("rk_test_readonly")))
    yield conn
    await conn.aclose()


def serve_account(
    mock: respx.MockRouter,
    resources: dict[str, Any],
    cid: str,
    *,
    cus: dict[str, Any] | None = None,
    subs: list[dict[str, Any]] | None = None,
    invoices: list[dict[str, Any]] | None = None,
    charges: list[dict[str, Any]] | None = None,
) -> None:
    mock.get(f"/v1/customers/{cid}").respond(json=cus or customer(resources, cid))
    mock.get("/v1/subscriptions", params={"customer": cid}).respond(
        json=listing("/v1/subscriptions", subs or [])
    )
    mock.get("/v1/invoices", params={"customer": cid, "status": "open"}).respond(
        json=listing("/v1/invoices", invoices or [])
    )
    mock.get("/v1/charges", params={"customer": cid}).respond(json=listing("/v1/charges", charges or []))
    mock.get(f"/v1/products/{resources['product']['id']}").respond(json=product(resources, api_rpm="600"))


def ctx(account_id: str = "globex") -> CallContext:
    """Calls scoped to one account, as in an investigation of its ticket."""
    return CallContext.for_account(account_id, ACCOUNTS, now=NOW)


# --- standing -------------------------------------------------------------------------


async def test_past_due_customer_with_declined_card(
    mock: respx.MockRouter, resources: dict[str, Any], connector: StripeConnector
) -> None:
    serve_account(
        mock,
        resources,
        "cus_globex",
        cus=customer(
            resources, "cus_globex", email="ap@globex.example", name="Globex Retail", delinquent=True
        ),
        subs=[subscription(resources, "sub_globex", "cus_globex", "past_due")],
        invoices=[
            invoice(
                resources,
                "in_globex",
                "cus_globex",
                "sub_globex",
                status="open",
                attempt_count=3,
                amount_due=49900,
                due_date=None,
                created=NOV_01,
                next_payment_attempt=DEC_01,
            )
        ],
        charges=[failed_charge(resources, "ch_declined", "cus_globex")],
    )
    result = await connector.billing_account(BillingAccountArgs(account_id="globex"), ctx("globex"))

    assert result["in_good_standing"] is False
    assert "subscription sub_globex is past_due" in result["standing_reasons"]
    assert any(r.startswith("invoice in_globex open, 3 failed attempts") for r in result["standing_reasons"])
    assert "customer cus_globex is marked delinquent by Stripe" in result["standing_reasons"]
    assert result["open_invoices"][0]["subscription"] == "sub_globex"
    assert result["open_invoices"][0]["next_payment_attempt"] == "2026-12-01T00:00:00Z"
    failure = result["recent_payment_failures"][0]
    assert failure == {
        "charge": "ch_declined",
        "created": "2026-11-14T09:00:00Z",
        "failure_code": "card_declined",
        "failure_message": "Your card has insufficient funds.",
        "outcome_reason": "insufficient_funds",
        "amount": 49900,
        "currency": "usd",
        "invoice": None,
    }
    # The SDK was asked for every status, and nothing but GET left the process.
    sub_call = next(c for c in mock.calls if c.request.url.path == "/v1/subscriptions")
    assert sub_call.request.url.params["status"] == "all"
    assert {c.request.method for c in mock.calls} == {"GET"}


async def test_good_standing_reports_plan_and_limits(
    mock: respx.MockRouter, resources: dict[str, Any], connector: StripeConnector
) -> None:
    serve_account(
        mock,
        resources,
        "cus_acme",
        cus=customer(resources, "cus_acme", email="billing@acme-logistics.com", name="Acme Logistics"),
        subs=[subscription(resources, "sub_acme", "cus_acme", "active")],
    )
    result = await connector.billing_account(BillingAccountArgs(account_id="acme"), ctx("acme"))

    assert result["in_good_standing"] is True
    assert result["standing_reasons"] == []
    (sub,) = result["subscriptions"]
    assert sub["current_period_end"] == "2026-12-01T00:00:00Z"  # read from the subscription item
    assert sub["plan"] == {
        "price_id": "price_1PgafmB7WZ01zgkW6dKueIc5",
        "product": "prod_QXg1hqf4jFNsqG",
        "product_name": "Relay Growth",
        "nickname": "Growth monthly",
        "amount": 2000,
        "amount_decimal": "2000",
        "currency": "usd",
        "interval": "month",
        "usage_type": "licensed",
        "billing_scheme": "per_unit",
        "meter": None,
    }
    assert sub["metered"] == []
    assert sub["limits"] == {"api_rpm": "600"}
    assert result["customer"] == {
        "id": "cus_acme",
        "email": "billing@acme-logistics.com",
        "name": "Acme Logistics",
        "delinquent": False,
    }


async def test_a_usage_based_price_is_passed_with_its_plan_and_limits(
    mock: respx.MockRouter, resources: dict[str, Any], connector: StripeConnector
) -> None:
    """A flat fee plus a metered price per unit (a fraction of a cent, so ``unit_amount`` is null):
    the flat fee is the plan, the metered price is passed beside it with its meter, and the limits
    of both prices are read."""
    sub = subscription(resources, "sub_acme", "cus_acme", "active")
    metered = copy.deepcopy(sub["items"]["data"][0])
    metered["id"] = "si_metered"
    metered["price"].update(
        id="price_per_label",
        nickname="Per label",
        unit_amount=None,
        unit_amount_decimal="0.5",
        metadata={"monthly_label_quota": "30000"},
        recurring={"interval": "month", "interval_count": 1, "usage_type": "metered", "meter": "mtr_labels"},
    )
    sub["items"]["data"].append(metered)
    serve_account(mock, resources, "cus_acme", subs=[sub])
    result = await connector.billing_account(BillingAccountArgs(account_id="acme"), ctx("acme"))

    (shaped,) = result["subscriptions"]
    assert shaped["plan"]["nickname"] == "Growth monthly" and shaped["plan"]["usage_type"] == "licensed"
    (usage,) = shaped["metered"]
    assert usage["price_id"] == "price_per_label" and usage["usage_type"] == "metered"
    assert usage["amount"] is None and usage["amount_decimal"] == "0.5" and usage["meter"] == "mtr_labels"
    assert shaped["limits"] == {"api_rpm": "600", "monthly_label_quota": "30000"}
    # a subscription whose only price is metered has that price as its plan
    sub["items"]["data"] = [metered]
    mock.get("/v1/subscriptions", params={"customer": "cus_acme"}).respond(
        json=listing("/v1/subscriptions", [sub])
    )
    result = await connector.billing_account(BillingAccountArgs(account_id="acme"), ctx("acme"))
    assert result["subscriptions"][0]["plan"]["price_id"] == "price_per_label"


async def test_canceled_subscription_without_replacement(
    mock: respx.MockRouter, resources: dict[str, Any], connector: StripeConnector
) -> None:
    canceled = subscription(resources, "sub_old", "cus_acme", "canceled", canceled_at=NOV_14)
    serve_account(mock, resources, "cus_acme", subs=[canceled])
    result = await connector.billing_account(BillingAccountArgs(account_id="acme"), ctx("acme"))
    assert result["in_good_standing"] is False
    assert result["standing_reasons"] == ["subscription sub_old is canceled since 2026-11-14T09:00:00Z"]


async def test_canceled_subscription_replaced_by_active_one_is_fine(
    mock: respx.MockRouter, resources: dict[str, Any], connector: StripeConnector
) -> None:
    subs = [
        subscription(resources, "sub_new", "cus_acme", "active"),
        subscription(resources, "sub_old", "cus_acme", "canceled", canceled_at=NOV_14),
    ]
    serve_account(mock, resources, "cus_acme", subs=subs)
    result = await connector.billing_account(BillingAccountArgs(account_id="acme"), ctx("acme"))
    assert result["in_good_standing"] is True


def test_open_invoice_not_yet_due_does_not_count() -> None:
    cus = {"id": "cus_x", "delinquent": False}
    subs = [{"id": "sub_x", "status": "active"}]
    later = {"id": "in_x", "attempt_count": 1, "due_date": "2026-12-01T00:00:00Z", "amount_due": 5}
    assert assess_standing(cus, subs, [later], [], NOW) == (True, [])
    overdue = {**later, "due_date": "2026-11-10T00:00:00Z", "currency": "usd"}
    good, reasons = assess_standing(cus, subs, [overdue], [], NOW)
    assert not good
    assert reasons == ["invoice in_x open, 1 failed attempt, amount_due 5 usd (due 2026-11-10T00:00:00Z)"]


def search_result(*customers: dict[str, Any]) -> dict[str, Any]:
    """Stripe's answer to ``GET /v1/customers/search``: one page holding ``customers``."""
    data = list(customers)
    return {
        "object": "search_result",
        "data": data,
        "has_more": False,
        "next_page": None,
        "url": "/v1/customers/search",
    }


async def test_customer_found_by_metadata_search_when_directory_has_none(
    mock: respx.MockRouter, resources: dict[str, Any], connector: StripeConnector
) -> None:
    found = customer(resources, "cus_wonka", metadata={"account_id": "wonka"})
    search = mock.get("/v1/customers/search").respond(json=search_result(found))
    serve_account(
        mock, resources, "cus_wonka", subs=[subscription(resources, "sub_w", "cus_wonka", "trialing")]
    )
    result = await connector.billing_account(BillingAccountArgs(account_id="wonka"), ctx("wonka"))
    assert result["customer"]["id"] == "cus_wonka"
    assert search.calls.last.request.url.params["query"] == "metadata['account_id']:'wonka'"


async def test_search_customers(
    mock: respx.MockRouter, resources: dict[str, Any], connector: StripeConnector
) -> None:
    found = customer(resources, "cus_globex", email="ap@globex.example", metadata={"account_id": "globex"})
    route = mock.get("/v1/customers/search").respond(json=search_result(found))
    result = await connector.billing_search_customers(
        BillingSearchArgs(query="email:'ap@globex.example'"), ctx()
    )
    assert result == {
        "query": "email:'ap@globex.example'",
        "account_id": "globex",
        "customers": [
            {
                "id": "cus_globex",
                "email": "ap@globex.example",
                "name": None,
                "delinquent": False,
                "metadata": {"account_id": "globex"},
            }
        ],
    }
    assert route.calls.last.request.method == "GET"


# --- faults ---------------------------------------------------------------------------


async def test_timeout_is_retried_then_reported(
    mock: respx.MockRouter, connector: StripeConnector, waits: list[float]
) -> None:
    route = mock.get("/v1/customers/search").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(errors.SourceTimeout):
        await connector.billing_search_customers(BillingSearchArgs(query="email:'a@b.co'"), ctx())
    assert route.call_count == 3
    assert len(waits) == 2


async def test_connection_refused_is_unavailable(
    mock: respx.MockRouter, connector: StripeConnector, waits: list[float]
) -> None:
    mock.get("/v1/customers/search").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(errors.SourceUnavailable):
        await connector.billing_search_customers(BillingSearchArgs(query="email:'a@b.co'"), ctx())


async def test_429_with_retry_after_then_success(
    mock: respx.MockRouter, resources: dict[str, Any], connector: StripeConnector, waits: list[float]
) -> None:
    limited = stripe_error(429, "invalid_request_error", "Too many requests", "rate_limit")
    limited.headers["Retry-After"] = "2"
    ok = httpx.Response(
        200,
        json=search_result(),
    )
    route = mock.get("/v1/customers/search").mock(side_effect=[limited, ok])
    result = await connector.billing_search_customers(BillingSearchArgs(query="email:'a@b.co'"), ctx())
    assert result["customers"] == []  # the empty list is a valid answer
    assert route.call_count == 2
    assert waits == [2.0]  # the server's Retry-After, not our backoff


async def test_429_forever_is_rate_limited(
    mock: respx.MockRouter, connector: StripeConnector, waits: list[float]
) -> None:
    mock.get("/v1/customers/search").mock(
        side_effect=lambda request: stripe_error(
            429, "invalid_request_error", "Too many requests", "rate_limit"
        )
    )
    with pytest.raises(errors.SourceRateLimited):
        await connector.billing_search_customers(BillingSearchArgs(query="email:'a@b.co'"), ctx())


async def test_500_storm_gives_up_as_unavailable(
    mock: respx.MockRouter, connector: StripeConnector, waits: list[float]
) -> None:
    route = mock.get("/v1/customers/cus_acme").mock(
        side_effect=lambda request: stripe_error(500, "api_error", "Something went wrong on Stripe's end.")
    )
    with pytest.raises(errors.SourceUnavailable):
        await connector._call("customer", lambda: connector.client.v1.customers.retrieve_async("cus_acme"))
    assert route.call_count == 3  # our policy only: the SDK's own retries are off


async def test_401_is_auth_error_without_retry(
    mock: respx.MockRouter, connector: StripeConnector, waits: list[float]
) -> None:
    route = mock.get("/v1/customers/search").respond(
        401,
        json={
            "error": {"type": "invalid_request_error", "message": "Invalid API Key provided: rk_test_***only"}
        },
    )
    with pytest.raises(errors.SourceAuthError):
        await connector.billing_search_customers(BillingSearchArgs(query="email:'a@b.co'"), ctx())
    assert route.call_count == 1
    assert waits == []


async def test_403_restricted_key_lacking_permission_is_auth_error(
    mock: respx.MockRouter, connector: StripeConnector
) -> None:
    mock.get("/v1/customers/search").mock(
        return_value=stripe_error(
            403, "invalid_request_error", "The provided key does not have the required permissions"
        )
    )
    with pytest.raises(errors.SourceAuthError, match="restricted key"):
        await connector.billing_search_customers(BillingSearchArgs(query="email:'a@b.co'"), ctx())


async def test_missing_customer_is_not_found(
    mock: respx.MockRouter, connector: StripeConnector, waits: list[float]
) -> None:
    mock.get("/v1/customers/cus_globex").mock(
        return_value=stripe_error(
            404, "invalid_request_error", "No such customer: 'cus_globex'", "resource_missing"
        )
    )
    for path in ("/v1/subscriptions", "/v1/invoices", "/v1/charges"):
        mock.get(path).respond(json=listing(path, []))
    outcome = await Toolbox([connector]).execute(
        ToolCall(id="c1", tool="billing_account", arguments={"account_id": "globex"}), ctx("globex")
    )
    assert not outcome.ok
    assert outcome.error_kind == "not_found"
    assert "No such customer: 'cus_globex'" in (outcome.error or "")


async def test_bad_search_query_is_an_argument_error(
    mock: respx.MockRouter, connector: StripeConnector
) -> None:
    mock.get("/v1/customers/search").mock(
        return_value=stripe_error(
            400, "invalid_request_error", "Invalid search query", "parameter_invalid_string"
        )
    )
    with pytest.raises(errors.ToolArgumentError):
        await connector.billing_search_customers(BillingSearchArgs(query="emial:'x'"), ctx())


async def test_malformed_json_is_malformed(mock: respx.MockRouter, connector: StripeConnector) -> None:
    mock.get("/v1/customers/search").respond(200, content=b"<html>gateway says hi</html>")
    with pytest.raises(errors.SourceMalformed):
        await connector.billing_search_customers(BillingSearchArgs(query="email:'a@b.co'"), ctx())


async def test_json_of_the_wrong_shape_is_malformed(
    mock: respx.MockRouter, resources: dict[str, Any], connector: StripeConnector
) -> None:
    serve_account(mock, resources, "cus_acme")
    mock.get("/v1/subscriptions", params={"customer": "cus_acme"}).respond(
        json={"object": "list", "url": "/x"}
    )
    with pytest.raises(errors.SourceMalformed):
        await connector.billing_account(BillingAccountArgs(account_id="acme"), ctx("acme"))


async def test_huge_list_is_capped_and_huge_body_refused(
    mock: respx.MockRouter, resources: dict[str, Any]
) -> None:
    many = [failed_charge(resources, f"ch_{i:04d}", "cus_acme") for i in range(100)]
    serve_account(
        mock, resources, "cus_acme", subs=[subscription(resources, "sub_acme", "cus_acme", "active")]
    )
    mock.get("/v1/charges", params={"customer": "cus_acme"}).respond(
        json=listing("/v1/charges", many, has_more=True)
    )
    roomy = StripeConnector(StripeSettings(api_key=SecretStr("rk_test_x")))
    tight = StripeConnector(StripeSettings(api_key=SecretStr("rk_test_x")), max_response_bytes=50_000)
    try:
        result = await roomy.billing_account(BillingAccountArgs(account_id="acme"), ctx("acme"))
        charge_call = next(c for c in mock.calls if c.request.url.path == "/v1/charges")
        assert charge_call.request.url.params["limit"] == "10"  # we never ask for more than a page
        assert len(result["recent_payment_failures"]) == 10  # nor keep more, whatever the server sent
        with pytest.raises(errors.SourceTooLarge):
            await tight.billing_account(BillingAccountArgs(account_id="acme"), ctx("acme"))
    finally:
        await roomy.aclose()
        await tight.aclose()


async def test_no_key_and_no_world_is_an_auth_error() -> None:
    conn = StripeConnector(StripeSettings())
    try:
        with pytest.raises(errors.SourceAuthError, match="no Stripe API key"):
            await conn.billing_search_customers(BillingSearchArgs(query="email:'a@b.co'"), ctx())
    finally:
        await conn.aclose()


# --- read-only ------------------------------------------------------------------------


async def test_writes_through_the_sdk_client_are_refused_before_sending(
    mock: respx.MockRouter, connector: StripeConnector
) -> None:
    anything = mock.route().respond(200, json={"id": "cus_new", "object": "customer"})
    v1 = connector.client.v1
    with pytest.raises(errors.ReadOnlyViolation):
        await v1.customers.create_async(params={"email": "x@y.z"})
    with pytest.raises(errors.ReadOnlyViolation):
        await v1.customers.update_async("cus_acme", params={"metadata": {"a": "b"}})
    with pytest.raises(errors.ReadOnlyViolation):
        await v1.subscriptions.cancel_async("sub_acme")
    with pytest.raises(errors.ReadOnlyViolation):
        await v1.invoices.pay_async("in_1")
    with pytest.raises(errors.ReadOnlyViolation):
        v1.customers.delete("cus_acme")  # the synchronous path too
    assert anything.call_count == 0


async def test_the_httpx_hook_refuses_writes_even_below_the_sdk() -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    client = ReadOnlyStripeHTTPClient(transport=httpx.MockTransport(record))
    try:
        with pytest.raises(errors.ReadOnlyViolation):
            await client._client_async.post(f"{API}/v1/customers", data={"email": "x"})
        assert sent == []
    finally:
        await client._client_async.aclose()


def test_argument_models_have_no_free_form_fields() -> None:
    assert set(BillingAccountArgs.model_json_schema()["properties"]) == {"account_id"}
    assert set(BillingSearchArgs.model_json_schema()["properties"]) == {"query"}


async def test_account_without_any_stripe_customer_is_not_found(
    mock: respx.MockRouter, connector: StripeConnector
) -> None:
    mock.get("/v1/customers/search").respond(json=search_result())
    with pytest.raises(errors.SourceNotFound, match="no Stripe customer for account wonka"):
        await connector.billing_account(BillingAccountArgs(account_id="wonka"), ctx("wonka"))
