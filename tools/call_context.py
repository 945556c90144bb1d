"""What a tool call may depend on besides its arguments: the ticket's time and the one account it may touch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from casefile.tools.errors import ScopeViolation, ToolArgumentError

__all__ = ["CallContext"]


@dataclass(frozen=True)
class CallContext:
    """Facts a tool call may depend on besides its arguments.

    ``now`` is the ticket's creation time, not the wall clock, so that
    "days until the certificate expires" is the same in an eval run next year.

    ``account_id`` is the one account the investigation may touch (None: none was
    resolved, or a call outside an investigation, and no per-account operation
    runs); connectors scope what they read to it, e.g. ``logs_sql`` rewrites model
    SQL so it only sees that account's rows. ``account`` is its directory
    entry, where connectors read configuration (SSO metadata URL, Stripe customer
    id), never from ticket text. Connectors never see the rest of the directory:
    ``baseline_accounts`` are other accounts' ids, there only so a platform
    baseline can be read along the ``(account, time)`` key; results must aggregate
    over them and never name them. ``tenant`` is the service tenant (a helpdesk, a team) the
    investigation belongs to: casefile's own history (``cases_similar``) is read for it only; None
    (the operator's CLI, an eval) reads all of it. ``helpdesk_tenant`` is the tenant whose helpdesk
    the connectors read (the service's ``service.tenant``): its resolved tickets and its help center
    (read with its agent's credentials) are that tenant's, so another tenant's investigation is
    refused them.
    """

    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    account_id: str | None = None
    account: Mapping[str, Any] = field(default_factory=dict)
    baseline_accounts: tuple[str, ...] = ()
    requested_by: str = "casefile"
    tenant: str | None = None
    helpdesk_tenant: str | None = None

    @classmethod
    def for_account(
        cls,
        account_id: str | None,
        directory: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        now: datetime | None = None,
        requested_by: str = "casefile",
        tenant: str | None = None,
        helpdesk_tenant: str | None = None,
    ) -> CallContext:
        """The context of calls scoped to ``account_id``, taking only what they need of ``directory``."""
        directory = directory or {}
        entry = directory.get(account_id) if account_id is not None else None
        return cls(
            now=now or datetime.now(UTC),
            account_id=account_id,
            account=dict(entry or {}),
            baseline_accounts=tuple(sorted(a for a in directory if a != account_id)),
            requested_by=requested_by,
            tenant=tenant,
            helpdesk_tenant=helpdesk_tenant,
        )

    def refusal(self) -> str:
        """The tool error a call reaching outside this scope gets."""
        if self.account_id is None:
            return "refused: this investigation has no resolved account, so no per-account data can be read"
        return f"refused: this investigation is scoped to account {self.account_id}"

    def check_helpdesk(self, source: str) -> None:
        """The helpdesk's account (its tickets, its help center) is its tenant's: another tenant's
        investigation may not read it."""
        if (
            self.tenant is not None
            and self.helpdesk_tenant is not None
            and self.tenant != self.helpdesk_tenant
        ):
            raise ScopeViolation(
                source,
                f"refused: the helpdesk's account is tenant {self.helpdesk_tenant}'s, not this investigation's",
            )

    def account_for(self, source: str, account_id: str) -> Mapping[str, Any]:
        """The directory entry of ``account_id``, which must be this context's account."""
        if self.account_id is None or account_id != self.account_id:
            raise ScopeViolation(source, self.refusal())
        if not self.account:
            raise ToolArgumentError(source, f"unknown account {account_id!r}")
        return self.account
