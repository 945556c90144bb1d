"""Applying runbooks to a ticket: which runbooks its triggers match, and which findings hold over
the results of their plans."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from casefile.agent.runbooks.model import Finding, Runbook
from casefile.agent.signals.pasted import prose
from casefile.agent.templating import compiled_expression, render_value
from casefile.agent.ticket import Signals, Ticket

__all__ = ["Holding", "Match", "evaluate", "match_runbooks", "runbook_context"]


@dataclass
class Match:
    runbook: Runbook
    score: int
    reasons: list[str] = field(default_factory=list)


def match_runbooks(runbooks: Iterable[Runbook], ticket: Ticket, signals: Signals) -> list[Match]:
    """Runbooks whose triggers hit, best first (by the number of distinct hits). Their words are
    looked for in what the customer wrote, not in output they pasted (its codes are signals)."""
    text = prose(ticket.full_text())
    matches: list[Match] = []
    for runbook in runbooks:
        reasons = runbook.triggers.hits(text, signals)
        if reasons:
            matches.append(Match(runbook, len(reasons), reasons))
    # A runbook that runs on every ticket chose nothing about this one: it never leads.
    matches.sort(key=lambda m: (m.runbook.triggers.always, -m.score, m.runbook.id))
    return matches


# ---------------------------------------------------------------- findings


@dataclass
class Holding:
    """A finding whose condition held, rendered against the results."""

    runbook: Runbook
    finding: Finding
    statement: str
    summary: str
    reply: str
    note: str
    evidence: list[dict[str, str | None]]
    component: str | None = None


def runbook_context(runbook: Runbook, base: Mapping[str, Any], results: Mapping[str, Any]) -> dict[str, Any]:
    """The names a runbook's templates see: base facts, its steps' results, then its ``let`` values."""
    context = {**base, **{s.id: None for s in runbook.plan}, **results}
    for name, expression in runbook.let.items():
        try:
            context[name] = compiled_expression(expression)(**context)
        except Exception:  # an expression over a missing result is simply undefined
            context[name] = None
    return context


def evaluate(runbook: Runbook, context: Mapping[str, Any]) -> list[Holding]:
    """Every finding of ``runbook`` whose condition holds, highest priority first.

    ``context`` is what :func:`runbook_context` returns.
    """
    held: list[Holding] = []
    for finding in sorted(runbook.findings, key=lambda f: -f.priority):
        try:
            holds = bool(compiled_expression(finding.when)(**context))
        except Exception:  # a runbook expression over a missing value is simply false
            holds = False
        if not holds:
            continue
        evidence = []
        for ev in finding.evidence:
            value = render_value(ev.value, context)
            if value in (None, ""):
                continue
            evidence.append(
                {
                    "step": ev.step,
                    "value": str(value),
                    "field": ev.field,
                    "claim": str(render_value(ev.claim, context)),
                }
            )
        statement = str(render_value(finding.statement, context))
        held.append(
            Holding(
                runbook=runbook,
                finding=finding,
                statement=statement,
                summary=str(render_value(finding.summary, context)) if finding.summary else statement,
                reply=str(render_value(finding.reply, context)).strip(),
                note=str(render_value(finding.note, context)).strip(),
                evidence=evidence,
                # The component may be a template too ("{{ hot_path.path if hot_path else 'api' }}").
                component=str(render_value(finding.component, context)).strip() or None
                if finding.component
                else None,
            )
        )
    return held
