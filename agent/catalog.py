"""The company catalogue: which components a company runs, who owns them, what serves what.

Runbooks, routing and the escalation packet speak of *roles* ("the webhooks
component's repositories", "the owner of the component serving /v1/invoices"),
never of a literal repository or endpoint of one company. The catalogue is
where a company says what those roles are: ``catalog.yaml`` beside
``casefile.toml`` (or a world's own ``catalog.yaml``)::

    version: 1
    product: Example Cloud             # the product's name, for replies (optional)
    components:
      - id: public-api
        kind: api                      # api | webhooks | dashboard | auth | billing | infra
        repos: [example-org/api]       # GitHub repositories whose deploys change it
        paths: [/v2/]                  # request path prefixes it serves
        team: backend                  # routing.yaml team that owns it
    plans:
      metadata_on: product             # product | price: the Stripe object whose metadata holds limits
      limits: {requests_per_minute: api_rpm}   # limit → metadata key
    api_keys:                          # optional: key name ↔ hash as the logs record it
      - {name: "production server", hash: "ak_9f…", account: acct_42, mode: live}

A missing or incomplete catalogue still works: :func:`complete` adds a
component for every configured repository it does not list, its kind guessed
from the repository's name (``…-webhooks`` → webhooks, ``…-docs`` → none), and
:meth:`Catalog.unresolved` says which roles are still unknown, so an
investigation reports it instead of guessing. ``casefile catalog check``
(``agent/catalog_cli.py``) prints ``FILE:LINE: reason`` for each problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field

from casefile.agent.runbooks import Problem, ProblemsError
from casefile.agent.strict import StrictModel

__all__ = [
    "CATALOG_FILE",
    "KINDS",
    "ApiKey",
    "Catalog",
    "CatalogError",
    "Component",
    "PlanLimits",
    "check_catalog",
    "complete",
    "guess_kind",
    "load_catalog",
]

CATALOG_FILE = "catalog.yaml"
Kind = Literal["api", "webhooks", "dashboard", "auth", "billing", "infra", "docs"]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")

# Words in a repository's name that say what it deploys. Ordered: the first kind whose
# words occur wins ("web-api" is an api; "webhook-dispatcher" is webhooks).
_KIND_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("docs", ("docs", "doc", "documentation", "website", "site", "marketing", "blog", "handbook", "www")),
    ("webhooks", ("webhook", "webhooks", "hooks", "hook", "dispatcher", "dispatch", "callbacks", "events")),
    ("auth", ("auth", "sso", "identity", "idp", "login", "iam", "saml", "oauth", "accounts")),
    ("billing", ("billing", "payments", "payment", "invoicing", "invoices", "subscriptions", "stripe")),
    ("api", ("api", "gateway", "server", "backend", "core", "service", "services", "monolith")),
    ("dashboard", ("web", "dashboard", "frontend", "ui", "app", "console", "portal", "admin", "client")),
    ("infra", ("infra", "infrastructure", "terraform", "ops", "platform", "k8s", "helm", "deploy")),
)


class Component(StrictModel):
    """Something the company runs: what kind, deployed from where, serving which paths, owned by whom."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    kind: Kind
    repos: list[str] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list, description="request path prefixes, e.g. /v2/orders")
    team: str | None = Field(default=None, description="routing.yaml team that owns it")
    description: str = ""
    inferred: bool = Field(default=False, description="guessed from a repository name, not declared")

    def serves(self, path: str) -> int:
        """Length of the longest declared prefix of ``path`` (0: not served by this component)."""
        return max((len(p) for p in self.paths if _prefix(p, path)), default=0)


class PlanLimits(StrictModel):
    """Where a plan's limits live in Stripe, and under which metadata keys."""

    metadata_on: Literal["product", "price"] = "product"
    limits: dict[str, str] = Field(
        default_factory=dict, description="limit name → metadata key, e.g. requests_per_minute: api_rpm"
    )


class ApiKey(StrictModel):
    name: str
    hash: str = Field(min_length=4)
    account: str | None = None
    mode: Literal["live", "test"] | None = None
    revoked: bool = False


class Catalog(StrictModel):
    """The parsed catalogue, with role look-ups. ``Catalog()`` is the empty (unknown) company."""

    version: Literal[1] = 1
    product: str | None = None
    components: list[Component] = Field(default_factory=list)
    plans: PlanLimits = Field(default_factory=PlanLimits)
    api_keys: list[ApiKey] = Field(default_factory=list)
    path: str = ""

    @property
    def declared(self) -> bool:
        return any(not c.inferred for c in self.components)

    def of_kind(self, kind: str) -> list[Component]:
        return [c for c in self.components if c.kind == kind]

    def repos_of(self, kind: str) -> list[str]:
        return _unique(r for c in self.of_kind(kind) for r in c.repos)

    def for_repo(self, repo: str) -> list[Component]:
        low = repo.lower()
        return [c for c in self.components if low in {r.lower() for r in c.repos}]

    def for_path(self, path: str | None) -> Component | None:
        """The component serving ``path`` (longest declared prefix), if the catalogue says."""
        if not path:
            return None
        best = max(self.components, key=lambda c: c.serves(path), default=None)
        return best if best is not None and best.serves(path) else None

    def owner(self, kind: str, path: str | None = None) -> str | None:
        """The team owning the component serving ``path``, else the first owned component of ``kind``."""
        served = self.for_path(path)
        if served is not None and served.team:
            return served.team
        return next((c.team for c in self.of_kind(kind) if c.team), None)

    def key(self, key_hash: str | None) -> ApiKey | None:
        return next((k for k in self.api_keys if key_hash and k.hash == key_hash), None)

    def unresolved(self, kinds: Iterable[str]) -> list[str]:
        """A sentence for each role the catalogue (declared or inferred) cannot resolve."""
        notes = []
        for kind in kinds:
            found = self.of_kind(kind)
            if not found:
                notes.append(
                    f"no {kind} component is known (no catalogue entry, no repository named like one)"
                )
            elif not any(c.repos for c in found):
                notes.append(f"the {kind} component has no repository, so its deploys cannot be checked")
        return notes

    def roles(self) -> dict[str, dict[str, Any]]:
        """Every kind → its repositories, path prefixes, owning team: what runbook templates see."""
        return {
            kind: {
                "repos": self.repos_of(kind),
                "paths": _unique(p for c in self.of_kind(kind) for p in c.paths),
                "team": self.owner(kind),
                "components": [c.id for c in self.of_kind(kind)],
            }
            for kind in KINDS
        }


class CatalogError(ProblemsError):
    """A catalogue file that cannot be used."""


def _prefix(prefix: str, path: str) -> bool:
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/") or (not prefix and path.startswith("/"))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]


def guess_kind(repo: str) -> str | None:
    """What a repository deploys, judged by its name only (``None``: the name does not say)."""
    words = _words(repo.rsplit("/", 1)[-1])
    for kind, hints in _KIND_WORDS:
        if any(w in hints or (len(h) > 4 and h in w) for w in words for h in hints):
            return kind
    return None


def complete(catalog: Catalog, repos: Sequence[str]) -> Catalog:
    """The catalogue plus an inferred component for every configured repository it does not list."""
    known = {r.lower() for c in catalog.components for r in c.repos}
    added = []
    for repo in repos:
        if repo.lower() in known:
            continue
        kind = guess_kind(repo)
        if kind is None:
            continue
        added.append(
            Component(
                id=re.sub(r"[^a-z0-9_.-]+", "-", repo.lower()),
                kind=kind,  # type: ignore[arg-type]
                repos=[repo],
                description=f"inferred from the repository name {repo}",
                inferred=True,
            )
        )
    if not added:
        return catalog
    return catalog.model_copy(update={"components": [*catalog.components, *added]})


# ---------------------------------------------------------------- loading and checking


def _semantics(
    catalog: Catalog, node: yaml.Node | None, name: str, teams: Iterable[str] | None
) -> list[Problem]:
    from casefile.agent.runbooks.check import line_of as _line_of

    problems: list[Problem] = []
    team_names = set(teams) if teams is not None else None

    def problem(path: Sequence[str | int], reason: str) -> None:
        problems.append(Problem(name, _line_of(node, path, 1), reason))

    seen: dict[str, int] = {}
    for i, component in enumerate(catalog.components):
        if component.id in seen:
            problem(["components", i, "id"], f"duplicate component id {component.id!r}")
        seen.setdefault(component.id, i)
        for j, repo in enumerate(component.repos):
            if not _REPO.match(repo):
                problem(["components", i, "repos", j], f"{repo!r} is not owner/name")
        for j, prefix in enumerate(component.paths):
            if not prefix.startswith("/"):
                problem(["components", i, "paths", j], f"path prefix {prefix!r} must start with /")
        if component.team and team_names is not None and component.team not in team_names:
            problem(
                ["components", i, "team"],
                f"unknown team {component.team!r}; routing.yaml teams: {', '.join(sorted(team_names))}",
            )
        if component.inferred:
            problem(["components", i, "inferred"], "inferred is set by casefile, not written in a catalogue")
    hashes: dict[str, int] = {}
    for i, api_key in enumerate(catalog.api_keys):
        if api_key.hash in hashes:
            problem(["api_keys", i, "hash"], f"hash already listed for key #{hashes[api_key.hash] + 1}")
        hashes.setdefault(api_key.hash, i)
    for limit, metadata_key in catalog.plans.limits.items():
        if not metadata_key.strip():
            problem(["plans", "limits", limit], "empty metadata key")
    return problems


def check_catalog(path: Path, teams: Iterable[str] | None = None) -> tuple[Catalog | None, list[Problem]]:
    """Parse and validate a catalogue file: the catalogue (when usable) and every problem, with its line."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(name, 0, f"cannot read the catalogue: {exc}")]
    from casefile.agent.runbooks.check import read_model

    catalog, node, problems = read_model(
        Catalog,
        text,
        name,
        "catalogue must be a mapping (version, components, plans, api_keys)",
        empty_ok=True,
    )
    if catalog is None:
        return None, problems
    return catalog, _semantics(catalog, node, name, teams)


def load_catalog(path: Path | None) -> Catalog:
    """The catalogue at ``path`` (an empty one when ``path`` is None); any problem raises :class:`CatalogError`."""
    if path is None:
        return Catalog()
    catalog, problems = check_catalog(Path(path))
    if problems or catalog is None:
        raise CatalogError(problems)
    return catalog
