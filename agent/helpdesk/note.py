"""The internal note a helpdesk agent reads at the top of the ticket (plain text, any helpdesk)."""

from __future__ import annotations

from casefile.agent.diagnosis import Diagnosis

__all__ = ["format_note"]


def format_note(diagnosis: Diagnosis, *, investigation_id: str, public_url: str | None = None) -> str:
    """The internal note: what an agent reads at the top of the ticket."""
    d = diagnosis
    action = (
        "Escalate" + (f" to {d.escalation.team}" if d.escalation else "")
        if d.action == "escalate"
        else "Resolve"
    )
    lines = [
        f"casefile diagnosis ({d.model}, confidence {d.confidence.score:.2f})",
        "",
        f"Summary: {d.summary}",
        f"Root cause [{d.root_cause.category}]: {d.root_cause.statement}",
        f"Suggested action: {action}",
    ]
    if d.evidence:
        lines += ["", "Evidence:"]
        lines += [f"- {e.claim} ({e.tool or e.call_id}: {e.value})" for e in d.evidence]
    if d.related:
        lines += ["", "Related:"]
        lines += [f"- {r.kind} {r.id} {r.title}".rstrip() + (f" {r.url}" if r.url else "") for r in d.related]
    if d.unavailable_sources:
        lines += [
            "",
            "Could not check: " + "; ".join(f"{u.source} ({u.reason})" for u in d.unavailable_sources),
        ]
    lines += ["", "Draft reply:", d.customer_reply]
    if d.internal_note:
        lines += ["", d.internal_note]
    where = (
        f"{public_url.rstrip('/')}/v1/investigations/{investigation_id}" if public_url else investigation_id
    )
    lines += ["", f"Investigation: {where}"]
    return "\n".join(lines)
