"""Human-readable rendering of a Diagnosis for the terminal."""

from __future__ import annotations

import textwrap

from casefile.agent.diagnosis import Diagnosis

__all__ = ["render_diagnosis"]


def _wrap(text: str, indent: str = "  ") -> str:
    lines = []
    for paragraph in text.strip().splitlines() or [""]:
        lines.append(
            textwrap.fill(paragraph, width=100, initial_indent=indent, subsequent_indent=indent) or ""
        )
    return "\n".join(lines)


def render_diagnosis(d: Diagnosis) -> str:
    out = [
        f"Diagnosis for {d.ticket_id}"
        + (
            f" (account {d.account_id}{', a candidate: not confirmed' if d.account_candidate else ''})"
            if d.account_id
            else ""
        ),
        "",
        f"Summary:     {d.summary}",
        f"Root cause:  [{d.root_cause.category}] {d.root_cause.statement}",
        f"Confidence:  {d.confidence.score:.2f}  ({'; '.join(d.confidence.reasons)})",
        f"Action:      {d.action.upper()}" + (f" → {d.escalation.team}" if d.escalation else ""),
    ]
    if d.fallback_reason:
        out.append(f"Fallback:    offline investigator stood in: {d.fallback_reason}")
    if d.evidence:
        out += ["", "Evidence:"]
        for e in d.evidence:
            out.append(f"  [{e.call_id} {e.tool}] {e.claim}  (value: {e.value})")
    if len(d.hypotheses) > 1:
        out += ["", "Hypotheses (most likely first):"]
        for rank, h in enumerate(d.hypotheses, 1):
            out.append(f"  {rank}. [{h.category}] {h.confidence:.2f}  {h.statement}")
            out += [f"       + {e.claim}  (value: {e.value})" for e in h.supporting]
            out += [f"       − {e.claim}  (value: {e.value})" for e in h.refuting]
    if d.related:
        out += ["", "Related:"]
        for r in d.related:
            out.append(f"  {r.kind} {r.id} {r.title}" + (f" <{r.url}>" if r.url else ""))
    if d.unavailable_sources:
        out += ["", "Unavailable sources:"]
        out += [f"  {u.source}: {u.reason}" for u in d.unavailable_sources]
    if d.grounding.rejected:
        out += ["", "Evidence rejected by the grounding check:"]
        out += [f"  {reason}" for reason in d.grounding.rejected]
    out += ["", "Draft reply to the customer:", _wrap(d.customer_reply)]
    if d.internal_note:
        out += ["", "Internal note:", _wrap(d.internal_note)]
    if d.escalation:
        packet = d.escalation.packet_markdown
        if packet:
            out += ["", "Escalation packet (paste into Slack/Linear):", "", packet.rstrip()]
        else:
            out += ["", f"Escalation to {d.escalation.team}: {d.escalation.reason}"]
            if d.escalation.missing:
                out.append("  Could not collect: " + "; ".join(d.escalation.missing))
    u = d.usage
    out += [
        "",
        f"Usage: {u.turns} turn(s), {u.tool_calls} tool call(s), {u.input_tokens}+{u.output_tokens} tokens, "
        f"${u.cost_usd:.4f}, {u.duration_ms:.0f} ms",
    ]
    return "\n".join(out)
