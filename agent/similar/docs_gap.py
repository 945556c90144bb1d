"""The docs-gap metric: bounced escalations whose article the help-center search would have found.

For each escalation that bounced back with a help-center article, the search that investigation
ran (``docs_search``'s query in its audit log; the ticket's subject when it ran none) is run again,
and the article counts as *findable* when it is among the top :data:`TOP` results and was created
before the investigation. Search results are not stored with an investigation, so "at the time"
is approximated by today's help center with that day's query, leaving out articles written since.
A help center that cannot answer is named, and the metric is then not measured.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from pydantic import BaseModel, Field

__all__ = ["TOP", "Bounce", "DocsGap", "DocsGapItem", "SearchOutcome", "docs_gap", "render_docs_gap"]

TOP = 5
_ID = re.compile(r"/articles/(\d+)")


class BouncedArticle(BaseModel):
    """A bounced escalation with the article that should have prevented it."""

    investigation_id: str
    ticket_id: str
    team: str | None = None
    article: str


class Bounce(BouncedArticle):
    """A bounced escalation to measure: when it was investigated and the search it ran."""

    created_at: datetime
    query: str = Field(description="the docs_search query it ran, or the ticket's subject")

    @classmethod
    def of(cls, escalation: object, *, created_at: datetime, query: str) -> Bounce:
        """``escalation``'s ids, team and article (read from its attributes: a report's preventable row)."""
        found = BouncedArticle.model_validate(escalation, from_attributes=True)
        return cls(**found.model_dump(), created_at=created_at, query=query)


class SearchOutcome(BaseModel):
    """What one help-center search answered: article URLs and creation times, best first; or why not."""

    ok: bool
    error: str | None = None
    articles: list[tuple[str, str | None]] = Field(default_factory=list)


class DocsGapItem(BouncedArticle):
    query: str
    findable: bool
    rank: int | None = Field(default=None, description="1-based position among the results")


class DocsGap(BaseModel):
    bounced_with_article: int = 0
    findable: int = 0
    share: float | None = Field(default=None, description="findable / bounced_with_article")
    unavailable: str | None = Field(default=None, description="the help center could not answer")
    items: list[DocsGapItem] = Field(default_factory=list)


def _same_article(a: str, b: str) -> bool:
    ida, idb = _ID.search(a), _ID.search(b)
    if ida and idb:
        return ida.group(1) == idb.group(1)
    return a.rstrip("/") == b.rstrip("/")


def _created(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


async def docs_gap(bounces: Sequence[Bounce], search: Callable[[str], Awaitable[SearchOutcome]]) -> DocsGap:
    """How many bounced escalations the help-center search could have answered."""
    items: list[DocsGapItem] = []
    for bounce in bounces:
        outcome = await search(bounce.query)
        if not outcome.ok:
            return DocsGap(
                bounced_with_article=len(bounces),
                unavailable=f"help center unavailable: {outcome.error or 'no answer'}",
            )
        rank = None
        for position, (url, created) in enumerate(outcome.articles[:TOP], start=1):
            when = _created(created)
            if _same_article(url, bounce.article) and (when is None or when <= bounce.created_at):
                rank = position
                break
        items.append(
            DocsGapItem(**bounce.model_dump(exclude={"created_at"}), findable=rank is not None, rank=rank)
        )
    findable = sum(i.findable for i in items)
    return DocsGap(
        bounced_with_article=len(items),
        findable=findable,
        share=round(findable / len(items), 3) if items else None,
        items=items,
    )


def render_docs_gap(gap: DocsGap | None) -> list[str]:
    if gap is None:
        return ["  not measured (no help center to search)"]
    if gap.unavailable:
        return [f"  not measured: {gap.unavailable}"]
    if not gap.bounced_with_article:
        return ["  (no bounced escalation named an article)"]
    share = f"{gap.share:.0%}" if gap.share is not None else "–"
    lines = [
        f"  {gap.findable} of {gap.bounced_with_article} bounced escalations ({share}) had their article "
        f"in the help-center search's top {TOP}"
    ]
    for item in gap.items:
        if item.findable:
            lines.append(
                f"  {item.investigation_id}  ticket {item.ticket_id}: #{item.rank} for {item.query!r}"
            )
    return lines
