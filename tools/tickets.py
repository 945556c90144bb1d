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
2. One more search without a word (the most recently solved tickets) adds candidates that
   say the same thing in other words. The union is ranked by meaning plus shared identifiers
   (``agent/similar/rank.py``: a local embedding model, and the error codes, bug ids and deploys
   both carry, from the text and from ``evidence``). When the model cannot load, BM25
   (``rank-bm25``'s BM25+ variant, whose IDF stays positive on small candidate sets) over
   subject, description, resolution and tags ranks instead, tickets sharing no word with the
   text are dropped, and the result's ``note`` says so.
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
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, TypeVar

import httpx
from pydantic import BaseModel, Field, SecretStr

from casefile.agent.diagnosis import Category
from casefile.agent.similar.rank import Match
from casefile.tools.args import how_many, search_text
from casefile.tools.base import CallContext, StandIns, ToolArgs, operation
from casefile.tools.errors import ToolError
from casefile.tools.http import APIConnector, ReadOnlyHTTP
from casefile.tools.settings import ConnectorSettings, ZendeskSettings

if TYPE_CHECKING:
    from casefile.agent.similar.rank import Doc

__all__ = [
    "SimilarTicket",
    "SimilarTickets",
    "TicketsSimilarArgs",
    "ZendeskAccountConnector",
    "ZendeskConnector",
    "query_terms",
    "rank_tickets",
    "similar_evidence",
    "tokenize",
]

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
    text: str = search_text(
        min_length=3,
        max_length=4000,
        description="The symptom to look for, e.g. the ticket's subject and body, or '429 rate_limit_exceeded "
        "Idempotency-Key retries'.",
    )
    limit: int = how_many(3, most=10, description="How many resolved tickets to return.")
    evidence: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Identifiers the investigation found (error codes, bug ids, deploy versions or SHAs): "
        "a resolved ticket naming the same one ranks higher.",
    )
    codes: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Error codes the account's own requests were answered with (its logs' error_code "
        "values, whatever their shape): a resolved ticket naming the same one ranks higher.",
    )
    category: Category | None = Field(
        default=None,
        description="The diagnosed category, when there is a diagnosis: a resolved ticket of the same "
        "cause ranks higher.",
    )
    confidence: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="The diagnosis' confidence in that category (0..1): a guess lifts tickets of its "
        "category less than a sure diagnosis.",
    )


class SimilarTicket(Match):
    id: Any = None
    external_id: str | None = None
    subject: str = ""
    status: str | None = None
    resolution: str | None = None
    article_url: str | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: str | None = None
    solved_at: str | None = None
    url: str | None = None


class SimilarTickets(BaseModel):
    query_terms: list[str] = Field(default_factory=list)
    candidates: int = 0
    ranking: Literal["meaning", "bm25"] = "bm25"
    model: str | None = None
    note: str | None = Field(default=None, description="why the ranking is by word overlap, when it is")
    tickets: list[SimilarTicket] = Field(default_factory=list)


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


def _document_doc(doc_id: str, ticket: Mapping[str, Any]) -> Doc:
    """A Zendesk ticket as ranking reads it (``agent/similar/query.py``): its words, and the
    categories its tags name."""
    from casefile.agent.similar.query import resolved_doc

    return resolved_doc(
        doc_id,
        str(ticket.get("subject") or ""),
        str(ticket.get("description") or ""),
        str(ticket.get("resolution") or ""),
        [str(tag) for tag in ticket.get("tags") or []],
    )


def _document(ticket: Mapping[str, Any]) -> list[str]:
    return tokenize(_document_doc("", ticket).text)


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


def similar_evidence(data: Any) -> dict[str, Any]:
    """What of a ``tickets_similar`` result may ground evidence: each ticket's ids, resolution,
    article and tags, not its subject (a customer wrote it, maybe this very customer: citing it
    would pass a ticket's own words off as what a source returned) nor the query's words."""
    tickets = data.get("tickets") if isinstance(data, Mapping) else None
    return {
        "tickets": [
            {k: v for k, v in t.items() if k != "subject"} for t in tickets or [] if isinstance(t, Mapping)
        ]
    }


def render_similar(data: Mapping[str, Any]) -> str:
    tickets = data.get("tickets") or []
    note = f"\n({data['note']})" if data.get("note") else ""
    if not tickets:
        return (
            f"No resolved ticket resembles this one ({data.get('candidates', 0)} candidates searched).{note}"
        )
    how = "by meaning" if data.get("ranking") == "meaning" else "BM25"
    lines = [
        f"{len(tickets)} most similar resolved tickets ({how} over {data.get('candidates')} candidates):"
    ]
    for t in tickets:
        shared = f"; shares {', '.join(t['shared'])}" if t.get("shared") else ""
        ref = f"#{t['id']}" + (f" ({t['external_id']})" if t.get("external_id") else "")
        lines.append(
            f"- {ref} {t.get('subject', '')} (solved {t.get('solved_at') or '?'}, score {t['score']}{shared})"
        )
        if t.get("resolution"):
            lines.append(f"  resolution: {' '.join(str(t['resolution']).split())[:600]}")
        if t.get("article_url"):
            lines.append(f"  article: {t['article_url']}")
    return "\n".join(lines) + note


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


Account = TypeVar("Account", bound=ZendeskAccount)


class ZendeskAccountConnector(APIConnector[Account]):
    """A connector that reads one Zendesk account (Support's tickets, Guide's articles), read-only."""

    configured_by: ClassVar[tuple[str, ...]] = ("subdomain", "base_url")  # the account's address

    @classmethod
    def live_configured(cls, settings: ConnectorSettings) -> bool:
        # The helpdesk's credentials also serve the service's internal notes; on their own they
        # must not switch investigations from the demo world to live systems.
        return False

    def __init__(self, settings: Account, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(settings, transport=transport)
        self._http = zendesk_http(self.source, settings, transport)

    async def aclose(self) -> None:
        await self._http.aclose()


class ZendeskConnector(ZendeskAccountConnector[ZendeskSettings]):
    """Resolved helpdesk tickets from Zendesk Support (read-only)."""

    source: ClassVar[str] = SOURCE

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
    configure_hint: ClassVar[str] = ", ZENDESK_EMAIL, ZENDESK_API_TOKEN"

    async def _search(self, term: str) -> list[dict[str, Any]]:
        params = {
            "query": f"type:ticket status>=solved {term}".strip(),
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

    @operation("tickets_similar", TicketsSimilarArgs, render=render_similar, evidence=similar_evidence)
    async def similar(self, args: TicketsSimilarArgs, ctx: CallContext) -> SimilarTickets:
        """The resolved helpdesk tickets most similar to a text, with how each was resolved.

        Use it to see how support solved the same symptom before: each result has the
        ticket's subject, its resolution and the help-center article it pointed to, ranked by
        meaning and by identifiers both share (pass the error codes, bug ids and deploys you
        found as ``evidence``). It is history, not evidence about this customer: confirm with
        the logs and systems.
        """
        from casefile.agent.similar.query import category_trust, query_keys
        from casefile.agent.similar.rank import rank

        ctx.check_helpdesk(SOURCE)
        terms = query_terms(args.text)
        if not terms:
            raise ToolError(SOURCE, "the text has no searchable words")
        # The word-less search brings the latest solved tickets, whatever words they use.
        results = await asyncio.gather(*(self._search(term) for term in [*terms, ""]))
        candidates: dict[Any, dict[str, Any]] = {}
        for batch in results:
            for ticket in batch:
                candidates.setdefault(ticket.get("id"), ticket)
        documents = [
            {**t, "resolution": _custom(t, self.settings.resolution_field_id)} for t in candidates.values()
        ]
        docs = [_document_doc(str(i), t) for i, t in enumerate(documents)]
        ranking = rank(
            args.text,
            docs,
            query_evidence=query_keys(args.evidence, args.category, args.codes),
            category_trust=category_trust(args.confidence),
        )
        chosen = [(s, documents[int(s.id)]) for s in ranking.results[: args.limit]]
        # Without a resolution field the resolution is the last public comment: fetch it for the top only.
        missing = [t for _, t in chosen if not t.get("resolution")]
        comments = await asyncio.gather(*(self._last_public_comment(t["id"]) for t in missing))
        resolved = {id(t): c for t, c in zip(missing, comments, strict=True)}
        tickets = [
            SimilarTicket(
                id=t.get("id"),
                external_id=t.get("external_id"),
                subject=t.get("subject") or "",
                status=t.get("status"),
                resolution=t.get("resolution") or resolved.get(id(t)),
                article_url=_custom(t, self.settings.article_field_id),
                tags=[str(tag) for tag in t.get("tags") or []],
                created_at=t.get("created_at"),
                solved_at=t.get("updated_at"),
                url=t.get("url"),
                score=round(scored.score, 3),
                meaning=scored.meaning,
                shared=scored.shared,
            )
            for scored, t in chosen
        ]
        return SimilarTickets(
            query_terms=terms,
            candidates=len(candidates),
            ranking=ranking.method,
            model=ranking.model,
            note=ranking.note,
            tickets=tickets,
        )
