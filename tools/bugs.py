"""Linear: known bugs, their state, workaround and ETA, over the GraphQL API.

Read-only by construction: the only request that may leave is a POST to the
GraphQL endpoint whose body :func:`query_only_guard` parsed as exactly one
``query`` operation; a mutation or subscription raises
:class:`~casefile.tools.errors.ReadOnlyViolation` before anything is sent.

Linear rate-limits ``searchIssues`` to 30 requests a minute, so identical
searches are answered once per connector instance (one investigation).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import graphql
import httpx
from pydantic import Field

from casefile.tools.args import how_many, search_text
from casefile.tools.base import CallContext, ToolArgs, ToolOutcome, operation
from casefile.tools.connector_types import LinkContext, SourceLink
from casefile.tools.errors import (
    ReadOnlyViolation,
    SourceAuthError,
    SourceError,
    SourceMalformed,
    SourceNotFound,
    SourceRateLimited,
    SourceUnavailable,
    ToolError,
)
from casefile.tools.http import APIConnector, ReadOnlyHTTP
from casefile.tools.retry import RetryableError, parse_retry_after
from casefile.tools.settings import LinearSettings

__all__ = [
    "ISSUE_QUERY",
    "SEARCH_QUERY",
    "BugsIssueArgs",
    "BugsSearchArgs",
    "LinearConnector",
    "extract_eta",
    "extract_workaround",
    "query_only_guard",
]

SOURCE = "bugs"

# The fields both operations read; IssueSearchResult and Issue share them.
_ISSUE_FIELDS = """
      id
      identifier
      title
      description
      url
      priority
      createdAt
      updatedAt
      dueDate
      state { name type }
      labels { nodes { name } }
      team { key name }
      comments(first: $comments) { nodes { body createdAt user { name } } }
"""

# searchIssues is the current search field (issueSearch is deprecated in its description).
SEARCH_QUERY = f"""
query SearchIssues($term: String!, $first: Int, $includeComments: Boolean, $comments: Int) {{
  searchIssues(term: $term, first: $first, includeComments: $includeComments) {{
    totalCount
    nodes {{{_ISSUE_FIELDS}    }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

# issue(id:) takes the UUID or the identifier ("ENG-123").
ISSUE_QUERY = f"""
query Issue($id: String!, $comments: Int) {{
  issue(id: $id) {{{_ISSUE_FIELDS}  }}
}}
"""

_SEARCH_COMMENTS = 10
_ISSUE_COMMENTS = 50


# The members a GraphQL-over-HTTP request body may have. "extensions" is refused: persisted
# queries (a hash instead of the document) would run something the guard never saw.
_GRAPHQL_MEMBERS = frozenset({"query", "variables", "operationName"})


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        # A server may read the last "query" where we checked the first.
        raise ValueError("duplicate JSON keys")
    return dict(pairs)


def query_only_guard(body: bytes) -> None:
    """Approve a GraphQL request body only if it is a single ``query`` operation.

    The body must be one JSON object with no duplicate keys and only ``query``,
    ``variables`` (an object) and ``operationName`` (a string); the document must parse
    and hold exactly one operation, a query.
    """
    try:
        payload = json.loads(body, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, TypeError):
        raise ReadOnlyViolation(
            SOURCE, "refused a request that is not one JSON object without duplicate keys"
        ) from None
    if not isinstance(payload, dict):
        raise ReadOnlyViolation(SOURCE, "refused a GraphQL body that is not one JSON object (no batches)")
    unknown = sorted(set(payload) - _GRAPHQL_MEMBERS)
    if unknown:
        raise ReadOnlyViolation(
            SOURCE,
            f"refused a GraphQL body with {', '.join(unknown)}: only query, variables and operationName",
        )
    variables, name = payload.get("variables"), payload.get("operationName")
    if not (variables is None or isinstance(variables, dict)) or not (name is None or isinstance(name, str)):
        raise ReadOnlyViolation(
            SOURCE, "refused a GraphQL body whose variables or operationName have the wrong type"
        )
    try:
        document = graphql.parse(payload["query"])
    except (KeyError, TypeError, graphql.GraphQLError):
        raise ReadOnlyViolation(SOURCE, "refused a request that is not a parseable GraphQL query") from None
    operations = [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    if len(document.definitions) != 1 or len(operations) != 1:
        raise ReadOnlyViolation(SOURCE, "refused a GraphQL document that is not exactly one operation")
    if operations[0].operation is not graphql.OperationType.QUERY:
        raise ReadOnlyViolation(
            SOURCE, f"refused a GraphQL {operations[0].operation.value}: only queries may run"
        )


# --- reading a bug ------------------------------------------------------------------

# "Workaround:" (also **Workaround:** or a "## Workaround" heading) up to a blank line or the next label.
_WORKAROUND = re.compile(
    r"^(?:[ \t>*_-]*workaround[*_ \t]*:|[ \t]*\#+[ \t]*workaround[ \t]*:?[ \t]*\n\s*)[*_]*[ \t]*"
    r"(?P<text>.*?)"
    r"(?=\n[ \t]*\n|\n[ \t]*\#|\n[ \t>*_-]*(?:eta|fix|status)\b[^\n]*:|\Z)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)
_ETA = re.compile(r"^[ \t>#*_-]*eta\b[*_]*[ \t]*:[*_]*[ \t]*(?P<text>[^\n]+)", re.IGNORECASE | re.MULTILINE)


def _clean(text: str) -> str | None:
    cleaned = " ".join(text.replace("**", "").split())
    return cleaned or None


def _texts_newest_first(issue: Mapping[str, Any]) -> list[str]:
    """Comments newest first, then the description: the latest word on a bug wins."""
    comments = sorted(_nodes(issue.get("comments")), key=lambda c: str(c.get("createdAt", "")), reverse=True)
    return [str(c.get("body") or "") for c in comments] + [str(issue.get("description") or "")]


def extract_workaround(issue: Mapping[str, Any]) -> str | None:
    """The most recent "Workaround:" paragraph of an issue's comments or description."""
    for text in _texts_newest_first(issue):
        match = _WORKAROUND.search(text)
        if match and (found := _clean(match.group("text"))):
            return found
    return None


def extract_eta(issue: Mapping[str, Any]) -> str | None:
    """The issue's due date, else the most recent "ETA:" line."""
    if issue.get("dueDate"):
        return str(issue["dueDate"])
    for text in _texts_newest_first(issue):
        match = _ETA.search(text)
        if match and (found := _clean(match.group("text"))):
            return found
    return None


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if isinstance(connection, Mapping):
        return [n for n in connection.get("nodes") or [] if isinstance(n, dict)]
    return []


def _whole(value: Any) -> Any:
    """Linear types priority as Float: 1.0 reads better as 1 (0 none, 1 urgent ... 4 low)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# A search result's description, cut: its first lines state the symptom, which is what ranking reads.
_SEARCH_DESCRIPTION = 600


def _summary(issue: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "identifier": issue.get("identifier"),
        "title": issue.get("title"),
        "description": str(issue.get("description") or "")[:_SEARCH_DESCRIPTION],
        "state": (issue.get("state") or {}).get("name"),
        "url": issue.get("url"),
        "created_at": issue.get("createdAt"),
        "labels": [n.get("name") for n in _nodes(issue.get("labels"))],
        "workaround": extract_workaround(issue),
        "eta": extract_eta(issue),
    }


def _detail(issue: Mapping[str, Any]) -> dict[str, Any]:
    comments = sorted(_nodes(issue.get("comments")), key=lambda c: str(c.get("createdAt", "")))
    summary = _summary(issue)
    return {
        "identifier": summary["identifier"],
        "title": summary["title"],
        "description": issue.get("description") or "",
        "state": summary["state"],
        "url": summary["url"],
        "priority": _whole(issue.get("priority")),
        "labels": summary["labels"],
        "created_at": summary["created_at"],
        "updated_at": issue.get("updatedAt"),
        "workaround": summary["workaround"],
        "eta": summary["eta"],
        "comments": [
            {
                "author": (c.get("user") or {}).get("name"),
                "body": c.get("body"),
                "created_at": c.get("createdAt"),
            }
            for c in comments
        ],
    }


# --- rendering for the model ------------------------------------------------------------


def _line(issue: Mapping[str, Any]) -> str:
    day = str(issue.get("created_at") or "")[:10]
    labels = ",".join(issue.get("labels") or [])
    parts = [
        f"{issue['identifier']} [{issue['state']}] {issue['title']} (created {day}; labels {labels or '-'})"
    ]
    if issue.get("workaround"):
        parts.append(f"workaround: {issue['workaround']}")
    if issue.get("eta"):
        parts.append(f"eta: {issue['eta']}")
    return " | ".join(parts)


def render_search(data: Mapping[str, Any]) -> str:
    head = f'bugs matching "{data["query"]}": {data["total"]} found, best first'
    if not data["issues"]:
        return head.replace(", best first", "") + " (no known bug matches; try other words)"
    return "\n".join([head, *(_line(i) for i in data["issues"])])


def render_issue(data: Mapping[str, Any]) -> str:
    lines = [
        _line(data),
        f"url: {data['url']}  priority: {data['priority']}  updated: {data['updated_at']}",
        "description:",
        str(data["description"]).strip(),
    ]
    if data["comments"]:
        lines.append(f"comments ({len(data['comments'])}, oldest first):")
        lines += [
            f"- {c['created_at']} {c['author']}: {' '.join(str(c['body']).split())}" for c in data["comments"]
        ]
    return "\n".join(lines)


# --- the connector ------------------------------------------------------------------------


class BugsSearchArgs(ToolArgs):
    query: str = search_text(
        max_length=200,
        description="Symptom words to search issue titles, descriptions and comments for, "
        "e.g. '429 rate limit Idempotency-Key' or 'export 500'.",
    )
    first: int = how_many(10, most=50, description="How many issues to return, best match first.")


class BugsIssueArgs(ToolArgs):
    identifier: str = Field(
        pattern=r"^(?:[A-Za-z][A-Za-z0-9]{0,9}-\d{1,7}|[0-9a-fA-F-]{36})$",
        description="The issue identifier, e.g. 'ENG-123'.",
    )


class _LinearHTTP(ReadOnlyHTTP):
    """Linear reports some errors as HTTP 400 with the reason in ``extensions``."""

    def classify_error(
        self, status: int, headers: httpx.Headers, body: Any, reason: str
    ) -> ToolError | RetryableError | None:
        return _graphql_error(body, reason, headers)


def _graphql_error(
    body: Any, reason: str, headers: httpx.Headers | None = None
) -> ToolError | RetryableError | None:
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], Mapping):
        return None
    first = errors[0]
    extensions = first.get("extensions")
    if not isinstance(extensions, Mapping):
        extensions = {}
    kind = f"{extensions.get('code', '')} {extensions.get('type', '')}".lower()
    message = str(first.get("message", ""))
    if "ratelimit" in kind.replace("_", "").replace(" ", ""):
        retry_after = parse_retry_after(headers.get("retry-after")) if headers is not None else None
        return RetryableError(SourceRateLimited(SOURCE, reason), retry_after=retry_after)
    if "authentication" in kind or "forbidden" in kind:
        return SourceAuthError(SOURCE, reason)
    if "not found" in message.lower():
        return SourceNotFound(SOURCE, reason)
    return None


class LinearConnector(APIConnector[LinearSettings]):
    """Known bugs in Linear: search by symptom, read one issue's state, workaround and ETA."""

    source: ClassVar[str] = SOURCE

    settings_key: ClassVar[str | None] = "linear"
    env_vars: ClassVar[Mapping[str, str]] = {"LINEAR_API_KEY": "api_key"}
    configured_by: ClassVar[tuple[str, ...]] = ("api_key",)

    @classmethod
    def source_link(cls, outcome: ToolOutcome, context: LinkContext) -> SourceLink | None:
        """The Linear issue (the first match, for a search)."""
        data = outcome.data if isinstance(outcome.data, dict) else {}
        issue = data
        if outcome.tool == "bugs_search":
            issues = data.get("issues") or []
            issue = issues[0] if issues and isinstance(issues[0], dict) else {}
        if not issue.get("url"):
            return None
        return SourceLink(label=f"Linear {issue.get('identifier', '')}".strip(), url=issue["url"])

    def __init__(
        self, settings: LinearSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(settings, transport=transport)
        parts = urlsplit(settings.url)
        self._path = parts.path or "/graphql"
        headers = {"Accept": "application/json"}
        if settings.api_key is not None:
            # Personal API keys go bare; OAuth tokens arrive already as "Bearer ...".
            headers["Authorization"] = settings.api_key.get_secret_value()
        self._http = _LinearHTTP(
            SOURCE,
            f"{parts.scheme}://{parts.netloc}",
            headers=headers,
            transport=transport,
            allow_post_paths={self._path},
            post_guard=query_only_guard,
        )
        self._searches: dict[tuple[str, int], asyncio.Task[dict[str, Any]]] = {}

    async def aclose(self) -> None:
        for task in self._searches.values():
            task.cancel()
        self._searches.clear()
        await self._http.aclose()

    async def _graphql(self, query: str, variables: dict[str, Any], field: str) -> Any:
        body = await self._http.post_json(self._path, {"query": query, "variables": variables}, expect=dict)
        data = body.get("data")
        if not isinstance(data, Mapping) or data.get(field) is None:
            error = _graphql_error(body, f"{field}: {_first_message(body) or 'no data'}")
            if isinstance(error, RetryableError):
                raise error.error
            if error is not None:
                raise error
            if body.get("errors"):
                raise SourceError(SOURCE, f"{field} failed: {_first_message(body)}")
            raise SourceMalformed(SOURCE, f"the answer to {field} has no data")
        return data[field]

    async def _search(self, term: str, first: int) -> dict[str, Any]:
        payload = await self._graphql(
            SEARCH_QUERY,
            {"term": term, "first": first, "includeComments": True, "comments": _SEARCH_COMMENTS},
            "searchIssues",
        )
        if not isinstance(payload, Mapping) or not isinstance(payload.get("nodes"), list):
            raise SourceMalformed(SOURCE, "searchIssues answered without a list of nodes")
        issues = [_summary(n) for n in payload["nodes"] if isinstance(n, Mapping) and n.get("identifier")]
        total = payload.get("totalCount")
        return {
            "query": term,
            "total": int(total) if isinstance(total, int | float) else len(issues),
            "issues": issues,
        }

    @operation("bugs_search", BugsSearchArgs, render=render_search)
    async def bugs_search(self, args: BugsSearchArgs, ctx: CallContext) -> dict[str, Any]:
        """Search known bugs in Linear by symptom text (titles, descriptions, comments).

        Use it when a ticket's symptom might be a known bug: an error code, an
        endpoint, a feature name. Returns the best matches with state
        (e.g. "In Progress", "Done"), labels, the workaround and the ETA when
        the issue states them. Closed bugs with similar words are listed too:
        check the state and dates before relying on one.
        """
        key = (" ".join(args.query.split()).lower(), args.first)
        task = self._searches.get(key)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = asyncio.ensure_future(self._search(args.query, args.first))
            self._searches[key] = task
        try:
            return dict(await asyncio.shield(task))
        except asyncio.CancelledError:
            # This call's deadline (or a stop) cancelled it: a search still waiting on a silent Linear is
            # not handed to the next caller, who would wait on it for ever (round 8). A search that
            # was cancelled itself (the connector closing) is this call's failure, not its cancellation.
            if self._searches.get(key) is task:
                del self._searches[key]
            current = asyncio.current_task()
            if task.cancelled() and current is not None and not current.cancelling():
                raise SourceUnavailable(SOURCE, "the search was cancelled") from None
            raise
        except BaseException:
            # A failure is not cached: the next identical search may succeed.
            if self._searches.get(key) is task and task.done():
                del self._searches[key]
            raise

    @operation("bugs_issue", BugsIssueArgs, render=render_issue)
    async def bugs_issue(self, args: BugsIssueArgs, ctx: CallContext) -> dict[str, Any]:
        """Read one Linear issue in full: state, priority, description, comments, workaround and ETA.

        Use it on an identifier found by bugs_search (e.g. "ENG-123") to quote
        the workaround or the fix date to the customer.
        """
        issue = await self._graphql(
            ISSUE_QUERY, {"id": args.identifier, "comments": _ISSUE_COMMENTS}, "issue"
        )
        if not isinstance(issue, Mapping) or not issue.get("identifier"):
            raise SourceMalformed(SOURCE, "issue answered without an identifier")
        return _detail(issue)


def _first_message(body: Mapping[str, Any]) -> str:
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        return str(errors[0].get("message", ""))[:200]
    return ""
