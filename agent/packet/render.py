"""The packet as Markdown, ready to paste into Slack or a Linear issue."""

from __future__ import annotations

import json
from typing import Any

from casefile.agent.packet.model import Packet

__all__ = ["render_markdown"]


def _code(value: Any) -> str:
    return "```json\n" + json.dumps(value, indent=1, ensure_ascii=False, default=str) + "\n```"


def _similar_md(value: list[dict[str, Any]]) -> str:
    lines = []
    for i, t in enumerate(value, 1):
        article = f" — article: {t['article_url']}" if t.get("article_url") else ""
        ref = f"#{t.get('id')}" + (f" ({t['external_id']})" if t.get("external_id") else "")
        lines.append(f"{i}. **{ref}** {t.get('subject', '')}{article}")
        if t.get("resolution"):
            lines.append(f"   Resolution: {' '.join(str(t['resolution']).split())[:500]}")
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
