"""The weekly review: the window's figures and what to change, as Markdown and as a Slack message.

**One suggestion per cause.** Each bounced escalation has one cause, the lever that sent it to
engineering: the trigger rule that forced it; else the runbook that led the investigation (its
findings did not resolve it); else routing's decision for its category. Bounces are grouped by
that lever, so a bounce yields one suggestion (not one per runbook, rule and symptom it touched),
and the suggestions are ranked by how many escalations each would have prevented (the bounced
ones behind it), then by how many escalations went through the lever.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Literal

from pydantic import BaseModel, Field

from casefile.agent.metrics.history import DECISION_RULE, HistoryRow
from casefile.agent.metrics.model import MetricsReport
from casefile.agent.store import FeedbackRecord

__all__ = [
    "Cause",
    "Preventable",
    "Suggestion",
    "WeeklyReview",
    "build_review",
    "cause_of",
    "render_markdown",
    "render_slack",
    "suggestions",
]

Lever = Literal["trigger", "runbook", "routing"]


class Suggestion(BaseModel):
    """What to change, once per cause."""

    lever: Lever = Field(description="trigger rule, runbook, or routing's decision for a category")
    name: str
    prevented: int = Field(description="bounced escalations this change would have prevented")
    escalations: int = Field(description="escalations that went through this lever in the window")
    articles: list[str] = Field(default_factory=list, description="what solved them, most used first")
    text: str


class Preventable(BaseModel):
    investigation_id: str
    ticket_id: str
    team: str | None
    category: str
    article: str | None
    note: str | None


class WeeklyReview(BaseModel):
    metrics: MetricsReport
    suggestions: list[Suggestion]
    preventable: list[Preventable]


class Cause(BaseModel):
    """An escalation, reduced to what decides its cause."""

    id: str
    trigger: str | None = Field(description="the trigger rule that forced it, if one did")
    runbooks: list[str]
    category: str

    @property
    def lever(self) -> tuple[Lever, str]:
        if self.trigger:
            return "trigger", self.trigger
        if self.runbooks:
            return "runbook", self.runbooks[0]
        return "routing", self.category


def cause_of(row: HistoryRow) -> Cause | None:
    """The cause of an escalation in the history; None for a resolved investigation."""
    if not row.escalated:
        return None
    trigger = row.rule if row.rule != DECISION_RULE else None
    return Cause(id=row.id, trigger=trigger, runbooks=row.runbooks, category=row.category)


def _text(lever: Lever, name: str, category: str, article: str | None) -> str:
    answer = f" with {article}" if article else ""
    if lever == "trigger":
        return (
            f"narrow trigger rule {name} (its matchers, or an `unless` fact in routing.yaml): "
            f"support solved these{answer}"
        )
    if lever == "runbook":
        return f"add a finding to runbook {name} that resolves {category}{answer}"
    return f"let routing resolve {category} when the evidence is there (its resolve threshold){answer}"


def suggestions(causes: list[Cause], bounces: dict[str, FeedbackRecord]) -> list[Suggestion]:
    """One suggestion per cause of the bounced escalations among ``causes``, most prevented first."""
    through: Counter[tuple[Lever, str]] = Counter(c.lever for c in causes)
    bounced: dict[tuple[Lever, str], list[Cause]] = defaultdict(list)
    for cause in causes:
        if cause.id in bounces:
            bounced[cause.lever].append(cause)
    out = []
    for (lever, name), group in bounced.items():
        articles = Counter(a for a in (bounces[c.id].article for c in group) if a)
        category = Counter(c.category for c in group).most_common(1)[0][0]
        top = articles.most_common(1)[0][0] if articles else None
        out.append(
            Suggestion(
                lever=lever,
                name=name,
                prevented=len(group),
                escalations=through[(lever, name)],
                articles=[a for a, _ in articles.most_common()],
                text=_text(lever, name, category, top),
            )
        )
    return sorted(out, key=lambda s: (-s.prevented, -s.escalations, s.lever, s.name))


def build_review(
    report: MetricsReport, rows: list[HistoryRow], bounces: dict[str, FeedbackRecord]
) -> WeeklyReview:
    preventable = [
        Preventable(
            investigation_id=r.id,
            ticket_id=r.ticket_id,
            team=r.team,
            category=r.category,
            article=bounces[r.id].article,
            note=bounces[r.id].note,
        )
        for r in rows
        if r.escalated and r.id in bounces
    ]
    causes = [c for c in map(cause_of, rows) if c is not None]
    return WeeklyReview(metrics=report, suggestions=suggestions(causes, bounces), preventable=preventable)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def render_markdown(review: WeeklyReview) -> str:
    """The review as a Markdown file."""
    from casefile.agent.metrics.escalations import human_duration, iso_seconds

    m, t = review.metrics, review.metrics.total
    out = [
        f"# Weekly support review: {iso_seconds(m.since)} → {iso_seconds(m.until)}",
        "",
        "| figure | value |",
        "|---|---|",
        f"| investigations | {t.investigations} |",
        f"| escalation rate | {_pct(t.escalation_rate)} ({t.escalations}) |",
        f"| investigation time p50 / p95 | {human_duration(t.investigation_time_s.p50)} / {human_duration(t.investigation_time_s.p95)} |",
        f"| time to escalation p50 / p95 | {human_duration(t.time_to_escalation_s.p50)} / {human_duration(t.time_to_escalation_s.p95)} |",
        f"| bounce rate | {_pct(t.bounce_rate)} ({t.bounced} of {t.escalations}) |",
        f"| first-contact resolution | {_pct(t.fcr_rate)} ({t.outcome_unknown} unknown) |",
        f"| resolved without engineering | {_pct(t.resolved_without_engineering_share)} |",
        "",
        "## What to change",
        "",
        "One suggestion per cause, the most escalations prevented first.",
        "",
    ]
    if not review.suggestions:
        out.append("Nothing bounced back this week.")
    for i, s in enumerate(review.suggestions, start=1):
        out.append(
            f"{i}. **{s.lever} {s.name}**: would have prevented {s.prevented} of its {s.escalations} "
            f"escalation(s). {s.text[0].upper()}{s.text[1:]}."
        )
    out += [
        "",
        "## Escalations by team",
        "",
        "| team | escalations | bounced | bounce rate |",
        "|---|---|---|---|",
    ]
    out += [f"| {s.key} | {s.escalations} | {s.bounced} | {_pct(s.bounce_rate)} |" for s in m.by_team]
    if review.preventable:
        out += ["", "## Bounced back", ""]
        for p in review.preventable:
            why = f": {p.note}" if p.note else ""
            out.append(
                f"- `{p.investigation_id}` ticket {p.ticket_id} → {p.team} ({p.category}), {p.article or 'no article'}{why}"
            )
    if m.notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in m.notes]
    return "\n".join(out) + "\n"


def render_slack(review: WeeklyReview, *, top: int = 3) -> str:
    """The compact message for the channel (Slack mrkdwn): the headline and the top suggestions."""
    m, t = review.metrics, review.metrics.total
    lines = [
        f"*Weekly support review* ({m.since:%Y-%m-%d} → {m.until:%Y-%m-%d})",
        f"{t.investigations} investigations · escalation rate {_pct(t.escalation_rate)} · "
        f"bounce rate {_pct(t.bounce_rate)} · FCR {_pct(t.fcr_rate)} · "
        f"resolved without engineering {_pct(t.resolved_without_engineering_share)}",
    ]
    if review.suggestions:
        lines.append("*What to change*")
        lines += [
            f"{i}. {s.text} (prevents {s.prevented})" for i, s in enumerate(review.suggestions[:top], start=1)
        ]
    else:
        lines.append("Nothing bounced back.")
    return "\n".join(lines)
