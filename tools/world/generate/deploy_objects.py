"""GitHub REST objects (2022-11-28) of a world: deployments, statuses, releases, compares.

Each repository's deploys are told in time order; the commits of a tag are merged in
the hours before its first deploy, then a release commit; a production deploy is
compared with the previous production deploy of the same repository.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from casefile.tools.world.generate.ids import node_id, sha
from casefile.tools.world.generate.spec import Brand, CommitSpec, FileChange, WorldSpec

__all__ = ["github"]


def user(brand: Brand, login: str) -> dict[str, Any]:
    uid = brand.people[login].id
    base = f"https://api.github.com/users/{login.replace('[bot]', '%5Bbot%5D')}"
    return {
        "login": login,
        "id": uid,
        "node_id": node_id("User", uid),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "gravatar_id": "",
        "url": base,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": "Bot" if login.endswith("[bot]") else "User",
        "site_admin": False,
    }


def commit_obj(
    brand: Brand, repo: str, commit_sha: str, message: str, login: str, date: str, parent: str
) -> dict[str, Any]:
    person = brand.people[login]
    name, email = person.name, person.email
    api = f"https://api.github.com/repos/{repo}"
    return {
        "url": f"{api}/commits/{commit_sha}",
        "sha": commit_sha,
        "node_id": node_id("Commit", commit_sha[:20]),
        "html_url": f"https://github.com/{repo}/commit/{commit_sha}",
        "comments_url": f"{api}/commits/{commit_sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{commit_sha}",
            "author": {"name": name, "email": email, "date": date},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "date": date},
            "message": message,
            "tree": {"url": f"{api}/git/trees/{sha('tree' + commit_sha)}", "sha": sha("tree" + commit_sha)},
            "comment_count": 0,
            "verification": {
                "verified": True,
                "reason": "valid",
                "signature": None,
                "payload": None,
                "verified_at": date,
            },
        },
        "author": user(brand, login),
        "committer": None,
        "parents": [{"url": f"{api}/commits/{parent}", "sha": parent, "html_url": f"https://github.com/{repo}/commit/{parent}"}],
    }  # fmt: skip


def github(spec: WorldSpec) -> dict[str, Any]:
    """github.json: per repository its deployments, statuses, releases and compares."""
    brand = spec.brand
    repos: dict[str, Any] = {}
    deploy_id = 2_914_400_000
    status_id = 7_330_100_000
    for repo, repo_spec in spec.repos.items():
        deploys = repo_spec.deploys
        api = f"https://api.github.com/repos/{repo}"
        deployments: list[dict[str, Any]] = []
        releases: list[dict[str, Any]] = []
        statuses: dict[str, Any] = {}
        compares: dict[str, Any] = {}
        tag_sha: dict[str, str] = {}
        tip = sha(f"{repo} base")  # the commit before the week starts
        commit_log: list[dict[str, Any]] = []  # every commit in order, to build compares
        prev_prod: tuple[str, int] | None = None
        # a tag's commits are listed once, on any of its deploys (staging usually comes first)
        tag_commits: dict[str, list[CommitSpec]] = {}
        for d in deploys:
            tag_commits.setdefault(d.tag, [])
            tag_commits[d.tag] += d.commits
        for d in deploys:
            tag, env, created, state = d.tag, d.environment, d.at, d.state
            commits = tag_commits[tag]
            when = datetime.fromisoformat(created.replace("Z", "+00:00"))
            if tag not in tag_sha:
                # commits merged in the hours before the release, then the release commit
                start = len(commit_log)
                for n, commit in enumerate(commits):
                    message, login, files = commit.message, commit.author, commit.files
                    at = (when - timedelta(minutes=150 - 35 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")
                    c_sha = sha(f"{repo} {message}")
                    commit_log.append(
                        {"obj": commit_obj(brand, repo, c_sha, message, login, at, tip), "files": files}
                    )
                    tip = c_sha
                release_sha = sha(f"{repo} release {tag}")
                at = (when - timedelta(minutes=25)).strftime("%Y-%m-%dT%H:%M:%SZ")
                commit_log.append(
                    {
                        "obj": commit_obj(
                            brand, repo, release_sha, f"Release {tag}", brand.deploy_bot, at, tip
                        ),
                        "files": [FileChange(path="CHANGELOG.md", additions=2 + len(commits) * 2)],
                    }
                )
                tip = release_sha
                tag_sha[tag] = release_sha
                for entry in commit_log[start:]:
                    entry["tag"] = tag
            deploy_id += 7
            d_sha = tag_sha[tag]
            deployments.append(
                {
                    "url": f"{api}/deployments/{deploy_id}",
                    "id": deploy_id,
                    "node_id": node_id("Deployment", deploy_id),
                    "sha": d_sha,
                    "ref": tag,
                    "task": "deploy",
                    "payload": {"release": tag, "triggered_by": "release-pipeline"},
                    "original_environment": env,
                    "environment": env,
                    "description": f"Deploy {tag} to {env}",
                    "creator": user(brand, brand.deploy_bot),
                    "created_at": created,
                    "updated_at": (when + timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "statuses_url": f"{api}/deployments/{deploy_id}/statuses",
                    "repository_url": api,
                    "transient_environment": False,
                    "production_environment": env == "production",
                }
            )
            statuses[str(deploy_id)] = [
                deployment_status(spec, repo, deploy_id, status_id + 2, state, env, when + timedelta(minutes=4), tag),
                deployment_status(spec, repo, deploy_id, status_id + 1, "in_progress", env, when + timedelta(seconds=20), tag),
            ]  # fmt: skip
            status_id += 3
            if env != "production" or state != "success":
                continue
            if prev_prod is not None and prev_prod[0] != d_sha:
                base_sha = prev_prod[0]
                idx = next(i for i, e in enumerate(commit_log) if e["obj"]["sha"] == base_sha)
                head_idx = next(i for i, e in enumerate(commit_log) if e["obj"]["sha"] == d_sha)
                compares[f"{base_sha}...{d_sha}"] = compare_obj(
                    repo, commit_log[idx]["obj"], commit_log[idx + 1 : head_idx + 1]
                )
            prev_prod = (d_sha, deploy_id)
            if repo_spec.releases and not any(r["tag_name"] == tag for r in releases):
                releases.append(release_obj(brand, repo, tag, d_sha, when - timedelta(minutes=20), commits))
        repos[repo] = {
            "deployments": sorted(deployments, key=lambda d: d["created_at"], reverse=True),
            "deployment_statuses": statuses,
            "releases": sorted(releases, key=lambda r: r["published_at"], reverse=True),
            "compares": compares,
        }
    return {"repos": repos}


def deployment_status(
    spec: WorldSpec, repo: str, dep: int, sid_: int, state: str, env: str, when: datetime, tag: str
) -> dict[str, Any]:
    api = f"https://api.github.com/repos/{repo}"
    at = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = {"success": "Deployment finished successfully.", "in_progress": "Deployment started.",
            "failure": "Health check failed: /healthz returned 503 for 120s; rolled back."}[state]  # fmt: skip
    brand = spec.brand
    env_url = f"https://{'' if env == 'production' else 'staging.'}{spec.repos[repo].host}"
    log = f"https://{brand.ci_host}/deploys/{repo.split('/')[1]}/{dep}"
    return {
        "url": f"{api}/deployments/{dep}/statuses/{sid_}",
        "id": sid_,
        "node_id": node_id("DeploymentStatus", sid_),
        "state": state,
        "creator": user(brand, brand.deploy_bot),
        "description": f"{tag}: {text}",
        "environment": env,
        "target_url": log,
        "created_at": at,
        "updated_at": at,
        "deployment_url": f"{api}/deployments/{dep}",
        "repository_url": api,
        "environment_url": env_url,
        "log_url": log,
    }


def compare_obj(repo: str, base: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    head = entries[-1]["obj"]
    owner = repo.split("/")[0]
    files: dict[str, dict[str, Any]] = {}
    for entry in entries:
        for change in entry["files"]:
            path, status, adds, dels, patch = (
                change.path,
                change.status,
                change.additions,
                change.deletions,
                change.patch,
            )
            if path in files:
                f = files[path]
                f["additions"] += adds
                f["deletions"] += dels
                f["changes"] = f["additions"] + f["deletions"]
                if patch:
                    f["patch"] = patch
                continue
            files[path] = {
                "sha": sha(f"blob {repo} {path} {head['sha']}"),
                "filename": path,
                "status": status,
                "additions": adds,
                "deletions": dels,
                "changes": adds + dels,
                "blob_url": f"https://github.com/{repo}/blob/{head['sha']}/{path}",
                "raw_url": f"https://github.com/{repo}/raw/{head['sha']}/{path}",
                "contents_url": f"https://api.github.com/repos/{repo}/contents/{path}?ref={head['sha']}",
                "patch": patch or f"@@ -1,{max(dels, 1)} +1,{max(adds, 1)} @@",
            }
    basehead = f"{base['sha']}...{head['sha']}"
    return {
        "url": f"https://api.github.com/repos/{repo}/compare/{basehead}",
        "html_url": f"https://github.com/{repo}/compare/{basehead}",
        "permalink_url": f"https://github.com/{repo}/compare/{owner}:{base['sha']}...{owner}:{head['sha']}",
        "diff_url": f"https://github.com/{repo}/compare/{basehead}.diff",
        "patch_url": f"https://github.com/{repo}/compare/{basehead}.patch",
        "base_commit": base,
        "merge_base_commit": base,
        "status": "ahead",
        "ahead_by": len(entries),
        "behind_by": 0,
        "total_commits": len(entries),
        "commits": [e["obj"] for e in entries],
        "files": list(files.values()),
    }


def release_obj(
    brand: Brand, repo: str, tag: str, target: str, when: datetime, commits: list[CommitSpec]
) -> dict[str, Any]:
    rid = int(sha(repo + tag)[:8], 16) % 90_000_000 + 180_000_000
    api = f"https://api.github.com/repos/{repo}"
    at = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = "## What's changed\n" + "".join(f"* {c.message} by @{c.author}\n" for c in commits)
    return {
        "url": f"{api}/releases/{rid}",
        "html_url": f"https://github.com/{repo}/releases/tag/{tag}",
        "assets_url": f"{api}/releases/{rid}/assets",
        "upload_url": f"https://uploads.github.com/repos/{repo}/releases/{rid}/assets{{?name,label}}",
        "tarball_url": f"{api}/tarball/{tag}",
        "zipball_url": f"{api}/zipball/{tag}",
        "id": rid,
        "node_id": node_id("Release", rid),
        "tag_name": tag,
        "target_commitish": target,
        "name": tag,
        "body": body,
        "draft": False,
        "prerelease": False,
        "immutable": False,
        "created_at": at,
        "updated_at": at,
        "published_at": at,
        "author": user(brand, brand.deploy_bot),
        "assets": [],
    }
