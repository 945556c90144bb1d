"""Link the help-center article that explains the diagnosis in the customer reply.

An article explains a diagnosis when the help center labels it with the diagnosed category
(Zendesk Guide ``label_names``): that is the company's own statement, so no text similarity is
guessed at. The article must have come back from a ``docs_search`` or ``docs_article`` call of
this investigation; it is then offered in the reply, listed under ``related`` and named in the
internal note. Whatever model wrote the diagnosis, the same rule applies.
"""

from __future__ import annotations

from collections.abc import Iterable

from casefile.agent.diagnosis import Diagnosis, RelatedItem
from casefile.tools.base import GarbledResult, ToolOutcome
from casefile.tools.docs import Article, DocsSearchResult

__all__ = ["explaining_article", "link_article"]


def _articles(outcomes: Iterable[ToolOutcome]) -> Iterable[Article]:
    for outcome in outcomes:
        if not outcome.ok or outcome.tool != "docs_search":
            continue
        try:
            yield from outcome.view(DocsSearchResult).articles
        except GarbledResult:
            continue


def explaining_article(category: str, outcomes: Iterable[ToolOutcome]) -> Article | None:
    """The best-ranked article found in this investigation that is labelled with ``category``."""
    return next((a for a in _articles(outcomes) if category in a.labels and a.url), None)


def link_article(diagnosis: Diagnosis, outcomes: Iterable[ToolOutcome]) -> Diagnosis:
    """``diagnosis`` with the explaining article offered in its reply (unchanged when there is none)."""
    article = explaining_article(diagnosis.root_cause.category, outcomes)
    if article is None or article.url in diagnosis.customer_reply:
        return diagnosis
    reply = f"{diagnosis.customer_reply.rstrip()}\n\nThis article walks through it: {article.title} — {article.url}"
    note = f"{diagnosis.internal_note.rstrip()}\nHelp-center article offered: {article.url}".strip()
    related = [
        *diagnosis.related,
        RelatedItem(kind="other", id=f"article-{article.id}", title=article.title, url=article.url),
    ]
    return diagnosis.model_copy(update={"customer_reply": reply, "internal_note": note, "related": related})
