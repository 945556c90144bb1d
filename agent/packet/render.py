"""The packet as Markdown, ready to paste into Slack or a Linear issue."""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter, ValidationError

from casefile.agent.packet.model import Packet
from casefile.tools.tickets import SimilarTicket

__all__ = ["render_markdown"]


def _code(value: Any) -> str:
    return "```json\n" + json.dumps(value, indent=1, ensure_ascii=False, default=str) + "\n```"


_SIMILAR = TypeAdapter(list[SimilarTicket])


def _similar_md(value: Any) -> str:
    """The similar tickets as a numbered list, read through ``tickets_similar``'s own view (a
    packet stored in another shape shows as JSON)."""
    try:
        tickets = _SIMILAR.validate_python(value)
    except ValidationError:
        return _code(value)
    lines = []
    for i, t in enumerate(tickets, 1):
        article = f" — article: {t.article_url}" if t.article_url else ""
        ref = f"#{t.id}" + (f" ({t.external_id})" if t.external_id else "")
        lines.append(f"{i}. **{ref}** {t.subject}{article}")
        if t.resolution:
            lines.append(f"   Resolution: {' '.join(t.resolution.split())[:500]}")
    return "\n".join(lines)


def render_markdown(packet: Packet) -> str:
    """The packet as Markdown, ready to paste into Slack or a Linear issue."""
    who = packet.account_name or packet.account_id or "unknown account"
    queue = f", queue `{packet.queue}`" if packet.queue else ""
    out = [
        f"### Escalation → {packet.team_name} (`{packet.channel}`{queue})",
        f"**Ticket** {packet.ticket_id} · **Account** {who}"
        + (f" (`{packet.account_id}`)" if packet.account_name and packet.account_id else ""),
        f"**Why escalated:** {packet.reason}",
    ]
    if packet.trigger:
        out.append(f"**Trigger rule:** `{packet.trigger}`")
    out += [f"- {line}" for line in packet.why]
    rc = packet.root_cause
    out += [
        "",
        f"**Diagnosis** (confidence {packet.confidence:.2f}): [{rc.get('category')}] {rc.get('statement')}",
        f"_{packet.summary}_",
    ]
    if packet.evidence:
        out += ["", "**Evidence** (each value checked against the cited tool result)"]
        out += [
            f"- `{e.get('call_id')}` {e.get('tool')}: {e.get('claim')} — `{e.get('value')}`"
            for e in packet.evidence
        ]
    for f in packet.fields:
        out += ["", f"**{f.label}** _(from {', '.join(f.sources)})_"]
        out.append(_similar_md(f.value) if f.name == "similar_tickets" else _code(f.value))
    if packet.missing:
        out += ["", "**Could not collect**"]
        out += [f"- {m}" for m in packet.missing]
    if packet.calls:
        calls = ", ".join(f"`{c.call_id}` {c.tool}{'' if c.ok else ' (failed)'}" for c in packet.calls)
        out += ["", f"**Tool calls:** {calls}"]
    return "\n".join(out)
