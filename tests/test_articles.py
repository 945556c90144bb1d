"""The article labelled with the diagnosed category is offered in the reply; nothing else is."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from casefile.agent.articles import explaining_article, link_article
from casefile.agent.config import load_settings
from casefile.agent.diagnosis import Confidence, Diagnosis, RootCause
from casefile.agent.intake import load_ticket
from casefile.agent.pipeline import open_environment, run_investigation
from casefile.tools.base import ToolOutcome

TICKETS = Path(__file__).resolve().parent.parent / "examples" / "tickets"
URL = "https://help.example.com/hc/en-us/articles/7-past-due"


def _search(articles: list[dict[str, Any]], *, ok: bool = True, tool: str = "docs_search") -> ToolOutcome:
    return ToolOutcome(
        call_id="c3",
        tool=tool,
        source="docs",
        arguments={"query": "x"},
        ok=ok,
        data={"query": "x", "count": len(articles), "articles": articles} if ok else None,
        started_at="2026-11-20T00:00:00Z",
        duration_ms=1,
    )


def _diagnosis(category: str = "billing_past_due", reply: str = "Please pay the open invoice.") -> Diagnosis:
    return Diagnosis(
        ticket_id="T-1",
        summary="past due",
        root_cause=RootCause(
            category=category, statement="The subscription is past due.", component="billing"
        ),
        confidence=Confidence(score=0.8),
        customer_reply=reply,
        action="resolve",
    )


ARTICLE = {
    "id": 7,
    "title": "Paying a past-due invoice",
    "url": URL,
    "labels": ["billing", "billing_past_due"],
}
OTHER = {"id": 8, "title": "Rate limits", "url": "https://help.example.com/8", "labels": ["rate_limit"]}


def test_the_labelled_article_is_offered_listed_and_noted() -> None:
    linked = link_article(_diagnosis(), [_search([OTHER, ARTICLE])])
    assert linked.customer_reply.endswith(f"Paying a past-due invoice — {URL}")
    assert [r.url for r in linked.related] == [URL]
    assert URL in linked.internal_note


def test_an_article_about_something_else_is_not_offered() -> None:
    diagnosis = _diagnosis(category="known_bug")
    assert link_article(diagnosis, [_search([ARTICLE])]) == diagnosis


def test_a_reply_that_already_links_it_is_left_alone() -> None:
    diagnosis = _diagnosis(reply=f"See {URL}.")
    assert link_article(diagnosis, [_search([ARTICLE])]) == diagnosis


def test_failed_or_malformed_searches_offer_nothing() -> None:
    assert explaining_article("billing_past_due", [_search([], ok=False)]) is None
    broken = _search([ARTICLE])
    broken.data = {"articles": "not a list"}
    assert explaining_article("billing_past_due", [broken]) is None


def test_the_demo_past_due_ticket_links_the_help_center_article() -> None:
    settings = load_settings(env={})
    env = open_environment(settings)
    try:
        result = asyncio.run(run_investigation(load_ticket(TICKETS / "billing-past-due.json"), env, settings))
    finally:
        asyncio.run(env.aclose())
    searches = [o for o in result.outcomes if o.tool == "docs_search"]
    assert searches and searches[0].origin == "preflight"
    assert "https://support.relayhq.dev/hc/en-us/articles/360908-" in result.diagnosis.customer_reply
