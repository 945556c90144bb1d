"""Billing connector: a customer's Stripe standing, read through the official SDK.

``billing_account`` answers "is this customer blocked for a billing reason?":
subscriptions and their status, the plan and its limits (product metadata such
as ``api_rpm``), open invoices with their failed attempts, recent failed
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
from datetime import UTC, datetime
from typing import Any, ClassVar, NoReturn, TypeVar

import httpx
import stripe
from pydantic import Field

from casefile.tools.base import (
    AccountId,
    CallContext,
    Connector,
    LinkContext,
    SourceLink,
    StandIns,
    ToolArgs,
    ToolOutcome,
    operation,
)
from casefile.tools.errors import (
    ReadOnlyViolation,
    ScopeViolation,
    SourceAuthError,
    SourceError,
    SourceMalformed,
    SourceNotFound,
    SourceRateLimited,
    SourceTimeout,
    SourceTooLarge,
    SourceUnavailable,
    ToolArgumentError,
)
from casefile.tools.retry import RetryableError, call_with_retry, parse_retry_after
from casefile.tools.settings import ConnectorSettings, StripeSettings

__all__ = [
    "BAD_SUBSCRIPTION_STATUSES",
    "BillingAccountArgs",
    "BillingSearchArgs",
    "ReadOnlyStripeHTTPClient",
    "StripeConnector",
    "assess_standing",
]

SOURCE = "billing"
log = logging.getLogger("casefile.billing")

# Statuses that mean the customer is not (or no longer) paying for service.
BAD_SUBSCRIPTION_STATUSES = ("past_due", "unpaid", "canceled", "incomplete_expired")
# A canceled or expired subscription only matters when nothing replaced it.
_ENDED_STATUSES = ("canceled", "incomplete_expired")
_LIVE_STATUSES = ("active", "trialing")
# Used when a world serves Stripe and no key is configured; it never leaves the process.
_WORLD_KEY = "rk_test_casefile_world"
LIST_LIMIT = 20
CHARGES_LIMIT = 10

T = TypeVar("T")


class ReadOnlyStripeHTTPClient(stripe.HTTPXClient):
    """The SDK's httpx client, made unable to write and bounded in size.

    * Every send path (async and sync, plain and streamed) refuses a method
      other than GET with ``ReadOnlyViolation`` before a connection is used.
    * Bodies are read as a stream and cut at ``max_bytes`` (``SourceTooLarge``).
    * ``transport`` (a world emulator or a test mock) replaces the network:
      ``stripe.HTTPXClient`` builds its own ``httpx.AsyncClient`` with no way to
      pass one, so that client is swapped for one using ``transport``. The
      request hook repeats the GET-only rule on whichever client is in place.
    """

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 20.0,
        max_bytes: int = 5_000_000,
    ) -> None:
        super().__init__(timeout=timeout_s, allow_sync_methods=False)
        self.max_bytes = max_bytes
        if transport is not None:
            # The SDK's own client was never opened, so dropping it leaks nothing.
            self._client_async = httpx.AsyncClient(transport=transport)
        self._client_async.event_hooks["request"].append(self._hook)

    @staticmethod
    def _refuse_unless_get(method: str, url: str) -> None:
        if method.upper() != "GET":
            raise ReadOnlyViolation(
                SOURCE, f"{method.upper()} {url} refused: the billing connector only reads"
            )

    async def _hook(self, request: httpx.Request) -> None:
        self._refuse_unless_get(request.method, str(request.url))

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        self._refuse_unless_get(method, url)
        args, kwargs = self._get_request_args_kwargs(method, url, headers, post_data)
        # GET carries no body: don't let the SDK's empty form body through either.
        kwargs.pop("data", None)
        try:
            async with self._client_async.stream(*args, **kwargs) as response:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise SourceTooLarge(SOURCE, f"Stripe answered {declared} bytes, over {self.max_bytes}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise SourceTooLarge(SOURCE, f"Stripe answered more than {self.max_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks), response.status_code, response.headers
        except httpx.HTTPError as exc:
            # The SDK's own translation: APIConnectionError, with the httpx error as cause.
            self._handle_request_error(exc)

    async def request_stream_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> Any:
        self._refuse_unless_get(method, url)
        return await super().request_stream_async(method, url, headers, post_data)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self._refuse_unless_get(method, url)
        return super().request(method, url, *args, **kwargs)

    def request_stream(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self._refuse_unless_get(method, url)
        return super().request_stream(method, url, *args, **kwargs)


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


def _ts(value: Any) -> str | None:
    """Stripe's Unix seconds as ISO 8601 with Z (None stays None)."""
    if value is None:
        return None
    return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _id(value: Any) -> Any:
    """An expandable field's id, whether it came expanded (a dict) or not (a string)."""
    if isinstance(value, dict):
        return value.get("id")
    return value


# --------------------------------------------------------------------------- shaping


def _subscription(sub: dict[str, Any], products: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    items = (sub.get("items") or {}).get("data") or []
    first = items[0] if items else {}
    price = first.get("price") or {}
    product_id = _id(price.get("product"))
    product = products.get(product_id or "", {})
    period_ends = [i["current_period_end"] for i in items if i.get("current_period_end") is not None]
    recurring = price.get("recurring") or {}
    return {
        "id": sub["id"],
        "status": sub["status"],
        "cancel_at_period_end": sub.get("cancel_at_period_end"),
        "canceled_at": _ts(sub.get("canceled_at")),
        "current_period_end": _ts(max(period_ends)) if period_ends else None,
        "plan": {
            "price_id": price.get("id"),
            "product": product_id,
            "product_name": product.get("name"),
            "nickname": price.get("nickname"),
            "amount": price.get("unit_amount"),
            "currency": price.get("currency"),
            "interval": recurring.get("interval"),
        },
        # Companies keep plan limits on the product or on the price: both, the price's more specific.
        "limits": {**dict(product.get("metadata") or {}), **dict(price.get("metadata") or {})},
    }


def _invoice(inv: dict[str, Any]) -> dict[str, Any]:
    parent = inv.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return {
        "id": inv["id"],
        "status": inv["status"],
        "amount_due": inv.get("amount_due"),
        "currency": inv.get("currency"),
        "attempt_count": inv.get("attempt_count", 0),
        "next_payment_attempt": _ts(inv.get("next_payment_attempt")),
        "due_date": _ts(inv.get("due_date")),
        "hosted_invoice_url": inv.get("hosted_invoice_url"),
        "created": _ts(inv.get("created")),
        "subscription": _id(details.get("subscription")),
    }


def _failure(charge: dict[str, Any]) -> dict[str, Any]:
    outcome = charge.get("outcome") or {}
    return {
        "charge": charge["id"],
        "created": _ts(charge.get("created")),
        "failure_code": charge.get("failure_code"),
        "failure_message": charge.get("failure_message"),
        "outcome_reason": outcome.get("reason"),
        "amount": charge.get("amount"),
        "currency": charge.get("currency"),
        "invoice": _id(charge.get("invoice")),
    }


def assess_standing(
    customer: Mapping[str, Any],
    subscriptions: list[dict[str, Any]],
    open_invoices: list[dict[str, Any]],
    failures: list[dict[str, Any]],
    now: datetime,
) -> tuple[bool, list[str]]:
    """(in_good_standing, reasons): the verdict and its evidence, in words that cite values.

    Not in good standing when a subscription is past_due or unpaid; when one is
    canceled or incomplete_expired and no active/trialing one replaced it; when
    an open invoice has failed attempts and is past its due date (invoices
    charged automatically have no due date: they are due when issued); or when
    Stripe marks the customer delinquent. Failed charges are cited as context.
    """
    reasons: list[str] = []
    has_live = any(s["status"] in _LIVE_STATUSES for s in subscriptions)
    for sub in subscriptions:
        status = sub["status"]
        if status in BAD_SUBSCRIPTION_STATUSES and not (status in _ENDED_STATUSES and has_live):
            when = f" since {sub['canceled_at']}" if status == "canceled" and sub.get("canceled_at") else ""
            reasons.append(f"subscription {sub['id']} is {status}{when}")
    now_iso = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for inv in open_invoices:
        attempts = inv.get("attempt_count") or 0
        due = inv.get("due_date") or inv.get("created")
        if attempts > 0 and (due is None or due <= now_iso):
            text = f"invoice {inv['id']} open, {attempts} failed attempt{'s' if attempts != 1 else ''}"
            text += f", amount_due {inv['amount_due']} {inv.get('currency') or ''}".rstrip()
            if inv.get("due_date"):
                text += f" (due {inv['due_date']})"
            reasons.append(text)
    if customer.get("delinquent"):
        reasons.append(f"customer {customer['id']} is marked delinquent by Stripe")
    if reasons and failures:
        last = failures[0]
        detail = "/".join(x for x in (last["failure_code"], last["outcome_reason"]) if x)
        reasons.append(f"last failed charge {last['charge']} on {last['created']}: {detail or 'failed'}")
    return (not reasons, reasons)


# --------------------------------------------------------------------------- connector


class BillingAccountArgs(ToolArgs):
    account_id: AccountId = Field(description="Account id from the account directory, e.g. 'acct_42'")


class BillingSearchArgs(ToolArgs):
    query: str = Field(
        description="Stripe search query, e.g. email:'ap@example.com' or metadata['account_id']:'acct_42'",
        min_length=1,
        max_length=500,
    )


class StripeConnector(Connector):
    """Reads a customer's billing standing from Stripe, and can do nothing else.

    Give it a restricted key (``rk_...``) with read-only permissions on
    Customers, Subscriptions, Invoices, Charges, Prices and Products. With
    ``transport`` (a world's emulator, a test mock) no real network is used.
    ``client`` is the SDK client; every write through it is refused before
    sending (see :class:`ReadOnlyStripeHTTPClient`).
    """

    source = SOURCE

    @classmethod
    def not_configured(cls, settings: ConnectorSettings) -> str | None:
        if settings.stripe.api_key is not None:
            return None
        return "not configured (set STRIPE_API_KEY, a restricted read-only key)"

    @classmethod
    def build(cls, settings: ConnectorSettings, world: StandIns | None = None) -> StripeConnector:
        return cls(settings.stripe, transport=world.transport if world is not None else None)

    settings_key: ClassVar[str | None] = "stripe"
    env_vars: ClassVar[Mapping[str, str]] = {"STRIPE_API_KEY": "api_key"}

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
        self.settings = settings
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
        await self.http_client.close_async()

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
        with its status, plan and limits (product metadata such as api_rpm),
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
                    if (pid := _id((item.get("price") or {}).get("product")))
                }
            )
            fetched = await asyncio.gather(
                *(
                    self._call(f"product {pid}", functools.partial(v1.products.retrieve_async, pid))
                    for pid in product_ids
                )
            )
            products = {p["id"]: p for p in fetched}
            subscriptions = [_subscription(s, products) for s in sub_list]
            open_invoices = [_invoice(i) for i in invoices["data"][:LIST_LIMIT] if i.get("status") == "open"]
            failures = [_failure(c) for c in charges["data"][:CHARGES_LIMIT] if c.get("status") == "failed"]
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
