"""The Linear connector and its world emulator, against Linear's wire format and schema."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
import respx
from pydantic import SecretStr

from casefile.tools import errors
from casefile.tools.base import CallContext, Toolbox, ToolCall
from casefile.tools.bugs import (
    ISSUE_QUERY,
    SEARCH_QUERY,
    BugsIssueArgs,
    BugsSearchArgs,
    LinearConnector,
    extract_eta,
    extract_workaround,
    query_only_guard,
)
from casefile.tools.settings import LinearSettings
from casefile.tools.world import emulate_linear
from casefile.tools.world.emulator import build_transport

URL = "https://api.linear.app/graphql"
REAL_SCHEMA = Path("/work/shared/reference/linear_schema.graphql")
CTX = CallContext()

REL_482: dict[str, Any] = {
    "id": "9f1c2b7e-3a4d-4e5f-8a9b-0c1d2e3f4a5b",
    "identifier": "REL-482",
    "title": "Gateway rate limiter double-counts retried requests with Idempotency-Key since v2.41.0",
    "description": (
        "Since v2.41.0 the gateway counts a retried request with an Idempotency-Key twice, "
        "so busy clients get 429 rate_limit_exceeded.\n\n"
        "Workaround: Retry with exponential backoff and reuse the same Idempotency-Key at most once; "
        "or temporarily lower client concurrency to 5\n\n"
        "ETA: fix ships 2026-11-21"
    ),
    "url": "https://linear.app/relayhq/issue/REL-482/gateway-rate-limiter-double-counts",
    "priority": 1,
    "createdAt": "2026-11-20T09:30:00.000Z",
    "updatedAt": "2026-11-20T10:10:00.000Z",
    "dueDate": None,
    "state": {"name": "In Progress", "type": "started"},
    "labels": {"nodes": [{"name": "bug"}, {"name": "gateway"}]},
    "team": {"key": "REL", "name": "Relay"},
    "comments": {
        "nodes": [
            {
                "body": "Confirmed on acme traffic.",
                "createdAt": "2026-11-20T10:00:00.000Z",
                "user": {"name": "Dana"},
            },
            {
                "body": "Repro with two retries.",
                "createdAt": "2026-11-20T09:45:00.000Z",
                "user": {"name": "Lee"},
            },
        ]
    },
}
REL_301: dict[str, Any] = {
    **REL_482,
    "id": "1b2c3d4e-0000-4000-8000-000000000301",
    "identifier": "REL-301",
    "title": "429 on bulk import",
    "description": "Bulk import hit the rate limit. Fixed by batching.",
    "url": "https://linear.app/relayhq/issue/REL-301/429-on-bulk-import",
    "priority": 3,
    "createdAt": "2026-08-02T12:00:00.000Z",
    "updatedAt": "2026-08-05T12:00:00.000Z",
    "dueDate": "2026-08-06",
    "state": {"name": "Done", "type": "completed"},
    "labels": {"nodes": [{"name": "bug"}]},
    "comments": {"nodes": []},
}
REL_350: dict[str, Any] = {
    **REL_301,
    "id": "1b2c3d4e-0000-4000-8000-000000000350",
    "identifier": "REL-350",
    "title": "Webhook dashboard shows wrong timezone",
    "description": "Times are shown in UTC.",
    "url": "https://linear.app/relayhq/issue/REL-350",
}


def _search_body(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": {
            "searchIssues": {
                "totalCount": len(nodes),
                "nodes": list(nodes),
                "pageInfo": {"hasNextPage": False, "endCursor": None},
            }
        }
    }


@pytest.fixture
async def linear() -> AsyncIterator[LinearConnector]:
    connector = LinearConnector(LinearSettings(api_key=SecretStr("lin_api_secret123")))
    yield connector
    await connector.aclose()


# --- queries are valid Linear GraphQL ---------------------------------------------------


@pytest.fixture(scope="module")
def real_schema() -> graphql.GraphQLSchema:
    if not REAL_SCHEMA.exists():
        pytest.skip("Linear's schema is not available here")
    return graphql.build_schema(REAL_SCHEMA.read_text(encoding="utf-8"))


@pytest.mark.parametrize("query", [SEARCH_QUERY, ISSUE_QUERY], ids=["search", "issue"])
def test_connector_queries_validate_against_linears_schema(
    real_schema: graphql.GraphQLSchema, query: str
) -> None:
    assert graphql.validate(real_schema, graphql.parse(query)) == []
    # and against the emulator's subset, so the world answers exactly what Linear would
    assert graphql.validate(emulate_linear.schema([]), graphql.parse(query)) == []


def test_validation_can_fail(real_schema: graphql.GraphQLSchema) -> None:
    bad = SEARCH_QUERY.replace("identifier", "identifierr", 1)
    assert graphql.validate(real_schema, graphql.parse(bad))


def test_emulator_schema_is_a_true_subset_of_linears(real_schema: graphql.GraphQLSchema) -> None:
    subset = graphql.build_schema(emulate_linear.SCHEMA_SDL)
    for name, sub_type in subset.type_map.items():
        if name.startswith("__") or not isinstance(sub_type, graphql.GraphQLObjectType):
            continue
        real_type = real_schema.get_type(name)
        assert isinstance(real_type, graphql.GraphQLObjectType), name
        for field_name, field in sub_type.fields.items():
            assert field_name in real_type.fields, f"{name}.{field_name}"
            real_field = real_type.fields[field_name]
            assert str(field.type) == str(real_field.type), f"{name}.{field_name}"
            for arg_name, arg in field.args.items():
                assert str(arg.type) == str(real_field.args[arg_name].type), (
                    f"{name}.{field_name}({arg_name})"
                )


# --- the read-only guard ------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        'mutation { issueUpdate(id: "x", input: {}) { success } }',
        "subscription { issueUpdated { id } }",
        'query A { viewer { id } } mutation B { issueDelete(id: "x") { success } }',
        "not graphql at all {",
    ],
)
def test_guard_refuses_anything_but_one_query(query: str) -> None:
    with pytest.raises(errors.ReadOnlyViolation):
        query_only_guard(json.dumps({"query": query}).encode())


def test_guard_accepts_the_connectors_queries() -> None:
    for query in (SEARCH_QUERY, ISSUE_QUERY):
        query_only_guard(json.dumps({"query": query, "variables": {}}).encode())


@respx.mock
async def test_mutation_is_refused_with_nothing_sent(linear: LinearConnector) -> None:
    route = respx.route(host="api.linear.app").mock(return_value=httpx.Response(200, json={"data": {}}))
    with pytest.raises(errors.ReadOnlyViolation):
        await linear._http.post_json(
            "/graphql", {"query": 'mutation { issueArchive(id: "REL-482") { success } }'}
        )
    with pytest.raises(errors.ReadOnlyViolation):
        await linear._http._client.post(URL, json={"query": 'mutation { issueArchive(id: "x") { success } }'})
    assert not route.called


# --- extraction ---------------------------------------------------------------------------


def test_workaround_and_eta_from_description() -> None:
    assert extract_workaround(REL_482) == (
        "Retry with exponential backoff and reuse the same Idempotency-Key at most once; "
        "or temporarily lower client concurrency to 5"
    )
    assert extract_eta(REL_482) == "fix ships 2026-11-21"
    assert extract_eta(REL_301) == "2026-08-06"  # dueDate wins
    assert extract_workaround(REL_301) is None


def test_latest_comment_workaround_wins_and_prose_is_not_a_workaround() -> None:
    issue = {
        "description": "There is no workaround yet.",
        "comments": {
            "nodes": [
                {"body": "**Workaround:** pin v2.40", "createdAt": "2026-11-20T10:00:00Z"},
                {"body": "Workaround: old advice", "createdAt": "2026-11-19T10:00:00Z"},
            ]
        },
    }
    assert extract_workaround(issue) == "pin v2.40"
    assert extract_workaround({"description": "There is no workaround yet."}) is None


# --- wire format with respx -----------------------------------------------------------------


@respx.mock
async def test_search_sends_searchissues_and_summarises(linear: LinearConnector) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(200, json=_search_body(REL_482, REL_301)))
    result = await linear.bugs_search(BugsSearchArgs(query="429 rate limit", first=5), CTX)
    sent = route.calls.last.request
    assert sent.headers["authorization"] == "lin_api_secret123"
    body = json.loads(sent.content)
    assert "searchIssues(term: $term" in body["query"]
    assert body["variables"]["term"] == "429 rate limit" and body["variables"]["first"] == 5
    assert result["total"] == 2
    first = result["issues"][0]
    assert first == {
        "identifier": "REL-482",
        "title": REL_482["title"],
        # the symptom a bug's title leaves out is in its description (its start: a search ranks by it)
        "description": REL_482["description"][:600],
        "state": "In Progress",
        "url": REL_482["url"],
        "created_at": "2026-11-20T09:30:00.000Z",
        "labels": ["bug", "gateway"],
        "workaround": extract_workaround(REL_482),
        "eta": "fix ships 2026-11-21",
    }
    assert result["issues"][1]["state"] == "Done"


@respx.mock
async def test_identical_searches_are_sent_once(linear: LinearConnector) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(200, json=_search_body(REL_482)))
    a = await linear.bugs_search(BugsSearchArgs(query="429 rate limit"), CTX)
    b = await linear.bugs_search(BugsSearchArgs(query="  429  Rate limit "), CTX)
    await linear.bugs_search(BugsSearchArgs(query="export 500"), CTX)
    assert a == b
    assert route.call_count == 2


@respx.mock
async def test_issue_detail(linear: LinearConnector) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(200, json={"data": {"issue": REL_482}}))
    result = await linear.bugs_issue(BugsIssueArgs(identifier="REL-482"), CTX)
    assert json.loads(route.calls.last.request.content)["variables"]["id"] == "REL-482"
    assert result["state"] == "In Progress" and result["priority"] == 1
    assert result["updated_at"] == "2026-11-20T10:10:00.000Z"
    assert [c["author"] for c in result["comments"]] == ["Lee", "Dana"]  # oldest first
    assert result["comments"][0] == {
        "author": "Lee",
        "body": "Repro with two retries.",
        "created_at": "2026-11-20T09:45:00.000Z",
    }
    assert result["eta"] == "fix ships 2026-11-21"


@respx.mock
async def test_issue_not_found_in_linears_error_format(linear: LinearConnector) -> None:
    respx.post(URL).mock(
        return_value=httpx.Response(
            200,
            json={
                "data": None,
                "errors": [
                    {
                        "message": "Entity not found: Issue",
                        "path": ["issue"],
                        "extensions": {"type": "invalid input", "code": "INPUT_ERROR", "userError": True},
                    }
                ],
            },
        )
    )
    with pytest.raises(errors.SourceNotFound):
        await linear.bugs_issue(BugsIssueArgs(identifier="REL-9999"), CTX)


@respx.mock
async def test_empty_result(linear: LinearConnector) -> None:
    respx.post(URL).mock(return_value=httpx.Response(200, json=_search_body()))
    connector_tool = {t.name: t for t in linear.tools()}["bugs_search"]
    data = await connector_tool.call({"query": "quantum flux"}, CTX)
    assert data == {"query": "quantum flux", "total": 0, "issues": []}
    assert "no known bug matches" in connector_tool.render(data)


@respx.mock
async def test_timeout(linear: LinearConnector, waits: list[float]) -> None:
    route = respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(errors.SourceTimeout):
        await linear.bugs_search(BugsSearchArgs(query="429"), CTX)
    assert route.call_count == 3


@respx.mock
async def test_429_with_retry_after_then_success(linear: LinearConnector, waits: list[float]) -> None:
    route = respx.post(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}, json={"errors": [{"message": "Rate limited"}]}),
            httpx.Response(200, json=_search_body(REL_482)),
        ]
    )
    result = await linear.bugs_search(BugsSearchArgs(query="429"), CTX)
    assert result["issues"][0]["identifier"] == "REL-482"
    assert route.call_count == 2 and waits == [3.0]


@respx.mock
async def test_linear_ratelimited_as_http_400_is_retried(linear: LinearConnector, waits: list[float]) -> None:
    limited = {
        "errors": [
            {
                "message": "Rate limit exceeded",
                "extensions": {"type": "ratelimited", "code": "RATELIMITED", "userError": True},
            }
        ]
    }
    route = respx.post(URL).mock(return_value=httpx.Response(400, json=limited))
    with pytest.raises(errors.SourceRateLimited):
        await linear.bugs_search(BugsSearchArgs(query="429"), CTX)
    assert route.call_count == 3 and len(waits) == 2


@respx.mock
async def test_500_storm_is_unavailable(linear: LinearConnector, waits: list[float]) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(500, text="Internal Server Error"))
    with pytest.raises(errors.SourceUnavailable):
        await linear.bugs_search(BugsSearchArgs(query="429"), CTX)
    assert route.call_count == 3


@respx.mock
async def test_401_is_auth_error_without_the_key(linear: LinearConnector, waits: list[float]) -> None:
    respx.post(URL).mock(
        return_value=httpx.Response(
            401,
            json={
                "errors": [
                    {
                        "message": "Authentication required, not authenticated",
                        "extensions": {"type": "authentication error", "code": "AUTHENTICATION_ERROR"},
                    }
                ]
            },
        )
    )
    with pytest.raises(errors.SourceAuthError) as info:
        await linear.bugs_search(BugsSearchArgs(query="429"), CTX)
    assert "lin_api_secret123" not in str(info.value) and waits == []


@respx.mock
async def test_malformed_json(linear: LinearConnector) -> None:
    respx.post(URL).mock(return_value=httpx.Response(200, text="<html>502 Bad Gateway</html>"))
    with pytest.raises(errors.SourceMalformed):
        await linear.bugs_search(BugsSearchArgs(query="429"), CTX)
    respx.post(URL).mock(return_value=httpx.Response(200, json={"data": {"searchIssues": {"nodes": "x"}}}))
    with pytest.raises(errors.SourceMalformed):
        await linear.bugs_search(BugsSearchArgs(query="other"), CTX)


@respx.mock
async def test_huge_body_is_too_large(linear: LinearConnector) -> None:
    huge = b'{"data":{"searchIssues":{"nodes":[' + b'{"identifier":"REL-1"},' * 600_000 + b"]}}}"
    assert len(huge) > 10_000_000
    respx.post(URL).mock(return_value=httpx.Response(200, content=huge))
    with pytest.raises(errors.SourceTooLarge):
        await linear.bugs_search(BugsSearchArgs(query="429"), CTX)


async def test_toolbox_reports_failure_as_unavailable_text(waits: list[float]) -> None:
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(503))
        toolbox = Toolbox([LinearConnector(LinearSettings(api_key=SecretStr("k")))])
        outcome = await toolbox.execute(
            ToolCall(id="c1", tool="bugs_search", arguments={"query": "429"}), CTX
        )
        await toolbox.aclose()
    assert not outcome.ok and outcome.error_kind == "unavailable"
    assert outcome.text_for_model().startswith("bugs unavailable:")


# --- end to end against the emulator ------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path) -> Path:
    (tmp_path / "linear.json").write_text(json.dumps({"issues": [REL_301, REL_350, REL_482]}))
    return tmp_path


async def test_against_the_world_emulator(world: Path) -> None:
    transport = build_transport(world)
    connector = LinearConnector(LinearSettings(), transport=transport)
    try:
        found = await connector.bugs_search(
            BugsSearchArgs(query="429 rate limit retried requests Idempotency-Key"), CTX
        )
        assert [i["identifier"] for i in found["issues"]] == ["REL-482", "REL-301"]
        assert found["issues"][0]["workaround"].startswith("Retry with exponential backoff")
        detail = await connector.bugs_issue(BugsIssueArgs(identifier="rel-482"), CTX)
        assert detail["identifier"] == "REL-482" and len(detail["comments"]) == 2
        with pytest.raises(errors.SourceNotFound):
            await connector.bugs_issue(BugsIssueArgs(identifier="REL-9999"), CTX)
        nothing = await connector.bugs_search(BugsSearchArgs(query="quantum flux capacitor"), CTX)
        assert nothing["issues"] == [] and nothing["total"] == 0
    finally:
        await connector.aclose()
    assert {(m, h, p) for m, h, p in transport.requests} == {("POST", "api.linear.app", "/graphql")}


def test_emulator_refuses_mutations_like_linear(world: Path) -> None:
    transport = build_transport(world)
    with httpx.Client(transport=transport) as client:
        response = client.post(URL, json={"query": 'mutation { issueArchive(id: "REL-482") { success } }'})
        assert response.status_code == 400
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert client.get(URL).status_code == 405


def test_emulator_paginates_and_filters_archived(world: Path) -> None:
    archived = {
        **REL_350,
        "id": "a",
        "identifier": "REL-1",
        "title": "429 archived",
        "archivedAt": "2026-01-01",
    }
    (world / "linear.json").write_text(json.dumps({"issues": [REL_301, REL_482, archived]}))
    query = "query($t: String!, $after: String) { searchIssues(term: $t, first: 1, after: $after) { totalCount nodes { identifier } pageInfo { hasNextPage endCursor } } }"
    with httpx.Client(transport=build_transport(world)) as client:
        page1 = client.post(URL, json={"query": query, "variables": {"t": "429"}}).json()["data"][
            "searchIssues"
        ]
        assert page1["totalCount"] == 2 and page1["pageInfo"]["hasNextPage"] is True
        after = page1["pageInfo"]["endCursor"]
        page2 = client.post(URL, json={"query": query, "variables": {"t": "429", "after": after}}).json()
        ids = [page1["nodes"][0]["identifier"], page2["data"]["searchIssues"]["nodes"][0]["identifier"]]
        assert sorted(ids) == ["REL-301", "REL-482"]
