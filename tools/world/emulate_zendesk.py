"""Emulated Zendesk Support API (search, ticket comments) over ``<world>/tickets.json``.

``tickets.json`` holds resolved helpdesk tickets in a compact form::

    {"tickets": [{"id": 4101, "subject": "...", "body": "...", "resolution": "...",
                  "tags": [...], "created_at": "...Z", "solved_at": "...Z",
                  "article_url": "https://help.relayhq.dev/..." | null}]}

They are served the way Zendesk returns tickets:

* ``GET /api/v2/search.json?query=...`` → ``{"results": [{...ticket, "result_type":
  "ticket"}], "facets": null, "next_page", "previous_page", "count"}``. The query
  language is the subset casefile sends: ``type:ticket``, ``status:<s>`` and
  ``status>=<s>`` / ``>`` / ``<`` / ``<=`` (new < open < pending < hold < solved <
  closed), ``tags:<t>``, and free words, every one of which must occur as a
  word (``*`` suffix for a prefix) in the subject, description, comments or tags.
  ``per_page`` (≤ 100) and ``page`` paginate. ``sort_by=updated_at`` honours
  ``sort_order``.
* ``GET /api/v2/tickets/{id}/comments.json`` → ``{"comments": [...], "next_page",
  "previous_page", "count"}``: the body as the first comment and the resolution
  as the last, public one (``sort_order=desc`` reverses them).
* ``GET /api/v2/tickets/show_many.json?ids=1,2&include=metric_sets`` → ``{"tickets": [...],
  "metric_sets": [...]}`` (at most 100 ids; unknown ids are left out, as Zendesk does): each
  ticket metric set as Zendesk's Ticket Metrics API shapes it, with ``reopens`` from the
  ticket's optional ``reopens`` (default 0). The metrics read first-contact resolution from it.

A ticket's ``body`` is its ``description``, ``solved_at`` its ``updated_at``
(Zendesk tickets have no solved time of their own), and ``resolution`` and
``article_url`` are custom fields :data:`RESOLUTION_FIELD_ID` and
:data:`ARTICLE_FIELD_ID` as well as the last comment, so the connector works
with and without the fields configured. Every request needs an
``Authorization`` header; anything else is a 401 as Zendesk sends it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from casefile.tools.world.emulator import json_response, search_page

log = logging.getLogger("casefile.world")

__all__ = ["ARTICLE_FIELD_ID", "HOST", "RESOLUTION_FIELD_ID", "SUBDOMAIN", "handlers", "world_settings"]

SUBDOMAIN = "relayhq"
HOST = f"{SUBDOMAIN}.zendesk.com"
RESOLUTION_FIELD_ID = 360001000001
ARTICLE_FIELD_ID = 360001000002
_STATUSES = ["new", "open", "pending", "hold", "solved", "closed"]
_FILTER = re.compile(r"^(?P<key>[a-z_]+)(?P<op>:|>=|<=|>|<)(?P<value>.+)$")
_WORD = re.compile(r"[a-z0-9][a-z0-9_]*")
_COMMENTS = re.compile(r"^/api/v2/tickets/(?P<id>\d+)/comments\.json$")


def world_settings() -> Any:
    """Connector settings that point at this emulation (the registry uses them in world mode)."""
    from pydantic import SecretStr

    from casefile.tools.settings import ZendeskSettings

    return ZendeskSettings(
        subdomain=SUBDOMAIN,
        email="casefile@relayhq.dev",
        api_token=SecretStr("world"),
        resolution_field_id=RESOLUTION_FIELD_ID,
        article_field_id=ARTICLE_FIELD_ID,
    )


def _numeric_id(value: Any) -> int | None:
    """Zendesk ids are integers: ``4101`` stays, ``"H-887"`` becomes 887 (kept as ``external_id``)."""
    if isinstance(value, int):
        return value
    digits = re.sub(r"\D", "", str(value))
    return int(digits) if digits else None


def _ticket(raw: dict[str, Any]) -> dict[str, Any]:
    tid = raw["_id"]
    solved = raw.get("solved_at") or raw.get("created_at")
    return {
        "url": f"https://{HOST}/api/v2/tickets/{tid}.json",
        "id": tid,
        "external_id": None if isinstance(raw.get("id"), int) else str(raw.get("id")),
        "via": {"channel": "email", "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": raw.get("created_at"),
        "updated_at": solved,
        "type": "incident",
        "subject": raw.get("subject") or "",
        "raw_subject": raw.get("subject") or "",
        "description": raw.get("body") or "",
        "priority": raw.get("priority"),
        "status": raw.get("status") or "solved",
        "recipient": None,
        "requester_id": 1000 + tid,
        "submitter_id": 1000 + tid,
        "assignee_id": 42,
        "organization_id": None,
        "group_id": 7,
        "tags": list(raw.get("tags") or []),
        "custom_fields": [
            {"id": RESOLUTION_FIELD_ID, "value": raw.get("resolution")},
            {"id": ARTICLE_FIELD_ID, "value": raw.get("article_url")},
        ],
        "has_incidents": False,
        "is_public": True,
    }


def _minutes(start: str | None, end: str | None) -> dict[str, int | None]:
    from datetime import datetime

    if not start or not end:
        return {"calendar": None, "business": None}
    delta = datetime.fromisoformat(end.replace("Z", "+00:00")) - datetime.fromisoformat(
        start.replace("Z", "+00:00")
    )
    minutes = max(0, int(delta.total_seconds() // 60))
    return {"calendar": minutes, "business": minutes}


def _metric_set(raw: dict[str, Any]) -> dict[str, Any]:
    """The ticket's metrics as ``GET /api/v2/ticket_metrics/{id}`` returns them."""
    tid = raw["_id"]
    created = raw.get("created_at")
    solved = raw.get("solved_at") if (raw.get("status") or "solved") in ("solved", "closed") else None
    updated = raw.get("solved_at") or created
    return {
        "url": f"https://{HOST}/api/v2/ticket_metrics/{tid + 900000}.json",
        "id": tid + 900000,
        "ticket_id": tid,
        "created_at": created,
        "updated_at": updated,
        "group_stations": 1,
        "assignee_stations": 1,
        "reopens": int(raw.get("reopens") or 0),
        "replies": 1 if raw.get("resolution") else 0,
        "assignee_updated_at": updated,
        "requester_updated_at": created,
        "status_updated_at": updated,
        "initially_assigned_at": created,
        "assigned_at": created,
        "solved_at": solved,
        "latest_comment_added_at": updated,
        "reply_time_in_minutes": _minutes(created, raw.get("solved_at")),
        "first_resolution_time_in_minutes": _minutes(created, solved),
        "full_resolution_time_in_minutes": _minutes(created, solved),
        "agent_wait_time_in_minutes": {"calendar": 0, "business": 0},
        "requester_wait_time_in_minutes": {"calendar": 0, "business": 0},
        "on_hold_time_in_minutes": {"calendar": 0, "business": 0},
    }


def _show_many(by_id: dict[int, dict[str, Any]], params: httpx.QueryParams) -> httpx.Response:
    try:
        ids = [int(part) for part in params.get("ids", "").split(",") if part.strip()]
    except ValueError:
        return json_response(400, {"error": "InvalidValue", "description": "ids must be integers"})
    if not ids or len(ids) > 100:
        return json_response(400, {"error": "InvalidValue", "description": "between 1 and 100 ids"})
    found = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
    body: dict[str, Any] = {"tickets": [_ticket(t) for t in found], "next_page": None, "previous_page": None}
    if "metric_sets" in params.get("include", "").split(","):
        body["metric_sets"] = [_metric_set(t) for t in found]
    body["count"] = len(found)
    return json_response(200, body)


def _comments(raw: dict[str, Any]) -> list[dict[str, Any]]:
    tid = raw["_id"]
    out = [
        {
            "id": tid * 10 + 1,
            "type": "Comment",
            "author_id": 1000 + tid,
            "body": raw.get("body") or "",
            "html_body": f"<p>{raw.get('body') or ''}</p>",
            "plain_body": raw.get("body") or "",
            "public": True,
            "attachments": [],
            "created_at": raw.get("created_at"),
        }
    ]
    if raw.get("resolution"):
        out.append(
            {
                "id": tid * 10 + 2,
                "type": "Comment",
                "author_id": 42,
                "body": raw["resolution"],
                "html_body": f"<p>{raw['resolution']}</p>",
                "plain_body": raw["resolution"],
                "public": True,
                "attachments": [],
                "created_at": raw.get("solved_at") or raw.get("created_at"),
            }
        )
    return out


def _words(raw: dict[str, Any]) -> set[str]:
    text = " ".join(
        [str(raw.get("subject") or ""), str(raw.get("body") or ""), str(raw.get("resolution") or "")]
        + [str(t) for t in raw.get("tags") or []]
    )
    return set(_WORD.findall(text.lower()))


def _matches(raw: dict[str, Any], query: str) -> bool | None:
    """Whether a ticket matches the query; None when the query asks for another resource type."""
    words = _words(raw)
    status = _STATUSES.index(raw.get("status") or "solved")
    for part in query.split():
        m = _FILTER.match(part.lower())
        if m:
            key, op, value = m.group("key"), m.group("op"), m.group("value").strip('"')
            if key == "type":
                if value != "ticket":
                    return None
                continue
            if key == "status":
                if value not in _STATUSES:
                    return False
                target = _STATUSES.index(value)
                ok = {
                    ":": status == target,
                    ">=": status >= target,
                    "<=": status <= target,
                    ">": status > target,
                    "<": status < target,
                }[op]
                if not ok:
                    return False
                continue
            if key == "tags":
                if value not in {str(t).lower() for t in raw.get("tags") or []}:
                    return False
                continue
            # An unsupported property filter (created>…): treat as no constraint, as the subset is ours.
            continue
        for term in _WORD.findall(part.lower()):
            if term.endswith("*"):
                term = term[:-1]
            hit = term in words or (part.endswith("*") and any(w.startswith(term) for w in words))
            if not hit:
                return False
    return True


def handlers(world_dir: Path) -> dict[str, Callable[[httpx.Request], httpx.Response]]:
    from casefile.tools.world.emulate_helpcenter import route

    help_center = route(world_dir, HOST)
    tickets = _tickets_handler(world_dir)

    def handle(request: httpx.Request) -> httpx.Response:
        # Guide's article search needs no credentials; the Support API does.
        if request.url.path.startswith("/api/v2/help_center/"):
            return help_center(request)
        if tickets is not None:
            return tickets(request)
        return json_response(404, {"error": "InvalidEndpoint", "description": "Not found"})

    return {HOST: handle}


def _tickets_handler(world_dir: Path) -> Callable[[httpx.Request], httpx.Response] | None:
    path = Path(world_dir) / "tickets.json"
    if not path.is_file():
        return None
    import json

    raw_tickets = []
    for raw in json.loads(path.read_text(encoding="utf-8")).get("tickets", []):
        tid = _numeric_id(raw.get("id")) if isinstance(raw, dict) else None
        if tid is None:
            log.warning("tickets.json: skipping a ticket without a usable id: %r", raw)
            continue
        raw_tickets.append({**raw, "_id": tid})
    by_id = {t["_id"]: t for t in raw_tickets}

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            return json_response(
                405, {"error": "MethodNotAllowed", "description": "casefile's world is read-only"}
            )
        if not request.headers.get("authorization"):
            return json_response(401, {"error": "Couldn't authenticate you"})
        params = request.url.params
        if request.url.path == "/api/v2/search.json":
            query = params.get("query", "")
            paging = search_page(params, 100)
            if isinstance(paging, httpx.Response):
                return paging
            page, per_page = paging
            found = [t for t in raw_tickets if _matches(t, query)]
            if params.get("sort_by") == "updated_at":
                found.sort(
                    key=lambda t: str(t.get("solved_at") or t.get("created_at") or ""),
                    reverse=params.get("sort_order", "desc") == "desc",
                )
            start = (page - 1) * per_page
            results = [{**_ticket(t), "result_type": "ticket"} for t in found[start : start + per_page]]
            next_page = (
                str(request.url.copy_merge_params({"page": str(page + 1)}))
                if start + per_page < len(found)
                else None
            )
            previous = str(request.url.copy_merge_params({"page": str(page - 1)})) if page > 1 else None
            return json_response(
                200,
                {
                    "results": results,
                    "facets": None,
                    "next_page": next_page,
                    "previous_page": previous,
                    "count": len(found),
                },
            )
        if request.url.path == "/api/v2/tickets/show_many.json":
            return _show_many(by_id, params)
        m = _COMMENTS.match(request.url.path)
        if m:
            raw = by_id.get(int(m.group("id")))
            if raw is None:
                return json_response(404, {"error": "RecordNotFound", "description": "Not found"})
            comments = _comments(raw)
            if params.get("sort_order") == "desc":
                comments.reverse()
            return json_response(
                200, {"comments": comments, "next_page": None, "previous_page": None, "count": len(comments)}
            )
        return json_response(404, {"error": "InvalidEndpoint", "description": "Not found"})

    return handle
