"""Slowness: one account, one region (a CDN edge, a data center) or the whole platform.

An account's p95 against its own baseline (each endpoint too: one can crawl while the account-wide
figure barely moves), the platform's anonymous per-account ratios (three slow accounts are the
platform), and the same per region: a region where every account served there is slower than its own
baseline is a platform problem there, whatever the platform-wide figures say.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from casefile.agent.differential.evidence import (
    PLATFORM_ACCOUNTS,
    PLATFORM_SLOW,
    SLOWED,
    Cited,
    Evidence,
    slowed_endpoint,
)
from casefile.agent.differential.model import Hypothesis
from casefile.agent.differential.sources import account_name

if TYPE_CHECKING:
    from casefile.agent.models.base import LoopState
    from casefile.tools.logs_results import EndpointLatency, Latency, RegionLatency

__all__ = ["latency_causes", "slow_region"]


def slow_region(mine: Cited[Latency], everyone: Cited[Latency]) -> tuple[RegionLatency, RegionLatency] | None:
    """A region (a CDN edge, a data center) where this account is at twice its own baseline or more and
    nearly every account served there (two at least) is slower than its own: a platform problem there,
    whatever the platform-wide figures say. ``(the platform's region, the account's)``."""
    here = {r.region: r for r in mine.data.by_region if r.requests >= 20 and r.p95_ms and r.baseline_p95_ms}
    found = [
        (r, here[r.region])
        for r in everyone.data.by_region
        if r.region in here
        and r.slow_accounts >= 2
        and r.slow_accounts >= 0.8 * r.accounts
        and (here[r.region].p95_ms or 0) >= 2 * (here[r.region].baseline_p95_ms or 0)
    ]
    return max(found, key=lambda f: f[0].top_ratio or 0.0, default=None)


def _slowest_path(mine: Cited[Latency]) -> EndpointLatency | None:
    """The account's endpoint whose p95 rose most against its own baseline."""
    return max(
        (e for e in mine.data.by_endpoint if e.p95_ms and e.baseline_p95_ms and e.path),
        key=lambda e: (e.p95_ms or 0) / (e.baseline_p95_ms or 1),
        default=None,
    )


def _endpoint_everywhere(evidence: Evidence, worst: EndpointLatency | None) -> Cited[Latency] | None:
    """The platform's latency on the account's slowed endpoint, when enough accounts are at twice their
    own baseline there or more (this account and two others at least): that endpoint is slow for everyone."""
    along = evidence.latency_endpoint
    if worst is None or along is None or {e.path for e in along.data.by_endpoint} - {worst.path}:
        return None
    # Doubled, as the account's own endpoint: a few requests' p95 at 1.8× is the noise of a quiet endpoint.
    slow = [r for r in along.data.p95_ratios if r >= SLOWED]
    return along if len(slow) >= PLATFORM_ACCOUNTS else None


def _endpoint_platform(
    state: LoopState, mine: Cited[Latency], along: Cited[Latency], worst: EndpointLatency
) -> Hypothesis:
    """One endpoint slow for every account that calls it: the platform's, whatever the overall figures say."""
    slow = sorted((r for r in along.data.p95_ratios if r >= SLOWED), reverse=True)
    return Hypothesis(
        category="performance_platform",
        confidence=0.75,
        statement=(
            f"{worst.path} is slow for every account that calls it, not only {account_name(state)}: {len(slow)} "
            f"accounts' p95 there is at least {SLOWED:g}× their own baseline (up to {slow[0]:g}×); this "
            f"account's is {worst.p95_ms:g} ms against {worst.baseline_p95_ms:g} ms before, while its other "
            "endpoints are at their usual latency."
        ),
        summary=f"Platform slowness on {worst.path}, for every account that calls it.",
        component=f"{worst.path} (platform-wide)",
        reasons=[
            "the account's slowed endpoint is as slow for the other accounts that call it",
            "the overall latency hides it: the endpoint is a small share of the traffic",
        ],
        evidence=mine.cite(worst.path, "the account's slowed endpoint")
        + mine.cite(f"{worst.p95_ms:g}" if worst.p95_ms else None, "its p95 in ms")
        + along.cite(slow[0], f"one account's p95 on {worst.path} is {slow[0]:g}× its own baseline"),
        action="escalate",
        reply=(
            f"Thanks for reporting this. We can confirm that {worst.path} is answering much more slowly than usual "
            "for every customer that calls it, not only for your account; our on-call engineers are investigating."
        ),
    )


def latency_causes(state: LoopState, evidence: Evidence) -> list[Hypothesis]:
    mine, everyone = evidence.latency, evidence.latency_all
    if mine is None or mine.data.p95_ms is None or not mine.data.baseline.p95_ms:
        return []
    ratio = mine.data.p95_ms / mine.data.baseline.p95_ms
    # The platform view gives each account's p95 against its own baseline, anonymously (older
    # results named the accounts).
    ratios = (
        (everyone.data.p95_ratios or [a.ratio or 0.0 for a in everyone.data.accounts]) if everyone else []
    )
    slow = sorted((r for r in ratios if r >= PLATFORM_SLOW), reverse=True)
    # What the customer waits on: the account's endpoint that slowed most against its own baseline,
    # when it did slow down (not the noise of an account the slowdown spared).
    worst_path = _slowest_path(mine)
    if worst_path is not None and (worst_path.p95_ms or 0) < 1.5 * (worst_path.baseline_p95_ms or 0):
        worst_path = None
    if len(slow) >= PLATFORM_ACCOUNTS and everyone is not None:
        return [
            Hypothesis(
                category="performance_platform",
                confidence=0.75,
                statement=f"Latency is up across the platform: {len(slow)} accounts have a p95 at least 1.5× their baseline"
                + (
                    f"; {account_name(state)}'s slowest is {worst_path.path} (p95 {worst_path.p95_ms:g} ms against "
                    f"{worst_path.baseline_p95_ms:g} ms before)"
                    if worst_path
                    else ""
                )
                + ".",
                summary="Platform-wide slowness.",
                component="api (platform-wide)",
                evidence=mine.cite(worst_path.path if worst_path else None, "the account's slowest endpoint")
                + everyone.cite(
                    slow[0] if everyone.data.p95_ratios else None,
                    f"one account's p95 is {slow[0]:g}× its own baseline",
                )
                + mine.cite(
                    mine.data.slowest[0].trace_id if mine.data.slowest else None,
                    f"trace of {account_name(state)}'s slowest request",
                ),
                action="escalate",
                reply="Thanks for reporting this. We can confirm elevated response times across our API, not only for your account; our on-call engineers are investigating.",
            )
        ]
    edge = slow_region(mine, everyone) if everyone is not None else None
    if edge is not None and everyone is not None:
        theirs, here = edge
        return [
            Hypothesis(
                category="performance_platform",
                confidence=0.75,
                statement=(
                    f"Latency is up where {account_name(state)}'s requests are served from {theirs.region}: "
                    f"{theirs.slow_accounts} of the {theirs.accounts} accounts served there are slower than their own "
                    f"baseline (up to {theirs.top_ratio:g}×), and this account's p95 there is {here.p95_ms:g} ms "
                    f"against {here.baseline_p95_ms:g} ms before"
                    + (f" (slowest: {worst_path.path})" if worst_path else "")
                    + "; elsewhere the platform is at its usual latency."
                ),
                summary=f"Slowness in one region ({theirs.region}) for every account it serves.",
                component=f"{theirs.region} (platform)",
                reasons=[
                    "every account served from that region is slower than its own baseline",
                    "other regions are at their usual latency",
                ],
                evidence=everyone.cite(
                    theirs.region, f"{theirs.slow_accounts} of {theirs.accounts} accounts slower there"
                )
                + mine.cite(worst_path.path if worst_path else None, "the account's slowest endpoint"),
                action="escalate",
                reply=(
                    "Thanks for reporting this. We can confirm elevated response times in the region that serves "
                    "your requests, for every customer served there, not only for your account; our on-call "
                    "engineers are investigating."
                ),
            )
        ]
    # One endpoint can crawl while the account-wide p95 barely moves: look at each endpoint too.
    own = mine.data
    worst = slowed_endpoint(own)
    along = _endpoint_everywhere(evidence, worst)
    if along is not None and worst is not None:
        return [_endpoint_platform(state, mine, along, worst)]
    if ratio < 1.5 and worst is None:
        return []
    if worst is None:
        worst = max(mine.data.by_endpoint, key=lambda e: e.p95_ms or 0, default=None)
    where = (
        f"{worst.path}: p95 {worst.p95_ms:.0f} ms against {worst.baseline_p95_ms:.0f} ms before"
        if worst and worst.p95_ms and worst.baseline_p95_ms
        else f"p95 {mine.data.p95_ms:.0f} ms against a baseline of {mine.data.baseline.p95_ms:.0f} ms"
    )
    return [
        Hypothesis(
            category="performance_account",
            confidence=0.7,
            statement=f"Only {account_name(state)} is slow: {where}; other accounts are at their usual latency.",
            summary="Slowness limited to this account"
            + (f" on {worst.path}." if worst and worst.path else "."),
            component=(worst.path if worst else None) or "api",
            reasons=["the account's latency is well above its own baseline", "no wider slowdown"],
            evidence=mine.cite(worst.path if worst else None, "the slowest endpoint")
            + mine.cite(
                f"{worst.p95_ms:g}" if worst and worst.p95_ms else None,
                "its p95 in ms",
            ),
            action="escalate",
            team=state.catalog.owner("api", worst.path if worst else None),
            reply=(
                "Thanks for reporting this. Your requests"
                + (f" to {worst.path}" if worst and worst.path else "")
                + " have been much slower than usual while the rest of the platform is normal; our backend team is "
                "looking into it with traces of the slowest calls. We'll update you shortly."
            ),
        )
    ]
