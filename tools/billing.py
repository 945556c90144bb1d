"""Billing connector: a customer's Stripe standing, read through the official SDK.

``billing_account`` answers "is this customer blocked for a billing reason?":
subscriptions and their status, the plan and its limits (product or price metadata
such as ``api_rpm``; a usage-based price is passed as ``metered`` beside a flat fee,
with its meter and its per-unit ``amount_decimal``), open invoices with their failed attempts, recent failed
charges, and a verdict (``in_good_standing``) with reasons that cite values.

Read-only, enforced in three layers:

1. The connector only calls ``retrieve``/``list``/``search`` services.
2. :class:`ReadOnlyStripeHTTPClient`, the HTTP client given to the SDK,
   refuses any method but GET (Stripe's search is ``GET /v1/customers/search``)
   with :class:`~casefile.tools.errors.ReadOnlyViolation` before anything is sent, so
   even ``connector.client.v1.customers.create_async(...)`` cannot write.
3. Deployments should use a restricted key (``rk_...``) granting read access to
   Customers, Subscriptions, Invoices, Charges, Prices and Products only.

Retries: the SDK's own are disabled (``max_network_retries=0``) so that the one
policy of :mod:`casefile.tools.retry` applies (429 honouring Retry-After, 5xx, timeouts).

stripe-python 16 notes: a ``StripeObject`` is not a dict (``.get`` raises), so
results are converted with ``to_dict(for_json=True)`` and read as plain dicts;
``current_period_end`` lives on subscription items; an invoice reaches its
subscription through ``parent.subscription_details.subscription``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, NoReturn, TypeVar

import httpx
import stripe
from pydantic import Field

from casefile.tools.args import search_text
from casefile.tools.base import AccountId, CallContext, ToolArgs, ToolOutcome, operation
from casefile.tools.billing_standing import (
    BAD_SUBSCRIPTION_STATUSES,
    assess_standing,
    shape_failure,
    shape_invoice,
    shape_subscription,
    stripe_id,
)
from casefile.tools.connector_types import LinkContext, SourceLink
from casefile.tools.errors import (
    ScopeViolation,
    SourceAuthError,
    SourceError,
    SourceMalformed,
    SourceNotFound,
    SourceRateLimited,
    SourceTimeout,
    SourceUnavailable,
    ToolArgumentError,
)
from casefile.tools.http import APIConnector
from casefile.tools.retry import RetryableError, call_with_retry, parse_retry_after
from casefile.tools.settings import StripeSettings
from casefile.tools.stripe_http import SOURCE, ReadOnlyStripeHTTPClient

__all__ = [
    "BAD_SUBSCRIPTION_STATUSES",
    "BillingAccountArgs",
    "BillingSearchArgs",
    "ReadOnlyStripeHTTPClient",
    "StripeConnector",
    "assess_standing",
]

log = logging.getLogger("casefile.billing")

# Used when a world serves Stripe and no key is configured; it never leaves the process.
_WORLD_KEY = "rk_test_casefile_world"
LIST_LIMIT = 20
CHARGES_LIMIT = 10

T = TypeVar("T")


# --------------------------------------------------------------------------- error mapping


def _translate(exc: stripe.StripeError, what: str) -> NoReturn:
    """Raise the tools.errors equivalent of a Stripe error (wrapped when worth a retry)."""
    status = exc.http_status
    message = exc.user_message or str(exc) or type(exc).__name__
    reason = f"{what}: {message}" + (f" (HTTP {status})" if status else "")
    if isinstance(exc, stripe.RateLimitError):
        headers = exc.headers or {}
        raise RetryableError(
            SourceRateLimited(SOURCE, reason), retry_after=parse_retry_after(headers.get("retry-after"))
        )
    if isinstance(exc, stripe.APIConnectionError):
        if isinstance(exc.__cause__, httpx.TimeoutException):
            raise RetryableError(SourceTimeout(SOURCE, f"{what}: Stripe did not answer in time"))
        raise RetryableError(SourceUnavailable(SOURCE, f"{what}: could not reach Stripe"))
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        raise SourceAuthError(SOURCE, reason + " (a restricted key needs read access to this resource)")
    if isinstance(exc, stripe.InvalidRequestError):
        if status == 404 or exc.code == "resource_missing":
            raise SourceNotFound(SOURCE, reason)
        raise ToolArgumentError(SOURCE, reason)
    if status is not None and status >= 500:
        raise RetryableError(SourceUnavailable(SOURCE, reason))
    if isinstance(exc, stripe.APIError) and "Invalid response" in str(exc):
        raise SourceMalformed(SOURCE, f"{what}: Stripe's answer is not valid JSON")
    raise SourceError(SOURCE, reason)


# --------------------------------------------------------------------------- connector


class BillingAccountArgs(ToolArgs):
    account_id: AccountId = Field(description="Account id from the account directory, e.g. 'acct_42'")


class BillingSearchArgs(ToolArgs):
    query: str = search_text(
        "Stripe search query, e.g. email:'ap@example.com' or metadata['account_id']:'acct_42'",
        min_length=1,
        max_length=500,
    )


class StripeConnector(APIConnector[StripeSettings]):
    """Reads a customer's billing standing from Stripe, and can do nothing else.

    Give it a restricted key (``rk_...``) with read-only permissions on
    Customers, Subscriptions, Invoices, Charges, Prices and Products. With
    ``transport`` (a world's emulator, a test mock) no real network is used.
    ``client`` is the SDK client; every write through it is refused before
    sending (see :class:`ReadOnlyStripeHTTPClient`).
    """

    source = SOURCE

    settings_key: ClassVar[str | None] = "stripe"
    env_vars: ClassVar[Mapping[str, str]] = {"STRIPE_API_KEY": "api_key"}
    configured_by: ClassVar[tuple[str, ...]] = ("api_key",)
    configure_hint: ClassVar[str] = ", a restricted read-only key"

    @classmethod
    def source_link(cls, outcome: ToolOutcome, context: LinkContext) -> SourceLink | None:
        """The customer in the Stripe dashboard."""
        if outcome.tool != "billing_account":
            return None
        data = outcome.data if isinstance(outcome.data, dict) else {}
        customer = (data.get("customer") or {}).get("id") or context.account.get("stripe_customer")
        if not customer:
            return None
        return SourceLink(label="Stripe customer", url=f"https://dashboard.stripe.com/customers/{customer}")

    def __init__(
        self,
        settings: StripeSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_response_bytes: int = 5_000_000,
    ) -> None:
        super().__init__(settings, transport=transport)
        key = settings.api_key.get_secret_value() if settings.api_key else None
        self._has_key = bool(key) or transport is not None
        if key and key.startswith("sk_"):
            log.warning("billing: a secret key (sk_) can write; use a restricted read-only key (rk_)")
        self.http_client = ReadOnlyStripeHTTPClient(transport=transport, max_bytes=max_response_bytes)
        self.client = stripe.StripeClient(
            key or _WORLD_KEY,
            http_client=self.http_client,
            base_addresses={"api": settings.base_url},
            max_network_retries=0,
        )

    async def aclose(self) -> None:
        await self.http_client.close_async()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped

    async def _call(self, what: str, request: Callable[[], Awaitable[Any]]) -> Any:
        """One SDK read with our retry policy and errors; returns plain dicts."""
        if not self._has_key:
            raise SourceAuthError(SOURCE, "no Stripe API key configured (use a restricted rk_ key)")

        async def attempt() -> Any:
            try:
                result = await request()
            except stripe.StripeError as exc:
                _translate(exc, what)
            if not isinstance(result, stripe.StripeObject):
                raise SourceMalformed(SOURCE, f"{what}: unexpected answer of type {type(result).__name__}")
            return result.to_dict(for_json=True)

        return await call_with_retry(SOURCE, attempt)

    async def _customer_id(self, account_id: str, ctx: CallContext) -> str:
        account = ctx.account_for(SOURCE, account_id)
        if account.get("stripe_customer"):
            return str(account["stripe_customer"])
        quoted = account_id.replace("\\", "\\\\").replace("'", "\\'")
        found = await self._call(
            "customer search",
            lambda: self.client.v1.customers.search_async(
                params={"query": f"metadata['account_id']:'{quoted}'", "limit": 2}
            ),
        )
        data = found.get("data") or []
        if not data:
            raise SourceNotFound(SOURCE, f"no Stripe customer for account {account_id}")
        return str(data[0]["id"])

    @operation("billing_account", BillingAccountArgs)
    async def billing_account(self, args: BillingAccountArgs, ctx: CallContext) -> dict[str, Any]:
        """Billing standing of a customer account in Stripe.

        Use when a customer is blocked, gets HTTP 402 / subscription_past_due,
        asks about plan limits (e.g. requests per minute), or when a failure
        could be a billing suspension. Returns the customer, each subscription
        with its status, plan, usage-based (metered) prices and limits (product
        or price metadata such as api_rpm),
        open invoices with failed payment attempts, recent failed charges with
        their decline codes, and in_good_standing with the reasons.
        """
        customer_id = await self._customer_id(args.account_id, ctx)
        v1 = self.client.v1
        customer, subs, invoices, charges = await asyncio.gather(
            self._call(f"customer {customer_id}", lambda: v1.customers.retrieve_async(customer_id)),
            self._call(
                "subscriptions",
                lambda: v1.subscriptions.list_async(
                    params={"customer": customer_id, "status": "all", "limit": LIST_LIMIT}
                ),
            ),
            self._call(
                "open invoices",
                lambda: v1.invoices.list_async(
                    params={"customer": customer_id, "status": "open", "limit": LIST_LIMIT}
                ),
            ),
            self._call(
                "charges",
                lambda: v1.charges.list_async(params={"customer": customer_id, "limit": CHARGES_LIMIT}),
            ),
        )
        try:
            # One page each, and no more than asked even if the server sends more.
            sub_list = list(subs["data"])[:LIST_LIMIT]
            product_ids = sorted(
                {
                    pid
                    for sub in sub_list
                    for item in (sub.get("items") or {}).get("data") or []
                    if (pid := stripe_id((item.get("price") or {}).get("product")))
                }
            )
            fetched = await asyncio.gather(
                *(
                    self._call(f"product {pid}", functools.partial(v1.products.retrieve_async, pid))
                    for pid in product_ids
                )
            )
            products = {p["id"]: p for p in fetched}
            subscriptions = [shape_subscription(s, products) for s in sub_list]
            open_invoices = [
                shape_invoice(i) for i in invoices["data"][:LIST_LIMIT] if i.get("status") == "open"
            ]
            failures = [
                shape_failure(c) for c in charges["data"][:CHARGES_LIMIT] if c.get("status") == "failed"
            ]
            summary = {
                "id": customer["id"],
                "email": customer.get("email"),
                "name": customer.get("name"),
                "delinquent": customer.get("delinquent"),
            }
        except (KeyError, TypeError, AttributeError) as exc:
            raise SourceMalformed(SOURCE, f"Stripe objects lack an expected field ({exc!r})") from None
        good, reasons = assess_standing(summary, subscriptions, open_invoices, failures, ctx.now)
        return {
            "account_id": args.account_id,
            "customer": summary,
            "subscriptions": subscriptions,
            "open_invoices": open_invoices,
            "recent_payment_failures": failures,
            "in_good_standing": good,
            "standing_reasons": reasons,
        }

    @operation("billing_search_customers", BillingSearchArgs)
    async def billing_search_customers(self, args: BillingSearchArgs, ctx: CallContext) -> dict[str, Any]:
        """Search Stripe customers with Stripe's search syntax.

        Use to find the Stripe customer of this investigation's account when the
        directory has none configured: email:'someone@example.com', name~'Northwind',
        or metadata['account_id']:'acct_42'; clauses join with AND / OR. Only the
        account's own customers are returned (its configured customer, customers
        whose metadata account_id is the account, or whose email is at one of its
        domains); other customers are left out whatever the query.
        """
        if ctx.account_id is None:
            raise ScopeViolation(SOURCE, ctx.refusal())
        found = await self._call(
            "customer search",
            lambda: self.client.v1.customers.search_async(params={"query": args.query, "limit": 10}),
        )
        try:
            customers = [
                {
                    "id": c["id"],
                    "email": c.get("email"),
                    "name": c.get("name"),
                    "delinquent": c.get("delinquent"),
                    "metadata": dict(c.get("metadata") or {}),
                }
                for c in found["data"][:10]
                if _belongs(c, ctx)
            ]
        except (KeyError, TypeError) as exc:
            raise SourceMalformed(SOURCE, f"Stripe search result lacks {exc!r}") from None
        return {"query": args.query, "account_id": ctx.account_id, "customers": customers}


def _belongs(customer: Mapping[str, Any], ctx: CallContext) -> bool:
    """Whether a Stripe customer is one of the investigation's account's own."""
    account_id = ctx.account_id
    if account_id is None:
        return False
    if customer.get("id") and customer.get("id") == ctx.account.get("stripe_customer"):
        return True
    tagged = (customer.get("metadata") or {}).get("account_id")
    if isinstance(tagged, str) and tagged == account_id:
        return True
    email = customer.get("email")
    domains = ctx.account.get("domains") or []
    if isinstance(email, str) and "@" in email and domains:
        domain = email.rsplit("@", 1)[1].strip().lower().rstrip(".")
        return any(domain == d or domain.endswith("." + d) for d in domains)
    return False
