"""The help center: articles that may already answer the ticket (Zendesk Guide first).

Source ``docs``, two operations. ``docs_search`` runs Zendesk Help Center's article search
(``GET /api/v2/help_center/articles/search?query=…``, GET only; public articles need no
credentials, API-token auth is sent when configured); ``docs_article`` reads one article's text.
A world serves ``helpcenter.json`` through ``tools/world/emulate_helpcenter.py`` in the same wire
format. Another knowledge base is another connector with the same two operations and result
models (:class:`DocsSearchResult`, :class:`ArticleText`), so runbooks and models need no change.

Articles labelled with a casefile category (``label_names`` such as ``billing_past_due``) tell
casefile which diagnoses they explain: ``agent/articles.py`` links such an article in the reply.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field, SecretStr

from casefile.tools.args import how_many, search_text
from casefile.tools.base import CallContext, ToolArgs, ToolOutcome, operation
from casefile.tools.connector_types import LinkContext, SourceLink, StandIns
from casefile.tools.errors import ToolError
from casefile.tools.settings import ConnectorSettings
from casefile.tools.tickets import ZendeskAccountConnector

__all__ = [
    "Article",
    "ArticleText",
    "DocsArticleArgs",
    "DocsSearchArgs",
    "DocsSearchResult",
    "HelpCenterConnector",
    "HelpCenterSettings",
    "plain_text",
]

SOURCE = "docs"
SEARCH_PATH = "/api/v2/help_center/articles/search"
# A tag ends before the next "<": linear in the body (``<[^>]+>`` scanned from every unclosed "<" to
# the end, quadratic: a 1 MB body of them held the event loop for minutes), and a lone "<" in text
# ("a < b") is text, not the start of a tag swallowing what follows.
_TAG = re.compile(r"<[^<>]+>")
_ARTICLE_TEXT_CHARS = 4000
# A locale is a path segment of the article URL: letters, digits and hyphens only ("en-us", "es-419"),
# so "../../tickets/1.json?" cannot make it another endpoint of the helpdesk.
LOCALE = r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,2}$"


class HelpCenterSettings(BaseModel):
    """``[connectors.helpcenter]``: where the help center is and which locale to search."""

    subdomain: str | None = Field(default=None, description="<subdomain>.zendesk.com")
    base_url: str | None = Field(default=None, description="override https://<subdomain>.zendesk.com")
    locale: str = Field(default="en-us", description="Help Center locale searched when none is asked")
    email: str | None = Field(default=None, description="agent email for API-token auth (optional)")
    api_token: SecretStr | None = None


class DocsSearchArgs(ToolArgs):
    query: str = search_text(
        max_length=500,
        description="What the customer is trying to do or the error they see, in their words, e.g. "
        "'update card past due invoice' or 'SAML certificate rotate'.",
    )
    locale: str | None = Field(
        default=None, pattern=LOCALE, description="Help Center locale, e.g. 'de'; default: configured"
    )
    limit: int = how_many(5, most=10, description="How many articles to return.")


class DocsArticleArgs(ToolArgs):
    article_id: int = Field(ge=1, description="The article's id from docs_search.")
    locale: str | None = Field(default=None, pattern=LOCALE, description="Help Center locale, e.g. 'pt-br'")


class Article(BaseModel):
    """One search hit: enough to decide whether the article answers the ticket, and to link it."""

    id: int
    title: str
    url: str = Field(description="the public page (html_url)")
    snippet: str = ""
    labels: list[str] = Field(default_factory=list)
    section_id: int | None = None
    locale: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class DocsSearchResult(BaseModel):
    query: str
    count: int = 0
    articles: list[Article] = Field(default_factory=list)


class ArticleText(BaseModel):
    id: int
    title: str
    url: str
    text: str
    labels: list[str] = Field(default_factory=list)
    truncated: bool = False


def plain_text(fragment: str) -> str:
    """HTML (an article body, a search snippet with <em>) → one line of plain text."""
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def _article(raw: Mapping[str, Any]) -> Article | None:
    try:
        return Article(
            id=int(raw["id"]),
            title=str(raw.get("title") or raw.get("name") or ""),
            url=str(raw.get("html_url") or raw.get("url") or ""),
            snippet=plain_text(str(raw.get("snippet") or "")),
            labels=[str(label) for label in raw.get("label_names") or []],
            section_id=raw.get("section_id") if isinstance(raw.get("section_id"), int) else None,
            locale=raw.get("locale"),
            created_at=raw.get("created_at"),
            updated_at=raw.get("updated_at"),
        )
    except (KeyError, TypeError, ValueError):
        return None


def render_search(data: Mapping[str, Any]) -> str:
    result = DocsSearchResult.model_validate(data)
    if not result.articles:
        return f"No help-center article matches {result.query!r}."
    lines = [f"{len(result.articles)} of {result.count} help-center articles for {result.query!r}:"]
    for a in result.articles:
        labels = f" [labels: {', '.join(a.labels)}]" if a.labels else ""
        lines.append(f"- #{a.id} {a.title} <{a.url}>{labels}")
        if a.snippet:
            lines.append(f"  {a.snippet[:300]}")
    return "\n".join(lines)


def render_article(data: Mapping[str, Any]) -> str:
    article = ArticleText.model_validate(data)
    cut = " … (cut)" if article.truncated else ""
    return f"#{article.id} {article.title} <{article.url}>\n{article.text}{cut}"


class HelpCenterConnector(ZendeskAccountConnector[HelpCenterSettings]):
    """Help-center articles (Zendesk Guide), read-only."""

    source: ClassVar[str] = SOURCE
    settings_key: ClassVar[str | None] = "helpcenter"
    settings_model: ClassVar[type[BaseModel] | None] = HelpCenterSettings
    env_vars: ClassVar[Mapping[str, str]] = {
        "ZENDESK_SUBDOMAIN": "subdomain",
        "HELPCENTER_URL": "base_url",
        "HELPCENTER_LOCALE": "locale",
    }

    @classmethod
    def build(cls, settings: ConnectorSettings, world: StandIns | None = None) -> HelpCenterConnector:
        help_center = settings.section("helpcenter", HelpCenterSettings)
        if world is None:
            return cls(help_center)
        from casefile.tools.world.emulate_helpcenter import world_settings

        return cls(world_settings(help_center), transport=world.transport)

    @classmethod
    def source_link(cls, outcome: ToolOutcome, context: LinkContext) -> SourceLink | None:
        """The first article found (or the one read)."""
        data = outcome.data if isinstance(outcome.data, dict) else {}
        if outcome.tool == "docs_article" and data.get("url"):
            return SourceLink(label=f"Help center: {data.get('title', '')}".strip(), url=data["url"])
        articles = data.get("articles") or []
        if articles and isinstance(articles[0], dict) and articles[0].get("url"):
            first = articles[0]
            return SourceLink(label=f"Help center: {first.get('title', '')}".strip(), url=first["url"])
        return None

    @operation("docs_search", DocsSearchArgs, render=render_search)
    async def search(self, args: DocsSearchArgs, ctx: CallContext) -> DocsSearchResult:
        """Search the help center for articles that may already answer the ticket.

        Use it before escalating: about four in ten escalations are later solved by an article
        the agent did not find. Query with the customer's own words and the error they quote.
        Each article has its labels: a label that names a diagnosis category means the article
        explains that cause. An article is guidance, not evidence about this customer.
        """
        ctx.check_helpdesk(SOURCE)
        params = {"query": args.query, "locale": args.locale or self.settings.locale, "per_page": args.limit}
        data = await self._http.get_json(SEARCH_PATH, params, expect=dict)
        raw = data.get("results")
        if not isinstance(raw, list):
            raise ToolError(SOURCE, "the help center answered without a results list")
        articles = [a for a in (_article(r) for r in raw if isinstance(r, dict)) if a is not None]
        count = data.get("count") if isinstance(data.get("count"), int) else len(articles)
        return DocsSearchResult(query=args.query, count=count, articles=articles[: args.limit])

    @operation("docs_article", DocsArticleArgs, render=render_article)
    async def article(self, args: DocsArticleArgs, ctx: CallContext) -> ArticleText:
        """Read one help-center article's text (to check that it answers the question before citing it)."""
        ctx.check_helpdesk(SOURCE)
        locale = args.locale or self.settings.locale
        data = await self._http.get_json(
            f"/api/v2/help_center/{locale}/articles/{args.article_id}.json", expect=dict
        )
        raw = data.get("article")
        if not isinstance(raw, dict):
            raise ToolError(SOURCE, f"article {args.article_id} came back without an 'article' object")
        text = plain_text(str(raw.get("body") or ""))
        return ArticleText(
            id=int(raw.get("id") or args.article_id),
            title=str(raw.get("title") or ""),
            url=str(raw.get("html_url") or ""),
            text=text[:_ARTICLE_TEXT_CHARS],
            labels=[str(label) for label in raw.get("label_names") or []],
            truncated=len(text) > _ARTICLE_TEXT_CHARS,
        )
