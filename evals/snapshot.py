"""Recorded HTTP exchanges → the files of a world that serves the same answers.

``casefile eval record`` records what each connector's system answered
(:class:`casefile.evals.record.Exchange`); this module files every object in
those answers where the world's emulators (``tools/world/emulate_*``) read them:

=========  ==========================================  ==================================
system     answers                                     world file
=========  ==========================================  ==================================
Stripe     objects with ``object``/``id`` (also nested  ``stripe.json`` by collection
           and expanded ones), from lists, searches
Linear     every issue (``identifier``) in a GraphQL    ``linear.json``, fields merged
           ``data`` payload
GitHub     deployments, their statuses, releases,       ``github.json`` by repository
           compares, by REST path
Zendesk    search results and their comments            ``tickets.json`` (compact form)
Guide      articles found by search or read             ``helpcenter.json`` (compact form)
IdP        each metadata document, by URL               ``sso/urls.json`` + ``sso/*.xml``
=========  ==========================================  ==================================

The emulators then answer the recorded requests with the same objects, and any
other query (another model's, another plan's) from the same snapshot. Which
system an exchange belongs to is told by the configured base URLs; anything else
is an identity provider's metadata.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from casefile.tools.world.emulate_stripe import KINDS

if TYPE_CHECKING:
    from casefile.evals.record import Exchange
    from casefile.tools.settings import ConnectorSettings

__all__ = ["walk_dicts", "world_files"]

# Stripe's ``object`` → the stripe.json collection the emulator serves it from.
_STRIPE = {k.object: k.collection for k in KINDS}
_GITHUB = re.compile(r"^(?:/api/v3)?/repos/(?P<repo>[^/]+/[^/]+)/(?P<rest>.+)$")


def _host(url: str | None) -> str:
    return (urlsplit(url).hostname or "") if url else ""


def walk_dicts(value: Any) -> Iterable[dict[str, Any]]:
    """Every dict in a JSON value, the outer one first, then depth-first."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk_dicts(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_dicts(item)


def _dump(data: Any) -> bytes:
    return (json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n").encode()


def _deep_merge(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        merged = dict(old)
        for key, value in new.items():
            merged[key] = _deep_merge(old.get(key), value) if key in old else value
        return merged
    return new if new is not None else old


def _stripe(answers: Sequence[Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in _STRIPE.values()}
    for answer in answers:
        for obj in walk_dicts(answer):
            collection = _STRIPE.get(str(obj.get("object")))
            if collection and isinstance(obj.get("id"), str):
                # The fullest version wins (an expanded field is an object; elsewhere an id).
                seen = found[collection].get(obj["id"])
                found[collection][obj["id"]] = _deep_merge(seen, obj) if seen else obj
    return {c: sorted(objs.values(), key=lambda o: -int(o.get("created") or 0)) for c, objs in found.items()}


def _linear(answers: Sequence[Any]) -> dict[str, list[dict[str, Any]]]:
    issues: dict[str, dict[str, Any]] = {}
    for answer in answers:
        data = answer.get("data") if isinstance(answer, dict) else None
        for obj in walk_dicts(data):
            if isinstance(obj.get("identifier"), str) and isinstance(obj.get("id"), str):
                issues[obj["id"]] = _deep_merge(issues.get(obj["id"]), obj)
    return {"issues": list(issues.values())}


def _github(exchanges: Sequence[Exchange], repos: Sequence[str]) -> dict[str, Any]:
    out: dict[str, dict[str, Any]] = {
        repo: {"deployments": [], "deployment_statuses": {}, "releases": [], "compares": {}} for repo in repos
    }
    by_id: dict[tuple[str, str], dict[Any, Any]] = {}
    for ex in exchanges:
        match = _GITHUB.match(ex.url.path)
        answer = ex.json()
        if not match or ex.status != 200 or answer is None:
            continue
        repo, rest = match["repo"], match["rest"]
        entry = out.setdefault(
            repo, {"deployments": [], "deployment_statuses": {}, "releases": [], "compares": {}}
        )
        if rest in ("deployments", "releases") and isinstance(answer, list):
            by_id.setdefault((repo, rest), {}).update({item.get("id"): item for item in answer})
        elif (m := re.fullmatch(r"deployments/(\d+)/statuses", rest)) and isinstance(answer, list):
            entry["deployment_statuses"][m[1]] = answer
        elif rest.startswith("compare/") and isinstance(answer, dict):
            entry["compares"][unquote(rest.removeprefix("compare/"))] = answer
    for (repo, kind), items in by_id.items():
        out[repo][kind] = sorted(items.values(), key=lambda i: str(i.get("created_at")), reverse=True)
    return {"repos": out}


def _custom(ticket: Mapping[str, Any], field_id: int | None) -> Any:
    for entry in ticket.get("custom_fields") or []:
        if isinstance(entry, dict) and field_id is not None and entry.get("id") == field_id:
            return entry.get("value")
    return None


def _zendesk(exchanges: Sequence[Exchange], connectors: ConnectorSettings) -> dict[str, Any]:
    zendesk = connectors.zendesk
    tickets: dict[Any, dict[str, Any]] = {}
    last_comment: dict[int, str] = {}
    for ex in exchanges:
        answer = ex.json()
        if ex.status != 200 or not isinstance(answer, dict):
            continue
        for result in answer.get("results") or []:
            if isinstance(result, dict) and result.get("result_type", "ticket") == "ticket":
                tickets[result.get("id")] = result
        if m := re.fullmatch(r"/api/v2/tickets/(\d+)/comments\.json", ex.url.path):
            public = [
                c for c in answer.get("comments") or [] if isinstance(c, dict) and c.get("public", True)
            ]
            if public:
                newest = max(public, key=lambda c: str(c.get("created_at")))
                last_comment[int(m[1])] = str(newest.get("plain_body") or newest.get("body") or "")
    compact = []
    for tid, t in tickets.items():
        compact.append(
            {
                "id": t.get("external_id") or tid,
                "subject": t.get("subject") or "",
                "body": t.get("description") or "",
                "resolution": _custom(t, zendesk.resolution_field_id) or last_comment.get(int(tid or 0)),
                "tags": list(t.get("tags") or []),
                "status": t.get("status") or "solved",
                "created_at": t.get("created_at"),
                "solved_at": t.get("updated_at"),
                "article_url": _custom(t, zendesk.article_field_id),
            }
        )
    return {"tickets": compact}


_HTML_URL = re.compile(r"^(?P<brand>https?://[^/]+)/hc/[^/]+/articles/(?P<id>\d+)(?:-(?P<slug>[^/?#]*))?")


def _helpcenter(exchanges: Sequence[Exchange]) -> dict[str, Any]:
    """Articles from Guide's search results and article reads, in ``helpcenter.json``'s form."""
    articles: dict[int, dict[str, Any]] = {}
    brand_url = None
    for ex in exchanges:
        answer = ex.json()
        if ex.status != 200 or not isinstance(answer, dict):
            continue
        found = [r for r in answer.get("results") or [] if isinstance(r, dict)]
        if isinstance(answer.get("article"), dict):
            found.append(answer["article"])
        for raw in found:
            m = _HTML_URL.match(str(raw.get("html_url") or ""))
            if raw.get("result_type", "article") != "article" or m is None:
                continue
            brand_url = brand_url or m["brand"]
            article = articles.setdefault(int(m["id"]), {"id": int(m["id"]), "slug": m["slug"] or ""})
            for key, value in (
                ("title", raw.get("title") or raw.get("name")),
                ("body", raw.get("body")),
                ("labels", raw.get("label_names")),
                ("section_id", raw.get("section_id")),
                ("locale", raw.get("locale")),
                ("created_at", raw.get("created_at")),
                ("updated_at", raw.get("updated_at")),
            ):
                if value is not None:
                    article[key] = value
    return {"brand_url": brand_url, "articles": list(articles.values())} if articles else {}


def _idp(exchanges: Sequence[Exchange]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    urls: dict[str, str] = {}
    answered = {str(ex.url): ex for ex in exchanges if ex.status == 200}
    for ex in exchanges:
        final = ex
        for _ in range(3):  # the connector follows at most 3 redirects by hand
            location = final.headers.get("location")
            if final.status not in (301, 302, 303, 307, 308) or not location:
                break
            target = answered.get(str(final.url.join(location)))
            if target is None:
                break
            final = target
        if final.status != 200:
            continue
        name = f"metadata-{len(urls) + 1}.xml"
        urls[str(ex.url)] = name
        files[f"sso/{name}"] = final.body
    files["sso/urls.json"] = _dump(urls)
    return files


def world_files(
    exchanges: Sequence[Exchange], connectors: ConnectorSettings, *, accounts: Sequence[Any] = ()
) -> dict[str, bytes]:
    """Relative path → content of the world files that serve ``exchanges``' answers."""
    from casefile.tools.world.emulate_zendesk import HOST as WORLD_ZENDESK

    zendesk = connectors.zendesk
    hosts = {
        _host(connectors.stripe.base_url) or "api.stripe.com": "stripe",
        _host(connectors.linear.url) or "api.linear.app": "linear",
        _host(connectors.github.base_url) or "api.github.com": "github",
        _host(zendesk.base_url)
        or (f"{zendesk.subdomain}.zendesk.com" if zendesk.subdomain else WORLD_ZENDESK): "zendesk",
    }
    by_system: dict[str, list[Exchange]] = {
        "stripe": [],
        "linear": [],
        "github": [],
        "zendesk": [],
        "idp": [],
    }
    by_system["helpcenter"] = []
    for ex in exchanges:
        if ex.method == "GET" or hosts.get(ex.url.host) == "linear":
            system = hosts.get(ex.url.host, "idp")
            # Guide's API shares the helpdesk's host; its own base URL may be a custom domain.
            if ex.url.path.startswith("/api/v2/help_center/") and system in ("zendesk", "idp"):
                system = "helpcenter"
            by_system[system].append(ex)

    def ok(system: str) -> list[Any]:
        return [a for ex in by_system[system] if ex.status == 200 and (a := ex.json()) is not None]

    files = {
        "stripe.json": _dump(_stripe(ok("stripe"))),
        "linear.json": _dump(_linear(ok("linear"))),
        "github.json": _dump(_github(by_system["github"], connectors.github.repos)),
        "tickets.json": _dump(_zendesk(by_system["zendesk"], connectors)),
    }
    help_center = _helpcenter(by_system["helpcenter"])
    if help_center:
        files["helpcenter.json"] = _dump(help_center)
    files.update(_idp(by_system["idp"]))
    del accounts
    return files
