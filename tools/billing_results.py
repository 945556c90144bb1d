"""Typed view of ``billing_account`` (the ``billing`` connector's result), for code that reasons over it."""

from __future__ import annotations

from pydantic import Field

from casefile.tools.values import ResultView

__all__ = ["BillingAccount", "Customer", "Subscription"]


class Plan(ResultView):
    price_id: str | None = None
    product: str | None = None
    product_name: str | None = None
    nickname: str | None = None
    amount: int | None = None
    amount_decimal: str | None = None
    """Stripe's ``unit_amount_decimal``: a usage-based price may be a fraction of a cent per unit."""
    currency: str | None = None
    interval: str | None = None
    usage_type: str | None = None
    """``licensed`` (a flat fee per period) or ``metered`` (billed on reported usage)."""
    billing_scheme: str | None = None
    meter: str | None = None


class Subscription(ResultView):
    id: str
    status: str
    cancel_at_period_end: bool | None = None
    canceled_at: str | None = None
    current_period_end: str | None = None
    plan: Plan = Field(default_factory=Plan)
    metered: list[Plan] = Field(default_factory=list)
    """The subscription's usage-based prices (the plan itself when it is one)."""
    limits: dict[str, str] = Field(default_factory=dict)

    @property
    def plan_name(self) -> str:
        return self.plan.nickname or self.plan.product_name or self.plan.product or "their plan"


class Invoice(ResultView):
    id: str
    status: str | None = None
    amount_due: int | None = None
    currency: str | None = None
    attempt_count: int = 0
    next_payment_attempt: str | None = None
    due_date: str | None = None
    hosted_invoice_url: str | None = None
    created: str | None = None
    subscription: str | None = None


class PaymentFailure(ResultView):
    charge: str | None = None
    created: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    outcome_reason: str | None = None
    amount: int | None = None
    currency: str | None = None
    invoice: str | None = None


class Customer(ResultView):
    id: str
    email: str | None = None
    name: str | None = None
    delinquent: bool | None = None


class BillingAccount(ResultView):
    customer: Customer | None = None
    in_good_standing: bool | None = None
    standing_reasons: list[str] = Field(default_factory=list)
    subscriptions: list[Subscription] = Field(default_factory=list)
    open_invoices: list[Invoice] = Field(default_factory=list)
    recent_payment_failures: list[PaymentFailure] = Field(default_factory=list)

    @property
    def subscription(self) -> Subscription | None:
        """The subscription that decides access: a live one first, else the latest listed."""
        live = [s for s in self.subscriptions if s.status in ("active", "trialing", "past_due", "unpaid")]
        chosen = live or self.subscriptions
        return chosen[0] if chosen else None
