"""Where a person can see each tool call's source: the link beside each piece of evidence.

Built from the call's arguments and result (never from ticket text) by the connector that made
the call (``Connector.source_link``): each vendor's URLs live in that vendor's module. A label or
query naming another account of the directory (an article's title, a model's SQL) has it replaced
(``agent/foreign.py``), and a URL that names one is left out: the sidebar shows the link to the
investigation's own tenant, who must not learn another customer from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from casefile.agent.foreign import OtherAccounts
from casefile.tools.base import LinkContext, ToolOutcome
from casefile.tools.catalogue import connector_classes

__all__ = ["source_link", "source_links"]

_SLUG_SEPARATORS = re.compile(r"[-_/+%?=&#:]+")


def source_link(
    outcome: ToolOutcome,
    *,
    accounts: Mapping[str, Mapping[str, Any]] | None = None,
    clickhouse_play_url: str | None = None,
    others: OtherAccounts | None = None,
) -> dict[str, Any] | None:
    """``{label, url?, query?}`` for one call, from the connector that made it (None: nowhere),
    naming none of ``others``."""
    cls = connector_classes().get(outcome.source)
    if cls is None:
        return None
    account = (accounts or {}).get(str(outcome.arguments.get("account_id") or "")) or {}
    context = LinkContext(account=dict(account), clickhouse_play_url=clickhouse_play_url)
    link = cls.source_link(outcome, context)
    if link is None:
        return None
    if others is not None:
        label, query = others.scrub(link.label), link.query and others.scrub(link.query)
        url = link.url if link.url is not None and not _names_another(link.url, others) else None
        link = link.model_copy(update={"label": label, "query": query, "url": url})
    return link.model_dump(exclude_none=True)


def _names_another(url: str, others: OtherAccounts) -> bool:
    """Whether ``url`` names another account, as a host or as words of its path (a slug's hyphens
    and slashes read as spaces: ``/articles/2-contoso-pharma-export``)."""
    words = _SLUG_SEPARATORS.sub(" ", url)
    return others.scrub(url) != url or others.scrub(words) != words


def source_links(
    outcomes: Iterable[ToolOutcome],
    *,
    own: str | None,
    accounts: Mapping[str, Mapping[str, Any]] | None = None,
    clickhouse_play_url: str | None = None,
) -> dict[str, dict[str, Any]]:
    """call id → link, for every call that has one; ``own`` is the investigation's account (every
    other account of ``accounts`` is withheld from the links)."""
    others = OtherAccounts(accounts or {}, own)
    links = {}
    for outcome in outcomes:
        link = source_link(outcome, accounts=accounts, clickhouse_play_url=clickhouse_play_url, others=others)
        if link:
            links[outcome.call_id] = link
    return links
