"""Emulated Zendesk Help Center (Guide) API over ``<world>/helpcenter.json``.

``helpcenter.json`` holds the world's articles in a compact form::

    {"brand_url": "https://help.example.com", "articles": [{"id": 360012, "slug": "...", "title": "...", "body": "<p>...</p>", "labels": ["billing_past_due"],
                   "section_id": 11, "locale": "en-us", "created_at": "...Z", "updated_at": "...Z"}]}

served on the world's Zendesk host the way Guide answers:

* ``GET /api/v2/help_center/articles/search?query=…[&locale=…][&per_page=…][&page=…]`` →
  ``{"results": [article + "snippet" + "result_type": "article"], "count", "page", "per_page",
  "page_count", "next_page", "previous_page"}``: articles sharing a word with the query, ranked
  by BM25 over title (counted twice), labels and body; the snippet is the body's first
  sentence with a query word, matched words in ``<em>``. Guide needs no credentials for
  public articles, and neither does this.
* ``GET /api/v2/help_center/{locale}/articles/{id}.json`` → ``{"article": {...}}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from casefile.tools.world.emulator import STOPWORDS, json_response, search_page

__all__ = ["route", "world_settings"]

_WORD = re.compile(r"[a-z0-9][a-z0-9_]*", re.IGNORECASE)
_ARTICLE = re.compile(r"^/api/v2/help_center/(?P<locale>[a-z-]+)/articles/(?P<id>\d+)\.json$")
_SEARCH = "/api/v2/help_center/articles/search"


def world_settings(configured: Any) -> Any:
    """The help-center settings that point at this world's Zendesk host (locale as configured)."""
    from casefile.tools.docs import HelpCenterSettings
    from casefile.tools.world.emulate_zendesk import HOST

    return HelpCenterSettings(base_url=f"https://{HOST}", locale=configured.locale)


def _slug(title: str) -> str:
    return "-".join(_WORD.findall(title))[:80] or "article"


def _article(raw: dict[str, Any], host: str, brand_url: str) -> dict[str, Any]:
    locale = str(raw.get("locale") or "en-us")
    aid = int(raw["id"])
    slug = str(raw.get("slug") or _slug(str(raw.get("title") or "")))
    return {
        "id": aid,
        "url": f"https://{host}/api/v2/help_center/{locale}/articles/{aid}.json",
        "html_url": f"{brand_url}/hc/{locale}/articles/{aid}-{slug}",
        "title": raw.get("title") or "",
        "name": raw.get("title") or "",
        "body": raw.get("body") or "",
        "locale": locale,
        "source_locale": locale,
        "section_id": raw.get("section_id"),
        "label_names": list(raw.get("labels") or []),
        "draft": False,
        "promoted": False,
        "outdated": False,
        "vote_sum": 0,
        "vote_count": 0,
        "created_at": raw.get("created_at"),
        "updated_at": raw.get("updated_at") or raw.get("created_at"),
        "edited_at": raw.get("updated_at") or raw.get("created_at"),
    }


def _words(text: str) -> list[str]:
    return [
        w for w in (t.lower() for t in _WORD.findall(re.sub(r"<[^>]+>", " ", text))) if w not in STOPWORDS
    ]


def _snippet(body: str, query: set[str]) -> str:
    text = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        if query.intersection(w.lower() for w in _WORD.findall(sentence)):
            return _WORD.sub(
                lambda m: f"<em>{m.group(0)}</em>" if m.group(0).lower() in query else m.group(0), sentence
            )
    return text[:200]


def route(world_dir: Path, host: str) -> Callable[[httpx.Request], httpx.Response]:
    """The Help Center part of the world's Zendesk host.

    A world without ``helpcenter.json`` has a help center with no articles: every search finds
    nothing, which is what such a company's help center would answer, and no source is down.
    """
    path = Path(world_dir) / "helpcenter.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    # A help center usually lives on the company's own domain (its "brand" URL).
    brand_url = str(data.get("brand_url") or f"https://{host}").rstrip("/")
    articles = [_article(a, host, brand_url) for a in data.get("articles", []) if "id" in a]
    by_id = {a["id"]: a for a in articles}
    documents = [
        _words(f"{a['title']} {a['title']} {' '.join(a['label_names'])} {a['body']}") for a in articles
    ]

    def search(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        query = _words(params.get("query", ""))
        paging = search_page(params, 25)
        if isinstance(paging, httpx.Response):
            return paging
        page, per_page = paging
        locale = params.get("locale")
        found: list[tuple[float, dict[str, Any]]] = []
        if query and any(documents):
            from rank_bm25 import BM25Plus

            scores = BM25Plus(documents).get_scores(query)
            wanted = set(query)
            for score, article, doc in zip(scores, articles, documents, strict=True):
                if wanted.intersection(doc) and (not locale or article["locale"] == locale.lower()):
                    found.append((float(score), article))
        found.sort(key=lambda item: (-item[0], item[1]["id"]))
        start = (page - 1) * per_page
        results = [
            {**a, "snippet": _snippet(a["body"], set(query)), "result_type": "article"}
            for _, a in found[start : start + per_page]
        ]
        more = start + per_page < len(found)
        return json_response(
            200,
            {
                "results": results,
                "count": len(found),
                "page": page,
                "per_page": per_page,
                "page_count": max(1, -(-len(found) // per_page)),
                "next_page": str(request.url.copy_merge_params({"page": str(page + 1)})) if more else None,
                "previous_page": str(request.url.copy_merge_params({"page": str(page - 1)}))
                if page > 1
                else None,
            },
        )

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            return json_response(
                405, {"error": "MethodNotAllowed", "description": "casefile's world is read-only"}
            )
        if request.url.path == _SEARCH:
            return search(request)
        m = _ARTICLE.match(request.url.path)
        if m and int(m.group("id")) in by_id:
            return json_response(200, {"article": by_id[int(m.group("id"))]})
        return json_response(404, {"error": "RecordNotFound", "description": "Not found"})

    return handle
