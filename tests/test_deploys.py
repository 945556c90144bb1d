"""The GitHub connector and its world emulator, with GitHub's documented REST shapes."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr, ValidationError

from casefile.tools import errors
from casefile.tools.base import CallContext
from casefile.tools.deploys import DeploysCompareArgs, DeploysListArgs, GitHubConnector
from casefile.tools.settings import GitHubSettings
from casefile.tools.world.emulator import build_transport

REFERENCE = Path("/work/shared/reference")
API = "https://api.github.com"
CTX = CallContext()
WINDOW = {"start": "2026-11-18T00:00:00Z", "end": "2026-11-20T12:00:00Z"}


def _reference(name: str) -> Any:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"{name} is not available here")
    return json.loads(path.read_text(encoding="utf-8"))


def _deployment(template: dict[str, Any], id_: int, sha: str, ref: str, created_at: str) -> dict[str, Any]:
    """GitHub's documented deployment example with our values in its fields."""
    d = copy.deepcopy(template)
    d.update(
        id=id_,
        sha=sha,
        ref=ref,
        created_at=created_at,
        updated_at=created_at,
        description=f"Deploy {ref}",
        url=f"{API}/repos/relayhq/api/deployments/{id_}",
        statuses_url=f"{API}/repos/relayhq/api/deployments/{id_}/statuses",
    )
    return d


def _status(template: dict[str, Any], id_: int, state: str, created_at: str) -> dict[str, Any]:
    s = copy.deepcopy(template)
    s.update(id=id_, state=state, created_at=created_at, updated_at=created_at)
    return s


def _release(tag: str, published_at: str | None, target: str) -> dict[str, Any]:
    return {
        "url": f"{API}/repos/relayhq/api/releases/1",
        "html_url": f"https://github.com/relayhq/api/releases/tag/{tag}",
        "id": abs(hash(tag)) % 10_000,
        "tag_name": tag,
        "target_commitish": target,
        "name": f"Release {tag}",
        "draft": published_at is None,
        "prerelease": False,
        "created_at": published_at or "2026-11-19T00:00:00Z",
        "published_at": published_at,
        "author": {"login": "relay-bot", "id": 7},
        "assets": [],
        "body": "",
    }


SHA_241 = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
SHA_240 = "0f9e8d7c6b5a49382716051f2e3d4c5b6a798001"
SHA_OLD = "1111111111111111111111111111111111111111"


@pytest.fixture
def deployments() -> list[dict[str, Any]]:
    template = _reference("github_list_deployments.json")[0]
    return [  # newest first, as GitHub lists them
        _deployment(template, 3, SHA_241, "v2.41.0", "2026-11-20T08:04:00Z"),
        _deployment(template, 2, SHA_240, "v2.40.3", "2026-11-18T14:02:00Z"),
        _deployment(template, 1, SHA_OLD, "v2.40.2", "2026-11-10T09:00:00Z"),
    ]


@pytest.fixture
def statuses() -> dict[str, list[dict[str, Any]]]:
    template = _reference("github_list_deployment_statuses.json")[0]
    return {
        "3": [
            _status(template, 31, "success", "2026-11-20T08:06:00Z"),
            _status(template, 30, "in_progress", "2026-11-20T08:04:30Z"),
        ],
        "2": [_status(template, 20, "success", "2026-11-18T14:03:00Z")],
        "1": [_status(template, 10, "inactive", "2026-11-18T14:03:00Z")],
    }


@pytest.fixture
async def github() -> AsyncIterator[GitHubConnector]:
    connector = GitHubConnector(GitHubSettings(token=SecretStr("ghp_secret"), repos=["relayhq/api"]))
    yield connector
    await connector.aclose()


def _mock_repo(
    base: str,
    deployments: list[dict[str, Any]],
    statuses: dict[str, list[dict[str, Any]]],
    releases: list[Any],
) -> respx.Route:
    route = respx.get(f"{base}/repos/relayhq/api/deployments").mock(
        return_value=httpx.Response(200, json=deployments)
    )
    for id_, items in statuses.items():
        respx.get(f"{base}/repos/relayhq/api/deployments/{id_}/statuses").mock(
            return_value=httpx.Response(200, json=items)
        )
    respx.get(f"{base}/repos/relayhq/api/releases").mock(return_value=httpx.Response(200, json=releases))
    return route


# --- deploys_list ----------------------------------------------------------------------------


@respx.mock
async def test_list_filters_window_and_reports_latest_status(
    github: GitHubConnector, deployments: list[dict[str, Any]], statuses: dict[str, list[dict[str, Any]]]
) -> None:
    releases = [
        _release("v2.42.0-draft", None, "main"),
        _release("v2.41.0", "2026-11-20T08:00:00Z", "main"),
        _release("v2.40.2", "2026-11-10T08:00:00Z", "main"),
    ]
    route = _mock_repo(API, deployments, statuses, releases)
    result = await github.deploys_list(DeploysListArgs.model_validate(WINDOW), CTX)

    sent = route.calls.last.request
    assert sent.headers["accept"] == "application/vnd.github+json"
    assert sent.headers["x-github-api-version"] == "2022-11-28"
    assert sent.headers["authorization"] == "Bearer ghp_secret"
    assert sent.url.params["per_page"] == "100"

    assert [d["id"] for d in result["deployments"]] == [3, 2]
    assert result["deployments"][0] == {
        "repo": "relayhq/api",
        "id": 3,
        "sha": SHA_241,
        "ref": "v2.41.0",
        "environment": "production",
        "created_at": "2026-11-20T08:04:00Z",
        "creator": "octocat",
        "description": "Deploy v2.41.0",
        "status": "success",
    }
    assert result["releases"] == [
        {
            "repo": "relayhq/api",
            "tag_name": "v2.41.0",
            "name": "Release v2.41.0",
            "published_at": "2026-11-20T08:00:00Z",
            "target_commitish": "main",
        }
    ]
    # no statuses were asked for the deployment outside the window
    asked = {c.request.url.path for c in respx.calls}
    assert "/repos/relayhq/api/deployments/1/statuses" not in asked


@respx.mock
async def test_list_pages_until_older_than_window(deployments: list[dict[str, Any]]) -> None:
    template = deployments[0]
    page1 = [
        _deployment(template, 1000 - i, SHA_241, "v", f"2026-11-20T{10 + i // 60:02d}:{i % 60:02d}:00Z")
        for i in range(100)
    ]
    page2 = [_deployment(template, 5, SHA_OLD, "v0", "2026-11-01T00:00:00Z")]
    route = respx.get(f"{API}/repos/relayhq/api/deployments").mock(
        side_effect=lambda request: httpx.Response(
            200, json=page1 if request.url.params["page"] == "1" else page2
        )
    )
    respx.get(url__regex=r".*/statuses").mock(return_value=httpx.Response(200, json=[]))
    respx.get(f"{API}/repos/relayhq/api/releases").mock(return_value=httpx.Response(200, json=[]))
    connector = GitHubConnector(GitHubSettings(repos=["relayhq/api"]))
    try:
        result = await connector.deploys_list(
            DeploysListArgs(start="2026-11-20T00:00:00Z", end="2026-11-21T00:00:00Z"),  # type: ignore[arg-type]
            CTX,
        )
    finally:
        await connector.aclose()
    assert route.call_count == 2
    assert len(result["deployments"]) == 100 and result["deployments"][0]["status"] is None
    assert "authorization" not in route.calls.last.request.headers  # no token configured


@respx.mock
async def test_github_enterprise_base_url(deployments: list[dict[str, Any]]) -> None:
    ghe = "https://ghe.example.com/api/v3"
    _mock_repo(ghe, deployments, {"3": [], "2": []}, [])
    connector = GitHubConnector(GitHubSettings(base_url=ghe, repos=["relayhq/api"]))
    try:
        result = await connector.deploys_list(DeploysListArgs.model_validate(WINDOW), CTX)
    finally:
        await connector.aclose()
    assert len(result["deployments"]) == 2


@respx.mock
async def test_empty_repository(github: GitHubConnector) -> None:
    _mock_repo(API, [], {}, [])
    assert await github.deploys_list(DeploysListArgs.model_validate(WINDOW), CTX) == {
        "deployments": [],
        "releases": [],
    }


async def test_unconfigured_repo_and_bad_arguments_are_refused(github: GitHubConnector) -> None:
    with pytest.raises(errors.ToolArgumentError):
        await github.deploys_list(DeploysListArgs.model_validate({**WINDOW, "repo": "evil/repo"}), CTX)
    with pytest.raises(ValidationError):
        DeploysListArgs.model_validate({"start": WINDOW["end"], "end": WINDOW["start"]})
    with pytest.raises(ValidationError):
        DeploysCompareArgs(repo="relayhq/api", base="a..b", head="main")
    with pytest.raises(ValidationError):
        DeploysCompareArgs(repo="relayhq/api", base="main?x=1", head="main")


# --- deploys_compare ----------------------------------------------------------------------------


@respx.mock
async def test_compare_with_githubs_example(github: GitHubConnector) -> None:
    reference = _reference("github_compare_commits.json")
    route = respx.get(f"{API}/repos/relayhq/api/compare/v2.40.2...v2.40.3").mock(
        return_value=httpx.Response(200, json=reference)
    )
    result = await github.deploys_compare(
        DeploysCompareArgs(repo="relayhq/api", base="v2.40.2", head="v2.40.3"), CTX
    )
    assert route.called
    assert result == {
        "repo": "relayhq/api",
        "base": "v2.40.2",
        "head": "v2.40.3",
        "status": "behind",
        "ahead_by": 1,
        "total_commits": 1,
        "commits": [
            {
                "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
                "message": "Fix all the bugs",
                "author": "octocat",
                "date": "2011-04-14T16:00:49Z",
            }
        ],
        "files": [{"filename": "file1.txt", "status": "added", "additions": 103, "deletions": 21}],
        "html_url": "https://github.com/octocat/Hello-World/compare/master...topic",
    }
    rendered = {t.name: t for t in github.tools()}["deploys_compare"].render(result)
    assert "added file1.txt +103/-21" in rendered


@respx.mock
async def test_compare_unknown_refs_is_not_found(github: GitHubConnector) -> None:
    respx.get(url__regex=r".*/compare/.*").mock(
        return_value=httpx.Response(404, json={"message": "Not Found", "status": "404"})
    )
    with pytest.raises(errors.SourceNotFound):
        await github.deploys_compare(
            DeploysCompareArgs(repo="relayhq/api", base="aaaaaaa", head="bbbbbbb"), CTX
        )


# --- faults ---------------------------------------------------------------------------------------

COMPARE = f"{API}/repos/relayhq/api/compare/a...b"
ARGS = DeploysCompareArgs(repo="relayhq/api", base="a", head="b")


@respx.mock
async def test_timeout(github: GitHubConnector, waits: list[float]) -> None:
    route = respx.get(COMPARE).mock(side_effect=httpx.ConnectTimeout("slow"))
    with pytest.raises(errors.SourceTimeout):
        await github.deploys_compare(ARGS, CTX)
    assert route.call_count == 3


@respx.mock
async def test_429_with_retry_after_then_success(github: GitHubConnector, waits: list[float]) -> None:
    reference = _reference("github_compare_commits.json")
    route = respx.get(COMPARE).mock(
        side_effect=[
            httpx.Response(429, headers={"retry-after": "5"}, json={"message": "API rate limit exceeded"}),
            httpx.Response(200, json=reference),
        ]
    )
    assert (await github.deploys_compare(ARGS, CTX))["ahead_by"] == 1
    assert route.call_count == 2 and waits == [5.0]


@respx.mock
async def test_403_primary_rate_limit_runs_out(github: GitHubConnector, waits: list[float]) -> None:
    respx.get(COMPARE).mock(
        return_value=httpx.Response(
            403, headers={"x-ratelimit-remaining": "0"}, json={"message": "API rate limit exceeded for user"}
        )
    )
    with pytest.raises(errors.SourceRateLimited):
        await github.deploys_compare(ARGS, CTX)


@respx.mock
async def test_500_is_unavailable(github: GitHubConnector, waits: list[float]) -> None:
    route = respx.get(COMPARE).mock(return_value=httpx.Response(500, json={"message": "Server Error"}))
    with pytest.raises(errors.SourceUnavailable):
        await github.deploys_compare(ARGS, CTX)
    assert route.call_count == 3


@respx.mock
async def test_401_is_auth_error_without_the_token(github: GitHubConnector, waits: list[float]) -> None:
    respx.get(COMPARE).mock(return_value=httpx.Response(401, json={"message": "Bad credentials"}))
    with pytest.raises(errors.SourceAuthError) as info:
        await github.deploys_compare(ARGS, CTX)
    assert "Bad credentials" in str(info.value) and "ghp_secret" not in str(info.value) and waits == []


@respx.mock
async def test_malformed(github: GitHubConnector) -> None:
    respx.get(COMPARE).mock(return_value=httpx.Response(200, text="{not json"))
    with pytest.raises(errors.SourceMalformed):
        await github.deploys_compare(ARGS, CTX)
    respx.get(f"{API}/repos/relayhq/api/deployments").mock(return_value=httpx.Response(200, json={"oops": 1}))
    respx.get(f"{API}/repos/relayhq/api/releases").mock(return_value=httpx.Response(200, json=[]))
    with pytest.raises(errors.SourceMalformed):
        await github.deploys_list(DeploysListArgs.model_validate(WINDOW), CTX)


@respx.mock
async def test_huge_body(github: GitHubConnector) -> None:
    respx.get(COMPARE).mock(return_value=httpx.Response(200, content=b"[" + b"0," * 6_000_000 + b"0]"))
    with pytest.raises(errors.SourceTooLarge):
        await github.deploys_compare(ARGS, CTX)


@respx.mock
async def test_no_method_but_get_can_leave(github: GitHubConnector) -> None:
    route = respx.route(host="api.github.com").mock(return_value=httpx.Response(201, json={}))
    client = github._http._client
    with pytest.raises(errors.ReadOnlyViolation):
        await client.post(f"{API}/repos/relayhq/api/deployments", json={"ref": "main"})
    with pytest.raises(errors.ReadOnlyViolation):
        await client.delete(f"{API}/repos/relayhq/api/deployments/1")
    with pytest.raises(errors.ReadOnlyViolation):
        await github._http.post_json("/repos/relayhq/api/deployments", {"ref": "main"})
    assert not route.called


# --- end to end against the emulator ----------------------------------------------------------------


@pytest.fixture
def world(
    tmp_path: Path, deployments: list[dict[str, Any]], statuses: dict[str, list[dict[str, Any]]]
) -> Path:
    compare = _reference("github_compare_commits.json")
    compare = {**compare, "status": "ahead", "ahead_by": 2, "behind_by": 0, "total_commits": 2}
    compare["files"] = [{**compare["files"][0], "filename": "src/orders/export.py", "status": "modified"}]
    github = {
        "repos": {
            "relayhq/api": {
                "deployments": list(reversed(deployments)),  # stored in any order
                "deployment_statuses": statuses,
                "releases": [_release("v2.40.3", "2026-11-18T14:00:00Z", SHA_240)],
                "compares": {f"{SHA_OLD}...{SHA_240}": compare},
            },
            "relayhq/web": {"deployments": [], "releases": []},
        }
    }
    (tmp_path / "github.json").write_text(json.dumps(github))
    return tmp_path


async def test_against_the_world_emulator(world: Path) -> None:
    transport = build_transport(world)
    connector = GitHubConnector(GitHubSettings(repos=["relayhq/api", "relayhq/web"]), transport=transport)
    try:
        listed = await connector.deploys_list(DeploysListArgs.model_validate(WINDOW), CTX)
        assert [(d["ref"], d["status"]) for d in listed["deployments"]] == [
            ("v2.41.0", "success"),
            ("v2.40.3", "success"),
        ]
        assert [r["tag_name"] for r in listed["releases"]] == ["v2.40.3"]
        # by tag names (deployment ref / release tag resolve to SHAs) and by short SHAs
        by_tag = await connector.deploys_compare(
            DeploysCompareArgs(repo="relayhq/api", base="v2.40.2", head="v2.40.3"), CTX
        )
        by_sha = await connector.deploys_compare(
            DeploysCompareArgs(repo="relayhq/api", base=SHA_OLD[:7], head=SHA_240[:10]), CTX
        )
        assert (
            by_tag["files"]
            == by_sha["files"]
            == [{"filename": "src/orders/export.py", "status": "modified", "additions": 103, "deletions": 21}]
        )
        with pytest.raises(errors.SourceNotFound):
            await connector.deploys_compare(
                DeploysCompareArgs(repo="relayhq/api", base=SHA_240, head=SHA_241), CTX
            )
    finally:
        await connector.aclose()
    assert transport.requests and all(method == "GET" for method, _, _ in transport.requests)


def test_emulator_pagination_and_404s(world: Path) -> None:
    with httpx.Client(transport=build_transport(world), base_url=API) as client:
        first = client.get("/repos/relayhq/api/deployments", params={"per_page": 2})
        assert [d["id"] for d in first.json()] == [3, 2]
        assert 'rel="next"' in first.headers["link"]
        second = client.get("/repos/relayhq/api/deployments", params={"per_page": 2, "page": 2})
        assert [d["id"] for d in second.json()] == [1] and "link" not in second.headers
        assert client.get("/repos/relayhq/api/deployments", params={"ref": "v2.40.3"}).json()[0]["id"] == 2
        assert client.get("/repos/relayhq/api/deployments/3/statuses").json()[0]["state"] == "success"
        assert client.get("/repos/relayhq/nope/deployments").status_code == 404
        assert client.get("/repos/relayhq/api/deployments/99/statuses").status_code == 404
        assert client.post("/repos/relayhq/api/deployments", json={}).status_code == 404
