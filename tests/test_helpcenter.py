"""docs_search / docs_article: the help center, live over Zendesk Guide's wire format and in a world."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from casefile.agent.config import DEMO_WORLD
from casefile.tools.base import CallContext, Toolbox, ToolCall
from casefile.tools.docs import DocsSearchResult, HelpCenterConnector, HelpCenterSettings, plain_text
from casefile.tools.world.emulator import build_transport

CTX = CallContext()
BASE = "https://acme.zendesk.com"

# One result as Zendesk Guide's "Search Articles" endpoint returns it (fields as documented).
GUIDE_RESULT: dict[str, Any] = {
    "id": 35467,
    "url": f"{BASE}/api/v2/help_center/en-us/articles/35467.json",
    "html_url": f"{BASE}/hc/en-us/articles/35467-Printing-orders",
    "author_id": 888887,
    "comments_disabled": False,
    "draft": False,
    "promoted": False,
    "position": 0,
    "vote_sum": 0,
    "vote_count": 0,
    "section_id": 98838,
    "created_at": "2026-03-02T10:00:00Z",
    "updated_at": "2026-10-14T09:30:00Z",
    "name": "Printing orders",
    "title": "Printing orders",
    "source_locale": "en-us",
    "locale": "en-us",
    "outdated": False,
    "outdated_locales": [],
    "edited_at": "2026-10-14T09:30:00Z",
    "permission_group_id": 123,
    "content_tag_ids": [],
    "label_names": ["printing", "customer_error"],
    "body": "<p>To <strong>print</strong> an order …</p>",
    "snippet": "To <em>print</em> an order, open it &amp; press Print",
    "result_type": "article",
}


def _search_page(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "results": results,
        "count": len(results),
        "page": 1,
        "per_page": 5,
        "page_count": 1,
        "next_page": None,
        "previous_page": None,
    }


async def _call(box: Toolbox, tool: str, **arguments: Any) -> Any:
    return await box.execute(ToolCall(id="c1", tool=tool, arguments=arguments), CTX)


@pytest.fixture
async def world_box() -> AsyncIterator[Toolbox]:
    connector = HelpCenterConnector.build(_settings(), _WorldStandIns())
    box = Toolbox([connector], {})
    yield box
    await box.aclose()


class _WorldStandIns:
    path = DEMO_WORLD
    transport = build_transport(DEMO_WORLD)

    def clickhouse(self) -> Any:  # pragma: no cover - the help center needs no logs
        raise AssertionError("not used")


def _settings() -> Any:
    from casefile.tools.settings import ConnectorSettings

    return ConnectorSettings()


async def test_the_world_help_center_finds_the_article_in_the_customers_words(world_box: Toolbox) -> None:
    outcome = await _call(
        world_box, "docs_search", query="our invoice is past due, how do we update the card?"
    )
    assert outcome.ok, outcome.error
    result = DocsSearchResult.model_validate(outcome.data)
    top = result.articles[0]
    assert top.id == 360908 and "billing_past_due" in top.labels
    assert top.url == "https://support.relayhq.dev/hc/en-us/articles/360908-is-the-api-down-402-errors"
    assert "past due" in outcome.rendered and top.url in outcome.rendered


async def test_search_ranks_by_meaning_of_the_words_not_only_presence(world_box: Toolbox) -> None:
    outcome = await _call(
        world_box, "docs_search", query="SAML certificate rotated, signature validation failed"
    )
    assert DocsSearchResult.model_validate(outcome.data).articles[0].id == 360915


async def test_an_article_is_read_as_plain_text(world_box: Toolbox) -> None:
    outcome = await _call(world_box, "docs_article", article_id=360936)
    assert outcome.ok, outcome.error
    assert outcome.data["title"] == "Webhooks not arriving: check your endpoint"
    assert "<p>" not in outcome.data["text"] and "2xx answer within 10 seconds" in outcome.data["text"]


async def test_nothing_found_is_an_answer_not_an_error(world_box: Toolbox) -> None:
    outcome = await _call(world_box, "docs_search", query="zzqx flibbertigibbet")
    assert outcome.ok and outcome.data["articles"] == []
    assert "No help-center article matches" in outcome.rendered


@respx.mock
async def test_live_search_reads_guides_wire_format_and_sends_only_gets() -> None:
    route = respx.get(f"{BASE}/api/v2/help_center/articles/search").mock(
        return_value=httpx.Response(200, json=_search_page([GUIDE_RESULT]))
    )
    box = Toolbox([HelpCenterConnector(HelpCenterSettings(subdomain="acme", locale="de"))], {})
    outcome = await _call(box, "docs_search", query="print order")
    await box.aclose()
    assert outcome.ok, outcome.error
    sent = route.calls.last.request
    assert (
        sent.method == "GET"
        and sent.url.params["query"] == "print order"
        and sent.url.params["locale"] == "de"
    )
    article = DocsSearchResult.model_validate(outcome.data).articles[0]
    assert (
        article.url == GUIDE_RESULT["html_url"]
        and article.snippet == "To print an order, open it & press Print"
    )
    assert article.labels == ["printing", "customer_error"]


@pytest.mark.parametrize(
    ("response", "says"),
    [
        (httpx.Response(200, content=b"<html>maintenance</html>"), "did not return JSON"),
        (httpx.Response(200, json={"count": 3}), "without a results list"),
        (httpx.Response(200, json=[1, 2]), "search"),
        (httpx.Response(404, json={"error": "RecordNotFound"}), "404"),
    ],
)
@respx.mock
async def test_a_help_center_that_answers_junk_is_a_failed_call_with_a_reason(
    response: httpx.Response, says: str, waits: list[float]
) -> None:
    respx.get(f"{BASE}/api/v2/help_center/articles/search").mock(return_value=response)
    box = Toolbox([HelpCenterConnector(HelpCenterSettings(subdomain="acme"))], {})
    outcome = await _call(box, "docs_search", query="print order")
    await box.aclose()
    assert not outcome.ok and outcome.source == "docs"
    assert says in (outcome.error or "")


def test_plain_text_unescapes_and_strips_markup() -> None:
    assert plain_text("<p>A &amp; B<br/>C</p>") == "A & B C"


def test_docs_is_listed_and_needs_configuration_only_live() -> None:
    from casefile.tools.registry import build_toolbox
    from casefile.tools.settings import ConnectorSettings

    box = build_toolbox(ConnectorSettings())
    assert "docs_search" in box.tools
    assert box.unavailable["docs"] == "not configured (set ZENDESK_SUBDOMAIN or HELPCENTER_URL)"
    asyncio.run(box.aclose())


async def test_a_world_without_articles_has_an_empty_help_center_not_a_missing_source(tmp_path: Any) -> None:
    from casefile.tools.settings import ConnectorSettings

    class Bare:
        path = tmp_path
        transport = build_transport(tmp_path)

        def clickhouse(self) -> Any:  # pragma: no cover
            raise AssertionError("not used")

    box = Toolbox([HelpCenterConnector.build(ConnectorSettings(), Bare())], {})
    outcome = await _call(box, "docs_search", query="rate limit 429")
    await box.aclose()
    assert outcome.ok and outcome.data["articles"] == [] and outcome.data["count"] == 0
