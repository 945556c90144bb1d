"""Helpdesk history: the resolved tickets most similar to this one, with their resolutions.

Source ``tickets``, one operation, ``tickets_similar``. Live it reads Zendesk
Support through the Search API (``GET /api/v2/search.json``), GET only, with
API-token auth; in a world, ``tools/world/emulate_zendesk.py`` serves
``tickets.json`` through the same requests.

How similar tickets are found:

1. Zendesk's search ANDs every word of a query, so a whole ticket as a query
   finds nothing. We pick a few distinctive words of the text (error codes,
   statuses, identifiers first, then the longest words) and run one search per
   word: ``type:ticket status>=solved <word>`` (solved and closed tickets).
2. The union of the results is ranked against the full text with BM25
   (``rank-bm25``'s BM25+ variant, whose IDF stays positive on small
   candidate sets) over subject, description, resolution and tags; tickets
   sharing no word with the text are dropped.
3. Zendesk tickets have no "resolution" attribute. It is read from a custom
   ticket field when ``resolution_field_id`` is configured (and the article URL
   from ``article_field_id``); otherwise it is the ticket's last public comment,
   fetched for the top results only (``GET /api/v2/tickets/{id}/comments.json``).
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol

import httpx
from pydantic import Field, SecretStr

from casefile.tools.base import CallContext, Connector, StandIns, ToolArgs, operation
from casefile.tools.errors import ToolError
from casefile.tools.http import ReadOnlyHTTP
from casefile.tools.settings import ConnectorSettings, ZendeskSettings

__all__ = ["TicketsSimilarArgs", "ZendeskConnector", "query_terms", "rank_tickets", "tokenize"]

SOURCE = "tickets"
SEARCH_PATH = "/api/v2/search.json"
# One search per word; more words find more candidates and cost more requests.
MAX_SEARCHES = 4
PER_PAGE = 100
_URL = re.compile(r"https?://\S+")
_TOKEN = re.compile(r"[a-z0-9][a-z0-9_]*")
_STOPWORDS = frozenset(
    """a about after again all also am an and any are as at be been before but by can cannot could did do does
    doing don dont for from get getting got had has have having hello hey hi how i if in into is it its just me
    my no not now of on or our ours out please since so some still than thank thanks that the their them then
    there these they this those to too up us very was we were what when where which while who why will with
    would yes yet you your morning today yesterday night last anymore working work
    """.split()  # noqa: SIM905 - a word list reads better as prose
)


class TicketsSimilarArgs(ToolArgs):
    text: str = Field(
        min_length=3,
        max_length=4000,
        description="The symptom to look for, e.g. the ticket's subject and body, or '429 rate_limit_exceeded "
        "Idempotency-Key retries'.",
    )
    limit: int = Field(default=3, ge=1, le=10, description="How many resolved tickets to return.")


def tokenize(text: str) -> list[str]:
    """Lower-case words and codes (``rate_limit_exceeded``, ``429``); URLs and stopwords dropped."""
    text = _URL.sub(" ", text.lower())
    return [t for t in _TOKEN.findall(text) if t not in _STOPWORDS and len(t) > 1]


def query_terms(text: str, n: int = MAX_SEARCHES) -> list[str]:
    """The words most likely to be distinctive: codes and numbers first, then the longest."""
    tokens = list(dict.fromkeys(tokenize(text)))
    coded = [t for t in tokens if "_" in t or any(c.isdigit() for c in t)]
    words = sorted(
        (t for t in tokens if t not in coded and len(t) >= 4), key=lambda t: (-len(t), tokens.index(t))
    )
    return (coded + words)[:n]


def _document(ticket: Mapping[str, Any]) -> list[str]:
    parts = [
        str(ticket.get("subject") or ""),
        str(ticket.get("description") or ""),
        str(ticket.get("resolution") or ""),
        " ".join(map(str, ticket.get("tags") or [])),
    ]
    return tokenize("\n".join(parts))


def rank_tickets(text: str, tickets: Sequence[Mapping[str, Any]]) -> list[tuple[float, Mapping[str, Any]]]:
    """BM25 scores of ``tickets`` against ``text``, best first; tickets sharing no word are left out."""
    from rank_bm25 import BM25Plus  # imported here: numpy is not needed to list tools

    query = tokenize(text)
    if not tickets or not query:
        return []
    corpus = [_document(t) for t in tickets]
    # BM25 divides by the average length: an all-empty corpus has none.
    if not any(corpus):
        return []
    # BM25+ rather than Okapi: candidates come from keyword searches, so the query's words are in
    # most of them, and Okapi's IDF is zero or negative for such words in a small corpus.
    scores = BM25Plus(corpus).get_scores(query)
    wanted = set(query)
    ranked = [
        (float(score), ticket)
        for score, ticket, doc in zip(scores, tickets, corpus, strict=True)
        if wanted.intersection(doc)
    ]
    ranked.sort(key=lambda item: (-item[0], str(item[1].get("updated_at") or ""), str(item[1].get("id"))))
    return ranked


def _custom(ticket: Mapping[str, Any], field_id: int | None) -> Any:
    if field_id is None:
        return None
    for entry in ticket.get("custom_fields") or []:
        if isinstance(entry, dict) and entry.get("id") == field_id:
            return entry.get("value")
    return None


def render_similar(data: Mapping[str, Any]) -> str:
    tickets = data.get("tickets") or []
    if not tickets:
        return f"No resolved ticket resembles this one ({data.get('candidates', 0)} candidates searched)."
    lines = [f"{len(tickets)} most similar resolved tickets (BM25 over {data.get('candidates')} candidates):"]
    for t in tickets:
        ref = f"#{t['id']}" + (f" ({t['external_id']})" if t.get("external_id") else "")
        lines.append(
            f"- {ref} {t.get('subject', '')} (solved {t.get('solved_at') or '?'}, score {t['score']})"
        )
        if t.get("resolution"):
            lines.append(f"  resolution: {' '.join(str(t['resolution']).split())[:600]}")
        if t.get("article_url"):
            lines.append(f"  article: {t['article_url']}")
    return "\n".join(lines)


class ZendeskAccount(Protocol):
    """Where a Zendesk account is and how to sign in (Support's and Guide's settings both say)."""

    base_url: str | None
    subdomain: str | None
    email: str | None
    api_token: SecretStr | None


def zendesk_http(
    source: str, settings: ZendeskAccount, transport: httpx.AsyncBaseTransport | None
) -> ReadOnlyHTTP:
    """A read-only client for a Zendesk account (Support or Guide), with API-token auth when given."""
    base_url = settings.base_url or f"https://{settings.subdomain or 'example'}.zendesk.com"
    headers = {"Accept": "application/json"}
    if settings.email and settings.api_token is not None:
        pair = f"{settings.email}/token:{settings.api_token.get_secret_value()}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    return ReadOnlyHTTP(source, base_url, headers=headers, transport=transport)


class ZendeskConnector(Connector):
    """Resolved helpdesk tickets from Zendesk Support (read-only)."""

    source: ClassVar[str] = SOURCE

    @classmethod
    def not_configured(cls, settings: ConnectorSettings) -> str | None:
        if settings.zendesk.subdomain or settings.zendesk.base_url:
            return None
        return "not configured (set ZENDESK_SUBDOMAIN, ZENDESK_EMAIL, ZENDESK_API_TOKEN)"

    @classmethod
    def build(cls, settings: ConnectorSettings, world: StandIns | None = None) -> ZendeskConnector:
        zendesk = settings.zendesk
        if world is None:
            return cls(zendesk)
        if not (zendesk.subdomain or zendesk.base_url):  # the world's helpdesk
            from casefile.tools.world.emulate_zendesk import world_settings

            zendesk = world_settings()
        return cls(zendesk, transport=world.transport)

    settings_key: ClassVar[str | None] = "zendesk"
    env_vars: ClassVar[Mapping[str, str]] = {
        "ZENDESK_SUBDOMAIN": "subdomain",
        "ZENDESK_EMAIL": "email",
        "ZENDESK_API_TOKEN": "api_token",
    }

    @classmethod
    def live_configured(cls, settings: ConnectorSettings) -> bool:
        # The helpdesk's credentials also serve the service's internal notes; on their own they
        # must not switch investigations from the demo world to live systems.
        return False

    def __init__(
        self, settings: ZendeskSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._http = zendesk_http(SOURCE, settings, transport)

    async def _search(self, term: str) -> list[dict[str, Any]]:
        params = {
            "query": f"type:ticket status>=solved {term}",
            "sort_by": "updated_at",
            "sort_order": "desc",
            "per_page": PER_PAGE,
        }
        data = await self._http.get_json(SEARCH_PATH, params, expect=dict)
        return [
            r
            for r in data.get("results") or []
            if isinstance(r, dict) and r.get("result_type", "ticket") == "ticket"
        ]

    async def _last_public_comment(self, ticket_id: Any) -> str | None:
        data = await self._http.get_json(
            f"/api/v2/tickets/{int(ticket_id)}/comments.json",
            {"sort_order": "desc", "per_page": 10},
            expect=dict,
        )
        for comment in data.get("comments") or []:
            if isinstance(comment, dict) and comment.get("public", True):
                return str(comment.get("plain_body") or comment.get("body") or "").strip() or None
        return None

    @operation("tickets_similar", TicketsSimilarArgs, render=render_similar)
    async def similar(self, args: TicketsSimilarArgs, ctx: CallContext) -> dict[str, Any]:
        """The resolved helpdesk tickets most similar to a text, with how each was resolved.

        Use it to see how support solved the same symptom before: each result has the
        ticket's subject, its resolution and the help-center article it pointed to. It is
        history, not evidence about this customer: confirm with the logs and systems.
        """
        terms = query_terms(args.text)
        if not terms:
            raise ToolError(SOURCE, "the text has no searchable words")
        results = await asyncio.gather(*(self._search(term) for term in terms))
        candidates: dict[Any, dict[str, Any]] = {}
        for batch in results:
            for ticket in batch:
                candidates.setdefault(ticket.get("id"), ticket)
        documents = [
            {**t, "resolution": _custom(t, self.settings.resolution_field_id)} for t in candidates.values()
        ]
        ranked = rank_tickets(args.text, documents)[: args.limit]
        # Without a resolution field the resolution is the last public comment: fetch it for the top only.
        missing = [t for _, t in ranked if not t.get("resolution")]
        comments = await asyncio.gather(*(self._last_public_comment(t["id"]) for t in missing))
        resolved = {id(t): c for t, c in zip(missing, comments, strict=True)}
        tickets = []
        for score, t in ranked:
            tickets.append(
                {
                    "id": t.get("id"),
                    "external_id": t.get("external_id"),
                    "subject": t.get("subject") or "",
                    "status": t.get("status"),
                    "resolution": t.get("resolution") or resolved.get(id(t)),
                    "article_url": _custom(t, self.settings.article_field_id),
                    "tags": list(t.get("tags") or []),
                    "created_at": t.get("created_at"),
                    "solved_at": t.get("updated_at"),
                    "url": t.get("url"),
                    "score": round(score, 3),
                }
            )
        return {"query_terms": terms, "candidates": len(candidates), "tickets": tickets}

    async def aclose(self) -> None:
        await self._http.aclose()
