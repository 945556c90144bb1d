"""Emulated Linear GraphQL API: ``POST https://api.linear.app/graphql`` over ``<world>/linear.json``.

``linear.json`` holds ``{"issues": [...]}``, each issue as Linear's GraphQL API
returns it (``id, identifier, title, description, url, priority, createdAt,
updatedAt, dueDate, state{name,type}, labels{nodes[{name}]}, team{key,name},
comments{nodes[{body,createdAt,user{name}}]}``).

Queries are really executed, with graphql-core, against :data:`SCHEMA_SDL`: a
small subset of Linear's schema with the same names and types (the tests check
it against Linear's published schema), so a query the connector could not send
to Linear fails here too. There is no ``Mutation`` type: a mutation is refused
with a validation error, in Linear's error format.

``searchIssues`` searches for real: issues are ranked by how many of the term's
words appear in the title (counted double), the description and, with
``includeComments``, the comments. ``issue(id:)`` accepts the UUID or the
identifier ("REL-482"), as Linear does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from string import Template
from typing import Any

import graphql
import httpx

from casefile.tools.world.emulator import STOPWORDS, json_response

__all__ = ["HOST", "SCHEMA_SDL", "handlers", "rank_issues", "schema"]

HOST = "api.linear.app"

# A search hit has an issue's fields (Linear's schema spells them out for both types).
_ISSUE_FIELDS = """\
  id: ID!
  identifier: String!
  title: String!
  description: String
  url: String!
  priority: Float!
  priorityLabel: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  dueDate: TimelessDate
  archivedAt: DateTime
  state: WorkflowState!
  labels(first: Int): IssueLabelConnection!
  team: Team!
  comments(first: Int): CommentConnection!
"""

SCHEMA_SDL = Template(
    """
scalar DateTime
scalar TimelessDate

type Query {
  searchIssues(
    term: String!
    first: Int
    after: String
    includeArchived: Boolean
    includeComments: Boolean
    teamId: String
  ): IssueSearchPayload!
  issue(id: String!): Issue!
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type IssueSearchPayload {
  totalCount: Float!
  nodes: [IssueSearchResult!]!
  pageInfo: PageInfo!
}

type IssueSearchResult {
$issue_fields}

type Issue {
$issue_fields}

type WorkflowState {
  name: String!
  type: String!
}

type IssueLabelConnection {
  nodes: [IssueLabel!]!
  pageInfo: PageInfo!
}

type IssueLabel {
  name: String!
}

type Team {
  key: String!
  name: String!
}

type CommentConnection {
  nodes: [Comment!]!
  pageInfo: PageInfo!
}

type Comment {
  body: String!
  createdAt: DateTime!
  user: User
}

type User {
  name: String!
  displayName: String!
}
"""
).substitute(issue_fields=_ISSUE_FIELDS)

# Linear's own labels for its priority numbers.
_PRIORITY_LABELS = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}
_WORD = re.compile(r"[a-z0-9]+")
_DEFAULT_FIRST = 50


def _stem(word: str) -> str:
    """A deliberately crude stemmer: enough for "limits"/"limiter"/"limit" to meet."""
    for suffix, repl in (
        ("ied", "y"),
        ("ies", "y"),
        ("ing", ""),
        ("ers", ""),
        ("er", ""),
        ("ed", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    return word


def _terms(text: str | None) -> set[str]:
    return {_stem(w) for w in _WORD.findall((text or "").lower()) if w not in STOPWORDS}


def rank_issues(
    issues: list[dict[str, Any]], term: str, *, include_comments: bool = False
) -> list[dict[str, Any]]:
    """Issues matching ``term``, best first: title words count double, ties go to the most recent."""
    wanted = _terms(term)
    scored: list[tuple[int, str, dict[str, Any]]] = []
    for issue in issues:
        if str(issue.get("identifier", "")).lower() == term.strip().lower():
            scored.append((1_000, issue.get("updatedAt", ""), issue))
            continue
        body = _terms(issue.get("description"))
        if include_comments:
            for comment in _nodes(issue.get("comments")):
                body |= _terms(comment.get("body"))
        title = _terms(issue.get("title"))
        score = 2 * len(wanted & title) + len(wanted & body)
        if score:
            scored.append((score, issue.get("updatedAt", ""), issue))
    scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
    return [issue for _, _, issue in scored]


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if isinstance(connection, Mapping):
        return [n for n in connection.get("nodes") or [] if isinstance(n, dict)]
    if isinstance(connection, list):  # tolerate a bare list in hand-written worlds
        return [n for n in connection if isinstance(n, dict)]
    return []


def _page(items: list[Any], first: int | None, after: str | None) -> dict[str, Any]:
    start = int(after) + 1 if after and after.isdigit() else 0
    count = _DEFAULT_FIRST if first is None else max(first, 0)
    chunk = items[start : start + count]
    return {
        "nodes": chunk,
        "pageInfo": {
            "hasNextPage": start + len(chunk) < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": str(start) if chunk else None,
            "endCursor": str(start + len(chunk) - 1) if chunk else None,
        },
    }


def _not_found(kind: str) -> graphql.GraphQLError:
    return graphql.GraphQLError(
        f"Entity not found: {kind}",
        extensions={
            "type": "invalid input",
            "code": "INPUT_ERROR",
            "userError": True,
            "userPresentableMessage": f"Could not find referenced {kind}.",
        },
    )


def schema(issues: list[dict[str, Any]]) -> graphql.GraphQLSchema:
    """The executable subset schema, its resolvers reading ``issues``."""
    built = graphql.build_schema(SCHEMA_SDL)
    live = [i for i in issues if not i.get("archivedAt")]

    def search_issues(_root: Any, _info: Any, term: str, **kw: Any) -> dict[str, Any]:
        pool = issues if kw.get("includeArchived") else live
        if kw.get("teamId"):
            pool = [i for i in pool if (i.get("team") or {}).get("key") == kw["teamId"]]
        found = rank_issues(pool, term, include_comments=bool(kw.get("includeComments")))
        page = _page(found, kw.get("first"), kw.get("after"))
        return {"totalCount": len(found), **page}

    def issue(_root: Any, _info: Any, id: str) -> dict[str, Any]:  # Linear's argument name
        for candidate in issues:
            if id == candidate.get("id") or id.upper() == str(candidate.get("identifier", "")).upper():
                return candidate
        raise _not_found("Issue")

    def connection(field: str) -> Callable[..., dict[str, Any]]:
        def resolve(parent: Mapping[str, Any], _info: Any, first: int | None = None) -> dict[str, Any]:
            items = _nodes(parent.get(field))
            if field == "comments":
                items = sorted(items, key=lambda c: c.get("createdAt", ""))
            return _page(items, first, None)

        return resolve

    def priority_label(parent: Mapping[str, Any], _info: Any) -> str:
        return str(parent.get("priorityLabel") or _PRIORITY_LABELS.get(int(parent.get("priority") or 0), ""))

    def display_name(parent: Mapping[str, Any], _info: Any) -> str:
        return str(parent.get("displayName") or parent.get("name", ""))

    query_type = built.query_type
    assert query_type is not None
    query_type.fields["searchIssues"].resolve = search_issues
    query_type.fields["issue"].resolve = issue
    for type_name in ("Issue", "IssueSearchResult"):
        obj = built.get_type(type_name)
        assert isinstance(obj, graphql.GraphQLObjectType)
        obj.fields["labels"].resolve = connection("labels")
        obj.fields["comments"].resolve = connection("comments")
        obj.fields["priorityLabel"].resolve = priority_label
    user = built.get_type("User")
    assert isinstance(user, graphql.GraphQLObjectType)
    user.fields["displayName"].resolve = display_name
    return built


def _error(message: str, code: str, *, type_: str = "graphql error", **extra: Any) -> dict[str, Any]:
    return {
        "message": message,
        **extra,
        "extensions": {"type": type_, "code": code, "userError": True, "userPresentableMessage": message},
    }


def _handle(built: graphql.GraphQLSchema, request: httpx.Request) -> httpx.Response:
    if request.url.path != "/graphql":
        return json_response(404, {"errors": [_error("Not found", "NOT_FOUND")]})
    if request.method != "POST":
        return json_response(405, {"errors": [_error("Method not allowed", "METHOD_NOT_ALLOWED")]})
    try:
        payload = json.loads(request.content)
        query = payload["query"]
        variables = payload.get("variables") or {}
        if not isinstance(query, str) or not isinstance(variables, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return json_response(400, {"errors": [_error("Must provide query string.", "BAD_USER_INPUT")]})
    try:
        document = graphql.parse(query)
    except graphql.GraphQLError as exc:
        return json_response(400, {"errors": [_error(exc.message, "GRAPHQL_PARSE_FAILED")]})
    problems = graphql.validate(built, document)
    if problems:
        return json_response(
            400, {"errors": [_error(p.message, "GRAPHQL_VALIDATION_FAILED") for p in problems]}
        )
    result = graphql.execute(
        built, document, variable_values=variables, operation_name=payload.get("operationName")
    )
    if not isinstance(result, graphql.ExecutionResult):  # an async resolver: never ours
        return json_response(500, {"errors": [_error("internal error", "INTERNAL_SERVER_ERROR")]})
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [e.formatted for e in result.errors]
    return json_response(200, body)


def handlers(world_dir: Path) -> dict[str, Callable[[httpx.Request], httpx.Response]]:
    """``api.linear.app`` served from ``<world>/linear.json`` (no file: no issues)."""
    path = Path(world_dir) / "linear.json"
    issues = json.loads(path.read_text(encoding="utf-8")).get("issues", []) if path.exists() else []
    built = schema(issues)
    return {HOST: lambda request: _handle(built, request)}
