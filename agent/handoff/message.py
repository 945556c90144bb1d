"""The hand-off's texts: the ticket's note (with the packet), the Slack message, the bounce note."""

from __future__ import annotations

from typing import Any

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.handoff.slack import SlackMessage
from casefile.agent.store import FeedbackRecord

__all__ = ["bounce_note", "note_with_packet", "slack_handoff"]

_SLACK_TEXT = 2900  # a section block's text is at most 3000 characters


def note_with_packet(note: str, diagnosis: Diagnosis) -> str:
    """The internal note followed by the Markdown escalation packet (what the CLI prints)."""
    packet = diagnosis.escalation.packet_markdown if diagnosis.escalation else ""
    return f"{note}\n\nEscalation packet:\n\n{packet.rstrip()}" if packet else note


def _cut(text: str, limit: int = _SLACK_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    """Slack mrkdwn's three control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_handoff(
    diagnosis: Diagnosis,
    *,
    channel: str,
    key: str,
    ticket_url: str | None,
    ticket_id: str,
    investigation_url: str | None,
    bounce_url: str | None,
) -> SlackMessage:
    """One compact message: who, what, how sure, and links to the ticket, the investigation and a bounce."""
    esc = diagnosis.escalation
    team = (esc.packet.get("team_name") if esc else None) or (esc.team if esc else "support")
    ticket = f"<{ticket_url}|ticket {ticket_id}>" if ticket_url else f"ticket {ticket_id}"
    head = f"*Escalation → {_escape(str(team))}* · {ticket}"
    if diagnosis.account_id:
        head += f" · account `{_escape(diagnosis.account_id)}`"
    body = (
        f"{_escape(diagnosis.summary)}\n"
        f"*[{_escape(diagnosis.root_cause.category)}]* {_escape(diagnosis.root_cause.statement)} "
        f"(confidence {diagnosis.confidence.score:.2f})"
    )
    context = []
    if esc is not None:
        context.append(f"Why: {_escape(esc.reason)}")
        if esc.trigger:
            context.append(f"trigger `{esc.trigger}`")
        if esc.missing:
            context.append(f"{len(esc.missing)} field(s) not collected")
    buttons: list[dict[str, Any]] = []
    for label, url, style in (
        ("Open ticket", ticket_url, None),
        ("Investigation", investigation_url, None),
        ("Bounce back", bounce_url, "danger"),
    ):
        if url:
            button: dict[str, Any] = {
                "type": "button",
                "text": {"type": "plain_text", "text": label},
                "url": url,
            }
            if style:
                button["style"] = style
            buttons.append(button)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(head)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(body)}},
    ]
    if context:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(" · ".join(context))}]}
        )
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    text = f"Escalation → {team}: {diagnosis.summary} ({ticket_id})"
    return SlackMessage(channel=channel, text=_cut(text), blocks=blocks, key=key)


def bounce_note(entry: FeedbackRecord) -> str:
    """The ticket's internal note for a bounce-back; ends with the entry's id (the delivery marker)."""
    lines = [f"Escalation bounced back by {entry.team or 'the receiving team'} ({entry.by}).", ""]
    if entry.article:
        lines.append(f"Solved by the article: {entry.article}")
    if entry.snippet:
        lines.append(f"Solved by the snippet: {entry.snippet}")
    lines += [f"Reason: {entry.note}", "", f"casefile bounce-back {entry.id}"]
    return "\n".join(lines)
