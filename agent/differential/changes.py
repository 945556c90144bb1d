"""Change correlation: which deploy could have caused this, and which are ruled out, and why.

A deploy is a suspect only when it went live shortly *before* the onset AND it
touched what serves the failing component: the catalogue says which component a
repository deploys and which paths it serves; without a catalogue, the deploy's
changed files are compared with the failing endpoint's path words, and a change
that only touched documentation, tests, changelogs or translations is ruled out
whatever its timing. Every deploy considered and ruled out is reported, so a
diagnosis can say "v3.2 (docs only) is not the cause".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from casefile.agent.catalog import Catalog
from casefile.agent.differential.evidence import Evidence
from casefile.agent.differential.queries import path_words, stems, terms
from casefile.tools.base import parse_ts
from casefile.tools.deploys_results import Deployment

__all__ = ["Change", "ChangeVerdict", "correlate", "echoed", "inert_file", "stacks_served"]

# A deploy this close before the onset is a strong suspect; up to CHANGE_LOOKBACK a weak one.
TIGHT = timedelta(minutes=120)
LOOKBACK = timedelta(hours=6)
_INERT = re.compile(
    r"(?:^|/)(?:docs?|documentation|tests?|spec|__tests__|\.github|examples?|locales?|i18n|translations?|fixtures)/"
    r"|(?:^|/)(?:README|CHANGELOG|CHANGES|HISTORY|LICENSE|CONTRIBUTING|CODEOWNERS|AUTHORS)[^/]*$"
    r"|\.(?:md|mdx|rst|txt|adoc|po|pot|png|jpe?g|gif|svg|ico)$|(?:^|/)test_[^/]+$|_test\.\w+$|\.test\.\w+$|\.spec\.\w+$",
    re.IGNORECASE,
)


def inert_file(name: str) -> bool:
    """A changed file that cannot change how the service behaves (docs, tests, copy, changelogs)."""
    return bool(_INERT.search(name))


@dataclass
class ChangeVerdict:
    deploy: Deployment
    minutes_before: float
    relevance: Literal["touched", "component", "possible", "ruled_out"]
    reason: str
    compare_call: str | None = None
    touched: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.deploy.label


@dataclass
class Change:
    """The change picture around an onset: the suspect (if any) and what was ruled out."""

    suspect: ChangeVerdict | None
    ruled_out: list[ChangeVerdict]
    considered: int

    def ruled_out_text(self) -> str:
        return "; ".join(f"{v.label}: {v.reason}" for v in self.ruled_out)


def _verdict(
    deploy: Deployment,
    evidence: Evidence,
    catalog: Catalog,
    kind: str,
    path: str | None,
    words: list[str],
    before: timedelta,
) -> ChangeVerdict:
    minutes = before.total_seconds() / 60
    components = catalog.for_repo(deploy.repo)
    declared = {c.kind for c in components if not c.inferred}
    guessed = {c.kind for c in components if c.inferred}
    serving = catalog.for_path(path)
    if declared and kind not in declared and (serving is None or deploy.repo not in serving.repos):
        return ChangeVerdict(
            deploy, minutes, "ruled_out", f"deploys the {'/'.join(sorted(declared))} component, not {kind}"
        )
    if serving is not None and serving.repos and deploy.repo not in serving.repos and not serving.inferred:
        return ChangeVerdict(
            deploy, minutes, "ruled_out", f"{path} is served by {serving.id}, not this repository"
        )
    if "docs" in guessed and not declared:
        return ChangeVerdict(deploy, minutes, "ruled_out", "a documentation or website repository")
    own = kind in declared or kind in guessed or (serving is not None and deploy.repo in serving.repos)
    compare = evidence.compares.get(deploy.sha)
    if compare is not None:
        files = [f.filename for f in compare.data.files]
        live = [f for f in files if not inert_file(f)]
        if files and not live:
            return ChangeVerdict(
                deploy, minutes, "ruled_out", "changed only documentation, tests or copy", compare.call_id
            )
        hit = [f for f in live if any(_stem(w) in f.lower() for w in words)]
        if hit:
            return ChangeVerdict(
                deploy, minutes, "touched", f"changed {', '.join(hit[:3])}", compare.call_id, hit
            )
        if own and (kind != "api" or not words):
            return ChangeVerdict(
                deploy, minutes, "component", f"changed the {kind} component's code", compare.call_id
            )
        if files:
            return ChangeVerdict(
                deploy,
                minutes,
                "possible",
                f"changed {', '.join(live[:2])}, nothing named like {' or '.join(words[:3]) or kind}",
                compare.call_id,
            )
    if kind in declared or (serving is not None and deploy.repo in serving.repos and not serving.inferred):
        return ChangeVerdict(deploy, minutes, "component", f"deploys the {kind} component")
    if guessed and kind not in guessed:
        return ChangeVerdict(
            deploy, minutes, "possible", f"named like a {'/'.join(sorted(guessed))} repository"
        )
    return ChangeVerdict(deploy, minutes, "possible", "a deploy whose relevance could not be checked")


def stacks_served(evidence: Evidence) -> set[str]:
    """The stacks of production (named by deploys' environments: ``production-eu`` → ``eu``) that serve the
    account: those its requests' regions name as a word (``eu-west-1``). Empty when none is named, or
    the account's regions are not known: then no deploy is set aside for its stack."""
    stacks = {d.stack for d in evidence.deploys.data.deployments if d.stack} if evidence.deploys else set()
    words = {w for region in evidence.regions() for w in re.split(r"[^a-z0-9]+", region.lower()) if w}
    return stacks & words


# What an operation name does rather than what it is about ("SearchSlots", "ListPatients").
_VERBS = frozenset(
    [
        "get",
        "list",
        "search",
        "find",
        "fetch",
        "query",
        "create",
        "add",
        "new",
        "insert",
        "update",
        "set",
        "edit",
        "patch",
        "put",
        "delete",
        "remove",
        "submit",
        "send",
        "post",
        "do",
        "run",
        "check",
    ]
)


def _named(path: str | None) -> list[str]:
    """The path's words, and the nouns of its CamelCase operation names (``/gql/op/SearchSlots``
    → ``slots``; ``/rpc/Employee.Import`` → ``employee``): the code that serves an operation is filed
    under what it is about, not under the operation's whole name."""
    parts = [
        w.lower()
        for segment in (path or "").split("/")
        if not segment.startswith(("{", ":"))
        for w in re.findall(r"[A-Z][a-z0-9]+", segment)
        if len(w) > 3
    ]
    return [*path_words(path), *(w for w in parts if w not in _VERBS)]


def _stem(word: str) -> str:
    """``shipments`` → ``shipment``, ``invoices`` → ``invoice``: file names use either."""
    return word[:-1] if len(word) > 4 and word.endswith("s") else word


def correlate(
    evidence: Evidence,
    catalog: Catalog,
    onset: datetime | None,
    kind: str = "api",
    path: str | None = None,
    hints: Iterable[str] = (),
) -> Change:
    """The suspect deploy for trouble of ``kind`` (on ``path``) that began at ``onset``, and the ruled out.

    ``hints`` are words a relevant change's files would carry besides the path's
    (``ratelimit`` for 429s, ``auth`` for 401s).
    """
    words = list(dict.fromkeys([*_named(path), *hints, *([kind] if kind != "api" else [])]))
    if evidence.deploys is None or onset is None:
        return Change(None, [], 0)
    verdicts: list[ChangeVerdict] = []
    served = stacks_served(evidence)
    for deploy in evidence.deploys.data.deployments:
        at = parse_ts(deploy.created_at)
        if not deploy.live or at is None:
            continue
        before = onset - at
        elsewhere = served and deploy.stack is not None and deploy.stack not in served
        if elsewhere and timedelta(hours=-2) < before <= LOOKBACK:
            verdicts.append(
                ChangeVerdict(
                    deploy,
                    before.total_seconds() / 60,
                    "ruled_out",
                    f"reached {deploy.environment}, not the stack serving this account ({', '.join(evidence.regions())})",
                )
            )
        elif timedelta(0) <= before <= LOOKBACK:
            verdicts.append(_verdict(deploy, evidence, catalog, kind, path, words, before))
        elif timedelta(hours=-2) < before < timedelta(0):
            verdicts.append(
                ChangeVerdict(
                    deploy, before.total_seconds() / 60, "ruled_out", "went live after the errors began"
                )
            )
    order = {"touched": 0, "component": 1, "possible": 2}
    candidates = [
        v
        for v in verdicts
        if v.relevance in order
        and (v.minutes_before <= TIGHT.total_seconds() / 60 or v.relevance == "touched")
    ]
    candidates.sort(key=lambda v: (order[v.relevance], v.minutes_before))
    suspect = candidates[0] if candidates else None
    ruled_out = [v for v in verdicts if v.relevance == "ruled_out"]
    return Change(suspect, ruled_out, len(verdicts))


# Words of commit messages that say nothing about what changed.
_CHANGE_NOISE = frozenset(
    [
        "add",
        "added",
        "adds",
        "fix",
        "fixes",
        "fixed",
        "update",
        "updated",
        "bump",
        "deps",
        "dependency",
        "dependencies",
        "refactor",
        "cleanup",
        "chore",
        "release",
        "merge",
        "revert",
        "use",
        "uses",
        "new",
        "old",
        "test",
        "tests",
        "docs",
        "readme",
        "support",
        "allow",
        "accept",
        "return",
        "returns",
        "keep",
        "when",
        "with",
        "from",
        "into",
        "service",
        "services",
        "internal",
        "src",
        "lib",
        "pkg",
        "main",
        "index",
    ]
)


def echoed(evidence: Evidence, verdict: ChangeVerdict, ticket_text: str, path: str | None) -> list[str]:
    """The ticket's own words that the deploy's commit messages or changed files also carry.

    Beyond the failing endpoint's name (which any deploy of that endpoint shares): a
    customer who writes "orders where we attach metadata" about a deploy that changed
    ``intents/metadata.go`` describes that change without knowing it.
    """
    compare = evidence.compares.get(verdict.deploy.sha)
    if compare is None:
        return []
    text = " ".join(
        [
            *(c.message for c in compare.data.commits),
            *(f.filename for f in compare.data.files if not inert_file(f.filename)),
        ]
    )
    # The repository's own name is what a customer blaming "your sync workers" names: not a description.
    named = stems(re.split(r"[^a-z0-9]+", verdict.deploy.repo.lower()))
    changed = stems(w for w in re.split(r"[^a-z0-9]+", text.lower()) if len(w) > 3) - _CHANGE_NOISE - named
    said = stems(terms(ticket_text)) - stems(path_words(path)) - _CHANGE_NOISE
    return sorted(changed & said)
