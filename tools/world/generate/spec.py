"""The scenario spec: a company and its systems, as data (YAML or Python).

``build_world(spec)`` turns a :class:`WorldSpec` into a world directory in the
format of ``docs/architecture.md`` (Worlds). The demo world's
``examples/world/make_world.py`` builds its spec in Python; bundled worlds of other
companies are YAML files under ``evals/scenarios/``.
"""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from casefile.tools.settings import LogTableMap

__all__ = [
    "AccountSpec",
    "BillingSpec",
    "Brand",
    "ChargeSpec",
    "CommitSpec",
    "DeploySpec",
    "FileChange",
    "HistorySpec",
    "IdpCert",
    "IdpSpec",
    "IssueComment",
    "IssueSpec",
    "MeteredSpec",
    "Person",
    "PlanSpec",
    "RepoSpec",
    "WorldSpec",
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Person(_Spec):
    name: str
    email: str
    id: int


class Brand(_Spec):
    """The company that runs the product: names that appear in its systems' objects."""

    name: str = Field(description="product name, e.g. Relay")
    legal_name: str = Field(description="invoice issuer, e.g. 'Relay, Inc.'")
    stripe_account: str = Field(description="the Stripe account id in invoice URLs, e.g. acct_1RelayHQ")
    statement_descriptor: str
    price_lookup_prefix: str = Field(description="prices' lookup_key prefix")
    app_host: str = Field(description="the dashboard host (SAML ACS URLs)")
    ci_host: str
    help_center: str = Field(description="article URL prefix of the help center")
    linear_workspace: str
    linear_team_key: str
    linear_team_name: str
    deploy_bot: str = Field(description="the GitHub login that creates deployments and release commits")
    people: dict[str, Person]
    id_salt: str = Field(default="", description="mixed into catalogue ids so two worlds' prices differ")
    currency: str = Field(default="usd", description="ISO 4217 code, lower case, of every price and invoice")


class MeteredSpec(_Spec):
    """Usage-based pricing: the price charges per unit reported to a Stripe billing meter."""

    unit: str = Field(description="what is counted, e.g. label (the invoice line's wording)")
    unit_amount: int = Field(gt=0, description="price per unit in cents")
    event_name: str = Field(description="the billing meter's event_name, e.g. label_created")
    package: int = Field(
        default=1,
        ge=1,
        description="units billed together, e.g. 1000 (Stripe's transform_quantity.divide_by)",
    )
    currency_options: dict[str, int] = Field(
        default_factory=dict,
        description="the unit's price in other currencies (Stripe's currency_options): ISO code → cents",
    )


class PlanSpec(_Spec):
    name: str
    amount: int = Field(
        description="price per billing interval in cents (metered: a month's bill, amount // unit_amount units)"
    )
    interval: Literal["month", "year"] = Field(default="month", description="billed monthly or yearly")
    description: str
    metered: MeteredSpec | None = Field(
        default=None, description="usage-based price (Stripe usage_type metered)"
    )
    overage: MeteredSpec | None = Field(
        default=None,
        description="usage beyond the plan's allowance: a second, metered price on the same subscription",
    )
    metadata: dict[str, str] = Field(default_factory=dict, description="product metadata (plan limits)")
    price_metadata: dict[str, str] = Field(default_factory=dict, description="price metadata")
    currency_options: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "the price's amount in other currencies than the brand's (Stripe's currency_options):"
            " lower-case ISO code → cents, for customers invoiced in that currency"
        ),
    )

    @property
    def period_months(self) -> int:
        return 12 if self.interval == "year" else 1

    @property
    def adverb(self) -> str:
        """Stripe's nickname and lookup-key word for the interval."""
        return "yearly" if self.interval == "year" else "monthly"


class ChargeSpec(_Spec):
    at: str | None = Field(default=None, description="ISO time; default: an hour after the period start")
    decline: str | None = Field(
        default=None,
        description="insufficient_funds | expired_card | …; a bank debit's return: insufficient_funds (ACH R01), debit_not_authorized, account_closed",
    )
    seed: str | None = None


class TopUpSpec(_Spec):
    """A charge outside the invoices: a prepaid balance recharged by card (automatically or by hand)."""

    at: str = Field(description="ISO time of the charge")
    amount: int = Field(gt=0, description="in cents, in the customer's currency")
    decline: str | None = Field(default=None, description="the issuer's decline code; None: it succeeded")
    description: str = Field(default="Balance recharge", description="the charge's description")


class BillingSpec(_Spec):
    status: Literal["active", "past_due", "canceled", "unpaid", "trialing"] = "active"
    delinquent: bool = False
    payment_method: Literal["card", "sepa_debit", "us_bank_account", "bacs_debit"] = Field(
        default="card",
        description=(
            "sepa_debit: SEPA Direct Debits under a mandate; us_bank_account: ACH debits from a US bank"
            " account; bacs_debit: UK Bacs Direct Debits (a sort code and account, in GBP)"
        ),
    )
    card_last4: str = Field(
        default="4242", description="the card's or the debited account's last four digits"
    )
    card_exp_year: int = 2028
    bank_name: str = Field(default="", description="the debited bank (us_bank_account)")
    sort_code: str = Field(default="108800", description="the debited UK account's sort code (bacs_debit)")
    charges: list[ChargeSpec] | None = Field(
        default=None,
        description="the current period's charge attempts; default one success; [] none (unpaid)",
    )
    paid_at: str | None = None
    next_attempt: str | None = None
    canceled_at: str | None = None
    cancellation_reason: str | None = None
    days_until_due: int | None = Field(
        default=None, description="invoices sent to be paid within this many days (Stripe's send_invoice)"
    )
    previous_plan: str | None = Field(
        default=None, description="the plan billed in the previous period: changed since (e.g. a downgrade)"
    )
    trial_end: str | None = Field(
        default=None, description="ISO time a free trial from the account's creation ends (no card on file)"
    )
    invoice_fields: dict[str, str] = Field(
        default_factory=dict,
        description="the customer's invoice custom fields (Stripe custom_fields), e.g. a purchase-order number",
    )
    currency: str | None = Field(
        default=None,
        description=(
            "the currency this customer is invoiced and charged in (lower-case ISO code), when not the"
            " brand's: its plan's price (and overage) must offer it in currency_options"
        ),
    )
    balance: int = Field(
        default=0,
        description="the customer's Stripe balance in cents: negative is credit left (a prepaid balance), positive is owed",
    )
    customer_metadata: dict[str, str] = Field(
        default_factory=dict,
        description="more metadata on the Stripe customer, e.g. a prepaid balance's auto-recharge settings",
    )
    top_ups: list[TopUpSpec] = Field(
        default_factory=list, description="charges outside the invoices: a prepaid balance's recharges"
    )

    @property
    def collection_method(self) -> str:
        return "charge_automatically" if self.days_until_due is None else "send_invoice"


class IdpCert(_Spec):
    not_before: str
    not_after: str
    serial: int


class IdpSpec(_Spec):
    vendor: Literal[
        "okta",
        "entra",
        "google",
        "onelogin",
        "auth0",
        "jumpcloud",
        "adfs",
        "ping",
        "pingfederate",
        "keycloak",
        "shibboleth",
        "duo",
    ]
    entity_id: str
    metadata_url: str
    metadata_served: bool = Field(
        default=True,
        description="False: the metadata URL answers nobody outside the customer's network (or the IdP is gone)",
    )
    sso_url: str = ""
    file: str = Field(description="metadata file name in sso/, without .xml")
    tenant: str = Field(default="", description="the IdP tenant (subject CN, Entra tenant id)")
    certs: list[IdpCert] = Field(default_factory=list, description="every signing certificate of the story")
    listed_serials: list[int] | None = Field(
        default=None, description="serials the metadata lists now (default: every certificate)"
    )
    last_working_certs: list[int] | None = Field(
        default=None, description="serials listed by the last working snapshot (default: the same as now)"
    )
    configured_serial: int | None = Field(
        default=None, description="the certificate configured at our side (default: the first)"
    )
    sp_acs_path: str | None = Field(default=None, description="ACS path override (a misconfiguration)")
    app_id: str | None = Field(
        default=None, description="the IdP's app for us (Okta appId, Entra appId): its admin API is served"
    )
    app_acs_url: str | None = Field(
        default=None, description="the app's ACS URL when not ours (a misconfiguration)"
    )
    app_entity_id: str | None = Field(default=None, description="the app's SP entity ID when not ours")
    app_fault: int | None = Field(default=None, description="the status the admin API answers for the app")


class AccountSpec(_Spec):
    id: str
    name: str
    domains: list[str]
    plan: str
    timezone: str
    email: str
    anchor: str = Field(description="the current billing period's start")
    created: str
    webhook_url: str | None = None
    repos: list[str] = Field(default_factory=list)
    quantity: int = Field(
        default=1, ge=1, description="licensed units billed at the plan's price, e.g. locations or seats"
    )
    billing: BillingSpec = BillingSpec()
    idp: IdpSpec | None = None


class FileChange(_Spec):
    path: str
    status: str = "modified"
    additions: int = 1
    deletions: int = 0
    patch: str = ""


class CommitSpec(_Spec):
    message: str
    author: str
    files: list[FileChange]


class DeploySpec(_Spec):
    tag: str
    environment: str = "production"
    at: str
    state: Literal["success", "failure"] = "success"
    commits: list[CommitSpec] = Field(default_factory=list)


class RepoSpec(_Spec):
    host: str = Field(description="where it is deployed (deployment statuses' environment_url)")
    releases: bool = True
    deploys: list[DeploySpec] = Field(default_factory=list, description="in time order")


class IssueComment(_Spec):
    author: str
    at: str
    body: str


class IssueSpec(_Spec):
    n: int
    title: str
    state: Literal["Backlog", "Todo", "In Progress", "In Review", "Done", "Canceled"]
    priority: int = 3
    labels: list[str] = Field(default_factory=list)
    created: str
    updated: str
    due: str | None = None
    description: str = ""
    comments: list[IssueComment] = Field(default_factory=list)


class HistorySpec(_Spec):
    subject: str
    body: str
    resolution: str
    tags: list[str]
    created: str
    solved: str


class ArticleSpec(_Spec):
    """One help-center article (Zendesk Guide); ``labels`` name the diagnosis categories it explains."""

    n: int = Field(description="the article's number; its id is 360000000 + n")
    title: str
    labels: list[str] = Field(default_factory=list)
    body: str = Field(description="HTML, as Guide stores it")
    section: int = 1
    created: str = "2026-01-15T10:00:00Z"
    updated: str = "2026-06-01T10:00:00Z"


class WorldSpec(_Spec):
    name: str
    brand: Brand
    plans: dict[str, PlanSpec]
    accounts: list[AccountSpec]
    repos: dict[str, RepoSpec] = Field(default_factory=dict)
    issues: list[IssueSpec] = Field(default_factory=list)
    articles: list[ArticleSpec] = Field(default_factory=list, description="the help center (helpcenter.json)")
    history: list[HistorySpec] = Field(default_factory=list)
    catalog_created: str = "2023-01-09T12:00:00Z"
    catalog_updated: str = "2026-06-01T10:00:00Z"
    logs: dict[Literal["requests", "webhooks", "sso"], LogTableMap] = Field(
        default_factory=dict,
        description="log tables with other names than the demo's (clickhouse/mapping.json)",
    )
    log_time_zone: str | None = Field(
        default=None,
        description="IANA zone the log tables' time columns are stored in (written as clickhouse/schema.sql)",
    )
    catalog: dict[str, Any] | None = Field(
        default=None, description="catalog.yaml: the company catalogue (see casefile.agent.catalog)"
    )
    traffic: dict[str, Any] | None = Field(
        default=None, description="clickhouse/traffic.json (see examples/README.md); SSO cert_sha1 filled in"
    )

    @model_validator(mode="after")
    def _priced_currencies(self) -> WorldSpec:
        """An account invoiced in another currency than the brand's needs its plan priced in it."""
        for acc in self.accounts:
            cur = acc.billing.currency
            if cur is None or cur == self.brand.currency or acc.plan not in self.plans:
                continue
            plan = self.plans[acc.plan]
            priced = [plan.currency_options] + [m.currency_options for m in (plan.metered, plan.overage) if m]
            if plan.metered is not None:
                priced = priced[1:]  # a metered plan's price is its unit's
            if any(cur not in options for options in priced):
                raise ValueError(
                    f"account {acc.id} is invoiced in {cur} but plan {acc.plan} has no {cur} price"
                    " (currency_options)"
                )
        return self

    @field_validator("log_time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Oslo)") from None
        return value
