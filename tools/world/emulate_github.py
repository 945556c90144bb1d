"""Emulated GitHub REST API (deployments, statuses, releases, compare) over ``<world>/github.json``.

``github.json`` holds, per repository, objects exactly as the REST API returns
them (API version 2022-11-28)::

    {"repos": {"example-org/api": {
        "deployments": [...],                              GET /repos/{o}/{r}/deployments
        "deployment_statuses": {"<deployment id>": [...]}, GET .../deployments/{id}/statuses
        "releases": [...],                                 GET /repos/{o}/{r}/releases
        "compares": {"<base>...<head>": {...}}             GET /repos/{o}/{r}/compare/{base}...{head}
    }}}

Lists come back newest first with ``per_page`` (default 30, at most 100) and
``page``, and a ``Link`` header when there is a next page, as GitHub sends
them. A compare is found by its stored key, or when both sides name the same
commits: a deployment's ``ref``, a release's ``tag_name`` and abbreviated SHAs
resolve to the full SHA. Anything else is GitHub's 404. Only GET is served.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from casefile.tools.world.emulator import json_response

__all__ = ["HOST", "handlers"]

HOST = "api.github.com"
_DOCS = "https://docs.github.com/rest"
_ROUTE = re.compile(r"^(?:/api/v3)?/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)/(?P<rest>.+)$")
_HEX = re.compile(r"^[0-9a-f]{7,40}$")


def _not_found() -> httpx.Response:
    return json_response(404, {"message": "Not Found", "documentation_url": _DOCS, "status": "404"})


def _newest_first(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: (str(i.get(key) or ""), i.get("id") or 0), reverse=True)


def _paged(request: httpx.Request, items: list[Any]) -> httpx.Response:
    params = request.url.params
    try:
        per_page = min(max(int(params.get("per_page", "30")), 1), 100)
        page = max(int(params.get("page", "1")), 1)
    except ValueError:
        return json_response(
            422, {"message": "Validation Failed", "documentation_url": _DOCS, "status": "422"}
        )
    start = (page - 1) * per_page
    headers = {}
    if start + per_page < len(items):
        next_url = request.url.copy_merge_params({"page": str(page + 1), "per_page": str(per_page)})
        headers["link"] = f'<{next_url}>; rel="next"'
    return json_response(200, items[start : start + per_page], headers)


class _Repo:
    """One repository's stored objects and how names resolve to commits."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.deployments = _newest_first(list(data.get("deployments") or []), "created_at")
        self.statuses = {
            str(k): _newest_first(list(v), "created_at")
            for k, v in (data.get("deployment_statuses") or {}).items()
        }
        self.releases = _newest_first(list(data.get("releases") or []), "created_at")
        self.compares: dict[str, dict[str, Any]] = dict(data.get("compares") or {})
        self.aliases: dict[str, str] = {}
        for deployment in self.deployments:
            if deployment.get("ref") and deployment.get("sha"):
                self.aliases.setdefault(str(deployment["ref"]), str(deployment["sha"]).lower())
        for release in self.releases:
            target = str(release.get("target_commitish") or "").lower()
            if release.get("tag_name") and _HEX.match(target):
                self.aliases.setdefault(str(release["tag_name"]), target)

    def _commit(self, name: str) -> str:
        return self.aliases.get(name, name.lower())

    def _same(self, a: str, b: str) -> bool:
        a, b = self._commit(a), self._commit(b)
        if a == b:
            return True
        return bool(_HEX.match(a) and _HEX.match(b) and (a.startswith(b) or b.startswith(a)))

    def compare(self, base: str, head: str) -> dict[str, Any] | None:
        if f"{base}...{head}" in self.compares:
            return self.compares[f"{base}...{head}"]
        for key, value in self.compares.items():
            stored_base, _, stored_head = key.partition("...")
            if self._same(stored_base, base) and self._same(stored_head, head):
                return value
        return None

    def answer(self, request: httpx.Request, rest: str) -> httpx.Response:
        parts = rest.split("/")
        if parts == ["deployments"]:
            found = self.deployments
            for field in ("sha", "ref", "task", "environment"):
                if field in request.url.params:
                    found = [d for d in found if str(d.get(field)) == request.url.params[field]]
            return _paged(request, found)
        if len(parts) == 2 and parts[0] == "deployments":
            match = [d for d in self.deployments if str(d.get("id")) == parts[1]]
            return json_response(200, match[0]) if match else _not_found()
        if len(parts) == 3 and parts[0] == "deployments" and parts[2] == "statuses":
            if not any(str(d.get("id")) == parts[1] for d in self.deployments):
                return _not_found()
            return _paged(request, self.statuses.get(parts[1], []))
        if parts == ["releases"]:
            return _paged(request, self.releases)
        if len(parts) == 3 and parts[:2] == ["releases", "tags"]:
            match = [r for r in self.releases if r.get("tag_name") == unquote(parts[2])]
            return json_response(200, match[0]) if match else _not_found()
        if parts[0] == "compare" and len(parts) >= 2:
            base, sep, head = unquote("/".join(parts[1:])).partition("...")
            compared = self.compare(base, head) if sep else None
            return json_response(200, compared) if compared is not None else _not_found()
        return _not_found()


def handlers(world_dir: Path) -> dict[str, Callable[[httpx.Request], httpx.Response]]:
    """``api.github.com`` served from ``<world>/github.json`` (no file: no repositories)."""
    path = Path(world_dir) / "github.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    repos = {name.lower(): _Repo(repo) for name, repo in (data.get("repos") or {}).items()}

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method not in ("GET", "HEAD"):
            return _not_found()
        match = _ROUTE.match(request.url.path)
        if match is None:
            return _not_found()
        repo = repos.get(f"{match['owner']}/{match['name']}".lower())
        if repo is None:
            return _not_found()
        return repo.answer(request, match["rest"])

    return {HOST: handle}
