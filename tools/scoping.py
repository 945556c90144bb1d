"""One tenant per investigation, at the last step before a tool runs: its account arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from casefile.tools.errors import ScopeViolation
from casefile.tools.values import same_account

if TYPE_CHECKING:
    from casefile.tools.base import CallContext, Tool

__all__ = ["scoped_arguments"]


def scoped_arguments(tool: Tool, arguments: Mapping[str, Any], ctx: CallContext) -> dict[str, Any]:
    """``arguments`` with each account argument checked against the investigation's account.

    A spelling of the investigation's own id (other case, full-width letters, surrounding space) is
    replaced by the id itself; anything else (another id, a name, a domain, a
    Stripe customer id, a non-string) is refused before the tool runs.
    """
    scoped = dict(arguments)
    for name in tool.account_fields:
        value = scoped.get(name)
        if value is None:
            continue  # absent or null: the argument model decides whether that is allowed
        if ctx.account_id is None or not isinstance(value, str) or not same_account(value, ctx.account_id):
            raise ScopeViolation(tool.source, ctx.refusal())
        scoped[name] = ctx.account_id
    return scoped
