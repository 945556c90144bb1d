"""Where a person can see each tool call's source: the link beside each piece of evidence.

Built from the call's arguments and result (never from ticket text) by the connector that made
the call (``Connector.source_link``): each vendor's URLs live in that vendor's module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from casefile.tools.base import LinkContext, ToolOutcome
from casefile.tools.catalogue import connector_classes

__all__ = ["source_link", "source_links"]


def source_link(
    outcome: ToolOutcome,
    *,
    accounts: Mapping[str, Mapping[str, Any]] | None = None,
    clickhouse_play_url: str | None = None,
) -> dict[str, Any] | None:
    """``{label, url?, query?}`` for one call, from the connector that made it (None: nowhere)."""
    cls = connector_classes().get(outcome.source)
    if cls is None:
        return None
    account = (accounts or {}).get(str(outcome.arguments.get("account_id") or "")) or {}
    context = LinkContext(account=dict(account), clickhouse_play_url=clickhouse_play_url)
    link = cls.source_link(outcome, context)
    return link.model_dump(exclude_none=True) if link else None


def source_links(
    outcomes: Iterable[ToolOutcome],
    *,
    accounts: Mapping[str, Mapping[str, Any]] | None = None,
    clickhouse_play_url: str | None = None,
) -> dict[str, dict[str, Any]]:
    """call id → link, for every call that has one."""
    links = {}
    for outcome in outcomes:
        link = source_link(outcome, accounts=accounts, clickhouse_play_url=clickhouse_play_url)
        if link:
            links[outcome.call_id] = link
    return links
