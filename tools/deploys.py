"""GitHub: what was deployed when, and what changed between two deploys, over the REST API.

GET only (enforced by :class:`~casefile.tools.http.ReadOnlyHTTP`), with GitHub's own
headers (``Accept: application/vnd.github+json``, ``X-GitHub-Api-Version:
2022-11-28``, a bearer token). GitHub Enterprise works by setting
``base_url`` to ``https://HOST/api/v3``.

The repositories are the ones configured (``settings.repos``): a model may
narrow to one of them, never point the connector elsewhere.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import Field, field_validator

from casefile.tools.base import (
    CallContext,
    ToolArgs,
    ToolOutcome,
    WindowedArgs,
    operation,
    parse_ts,
)
from casefile.tools.connector_types import LinkContext, SourceLink
from casefile.tools.errors import SourceMalformed, ToolArgumentError
from casefile.tools.http import APIConnector, ReadOnlyHTTP
from casefile.tools.settings import GitHubSettings

__all__ = ["DeploysCompareArgs", "DeploysListArgs", "GitHubConnector"]

SOURCE = "deploys"
API_VERSION = "2022-11-28"
_PER_PAGE = 100
_MAX_PAGES = 5  # 500 deployments per repository and window is far more than a week holds
_STATUS_CONCURRENCY = 6
_MAX_WINDOW = timedelta(days=92)
_REPO = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
_REF = re.compile(r"^[A-Za-z0-9_./@^~-]{1,200}$")


class DeploysListArgs(WindowedArgs):
    max_window: ClassVar[timedelta] = _MAX_WINDOW

    start: datetime = Field(description="Window start, ISO 8601 (e.g. 2026-11-18T00:00:00Z).")
    end: datetime = Field(description="Window end, ISO 8601.")
    repo: str | None = Field(
        default=None, pattern=_REPO, description="owner/name to narrow to one repository; default: all."
    )


class DeploysCompareArgs(ToolArgs):
    repo: str = Field(pattern=_REPO, description="owner/name, e.g. example-org/api.")
    base: str = Field(description="The earlier ref: the previous deploy's SHA or tag.")
    head: str = Field(description="The later ref: the suspect deploy's SHA or tag.")

    @field_validator("base", "head")
    @classmethod
    def _ref(cls, value: str) -> str:
        if not _REF.match(value) or ".." in value:
            raise ValueError("not a git ref or SHA")
        return value


def _deployment(repo: str, raw: Mapping[str, Any], status: str | None) -> dict[str, Any]:
    return {
        "repo": repo,
        "id": raw.get("id"),
        "sha": raw.get("sha"),
        "ref": raw.get("ref"),
        "environment": raw.get("environment"),
        "created_at": raw.get("created_at"),
        "creator": (raw.get("creator") or {}).get("login"),
        "description": raw.get("description"),
        "status": status,
    }


def _release(repo: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "repo": repo,
        "tag_name": raw.get("tag_name"),
        "name": raw.get("name"),
        "published_at": raw.get("published_at"),
        "target_commitish": raw.get("target_commitish"),
    }


def render_list(data: Mapping[str, Any]) -> str:
    lines = [f"deployments ({len(data['deployments'])}, newest first):"]
    lines += [
        f"{d['created_at']} {d['repo']} {d['environment']} ref={d['ref']} sha={str(d['sha'])[:12]} "
        f"status={d['status'] or 'no status'} id={d['id']} by {d['creator']}"
        + (f" — {d['description']}" if d.get("description") else "")
        for d in data["deployments"]
    ] or ["(none in the window)"]
    lines.append(f"releases ({len(data['releases'])}, newest first):")
    lines += [
        f"{r['published_at']} {r['repo']} {r['tag_name']} ({r['name']}) target={r['target_commitish']}"
        for r in data["releases"]
    ] or ["(none in the window)"]
    return "\n".join(lines)


def render_compare(data: Mapping[str, Any]) -> str:
    lines = [
        f"{data['repo']} {data['base']}...{data['head']}: {data['status']}, ahead by {data['ahead_by']}, "
        f"{data['total_commits']} commits, {len(data['files'])} files changed ({data['html_url']})",
        "commits:",
        *(f"- {str(c['sha'])[:12]} {c['date']} {c['author']}: {c['message']}" for c in data["commits"]),
        "files:",
        *(f"- {f['status']} {f['filename']} +{f['additions']}/-{f['deletions']}" for f in data["files"]),
    ]
    return "\n".join(lines)


class GitHubConnector(APIConnector[GitHubSettings]):
    """Deployments, releases and compares of the configured GitHub repositories."""

    source: ClassVar[str] = SOURCE

    settings_key: ClassVar[str | None] = "github"
    env_vars: ClassVar[Mapping[str, str]] = {
        "GITHUB_TOKEN": "token",
        "GITHUB_API_URL": "base_url",
        "GITHUB_REPOS": "repos",
    }
    configured_by: ClassVar[tuple[str, ...]] = ("repos",)

    @classmethod
    def source_link(cls, outcome: ToolOutcome, context: LinkContext) -> SourceLink | None:
        """The compare page, or the repository's deployments."""
        args = outcome.arguments
        repo = args.get("repo")
        if outcome.tool == "deploys_compare":
            base, head = args.get("base"), args.get("head")
            data = outcome.data if isinstance(outcome.data, dict) else {}
            url = data.get("html_url") or (
                f"https://github.com/{repo}/compare/{base}...{head}" if repo else None
            )
            return SourceLink(label=f"GitHub compare {base}...{head}", url=url) if url else None
        if outcome.tool == "deploys_list":
            url = f"https://github.com/{repo}/deployments" if repo else None
            return SourceLink(label=f"GitHub deployments {repo or ''}".strip(), url=url)
        return None

    def __init__(
        self, settings: GitHubSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(settings, transport=transport)
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "casefile",
        }
        if settings.token is not None:
            headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"
        self._http = ReadOnlyHTTP(SOURCE, settings.base_url.rstrip("/"), headers=headers, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    def _repos(self, repo: str | None) -> list[str]:
        known = list(self.settings.repos)
        if repo is None:
            if not known:
                raise ToolArgumentError(SOURCE, "no repositories are configured; name one with repo")
            return known
        if known and repo.lower() not in {r.lower() for r in known}:
            raise ToolArgumentError(
                SOURCE, f"{repo} is not a configured repository; known: {', '.join(known)}"
            )
        return [repo]

    async def _pages_since(self, path: str, key: str, since: datetime) -> list[dict[str, Any]]:
        """Newest-first pages of a list, until items are older than ``since``."""
        items: list[dict[str, Any]] = []
        for page in range(1, _MAX_PAGES + 1):
            batch = await self._http.get_json(path, {"per_page": _PER_PAGE, "page": page}, expect=list)
            items += [i for i in batch if isinstance(i, dict)]
            stamps = [
                parse_ts(i.get(key)) or parse_ts(i.get("created_at")) for i in batch if isinstance(i, dict)
            ]
            oldest = min((s for s in stamps if s is not None), default=None)
            if len(batch) < _PER_PAGE or (oldest is not None and oldest < since):
                break
        return items

    async def _latest_status(self, repo: str, deployment_id: Any, slots: asyncio.Semaphore) -> str | None:
        async with slots:
            statuses = await self._http.get_json(
                f"/repos/{repo}/deployments/{deployment_id}/statuses", {"per_page": 10}, expect=list
            )
        # GitHub lists statuses newest first; sort anyway in case a proxy reorders them.
        dated = [s for s in statuses if isinstance(s, dict)]
        dated.sort(key=lambda s: (str(s.get("created_at") or ""), s.get("id") or 0), reverse=True)
        return str(dated[0].get("state")) if dated else None

    async def _repo_window(
        self, repo: str, start: datetime, end: datetime, slots: asyncio.Semaphore
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        raw_deployments, raw_releases = await asyncio.gather(
            self._pages_since(f"/repos/{repo}/deployments", "created_at", start),
            self._pages_since(f"/repos/{repo}/releases", "published_at", start),
        )

        def inside(value: Any) -> bool:
            when = parse_ts(value)
            return when is not None and start <= when <= end

        in_window = [d for d in raw_deployments if inside(d.get("created_at"))]
        statuses = await asyncio.gather(*(self._latest_status(repo, d.get("id"), slots) for d in in_window))
        deployments = [_deployment(repo, d, s) for d, s in zip(in_window, statuses, strict=True)]
        # Drafts have no published_at: they were never released.
        releases = [_release(repo, r) for r in raw_releases if inside(r.get("published_at"))]
        return deployments, releases

    @operation("deploys_list", DeploysListArgs, render=render_list)
    async def deploys_list(self, args: DeploysListArgs, ctx: CallContext) -> dict[str, Any]:
        """List deployments (with their latest status) and published releases in a time window.

        Use it to find what changed shortly before a problem started: a deploy
        of the API minutes before errors began is the first suspect. Covers
        every configured repository unless ``repo`` names one. Follow up with
        deploys_compare on the suspect deploy and the one before it.
        """
        # Bounded fan-out: one statuses request per deployment, a few at a time (per call, per loop).
        slots = asyncio.Semaphore(_STATUS_CONCURRENCY)
        repos = self._repos(args.repo)
        per_repo = await asyncio.gather(*(self._repo_window(r, args.start, args.end, slots) for r in repos))
        deployments = [d for deps, _ in per_repo for d in deps]
        releases = [r for _, rels in per_repo for r in rels]
        deployments.sort(key=lambda d: str(d["created_at"]), reverse=True)
        releases.sort(key=lambda r: str(r["published_at"]), reverse=True)
        return {"deployments": deployments, "releases": releases}

    @operation("deploys_compare", DeploysCompareArgs, render=render_compare)
    async def deploys_compare(self, args: DeploysCompareArgs, ctx: CallContext) -> dict[str, Any]:
        """Compare two refs of a repository: the commits and the changed files between them.

        Use it with the previous deploy's SHA as ``base`` and the suspect
        deploy's SHA as ``head`` to see whether the change touched the
        failing endpoint (e.g. a file under src/orders/ for /v2/orders/export).
        """
        (repo,) = self._repos(args.repo)
        basehead = f"{quote(args.base, safe='/')}...{quote(args.head, safe='/')}"
        raw = await self._http.get_json(f"/repos/{repo}/compare/{basehead}", expect=dict)
        commits_raw, files_raw = raw.get("commits"), raw.get("files", [])
        if not isinstance(commits_raw, list) or not isinstance(files_raw, list):
            raise SourceMalformed(SOURCE, "the compare answer has no commits/files lists")
        commits = []
        for item in commits_raw:
            if not isinstance(item, dict):
                continue
            commit = item.get("commit") or {}
            git_author = commit.get("author") or {}
            commits.append(
                {
                    "sha": item.get("sha"),
                    # The subject line; bodies are long and rarely decide anything.
                    "message": str(commit.get("message") or "").split("\n", 1)[0],
                    "author": (item.get("author") or {}).get("login") or git_author.get("name"),
                    "date": git_author.get("date"),
                }
            )
        files = [
            {
                "filename": f.get("filename"),
                "status": f.get("status"),
                "additions": f.get("additions"),
                "deletions": f.get("deletions"),
            }
            for f in files_raw
            if isinstance(f, dict)
        ]
        return {
            "repo": repo,
            "base": args.base,
            "head": args.head,
            "status": raw.get("status"),
            "ahead_by": raw.get("ahead_by"),
            "total_commits": raw.get("total_commits"),
            "commits": commits,
            "files": files,
            "html_url": raw.get("html_url"),
        }
